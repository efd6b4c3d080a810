"""Which events notify whom, and the overdue scan.

Supervision watches the session for the changes other areas make (a closure request filed, a high
risk assessment saved, a break-glass grant, an article sent for review, a referral sent without
consent, a case given to another worker, and the decisions on them) and notifies the people who
must act or who asked, so that no area has to know about notifications or about supervision.
The actor is never notified of their own action. `carecycle notify overdue` (run from cron) tells
workers about their overdue tasks, alerts and referrals, once per item."""
from __future__ import annotations

import uuid
from datetime import timedelta

import click
from flask import has_request_context
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, scoped_session

from carecycle.accounts.models import User
from carecycle.alerts import Alert, AlertState
from carecycle.audit import record_event
from carecycle.breakglass import BreakGlassGrant
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.notifications import KIND_LABELS, Notification, NotificationSetting, notify
from carecycle.roles import Role
from carecycle.validation import Invalid
from casework.enums import Phase
from casework.models import Case, ClosureRequest, RiskAssessment, Task
from referrals.enums import ReferralStatus
from referrals.models import Referral
from screening.models import Article, ArticleStatus
from supervision.service.links import path_for

KIND_LABELS.update({
    "cases_assigned": _l("Cases were assigned to you"),
    "cases_reassigned": _l("Cases of yours were reassigned to a colleague"),
    "case_assigned": _l("A case was assigned to you"),
    "case_unassigned": _l("A case of yours was given to a colleague"),
    "approval_risk": _l("A high or imminent risk assessment waits for acknowledgement"),
    "approval_closure": _l("A case closure waits for approval"),
    "approval_article": _l("An article waits for review"),
    "approval_override": _l("A referral was sent without consent: review it"),
    "break_glass": _l("Someone used break-glass on a record of your team"),
    "decision_risk": _l("Your risk assessment was acknowledged"),
    "decision_closure": _l("Your closure request was decided"),
    "decision_article": _l("Your article was reviewed"),
    "decision_override": _l("Your consent override was reviewed"),
    "task_overdue": _l("A task of yours is overdue"),
    "rescreen_due": _l("A re-screening of yours is due within a day"),
    "follow_up_due": _l("A follow-up of yours is due within a day"),
    "alert_overdue": _l("A triage alert is past its deadline"),
    "referral_overdue": _l("A referral you sent has no answer by its deadline"),
    "drill_action": _l("A change from a drill was given to you"),
    "mode_switched": _l("The operating mode changed"),
})


def _actor_id():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def _supervisors(session: Session | scoped_session, team_id) -> list[uuid.UUID]:
    if team_id is None:
        return []
    return list(session.scalars(select(User.id).where(User.team_id == team_id, User.role == Role.SUPERVISOR.value,
                                                      User.active.is_(True))))


def _changed(obj, attr: str):
    """(old, new) when `attr` changed in this flush, else None."""
    history = inspect(obj).attrs[attr].history
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else None
    return old, new


class _Outbox:
    """Notifications gathered during one flush; the same person is told once per item and kind."""

    def __init__(self, actor_id):
        self.actor_id, self.items = actor_id, {}

    def add(self, user_id, kind: str, link: str, object_type=None, object_id=None):
        if user_id is None or user_id == self.actor_id:
            return
        self.items.setdefault((user_id, kind, str(object_id)), (user_id, kind, link, object_type, object_id))

    def send(self):
        for user_id, kind, link, object_type, object_id in self.items.values():
            notify(user_id, kind, link, object_type=object_type, object_id=object_id)


def _case_link(case_id) -> str:
    return path_for("casework.case_detail", case_id=case_id)


def _approvals() -> str:
    return path_for("supervision.approvals")


def before_flush(session: Session, _context, _instances) -> None:
    if session.info.get("supervision_notifying"):
        return
    new = [o for o in session.new if isinstance(o, (Case, ClosureRequest, RiskAssessment, BreakGlassGrant, Article,
                                                    Referral))]
    dirty = [o for o in session.dirty if isinstance(o, (Case, ClosureRequest, RiskAssessment, Article, Referral))]
    if not new and not dirty:
        return
    session.info["supervision_notifying"] = True
    try:
        with session.no_autoflush:
            out = _Outbox(_actor_id())
            for obj in new:
                _on_new(session, obj, out)
            for obj in dirty:
                _on_change(session, obj, out)
            out.send()
    finally:
        session.info.pop("supervision_notifying", None)


def _team_of_case(session: Session, case_id):
    case = session.get(Case, case_id)
    return case.team_id if case else None


def _on_new(session: Session, obj, out: _Outbox) -> None:
    if isinstance(obj, ClosureRequest):
        for sid in _supervisors(session, _team_of_case(session, obj.case_id)):
            out.add(sid, "approval_closure", _approvals(), "closure_request", obj.id)
    elif isinstance(obj, RiskAssessment) and obj.needs_acknowledgement:
        for sid in _supervisors(session, _team_of_case(session, obj.case_id)):
            out.add(sid, "approval_risk", _approvals(), "risk_assessment", obj.id)
    elif isinstance(obj, BreakGlassGrant):
        for sid in _supervisors(session, obj.team_id):
            out.add(sid, "break_glass", _approvals(), "break_glass_grant", obj.id)
    elif isinstance(obj, Case):
        for who in (obj.assigned_counsellor_id, obj.assigned_social_worker_id):
            out.add(who, "case_assigned", _case_link(obj.id), "case", obj.id)
    elif isinstance(obj, Article) and obj.status == ArticleStatus.IN_REVIEW.value:
        _article_for_review(session, obj, out)
    elif isinstance(obj, Referral) and obj.consent_override:
        for sid in _supervisors(session, obj.team_id):
            out.add(sid, "approval_override", _approvals(), "referral", obj.id)


def _article_for_review(session: Session, article: Article, out: _Outbox) -> None:
    for sid in session.scalars(select(User.id).where(User.role == Role.SUPERVISOR.value, User.active.is_(True))):
        if sid != article.author_id:
            out.add(sid, "approval_article", _approvals(), "article", article.id)


def _on_change(session: Session, obj, out: _Outbox) -> None:
    if isinstance(obj, Case):
        if session.info.get("supervision_reassigning"):
            return  # the reassignment tells both workers once per batch
        for attr in ("assigned_counsellor_id", "assigned_social_worker_id"):
            change = _changed(obj, attr)
            if change and change[0] != change[1]:
                old, new = change
                out.add(new, "case_assigned", _case_link(obj.id), "case", obj.id)
                out.add(old, "case_unassigned", path_for("casework.cases"), "case", obj.id)
    elif isinstance(obj, ClosureRequest):
        change = _changed(obj, "decision")
        if change and change[0] is None and change[1]:
            out.add(obj.requested_by_id, "decision_closure", _case_link(obj.case_id), "closure_request", obj.id)
    elif isinstance(obj, RiskAssessment):
        change = _changed(obj, "acknowledged_at")
        if change and change[0] is None and change[1] is not None:
            out.add(obj.assessed_by_id, "decision_risk",
                    path_for("casework.assessment_detail", case_id=obj.case_id, assessment_id=obj.id),
                    "risk_assessment", obj.id)
    elif isinstance(obj, Article):
        change = _changed(obj, "status")
        if not change:
            return
        old, new = change
        if new == ArticleStatus.IN_REVIEW.value:
            _article_for_review(session, obj, out)
        elif (
            old == ArticleStatus.IN_REVIEW.value
            and new in (ArticleStatus.PUBLISHED.value, ArticleStatus.DRAFT.value)
            and obj.reviewer_id is not None
            and obj.reviewer_id != obj.author_id
        ):
            out.add(obj.author_id, "decision_article", path_for("library.detail", article_id=obj.id), "article", obj.id)
    elif isinstance(obj, Referral):
        change = _changed(obj, "consent_override")
        if change and change[1] and not change[0]:
            for sid in _supervisors(session, obj.team_id):
                out.add(sid, "approval_override", _approvals(), "referral", obj.id)
        change = _changed(obj, "override_reviewed_at")
        if change and change[0] is None and change[1] is not None:
            out.add(obj.override_by_id, "decision_override",
                    path_for("referrals.referral_detail", referral_id=obj.id), "referral", obj.id)


def install() -> None:
    """Listen on every session of the app's session class (once per process)."""
    if not event.contains(Session, "before_flush", before_flush):
        event.listen(Session, "before_flush", before_flush)


# ------------------------------------------------------------------ one's own notifications
def own_notifications(user):
    """A select of the user's notifications, unread first, then the newest."""
    return (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc()))


def email_setting(user) -> NotificationSetting | None:
    return db.session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == user.id))


def save_email_setting(user, email, enabled) -> NotificationSetting:
    """Keep the user's e-mail choice (the caller commits); e-mail on needs an address."""
    email = (email or "").strip() or None
    if enabled and not email:
        raise Invalid({"email": _("Enter the address to send to, or leave e-mail off.")})
    pref = email_setting(user)
    if pref is None:
        pref = NotificationSetting(user_id=user.id)
        db.session.add(pref)
    pref.email, pref.email_enabled, pref.updated_at = email, bool(enabled), utcnow()
    record_event("update", "notification_setting", user.id)
    return pref


# ------------------------------------------------------------------ the overdue scan
SCAN_WINDOW = timedelta(days=30)
CHUNK = 500


def _already(user_kind_objects: list[tuple], kind: str) -> set[tuple]:
    """Which (user, object id) pairs already have a notification of `kind`."""
    object_ids = sorted({str(o) for _u, o in user_kind_objects})
    found: set[tuple] = set()
    for start in range(0, len(object_ids), CHUNK):
        part = object_ids[start:start + CHUNK]
        found.update(db.session.execute(select(Notification.user_id, Notification.object_id).where(
            Notification.kind == kind, Notification.object_id.in_(part))).all())
    return {(u, str(o)) for u, o in found}


def _notify_once(pairs: list[tuple], kind: str, object_type: str, link_for) -> int:
    done = _already(pairs, kind)
    sent = 0
    for user_id, object_id in pairs:
        if user_id is None or (user_id, str(object_id)) in done:
            continue
        notify(user_id, kind, link_for(object_id), object_type=object_type, object_id=object_id)
        done.add((user_id, str(object_id)))
        sent += 1
    return sent


def scan_overdue(now=None, window: timedelta = SCAN_WINDOW) -> dict[str, int]:
    """Notify each overdue item's worker once: tasks (their assignee), triage alerts (the claimer, or
    the team's supervisors while unclaimed) and referrals without an answer (the referring worker).
    Items overdue for longer than `window` were told about by earlier runs (or are too old to chase)."""
    now = now or utcnow()
    since = now - window
    counts = {"tasks": 0, "alerts": 0, "referrals": 0}
    last = None
    while True:  # tasks, in chunks by due time
        stmt = (select(Task.id, Task.assigned_to_id, Task.case_id, Task.due_at).join(Case, Case.id == Task.case_id)
                .where(Task.done_at.is_(None), Task.due_at < now, Task.due_at >= since,
                       Task.assigned_to_id.is_not(None),
                       (Case.phase != Phase.CLOSED.value) | (Task.kind == "follow_up"))
                .order_by(Task.due_at, Task.id).limit(CHUNK))
        if last is not None:
            stmt = stmt.where((Task.due_at > last[0]) | ((Task.due_at == last[0]) & (Task.id > last[1])))
        rows = db.session.execute(stmt).all()
        if not rows:
            break
        cases = {task_id: case_id for task_id, _u, case_id, _d in rows}
        counts["tasks"] += _notify_once([(u, t) for t, u, _c, _d in rows], "task_overdue", "task",
                                        lambda t, cases=cases: _case_link(cases[t]))
        db.session.commit()
        last = (rows[-1][3], rows[-1][0])
    alerts = db.session.execute(select(Alert.id, Alert.claimed_by_id, Alert.team_id).where(
        Alert.state.in_([AlertState.OPEN.value, AlertState.CLAIMED.value]), Alert.deadline < now,
        Alert.deadline >= since)).all()
    pairs = []
    for alert_id, claimer, team_id in alerts:
        if claimer:
            pairs.append((claimer, alert_id))
        else:
            pairs.extend((sid, alert_id) for sid in _supervisors(db.session, team_id))
    counts["alerts"] = _notify_once(pairs, "alert_overdue", "alert",
                                    lambda a: path_for("casework.triage_detail", alert_id=a))
    referrals = db.session.execute(select(Referral.id, Referral.created_by_id).where(
        Referral.status == ReferralStatus.SENT.value, Referral.respond_by < now, Referral.respond_by >= since)).all()
    counts["referrals"] = _notify_once([(u, r) for r, u in referrals], "referral_overdue", "referral",
                                       lambda r: path_for("referrals.referral_detail", referral_id=r))
    db.session.commit()
    return counts


DUE_AHEAD = timedelta(days=1)
DUE_KINDS = {"rescreen": "rescreen_due", "follow_up": "follow_up_due"}  # task kind -> notification kind


def scan_due_soon(now=None, ahead: timedelta = DUE_AHEAD) -> dict[str, int]:
    """Tell each re-screening's and follow-up's assignee, once, the day before it falls due (the
    overdue scan tells them again once it is late). Cancelled and done ones are left alone."""
    now = now or utcnow()
    rows = db.session.execute(select(Task.id, Task.kind, Task.assigned_to_id, Task.case_id).where(
        Task.done_at.is_(None), Task.kind.in_(list(DUE_KINDS)), Task.due_at >= now, Task.due_at < now + ahead,
        Task.assigned_to_id.is_not(None)).order_by(Task.due_at, Task.id)).all()
    counts = {"rescreen": 0, "follow_up": 0}
    for task_kind, kind in DUE_KINDS.items():
        mine = [row for row in rows if row.kind == task_kind]
        cases = {row.id: row.case_id for row in mine}
        counts[task_kind] = _notify_once([(row.assigned_to_id, row.id) for row in mine], kind, "task",
                                         lambda t, cases=cases: _case_link(cases[t]))
    db.session.commit()
    return counts


def overdue_job(now) -> str:
    counts = scan_overdue(now)
    return f"notified {counts['tasks']} task(s), {counts['alerts']} alert(s), {counts['referrals']} referral(s)"


def due_soon_job(now) -> str:
    counts = scan_due_soon(now)
    return f"notified {counts['rescreen']} re-screening(s), {counts['follow_up']} follow-up(s)"


@click.command("overdue")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 365),
              help="Look at items that became overdue in the last DAYS days.")
@with_appcontext
def notify_overdue(days):
    """Notify workers of their overdue tasks, alerts and referrals (once per item); run it from cron."""
    counts = scan_overdue(window=timedelta(days=days))
    click.echo(f"notified: {counts['tasks']} overdue task(s), {counts['alerts']} alert(s), "
               f"{counts['referrals']} referral(s)")
