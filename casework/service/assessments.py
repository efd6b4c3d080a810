"""Risk assessments: the C-SSRS screener (scored by the screening package's definition and skip
logic), risk and protective factors, the counsellor's judgement, and the level they decide.

Saving an assessment never changes an earlier one; it sets the case's risk level through the
case's versioned update, makes sure a contact is due soon enough for the new level, and a
`high` or `imminent` level waits on the team supervisor's list until acknowledged."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import case as sql_case
from sqlalchemy import false, select
from sqlalchemy.orm import joinedload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden
from carecycle.mode import scaled
from carecycle.permissions import Permission, role_has
from carecycle.validation import Conflict, Invalid
from casework.enums import Phase, RiskLevel
from casework.models import Case, RiskAssessment, Task
from casework.models.assessments import PROTECTIVE_FACTORS, RISK_FACTORS
from casework.service import cases as case_service
from casework.service import tasks
from screening.service import get_instrument
from screening.service.scoring import InvalidAnswers, score

CSSRS = "cssrs"
CSSRS_ITEMS = 7
ACKNOWLEDGE_LEVELS = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)
CONTACT_TASKS = (tasks.FIRST_CONTACT, tasks.NEXT_CONTACT)
MAX_TEXT = 8000


def cssrs_suggestion(answers: list) -> str:
    """The C-SSRS screener's risk (`none`, `low`, `moderate`, `high`) for seven answers, with the skip
    logic checked; Invalid names each bad question as `cssrs_<n>`."""
    instrument = get_instrument(CSSRS)
    if instrument is None:  # the screening package ships it; its absence is a deployment fault
        raise RuntimeError("the C-SSRS instrument definition is not loaded")
    try:
        return score(instrument, list(answers)).band
    except InvalidAnswers as invalid:
        fields = {}
        for key, message in invalid.fields.items():
            index = key[len("answers["):-1] if key.startswith("answers[") else ""
            fields[f"cssrs_{int(index) + 1}" if index.isdigit() else "cssrs"] = str(message)
        raise Invalid(fields) from invalid


def _factors(codes, other, known: dict, field: str, errors: dict) -> dict:
    codes = list(codes or [])
    bad = [c for c in codes if not isinstance(c, str) or c not in known]
    if bad:
        errors[field] = _("Unknown item in the list: choose from the checklist.")
    other = (other or "").strip() if isinstance(other, str) or other is None else None
    if other is None or len(other) > MAX_TEXT:
        errors[f"{field}_other"] = _("Keep this under %(n)d characters.", n=MAX_TEXT)
    return {"checked": [c for c in known if c in codes], "other": other or ""}


def record_assessment(user, case: Case, *, cssrs: list, risk_level, rationale, judgement=None,
                      risk_factors=(), risk_factors_other=None, protective_factors=(),
                      protective_factors_other=None) -> RiskAssessment:
    """Save a new assessment (the caller commits); earlier assessments stay as they were."""
    if not role_has(user.role, Permission.RISK_ASSESS):
        raise Forbidden(_("Only counsellors and supervisors assess risk."), "case", case.id, reason="risk assessment")
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed; reopen it first."), current_version=case.version)
    errors: dict[str, str] = {}
    suggested = None
    if not isinstance(cssrs, (list, tuple)) or len(cssrs) != CSSRS_ITEMS:
        errors["cssrs"] = _("Answer the seven screener questions.")
    else:
        try:
            suggested = cssrs_suggestion(cssrs)
        except Invalid as invalid:
            errors.update(invalid.fields)
    try:
        level = RiskLevel(risk_level)
    except ValueError:
        level = None
        errors["risk_level"] = _("Choose the risk level you judge the client to be at.")
    risks = _factors(risk_factors, risk_factors_other, RISK_FACTORS, "risk_factors", errors)
    protective = _factors(protective_factors, protective_factors_other, PROTECTIVE_FACTORS, "protective_factors",
                          errors)
    rationale = rationale.strip() if isinstance(rationale, str) else ""
    if not rationale:
        errors["rationale"] = _("Say why you chose this risk level.")
    elif len(rationale) > MAX_TEXT:
        errors["rationale"] = _("Keep this under %(n)d characters.", n=MAX_TEXT)
    judgement = judgement.strip() if isinstance(judgement, str) else ""
    if len(judgement) > MAX_TEXT:
        errors["judgement"] = _("Keep this under %(n)d characters.", n=MAX_TEXT)
    if errors or level is None:
        raise Invalid(errors)

    assessment = RiskAssessment(case_id=case.id, assessed_by_id=user.id, assessed_at=utcnow(),
                                risk_level=level.value, needs_acknowledgement=level.value in ACKNOWLEDGE_LEVELS)
    assessment.cssrs = {"answers": list(cssrs), "suggested": suggested}
    assessment.risk_factors = risks
    assessment.protective_factors = protective
    assessment.judgement = judgement or None
    assessment.rationale = rationale
    db.session.add(assessment)
    db.session.flush()
    record_event("create", "risk_assessment", assessment.id)
    case_service.add_event(case, "risk_assessed", user)
    if case.risk_level != level.value:
        case_service.update_case(user, case, case.version, {"risk_level": level.value})
    schedule_contact(user, case, level)
    return assessment


def schedule_contact(user, case: Case, level: RiskLevel) -> Task | None:
    """Make sure a contact is due within the interval for `level` (emergency mode halves it): an open
    contact task due sooner is kept; otherwise the next-contact reminder is set (or brought forward)."""
    interval = case_service.FIRST_CONTACT.get(level)
    if interval is None:
        return None
    due = utcnow() + scaled(interval)
    sooner = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind.in_(CONTACT_TASKS),
                                                  Task.done_at.is_(None), Task.due_at <= due)
                               .order_by(Task.due_at).limit(1))
    if sooner is not None:
        return sooner
    current = tasks.open_next_contact(case)
    return tasks.set_next_contact(user, case, due, current.note if current else None)


# ------------------------------------------------------------------ reading
def _newest_first(case: Case):
    return select(RiskAssessment).where(RiskAssessment.case_id == case.id).order_by(RiskAssessment.assessed_at.desc())


def history(case: Case) -> Sequence[RiskAssessment]:
    return db.session.scalars(_newest_first(case)).all()


def latest(case: Case) -> RiskAssessment | None:
    return db.session.scalar(_newest_first(case).limit(1))


# ------------------------------------------------------------------ supervisor acknowledgement
def acknowledgements(user, *, pending: bool = True):
    """A select of the high/imminent assessments on cases of `user`'s team: waiting, or acknowledged."""
    stmt = (select(RiskAssessment).join(Case, Case.id == RiskAssessment.case_id)
            .where(RiskAssessment.needs_acknowledgement.is_(True), Case.team_id == user.team_id)
            .options(joinedload(RiskAssessment.case).joinedload(Case.client)))  # the list names each client
    if user.team_id is None:
        stmt = stmt.where(false())
    if pending:
        most_urgent = sql_case((RiskAssessment.risk_level == RiskLevel.IMMINENT.value, 0), else_=1)
        return stmt.where(RiskAssessment.acknowledged_at.is_(None)).order_by(most_urgent, RiskAssessment.assessed_at)
    return stmt.where(RiskAssessment.acknowledged_at.is_not(None)).order_by(RiskAssessment.acknowledged_at.desc())


def acknowledge(user, assessment: RiskAssessment, comment=None) -> RiskAssessment:
    """The supervisor has seen a high or imminent assessment: who and when are recorded (the caller commits)."""
    if not role_has(user.role, Permission.RISK_ACKNOWLEDGE):
        raise Forbidden(_("Only a supervisor acknowledges risk assessments."), "risk_assessment", assessment.id,
                        reason="acknowledge")
    if assessment.assessed_by_id == user.id:  # separation of duties: never one's own, on any route
        raise Forbidden(_("This is your own assessment: another supervisor must acknowledge it."),
                        "risk_assessment", assessment.id, reason="own risk_assessment")
    if not assessment.needs_acknowledgement:
        raise Conflict(_("This assessment does not need acknowledgement."))
    if assessment.acknowledged_at is not None:
        raise Conflict(_("%(name)s already acknowledged this assessment.",
                         name=assessment.acknowledged_by.name if assessment.acknowledged_by else "?"))
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > 2000:
        raise Invalid({"comment": _("Keep the comment under 2000 characters.")})
    assessment.acknowledged_at = utcnow()
    assessment.acknowledged_by_id = user.id
    assessment.acknowledgement_comment = comment or None
    db.session.flush()
    case_service.add_event(assessment.case, "risk_acknowledged", user)
    record_event("acknowledge", "risk_assessment", assessment.id)
    return assessment


def acknowledged_recently(user, since: datetime):
    return acknowledgements(user, pending=False).where(RiskAssessment.acknowledged_at >= since)
