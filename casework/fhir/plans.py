"""Risk assessments as FHIR `RiskAssessment`, the care plan and the safety plan as `CarePlan`, the
care plan's goals as `Goal`.

Risk assessments and safety plans are clinical: only roles that write them (Permission.RISK_ASSESS:
counsellors and supervisors) receive them, never social workers, whatever route they try. The
reintegration care plan and its goals follow the case (Permission.CASES_VIEW). Only signed
safety-plan versions are served (a draft is a counsellor's working copy); the newest is `active`,
the ones it replaced `revoked`. Every read is audited like the page's view.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from carecycle.audit import record_view
from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    code_system_url,
    instant,
    ref,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import NotFound, load_visible
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.urls import as_uuid
from casework.enums import LABELS, Phase, RiskLevel
from casework.models import CarePlan, CarePlanGoal, Case, RiskAssessment, SafetyPlanVersion
from casework.models.recovery import LABELS as RECOVERY_LABELS
from casework.models.recovery import GoalDomain, GoalStatus
from casework.models.safety import SECTIONS
from casework.service.access import visible_cases

RISK_LEVEL_SYSTEM = "risk-level"
LIFE_DOMAIN_SYSTEM = "life-domain"
PLAN_KIND_SYSTEM = "care-plan-kind"
SAFETY_SECTION_SYSTEM = "safety-plan-section"
REINTEGRATION, SAFETY = "reintegration", "safety-plan"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
PROBABILITY = {"none": "negligible", "low": "low", "moderate": "moderate", "high": "high", "imminent": "high"}
GOAL_LIFECYCLE = {GoalStatus.NOT_STARTED.value: "accepted", GoalStatus.IN_PROGRESS.value: "active",
                  GoalStatus.ACHIEVED.value: "completed", GoalStatus.DROPPED.value: "cancelled"}
GOAL_ACHIEVEMENT = {GoalStatus.IN_PROGRESS.value: ("in-progress", "In Progress"),
                    GoalStatus.ACHIEVED.value: ("achieved", "Achieved"),
                    GoalStatus.DROPPED.value: ("not-achieved", "Not Achieved")}


def _label(enum, value) -> str:
    return str(LABELS.get((enum, value)) or RECOVERY_LABELS.get((enum, value)) or value)


def _author(user) -> dict | None:
    return {"display": user.name} if user is not None else None


def _clinical(user) -> bool:
    return role_has(Role(user.role), Permission.RISK_ASSESS)


def _case_ids(user):
    return select(Case.id).where(visible_cases(user))


def _patient_case_filter(stmt, column, params: dict[str, str]):
    """Narrow `stmt` to the cases of the client named by ?patient= (or ?subject=)."""
    value = params.get("patient") or params.get("subject")
    if value is None:
        return stmt
    client_id = as_uuid(ref_id(value, "Patient"))
    if client_id is None:
        raise FhirError(400, "patient must be a Patient reference (Patient/<id>) or an id.")
    return stmt.where(column.in_(select(Case.id).where(Case.client_id == client_id)))


def _code(params: dict[str, str], name: str, system_id: str, codes) -> str | None:
    if name not in params:
        return None
    system, code = token_value(params[name])
    if system not in (None, code_system_url(system_id)) or code not in codes:
        raise FhirError(400, f"{name} must be one of: {', '.join(codes)} ({code_system_url(system_id)}).")
    return code


def _rows(stmt, order, page: Page) -> tuple[list, bool]:
    return page.window(list(db.session.scalars(stmt.order_by(*order).offset(page.offset).limit(page.count + 1))))


# ------------------------------------------------------------------ RiskAssessment
def risk_assessment(row: RiskAssessment) -> dict:
    level = row.risk_level
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment", "id": str(row.id), "meta": {"versionId": str(row.version)},
        "status": "final", "subject": ref("Patient", row.case.client_id),
        "occurrenceDateTime": instant(row.assessed_at), "performer": _author(row.assessed_by),
        "method": {"text": "Columbia Suicide Severity Rating Scale (C-SSRS) screener and clinical judgement"},
        "prediction": [{
            "outcome": {"text": "Suicide or serious self-harm"},
            "qualitativeRisk": {"coding": [{"system": RISK_PROBABILITY, "code": PROBABILITY.get(level, "moderate")},
                                           {"system": code_system_url(RISK_LEVEL_SYSTEM), "code": level,
                                            "display": _label(RiskLevel, level)}],
                                "text": _label(RiskLevel, level)},
        }],
    }
    if row.rationale:
        resource["prediction"][0]["rationale"] = row.rationale
    notes = [text for text in (row.judgement, (row.risk_factors or {}).get("other"),
                               (row.protective_factors or {}).get("other")) if text]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    if row.acknowledged_at:
        by = row.acknowledged_by.name if row.acknowledged_by else "the supervisor"
        resource["mitigation"] = f"Acknowledged by {by} at {instant(row.acknowledged_at)}."
    return resource


def read_risk_assessment(record_id: str, user) -> dict:
    return risk_assessment(load_visible("risk_assessment", record_id, user))


def search_risk_assessments(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _patient_case_filter(select(RiskAssessment).where(RiskAssessment.case_id.in_(_case_ids(user))),
                                RiskAssessment.case_id, params)
    shown, more = _rows(stmt, (RiskAssessment.assessed_at.desc(), RiskAssessment.id), page)
    return [risk_assessment(r) for r in shown], more


# ------------------------------------------------------------------ CarePlan
def _plan_category(kind: str) -> list[dict]:
    display = "Social reintegration care plan" if kind == REINTEGRATION else "Safety plan"
    return [{"coding": [{"system": code_system_url(PLAN_KIND_SYSTEM), "code": kind, "display": display}]}]


def care_plan(plan: CarePlan, goals: list[CarePlanGoal]) -> dict:
    case = plan.case
    resource: dict[str, Any] = {
        "resourceType": "CarePlan", "id": str(plan.id), "meta": {"versionId": str(plan.version),
                                                                  "lastUpdated": instant(plan.updated_at)},
        "status": "completed" if case.phase == Phase.CLOSED.value else "active", "intent": "plan",
        "category": _plan_category(REINTEGRATION), "title": "Care plan",
        "subject": ref("Patient", case.client_id), "period": {"start": instant(plan.created_at)},
        "created": instant(plan.created_at),
        "supportingInfo": [ref("EpisodeOfCare", case.id)],
    }
    if case.closed_at:
        resource["period"]["end"] = instant(case.closed_at)
    if plan.client_note:
        resource["description"] = plan.client_note
    if goals:
        resource["goal"] = [ref("Goal", g.id) for g in goals]
    return resource


def safety_plan(version: SafetyPlanVersion, newest: bool) -> dict:
    case = version.case
    activities = []
    for code, heading, _description in SECTIONS:
        text = version.section(code)
        if text:
            activities.append({"detail": {"code": {"coding": [{"system": code_system_url(SAFETY_SECTION_SYSTEM),
                                                                "code": code, "display": str(heading)}]},
                                          "status": "in-progress", "description": text}})
    resource: dict[str, Any] = {
        "resourceType": "CarePlan", "id": str(version.id),
        "meta": {"versionId": str(version.version), "lastUpdated": instant(version.updated_at)},
        "identifier": [{"system": "urn:carecycle:safety-plan-version", "value": f"{case.id}/{version.number}"}],
        "status": "active" if newest and case.phase != Phase.CLOSED.value else "revoked", "intent": "plan",
        "category": _plan_category(SAFETY), "title": f"Safety plan, version {version.number}",
        "subject": ref("Patient", case.client_id), "created": instant(version.signed_at),
        "period": {"start": instant(version.signed_at)},
        "supportingInfo": [ref("EpisodeOfCare", case.id)],
        "activity": activities,
    }
    return resource


def _signed_versions(case_ids) -> dict:
    """For each case, its signed versions newest first."""
    rows = db.session.scalars(select(SafetyPlanVersion).where(SafetyPlanVersion.case_id.in_(case_ids),
                                                              SafetyPlanVersion.signed_at.is_not(None))
                              .order_by(SafetyPlanVersion.number.desc()))
    by_case: dict = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    return by_case


def _safety_plan_resource(version: SafetyPlanVersion) -> dict:
    newest = db.session.scalar(select(SafetyPlanVersion.number).where(
        SafetyPlanVersion.case_id == version.case_id, SafetyPlanVersion.signed_at.is_not(None))
        .order_by(SafetyPlanVersion.number.desc()).limit(1))
    return safety_plan(version, version.number == newest)


def read_care_plan(record_id: str, user) -> dict:
    rid = as_uuid(record_id)
    if rid is None:
        raise NotFound("care_plan")
    plan = db.session.scalar(select(CarePlan).where(CarePlan.id == rid, CarePlan.case_id.in_(_case_ids(user))))
    if plan is not None:
        load_visible("case", plan.case_id, user, audit=False)  # notes a break-glass grant in use
        record_view("care_plan", plan.id)
        return care_plan(plan, list(plan.goals))
    version = db.session.scalar(select(SafetyPlanVersion).where(
        SafetyPlanVersion.id == rid, SafetyPlanVersion.signed_at.is_not(None),
        SafetyPlanVersion.case_id.in_(_case_ids(user))))
    if version is None:
        raise NotFound("care_plan")
    if not _clinical(user):
        raise FhirError(403, "A safety plan is clinical: it is not shared with your role.", "forbidden")
    load_visible("case", version.case_id, user, audit=False)
    record_view("safety_plan", version.id)
    return _safety_plan_resource(version)


def search_care_plans(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    kind = _code(params, "category", PLAN_KIND_SYSTEM, (REINTEGRATION, SAFETY))
    if kind == SAFETY and not _clinical(user):
        raise FhirError(403, "A safety plan is clinical: it is not shared with your role.", "forbidden")
    found: list[dict] = []
    # the care plans first, then (for clinical roles) the signed safety plans; paged over both
    wanted = page.offset + page.count + 1
    if kind in (None, REINTEGRATION):
        stmt = _patient_case_filter(select(CarePlan).where(CarePlan.case_id.in_(_case_ids(user))),
                                    CarePlan.case_id, params)
        plans = list(db.session.scalars(stmt.order_by(CarePlan.created_at.desc(), CarePlan.id).limit(wanted)))
        goals: dict = {}
        for goal in db.session.scalars(select(CarePlanGoal).where(CarePlanGoal.plan_id.in_([p.id for p in plans]))
                                       .order_by(CarePlanGoal.position, CarePlanGoal.created_at)):
            goals.setdefault(goal.plan_id, []).append(goal)
        found += [care_plan(p, goals.get(p.id, [])) for p in plans]
    if kind in (None, SAFETY) and _clinical(user) and len(found) < wanted:
        stmt = _patient_case_filter(select(SafetyPlanVersion).where(
            SafetyPlanVersion.case_id.in_(_case_ids(user)), SafetyPlanVersion.signed_at.is_not(None)),
            SafetyPlanVersion.case_id, params)
        versions = list(db.session.scalars(stmt.order_by(SafetyPlanVersion.signed_at.desc(), SafetyPlanVersion.id)
                                           .limit(wanted - len(found))))
        newest = {case_id: rows[0].number for case_id, rows in _signed_versions({v.case_id for v in versions}).items()}
        found += [safety_plan(v, newest.get(v.case_id) == v.number) for v in versions]
    for resource in found[page.offset:page.offset + page.count]:
        kind_code = resource["category"][0]["coding"][0]["code"]
        record_view("care_plan" if kind_code == REINTEGRATION else "safety_plan", resource["id"])
    return found[page.offset:page.offset + page.count], len(found) > page.offset + page.count


# ------------------------------------------------------------------ Goal
def goal(row: CarePlanGoal, client_id) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Goal", "id": str(row.id),
        "lifecycleStatus": GOAL_LIFECYCLE.get(row.status, "active"),
        "category": [{"coding": [{"system": code_system_url(LIFE_DOMAIN_SYSTEM), "code": row.domain,
                                  "display": _label(GoalDomain, row.domain)}]}],
        "description": {"text": row.title},
        "subject": ref("Patient", client_id),
        "startDate": row.created_at.date().isoformat(),
    }
    achievement = GOAL_ACHIEVEMENT.get(row.status)
    if achievement:
        resource["achievementStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                                                     "code": achievement[0], "display": achievement[1]}]}
    if row.target_date:
        resource["target"] = [{"dueDate": row.target_date.isoformat()}]
    if row.status_changed_at:
        resource["statusDate"] = row.status_changed_at.date().isoformat()
    if row.drop_reason:
        resource["statusReason"] = row.drop_reason
    if row.owner == "client":
        resource["expressedBy"] = ref("Patient", client_id)
    notes = [f"Success looks like: {row.success}" if row.success else None,
             f"Who works on it: {row.owner_detail}" if row.owner_detail else None]
    if any(notes):
        resource["note"] = [{"text": text} for text in notes if text]
    return resource


def read_goal(record_id: str, user) -> dict:
    rid = as_uuid(record_id)
    row = db.session.scalar(select(CarePlanGoal).where(CarePlanGoal.id == rid,
                                                       CarePlanGoal.case_id.in_(_case_ids(user)))) if rid else None
    if row is None:
        raise NotFound("care_plan_goal")
    case = load_visible("case", row.case_id, user, audit=False)
    record_view("care_plan", row.plan_id)
    return goal(row, case.client_id)


def search_goals(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _patient_case_filter(select(CarePlanGoal, Case.client_id).join(Case, Case.id == CarePlanGoal.case_id)
                                .where(Case.id.in_(_case_ids(user))), CarePlanGoal.case_id, params)
    domain = _code(params, "category", LIFE_DOMAIN_SYSTEM, [d.value for d in GoalDomain])
    if domain:
        stmt = stmt.where(CarePlanGoal.domain == domain)
    if "lifecycle-status" in params:
        statuses = [code for code, status in GOAL_LIFECYCLE.items() if status == params["lifecycle-status"]]
        stmt = stmt.where(CarePlanGoal.status.in_(statuses))
    rows = list(db.session.execute(stmt.order_by(CarePlanGoal.created_at.desc(), CarePlanGoal.id)
                                   .offset(page.offset).limit(page.count + 1)))
    shown, more = page.window(rows)
    for plan_id in {row.plan_id for row, _client in shown}:
        record_view("care_plan", plan_id)
    return [goal(row, client_id) for row, client_id in shown], more


# ------------------------------------------------------------------ $everything
def everything(client, user) -> list[dict]:
    case_ids = list(db.session.scalars(select(Case.id).where(Case.client_id == client.id, visible_cases(user))))
    if not case_ids:
        return []
    resources: list[dict] = []
    if role_has(Role(user.role), Permission.CASES_VIEW):
        plans = list(db.session.scalars(select(CarePlan).where(CarePlan.case_id.in_(case_ids))))
        goals = list(db.session.scalars(select(CarePlanGoal).where(CarePlanGoal.case_id.in_(case_ids))
                                        .order_by(CarePlanGoal.position, CarePlanGoal.created_at)))
        for plan in plans:
            record_view("care_plan", plan.id)
            resources.append(care_plan(plan, [g for g in goals if g.plan_id == plan.id]))
        resources += [goal(g, client.id) for g in goals]
    if _clinical(user):
        for assessment in db.session.scalars(select(RiskAssessment).where(RiskAssessment.case_id.in_(case_ids))
                                             .order_by(RiskAssessment.assessed_at)):
            record_view("risk_assessment", assessment.id)
            resources.append(risk_assessment(assessment))
        for rows in _signed_versions(case_ids).values():
            for version in rows:
                record_view("safety_plan", version.id)
                resources.append(safety_plan(version, version is rows[0]))
    return resources


def _domains() -> list[Concept]:
    return [Concept(d.value, _label(GoalDomain, d.value)) for d in GoalDomain]


def register(app) -> None:
    from carecycle.fhir import add_everything

    register_code_system(app, RISK_LEVEL_SYSTEM, "CareCycle risk levels",
                         "The risk level a counsellor decided (RiskAssessment.prediction.qualitativeRisk).",
                         lambda: [Concept(r.value, _label(RiskLevel, r.value)) for r in RiskLevel])
    register_code_system(app, LIFE_DOMAIN_SYSTEM, "CareCycle life domains",
                         "The life domain of a care-plan goal (Goal.category).", _domains)
    register_code_system(app, PLAN_KIND_SYSTEM, "CareCycle care-plan kinds",
                         "A social-reintegration care plan or a safety plan (CarePlan.category).",
                         [Concept(REINTEGRATION, "Social reintegration care plan"), Concept(SAFETY, "Safety plan")])
    register_code_system(app, SAFETY_SECTION_SYSTEM, "CareCycle safety-plan sections",
                         "The sections of a safety plan (CarePlan.activity.detail.code).",
                         lambda: [Concept(code, str(heading), str(text)) for code, heading, text in SECTIONS])
    patient = {"patient": "The client's (Patient reference or id).", "subject": "The same as patient."}
    register_resource(
        app, "RiskAssessment", permission=Permission.RISK_ASSESS, read=read_risk_assessment,
        search=search_risk_assessments, params=patient, param_types={"patient": "reference", "subject": "reference"},
        audit_as="risk_assessment",
        doc="A risk assessment (C-SSRS screener and judgement) with the risk level decided. Clinical: counsellors "
            "and supervisors only, never social workers.")
    register_resource(
        app, "CarePlan", permission=Permission.CASES_VIEW, read=read_care_plan, search=search_care_plans,
        params={**patient, "category": f"reintegration or safety-plan ({PLAN_KIND_SYSTEM} code)."},
        param_types={"patient": "reference", "subject": "reference"},
        doc="The social-reintegration care plan of a case (goals by reference), and each signed version of the "
            "safety plan (category safety-plan; clinical: counsellors and supervisors only).")
    register_resource(
        app, "Goal", permission=Permission.CASES_VIEW, read=read_goal, search=search_goals,
        params={**patient, "category": f"The life domain ({LIFE_DOMAIN_SYSTEM} code).",
                "lifecycle-status": "accepted (not started), active, completed (achieved) or cancelled (dropped)."},
        param_types={"patient": "reference", "subject": "reference"},
        doc="A care-plan goal with its life domain, target date and status.")
    add_everything(app, everything)

