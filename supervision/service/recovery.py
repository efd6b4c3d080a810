"""Community recovery: after an incident (an emergency period, or an incident a supervisor
records), a team's recovery plan for the affected community — a needs assessment counted from the
team's cases, register entries, triage alerts, screenings and follow-ups of the incident's days
(every count through the statistics' small-count rule), actions with owners and due dates, the
community groups whose sessions are its community psychological care, and reviews of how the
community is doing at 1, 3 and 6 months with the outcome figures of the time (re-screenings the
people consented to link to their case). A printable summary for the residents' committee shows
counts only.

Who: the team's staff read the plans and mark their own actions done (RECOVERY_VIEW); supervisors
start them, add actions and groups and write the reviews (RECOVERY_MANAGE). Another team's plan
answers 404; an account whose access waits for a supervisor sees none."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from carecycle.alerts import KIND_LABELS, Alert
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.fields import Errors, date_field, text
from carecycle.lifecycle import Forbidden
from carecycle.localtime import day_bounds, format_day, local
from carecycle.localtime import today as local_today
from carecycle.permissions import Permission, access_held, user_has
from carecycle.validation import Conflict, Invalid
from casework.enums import OutreachOutcome, RiskLevel, Tier
from casework.models import (
    Case,
    CommunityGroup,
    FollowUp,
    GroupAttendance,
    GroupSession,
    RegisterEntry,
    RegisterOutreach,
)
from casework.models.recovery import Attendance, FollowUpStatus
from referrals.service import activations
from screening.models import ScreeningResult
from supervision.models import REVIEW_MONTHS, RecoveryAction, RecoveryGroup, RecoveryPlan, RecoveryReview
from supervision.service.common import Period, small
from supervision.service.drills import team_staff
from supervision.service.stats import Scope, recovery_counts

TITLE_MAX, AREA_MAX, INCIDENT_MAX, ACTION_MAX, SUMMARY_MAX = 200, 300, 300, 1000, 8000
HIGH_RISK = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)


def visible_plans(user):
    if user.team_id is None or not user_has(user, Permission.RECOVERY_VIEW) or access_held(user):
        return false()
    return RecoveryPlan.team_id == user.team_id


def load(user, plan_id) -> RecoveryPlan | None:
    try:
        pid = uuid.UUID(str(plan_id))
    except ValueError:
        return None
    return db.session.scalar(select(RecoveryPlan).where(RecoveryPlan.id == pid, visible_plans(user))
                             .options(selectinload(RecoveryPlan.actions), selectinload(RecoveryPlan.groups),
                                      selectinload(RecoveryPlan.reviews)))


def listing(user) -> list[RecoveryPlan]:
    """The team's plans, the latest incident first, with their actions and reviews (the list shows both)."""
    return list(db.session.scalars(select(RecoveryPlan).where(visible_plans(user))
                                   .options(selectinload(RecoveryPlan.actions), selectinload(RecoveryPlan.reviews))
                                   .order_by(RecoveryPlan.started_on.desc(), RecoveryPlan.created_at.desc())))


def finished_periods() -> list[activations.Period]:
    """The emergency periods that have ended (a plan's incident), the latest first."""
    return [p for p in activations.periods() if not p.current]


# ------------------------------------------------------------------ starting a plan
def create(user, data: dict) -> RecoveryPlan:
    if user.team_id is None:
        raise Invalid({"title": _("A recovery plan is the record of a team, and your account is on none.")})
    errors = Errors()
    title = text(data, "title", errors, limit=TITLE_MAX, required=True, message=_(
        "Give the plan a title, for example \"Recovery after the Riverside rainstorm\"."))
    area = text(data, "area", errors, limit=AREA_MAX, required=True, message=_(
        "Say which community it is for, for example \"Riverside: Blocks 1 to 6 and the day centre\"."))
    chosen = data.get("period_id") or None
    incident, started, ended, period_id = "", None, None, None
    if chosen:
        period = next((p for p in finished_periods() if str(p.id) == str(chosen)), None)
        if period is None:
            errors["period_id"] = _("Choose an emergency period that has ended, or record the incident below.")
        else:
            assert period.ended_at is not None
            period_id, incident = period.id, period.reason[:INCIDENT_MAX]
            started, ended = local(period.started_at).date(), local(period.ended_at).date()
    else:
        incident = text(data, "incident", errors, limit=INCIDENT_MAX, required=True,
                        message=_("Say what happened, or choose an emergency period.")) or ""
        started = date_field(data, "started_on", errors, required=True)
        ended = date_field(data, "ended_on", errors, required=True)
        if started and ended and ended < started:
            errors["ended_on"] = _("The incident cannot end before it started.")
        elif ended and ended > local_today():
            errors["ended_on"] = _("Start the recovery plan once the incident is over: the end cannot be in the "
                                   "future.")
    errors.check()
    assert started is not None and ended is not None and title and area
    plan = RecoveryPlan(team_id=user.team_id, title=title, area=area, period_id=period_id, started_on=started,
                        ended_on=ended, created_by_id=user.id)
    plan.incident = incident
    db.session.add(plan)
    db.session.flush()
    record_event("create", "recovery_plan", plan.id, actor=user)
    return plan


# ------------------------------------------------------------------ the needs assessment
@dataclass(frozen=True)
class Need:
    code: str
    label: str
    count: object  # a number, or "<5"


NEED_LABELS = {
    "cases_opened": _l("People who needed a case opened (crisis response)"),
    "high_risk": _l("Of them, now at high or imminent risk"),
    "register_red": _l("People on the register at red"),
    "register_orange": _l("People on the register at orange"),
    "outreach_not_reached": _l("Outreach attempts that did not reach the person"),
    "follow_ups_due": _l("Follow-ups after closure due"),
    "follow_ups_worse": _l("Follow-ups finding the person worse, or not reached"),
    "screenings": _l("Self-screenings (whole service)"),
    "screenings_crisis": _l("Self-screenings with a crisis answer (whole service)"),
}


def window(plan: RecoveryPlan) -> tuple[datetime, datetime]:
    """From the start of the incident's first local day to the end of its last (in UTC)."""
    return day_bounds(plan.started_on)[0], day_bounds(plan.ended_on)[1]


def _raw_needs(plan: RecoveryPlan) -> dict[str, int]:
    (start, end), team = window(plan), plan.team_id
    count = lambda stmt: int(db.session.scalar(stmt) or 0)  # noqa: E731
    raw = {
        "cases_opened": count(select(func.count()).select_from(Case).where(
            Case.team_id == team, Case.opened_at >= start, Case.opened_at < end)),
        "high_risk": count(select(func.count()).select_from(Case).where(
            Case.team_id == team, Case.opened_at >= start, Case.opened_at < end, Case.risk_level.in_(HIGH_RISK))),
    }
    for tier in (Tier.RED, Tier.ORANGE):
        raw[f"register_{tier.value}"] = count(select(func.count()).select_from(RegisterEntry).where(
            RegisterEntry.team_id == team, RegisterEntry.tier == tier.value, RegisterEntry.created_at < end,
            (RegisterEntry.removed_at.is_(None)) | (RegisterEntry.removed_at >= start)))
    raw["outreach_not_reached"] = count(
        select(func.count()).select_from(RegisterOutreach)
        .join(RegisterEntry, RegisterEntry.id == RegisterOutreach.entry_id)
        .where(RegisterEntry.team_id == team, RegisterOutreach.at >= start, RegisterOutreach.at < end,
               RegisterOutreach.outcome == OutreachOutcome.NO_ANSWER.value))
    follow_ups = select(func.count()).select_from(FollowUp).join(Case, Case.id == FollowUp.case_id).where(
        Case.team_id == team, FollowUp.due_at >= start, FollowUp.due_at < end)
    raw["follow_ups_due"] = count(follow_ups)
    raw["follow_ups_worse"] = count(follow_ups.where(FollowUp.status.in_(
        (FollowUpStatus.WORSE.value, FollowUpStatus.NOT_REACHED.value))))
    for kind in KIND_LABELS:
        raw[f"alerts_{kind}"] = count(select(func.count()).select_from(Alert).where(
            Alert.team_id == team, Alert.kind == kind, Alert.created_at >= start, Alert.created_at < end))
    raw["screenings"] = count(select(func.count()).select_from(ScreeningResult).where(
        ScreeningResult.created_at >= start, ScreeningResult.created_at < end))
    raw["screenings_crisis"] = count(select(func.count()).select_from(ScreeningResult).where(
        ScreeningResult.created_at >= start, ScreeningResult.created_at < end, ScreeningResult.crisis.is_(True)))
    return raw


def needs(plan: RecoveryPlan) -> list[Need]:
    """The needs of the incident's days, each count through the small-count rule (below 5: "<5")."""
    raw = _raw_needs(plan)
    shown = [Need(code, str(label), small(raw[code])) for code, label in NEED_LABELS.items()]
    shown[2:2] = [Need(f"alerts_{kind}", _("Triage alerts: %(kind)s", kind=label), small(raw[f"alerts_{kind}"]))
                  for kind, label in KIND_LABELS.items() if raw[f"alerts_{kind}"]]
    return shown


# ------------------------------------------------------------------ actions and groups
def add_action(user, plan: RecoveryPlan, data: dict) -> RecoveryAction:
    errors = Errors()
    description = text(data, "description", errors, limit=ACTION_MAX, required=True, message=_(
        "Say what will be done, for example \"A bereavement group at the community hall\"."))
    staff = {str(u.id): u for u in team_staff(plan.team_id)}
    owner = staff.get(str(data.get("owner_id") or ""))
    if owner is None:
        errors["owner_id"] = _("Choose who owns it: someone of the team.")
    due = date_field(data, "due_on", errors, required=True)
    errors.check()
    assert owner is not None and due is not None
    action = RecoveryAction(plan=plan, owner_id=owner.id, due_on=due)
    action.description = description
    db.session.add(action)
    db.session.flush()
    record_event("create", "recovery_action", action.id, reason=f"plan {plan.id}", actor=user)
    return action


def complete_action(user, plan: RecoveryPlan, action_id) -> RecoveryAction:
    action = next((a for a in plan.actions if str(a.id) == str(action_id)), None)
    if action is None:
        raise Invalid({"action": _("Choose an action of this plan.")})
    if action.owner_id != user.id and not user_has(user, Permission.RECOVERY_MANAGE):
        raise Forbidden(_("Only its owner or a supervisor marks an action done."), "recovery_action", action.id,
                        reason="recovery action done")
    if not action.done:
        action.done_at, action.done_by_id = utcnow(), user.id
        db.session.flush()
        record_event("update", "recovery_action", action.id, reason="done", actor=user)
    return action


def team_groups(plan: RecoveryPlan) -> list[CommunityGroup]:
    return list(db.session.scalars(select(CommunityGroup).where(
        CommunityGroup.team_id == plan.team_id, CommunityGroup.archived_at.is_(None)).order_by(CommunityGroup.name)))


def link_group(user, plan: RecoveryPlan, group_id) -> RecoveryGroup | None:
    group = next((g for g in team_groups(plan) if str(g.id) == str(group_id)), None)
    if group is None:
        raise Invalid({"group_id": _("Choose one of the team's community groups.")})
    if any(link.group_id == group.id for link in plan.groups):
        return None
    try:
        with db.session.begin_nested():  # two supervisors linking the same group at once: one link
            link = RecoveryGroup(plan=plan, group_id=group.id)
            db.session.add(link)
            db.session.flush()
    except IntegrityError:
        db.session.expire(plan, ["groups"])
        return None
    record_event("update", "recovery_plan", plan.id, reason="group linked", actor=user)
    return link


@dataclass(frozen=True)
class Care:
    group: CommunityGroup
    sessions: int
    attended: object  # a number, or "<5"


def care(plan: RecoveryPlan) -> list[Care]:
    """The linked groups with their sessions since the incident began and attendances (counted)."""
    ids = [link.group_id for link in plan.groups]
    if not ids:
        return []
    since = window(plan)[0]
    sessions = dict(db.session.execute(
        select(GroupSession.group_id, func.count()).where(
            GroupSession.group_id.in_(ids), GroupSession.starts_at >= since, GroupSession.starts_at <= utcnow(),
            GroupSession.cancelled_at.is_(None)).group_by(GroupSession.group_id)).all())
    attended = dict(db.session.execute(
        select(GroupSession.group_id, func.count()).join(GroupAttendance, GroupAttendance.session_id == GroupSession.id)
        .where(GroupSession.group_id.in_(ids), GroupSession.starts_at >= since,
               GroupAttendance.status == Attendance.ATTENDED.value).group_by(GroupSession.group_id)).all())
    groups = {g.id: g for g in db.session.scalars(select(CommunityGroup).where(CommunityGroup.id.in_(ids)))}
    return sorted((Care(groups[i], int(sessions.get(i, 0)), small(int(attended.get(i, 0)))) for i in ids),
                  key=lambda c: c.group.name.lower())


# ------------------------------------------------------------------ reviews at 1, 3 and 6 months
def due_on(plan: RecoveryPlan, months: int) -> date:
    """`months` after the incident ended (the same day of the month, or the month's last day)."""
    year, month = divmod(plan.ended_on.month - 1 + months, 12)
    year, month = plan.ended_on.year + year, month + 1
    for day in range(plan.ended_on.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(plan.ended_on.day, 28))


def outcome_figures(plan: RecoveryPlan) -> dict:
    """How the community is doing now, in counts through the small-count rule: the team's recovery
    cases measured twice and reliably improved, follow-ups since the incident by what they found,
    and the care sessions held."""
    since = window(plan)[0]
    measured, improved = recovery_counts(Scope(plan.team_id, ""), Period(plan.started_on, local_today()))
    found = dict(db.session.execute(
        select(FollowUp.status, func.count()).join(Case, Case.id == FollowUp.case_id)
        .where(Case.team_id == plan.team_id, FollowUp.recorded_at >= since, FollowUp.status.is_not(None))
        .group_by(FollowUp.status)).all())
    return {"measured": small(measured), "improved": small(improved),
            **{f"follow_up_{s.value}": small(int(found.get(s.value, 0))) for s in FollowUpStatus},
            "sessions": sum(c.sessions for c in care(plan))}


FIGURE_LABELS = {
    "measured": _l("Recovery cases with two or more re-screenings"),
    "improved": _l("Of them, reliably improved"),
    "follow_up_better": _l("Follow-ups: better"), "follow_up_same": _l("Follow-ups: the same"),
    "follow_up_worse": _l("Follow-ups: worse"), "follow_up_not_reached": _l("Follow-ups: not reached"),
    "sessions": _l("Community care sessions held"),
}


def reviews(plan: RecoveryPlan) -> list[tuple[int, date, RecoveryReview | None]]:
    written = {r.months: r for r in plan.reviews}
    return [(m, due_on(plan, m), written.get(m)) for m in REVIEW_MONTHS]


def write_review(user, plan: RecoveryPlan, months, summary) -> RecoveryReview:
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0
    if months not in REVIEW_MONTHS:
        raise Invalid({"months": _("Choose the 1-, 3- or 6-month review.")})
    errors: dict[str, str] = {}
    words = summary.strip() if isinstance(summary, str) else ""
    if not words:
        errors["summary"] = _("Say how the community is doing.")
    elif len(words) > SUMMARY_MAX:
        errors["summary"] = _("Use at most %(n)d characters.", n=SUMMARY_MAX)
    if due_on(plan, months) > local_today():
        errors["months"] = _("The %(n)d-month review is due on %(day)s.", n=months,
                             day=format_day(due_on(plan, months)))
    if errors:
        raise Invalid(errors)
    figures = outcome_figures(plan)
    try:
        with db.session.begin_nested():  # written already (or by two supervisors at once): the unique key says
            review = RecoveryReview(plan=plan, months=months, written_by_id=user.id, figures=figures)
            review.summary = words
            db.session.add(review)
            db.session.flush()
    except IntegrityError:
        db.session.expire(plan, ["reviews"])
        raise Conflict(_("The %(n)d-month review is already written.", n=months),
                       current_version=plan.version) from None
    record_event("create", "recovery_review", review.id, reason=f"{months} months", actor=user)
    return review


def next_review(plan: RecoveryPlan) -> tuple[int, date] | None:
    return next(((m, day) for m, day, r in reviews(plan) if r is None), None)


def summary(plan: RecoveryPlan) -> dict:
    """What the residents' committee may read: counts only, no names, no words about anyone."""
    done = sum(1 for a in plan.actions if a.done)
    return {"needs": needs(plan), "actions": len(plan.actions), "actions_done": done,
            "care": [(c.group.name, c.sessions, c.attended) for c in care(plan)],
            "reviews": [(m, day, r.figures if r else None) for m, day, r in reviews(plan)],
            "now": outcome_figures(plan)}
