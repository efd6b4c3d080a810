"""Recovery API: the care plan (read and replace, versioned), outcomes over time, screenings on a case.

Same rules as the pages: invisible case -> 404, forbidden (a counsellor changing a goal) -> 403,
invalid -> 422 with fields, stale `version` or a closed case -> 409."""
from __future__ import annotations

from flask_login import current_user

from carecycle.api import ApiError, json_body, refuse_unknown
from carecycle.audit import record_event
from carecycle.lifecycle import load_visible
from carecycle.openapi import described
from carecycle.permissions import Permission, requires
from casework.api import api, schemas
from casework.api.common import iso
from casework.service import careplans, outcomes


def plan_json(case, plan) -> dict:
    goals = careplans.goals_of(plan)
    review = careplans.next_review(case)
    return {
        "case_id": str(case.id), "version": plan.version if plan else 0,
        "client_note": plan.client_note if plan else None,
        "goals": [careplans.goal_json(g) for g in goals],
        "shared_with_client": bool(plan and plan.shared),
        "next_review_at": iso(review.due_at) if review else None,
        "updated_at": iso(plan.updated_at) if plan else None,
    }


@api.route("/cases/<case_id>/care-plan", methods=["GET"])
@described(responses={200: schemas.CarePlan})
@requires(Permission.CASES_VIEW)
def api_care_plan(case_id):
    case = load_visible("case", case_id, current_user)
    plan = careplans.plan_of(case)
    if plan is not None:
        record_event("view", "care_plan", plan.id)
    return plan_json(case, plan)


@api.route("/cases/<case_id>/care-plan", methods=["PUT"])
@described(body=schemas.CarePlanSave, responses={200: schemas.CarePlan}, errors=(404, 409))
@requires(Permission.CASES_EDIT)
def api_care_plan_put(case_id):
    """Replace the plan: `version` (0 for a new plan), `goals` (existing ones with their `id`), `client_note`."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    if "version" not in body:
        raise ApiError(422, "Send the version you edited (0 for a new plan).", {"version": "Required."})
    version = body.pop("version")
    plan = careplans.save_plan(current_user, case, version, body)
    return plan_json(case, plan)


@api.route("/cases/<case_id>/outcomes", methods=["GET"])
@described(responses={200: schemas.Outcomes})
@requires(Permission.CASES_VIEW)
def api_case_outcomes(case_id):
    case = load_visible("case", case_id, current_user)
    found = outcomes.outcomes_of(case)
    return {"instruments": [{"instrument": o.id,
                             "points": [{"at": iso(r.created_at), "score": r.score} for r in o.results],
                             "markers": o.markers} for o in found]}


@api.route("/cases/<case_id>/screenings", methods=["POST"])
@described(body=schemas.CaseScreening, responses={201: schemas.CaseScreeningResult}, errors=(404, 409))
@requires(Permission.CASES_EDIT)
def api_case_screening(case_id):
    """Record a screening done with the client (`instrument`, `answers`, optional `sex`, `taken_at`), or
    link the client's own self-screening (`result_id`). 201 with the result and the case's markers."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    refuse_unknown(body, {"instrument", "answers", "sex", "taken_at", "language"} if "result_id" not in body
                   else {"result_id"})
    if "result_id" in body:
        link, alert = outcomes.link_self_screening(current_user, case, body["result_id"])
    else:
        if not body.get("instrument"):
            raise ApiError(422, "Some fields are missing.", {"instrument": "Required."})
        link, _outcome, alert = outcomes.record_screening(
            current_user, case, body.get("instrument"), body.get("answers"), sex=body.get("sex"),
            taken_at=body.get("taken_at"), language=body.get("language") if isinstance(body.get("language"), str)
            else None)
    result = link.result
    definition = outcomes.get_instrument(result.instrument)
    answer = {"id": str(link.id), "result_id": str(result.id), "source": link.source,
              "instrument": result.instrument, "score": result.score,
              "max_score": definition.max_score if definition else None, "band": result.band,
              "flags": result.flag_codes, "crisis": result.crisis, "at": iso(result.created_at),
              "alert_id": str(alert.id) if alert else None}
    if definition is not None and definition.percentage_factor:
        answer["percentage"] = result.score * definition.percentage_factor
    found = next((o for o in outcomes.outcomes_of(case) if o.id == result.instrument), None)
    answer["markers"] = found.markers if found else []
    return answer, 201
