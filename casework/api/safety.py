"""Risk assessments and safety plans API: the same service functions and rules as the pages.

Risk assessments (C-SSRS screener, factors, the counsellor's level and rationale) are for those who
assess risk (counsellors and supervisors; a social worker gets 403); a high or imminent level goes
to the team supervisor for acknowledgement. Safety plans: everyone on the case reads the signed
plan; drafts, signing and sharing with the client's resident account are for those who write plans,
and only a counsellor signs."""
from __future__ import annotations

from typing import Any

from flask_login import current_user
from pydantic import Field, create_model

from carecycle.api import ApiError, json_body
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import load_visible
from carecycle.openapi import Closed, Empty, Open, Paging, described
from carecycle.permissions import Permission, can, requires
from casework.api import api
from casework.api.common import iso, page_args
from casework.models import RiskAssessment
from casework.models.safety import REQUIRED_TO_SIGN, SECTION_CODES
from casework.service import assessments
from casework.service import safety as plans


# ------------------------------------------------------------------ models
class RiskFactors(Open):
    checked: list[str]
    other: str


class RiskAssessmentItem(Open):
    id: str
    case_id: str
    assessed_at: str | None
    assessed_by: str | None
    risk_level: str
    suggested_level: str | None = Field(description="what the C-SSRS screener answers suggest")
    cssrs: list[bool | None] = Field(description="the seven screener answers: true, false or null (not asked)")
    risk_factors: RiskFactors
    protective_factors: RiskFactors
    judgement: str | None
    rationale: str | None
    needs_acknowledgement: bool
    acknowledged_at: str | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    version: int


class RiskAssessmentList(Open):
    risk_assessments: list[RiskAssessmentItem]


class RiskAssessmentNew(Closed):
    cssrs: list[bool | None] = Field(description="the seven C-SSRS screener answers, in order: true, false or null")
    risk_level: str = Field(description="none, low, moderate, high or imminent: your judgement")
    rationale: str = Field(description="why you chose this level")
    judgement: str | None = None
    risk_factors: list[str] | None = Field(None, description="codes, see the assessment page")
    risk_factors_other: str | None = None
    protective_factors: list[str] | None = None
    protective_factors_other: str | None = None


class RiskAcknowledgementList(Open):
    risk_assessments: list[RiskAssessmentItem]
    page: int
    pages: int
    total: int


class RiskAcknowledge(Closed):
    comment: str | None = None


class SafetyPlanVersionItem(Open):
    number: int
    status: str = Field(description="draft or signed")
    shared: bool = Field(description="shared now with the client's resident account")
    created_at: str | None
    updated_at: str | None
    signed_at: str | None
    signed_by: str | None
    version: int = Field(description="the row version: send it back when saving a draft or signing")


class SafetyPlanVersionDetail(SafetyPlanVersionItem):
    sections: dict[str, str] = Field(description="section code -> text: " + ", ".join(SECTION_CODES))


class SafetyPlan(Open):
    case_id: str
    current: SafetyPlanVersionDetail | None = Field(description="the newest signed version")
    draft: SafetyPlanVersionDetail | None = Field(description="the draft being written (plan writers only)")
    shared_number: int | None
    versions: list[SafetyPlanVersionItem]
    required_to_sign: list[str]


SafetyPlanDraft = create_model(
    "SafetyPlanDraft", __base__=Closed,
    __doc__="The draft: `version`, the draft's version you edited (0 to start a new draft from the signed plan), "
            "and the text of any sections to change (" + ", ".join(SECTION_CODES) + "); sections not sent stay "
            "as they are.",
    version=(int, Field(description="0 for a new draft")),
    **{code: (str | None, None) for code in SECTION_CODES})


class SafetyPlanSign(Closed):
    version: int | None = Field(None, description="the draft's version you read; a stale one answers 409")


class SafetyPlanShare(Open):
    shared_number: int | None


# ------------------------------------------------------------------ risk assessments
def _name(user) -> str | None:
    return user.username if user else None


def assessment_json(row: RiskAssessment) -> dict:
    return {"id": str(row.id), "case_id": str(row.case_id), "assessed_at": iso(row.assessed_at),
            "assessed_by": _name(row.assessed_by), "risk_level": row.risk_level,
            "suggested_level": row.suggested_level, "cssrs": list(row.cssrs_answers),
            "risk_factors": row.risk_factors or {"checked": [], "other": ""},
            "protective_factors": row.protective_factors or {"checked": [], "other": ""},
            "judgement": row.judgement, "rationale": row.rationale,
            "needs_acknowledgement": bool(row.needs_acknowledgement), "acknowledged_at": iso(row.acknowledged_at),
            "acknowledged_by": _name(row.acknowledged_by), "acknowledgement_comment": row.acknowledgement_comment,
            "version": row.version}


@api.route("/cases/<case_id>/risk-assessments", methods=["GET"])
@described(responses={200: RiskAssessmentList})
@requires(Permission.RISK_ASSESS)
def api_risk_assessments(case_id):
    """The case's risk assessments, newest first (the history is never overwritten)."""
    case = load_visible("case", case_id, current_user, audit=False)
    record_event("view", "risk_assessments", case.id)
    return {"risk_assessments": [assessment_json(a) for a in assessments.history(case)]}


@api.route("/cases/<case_id>/risk-assessments", methods=["POST"])
@described(body=RiskAssessmentNew, responses={201: RiskAssessmentItem}, errors=(409,))
@requires(Permission.RISK_ASSESS)
def api_risk_assessment_create(case_id):
    """Record a risk assessment; the case's risk level follows it (high and imminent go to the supervisor)."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    row = assessments.record_assessment(
        current_user, case, cssrs=body.get("cssrs"), risk_level=body.get("risk_level"),
        rationale=body.get("rationale"), judgement=body.get("judgement"),
        risk_factors=_codes(body.get("risk_factors")), risk_factors_other=body.get("risk_factors_other"),
        protective_factors=_codes(body.get("protective_factors")),
        protective_factors_other=body.get("protective_factors_other"))
    return assessment_json(row), 201


def _codes(value: Any) -> list:
    """A list of factor codes as the service takes them (anything else: none checked, as a form sends)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@api.route("/cases/<case_id>/risk-assessments/<assessment_id>", methods=["GET"])
@described(responses={200: RiskAssessmentItem})
@requires(Permission.RISK_ASSESS)
def api_risk_assessment_get(case_id, assessment_id):
    """One risk assessment of the case (the read is audited)."""
    case = load_visible("case", case_id, current_user, audit=False)
    row = load_visible("risk_assessment", assessment_id, current_user, where=(RiskAssessment.case_id == case.id,))
    return assessment_json(row)


@api.route("/risk-acknowledgements", methods=["GET"])
@described(query=Paging, responses={200: RiskAcknowledgementList})
@requires(Permission.RISK_ACKNOWLEDGE)
def api_risk_acknowledgements():
    """High and imminent assessments of the team awaiting acknowledgement: imminent first, then the oldest."""
    page, per_page = page_args()
    pending = db.paginate(assessments.acknowledgements(current_user), page=page, per_page=per_page, error_out=False)
    record_event("view", "risk_acknowledgements", current_user.team_id)
    return {"risk_assessments": [assessment_json(a) for a in pending.items], "page": pending.page,
            "pages": pending.pages, "total": pending.total}


@api.route("/risk-acknowledgements/<assessment_id>/acknowledge", methods=["POST"])
@described(body=RiskAcknowledge, body_optional=True, responses={200: RiskAssessmentItem}, errors=(409,))
@requires(Permission.RISK_ACKNOWLEDGE)
def api_risk_acknowledge(assessment_id):
    """Acknowledge a high or imminent assessment of the team (your name and the time are recorded)."""
    body = json_body(optional=True)
    row = load_visible("assessment_to_acknowledge", assessment_id, current_user)
    assessments.acknowledge(current_user, row, body.get("comment"))
    return assessment_json(row)


# ------------------------------------------------------------------ safety plans
def _version_json(plan, *, sections: bool = False) -> dict:
    body = {"number": plan.number, "status": "signed" if plan.signed else "draft", "shared": plan.shared,
            "created_at": iso(plan.created_at), "updated_at": iso(plan.updated_at), "signed_at": iso(plan.signed_at),
            "signed_by": _name(plan.signed_by) if plan.signed_by_id else None, "version": plan.version}
    if sections:
        body["sections"] = {code: plan.section(code) for code in SECTION_CODES}
    return body


@api.route("/cases/<case_id>/safety-plan", methods=["GET"])
@described(responses={200: SafetyPlan})
@requires(Permission.CASES_VIEW)
def api_safety_plan(case_id):
    """The case's safety plan: the signed version, the draft (plan writers only), the versions and what is shared."""
    case = load_visible("case", case_id, current_user)
    signed = plans.current_signed(case)
    if signed is not None:
        record_event("view", "safety_plan", signed.id)
    writer = can(Permission.RISK_ASSESS)
    draft = plans.draft_of(case) if writer else None
    shared = plans.shared_with(case)
    return {"case_id": str(case.id), "current": _version_json(signed, sections=True) if signed else None,
            "draft": _version_json(draft, sections=True) if draft else None,
            "shared_number": shared.number if shared else None,
            "versions": [_version_json(v) for v in plans.versions(case) if v.signed or writer],
            "required_to_sign": list(REQUIRED_TO_SIGN)}


@api.route("/cases/<case_id>/safety-plan/<int:number>", methods=["GET"])
@described(responses={200: SafetyPlanVersionDetail})
@requires(Permission.CASES_VIEW)
def api_safety_plan_version(case_id, number):
    """One version of the plan with its sections (a draft only for plan writers; the read is audited)."""
    case = load_visible("case", case_id, current_user, audit=False)
    return _version_json(plans.load_version(case, number, current_user), sections=True)


@api.route("/cases/<case_id>/safety-plan/draft", methods=["PUT"])
@described(body=SafetyPlanDraft, responses={200: SafetyPlanVersionDetail}, errors=(409,))
@requires(Permission.RISK_ASSESS)
def api_safety_plan_draft(case_id):
    """Save the draft (a new one starts from the signed plan; `version` 0); nothing is signed here."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    if "version" not in body:
        raise ApiError(422, "Send the version you edited (0 for a new draft).", {"version": "Required."})
    version = body.pop("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ApiError(422, "Some fields are not valid.", {"version": "A whole number."})
    base = plans.draft_of(case)
    content = dict(base.content or {}) if base is not None else plans.start_draft_content(case)
    content.update(body)
    draft = plans.save_draft(current_user, case, content, version)
    return _version_json(draft, sections=True)


@api.route("/cases/<case_id>/safety-plan/<int:number>/sign", methods=["POST"])
@described(body=SafetyPlanSign, body_optional=True, responses={200: SafetyPlanVersionDetail}, errors=(409,))
@requires(Permission.RISK_ASSESS)
def api_safety_plan_sign(case_id, number):
    """Sign a draft (counsellors only); it is frozen from then on."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body(optional=True)
    plan = plans.load_version(case, number, current_user)
    plans.sign(current_user, case, plan, body.get("version"))
    return _version_json(plan, sections=True)


@api.route("/cases/<case_id>/safety-plan/share", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: SafetyPlanShare}, errors=(409,))
@requires(Permission.RISK_ASSESS)
def api_safety_plan_share(case_id):
    """Share the signed plan with the client's linked resident account (422 when there is none)."""
    case = load_visible("case", case_id, current_user, audit=False)
    json_body(optional=True)
    plan = plans.share_current(current_user, case)
    return {"shared_number": plan.number}


@api.route("/cases/<case_id>/safety-plan/unshare", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: SafetyPlanShare})
@requires(Permission.RISK_ASSESS)
def api_safety_plan_unshare(case_id):
    """Stop sharing the plan with the client."""
    case = load_visible("case", case_id, current_user, audit=False)
    json_body(optional=True)
    plans.stop_sharing(current_user, case)
    return {"shared_number": None}
