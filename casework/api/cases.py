"""Cases API."""
from __future__ import annotations

from flask_login import current_user

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import load_visible
from carecycle.openapi import Paging, described
from carecycle.permissions import Permission, requires
from casework.api import api, schemas
from casework.api.common import iso, page_args
from casework.models import Case
from casework.service import cases as service


def case_json(case: Case) -> dict:
    return {
        "id": str(case.id), "client_id": str(case.client_id), "team_id": str(case.team_id),
        "phase": case.phase, "risk_level": case.risk_level, "priority": case.priority, "source": case.source,
        "assigned_counsellor": case.counsellor.username if case.counsellor else None,
        "assigned_social_worker": case.social_worker.username if case.social_worker else None,
        "opened_at": iso(case.opened_at), "closed_at": iso(case.closed_at), "version": case.version,
    }


@api.route("/cases", methods=["GET"])
@described(query=Paging, responses={200: schemas.CaseList})
@requires(Permission.CASES_VIEW)
def api_cases():
    """My open cases (a supervisor: the team's), oldest first, a page at a time."""
    page, per_page = page_args()
    cases = service.open_caseload(current_user, page, per_page)
    return {"cases": [case_json(c) for c in cases.items], "page": cases.page, "per_page": per_page,
            "has_next": cases.has_next}


@api.route("/cases", methods=["POST"])
@described(body=schemas.CaseNew, responses={201: schemas.Created}, errors=(404,))
@requires(Permission.CASES_EDIT)
def api_case_create():
    body = json_body()
    missing = {k: "Required." for k in ("client_id", "risk_level", "source") if not body.get(k)}
    if missing:
        raise ApiError(422, "Some fields are missing.", missing)
    client = load_visible("client", body["client_id"], current_user, audit=False)
    case = service.open_case(current_user, client, risk_level=body["risk_level"], source=body["source"],
                             priority=body.get("priority") or "normal")
    return {"id": str(case.id), "version": case.version}, 201


@api.route("/cases/<case_id>", methods=["GET"])
@described(responses={200: schemas.Case})
@requires(Permission.CASES_VIEW)
def api_case_get(case_id):
    case = load_visible("case", case_id, current_user)
    return case_json(case)


@api.route("/cases/<case_id>", methods=["PATCH"])
@described(body=schemas.CaseChange, responses={200: schemas.Case}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_case_patch(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    if "version" not in body:
        raise ApiError(422, "Send the version you edited.", {"version": "Required."})
    changes = {k: v for k, v in body.items() if k != "version"}
    service.update_case(current_user, case, body["version"], changes)
    return case_json(case)
