"""The triage queue: alerts that every area raises (carecycle.alerts), claimed by one worker, then
turned into a crisis case or closed with a reason. Nothing leaves the queue any other way.

Who sees an alert: staff holding TRIAGE_WORK see alerts without a team (the shared duty queue:
self-screening contact requests, anything raised before a team is known) and alerts of their
own team. To anyone else an alert does not exist (404). Who acts on a claimed alert: the
claimer, or a supervisor of the alert's team (for a shared alert: of the claimer's team)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from carecycle.accounts.models import User
from carecycle.alerts import KIND_LABELS, Alert, AlertState, AlertSubject, Urgency, raise_alert
from carecycle.audit import record_event, record_view
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden
from carecycle.messages import words
from carecycle.permissions import Permission, access_held, role_has
from carecycle.roles import Role
from carecycle.urls import as_uuid
from carecycle.validation import Conflict, Invalid
from casework.enums import Priority, RiskLevel, Source
from casework.models import Case, Client
from casework.service import cases as case_service
from casework.service import clients as client_service
from casework.service.access import may_see_case, visible_clients


class AlertKind(StrEnum):
    """The kinds the triage queue knows; their labels are the shell's (carecycle.alerts.KIND_LABELS)."""

    SCREENING = "screening"
    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    INBOUND_REFERRAL = "inbound_referral"
    OUTREACH_CONCERN = "outreach_concern"

    @property
    def label(self):
        return KIND_LABELS.get(self.value, self.value)


# What staff record themselves on the triage page; the other kinds are raised by their areas.
RECORDABLE_KINDS = (AlertKind.WALK_IN, AlertKind.HOTLINE)

# The case source an alert kind becomes.
KIND_SOURCE = {
    AlertKind.SCREENING: Source.SCREENING,
    AlertKind.WALK_IN: Source.WALK_IN,
    AlertKind.HOTLINE: Source.HOTLINE,
    AlertKind.INBOUND_REFERRAL: Source.INBOUND_REFERRAL,
    AlertKind.OUTREACH_CONCERN: Source.OUTREACH,
}

ACTIVE_STATES = (AlertState.OPEN.value, AlertState.CLAIMED.value)
STATE_FILTERS = ("active", "open", "claimed", "mine", "converted", "closed")
SUMMARY_MAX = 1000
REASON_MAX = 2000


class AlreadyClaimed(Conflict):
    """Someone else holds the alert; the message names them."""

    code = "already_claimed"

    def __init__(self, holder: User | None):
        self.holder = holder
        who = f"{holder.name} ({holder.username})" if holder else _("another worker")
        super().__init__(_("This alert is already claimed by %(who)s.", who=who))


# ------------------------------------------------------------------ who sees what
def visible_alerts(user):
    """A WHERE clause selecting the alerts `user` may see on the triage queue."""
    if user is None or not role_has(Role(user.role), Permission.TRIAGE_WORK) or access_held(user):
        return false()
    if user.team_id is None:
        return Alert.team_id.is_(None)
    return or_(Alert.team_id.is_(None), Alert.team_id == user.team_id)


def claimer_of(alert: Alert) -> User | None:
    return db.session.get(User, alert.claimed_by_id) if alert.claimed_by_id else None


def users_by_id(ids) -> dict[uuid.UUID, User]:
    """The users behind a page of alerts, in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def may_act(user, alert: Alert) -> bool:
    """May `user` release, convert or close this claimed alert?"""
    if alert.claimed_by_id == user.id:
        return True
    if Role(user.role) is not Role.SUPERVISOR or user.team_id is None:
        return False
    if alert.team_id is not None:
        return alert.team_id == user.team_id
    claimer = claimer_of(alert)
    return claimer is not None and claimer.team_id == user.team_id


# ------------------------------------------------------------------ the queue
@dataclass
class QueueFilter:
    state: str = "active"
    kind: str = ""
    urgency: str = ""
    overdue: bool = False

    @classmethod
    def from_args(cls, args) -> QueueFilter:
        state = args.get("state", "active")
        kind = args.get("kind", "")
        urgency = args.get("urgency", "")
        return cls(state=state if state in STATE_FILTERS else "active",
                   kind=kind if kind in KIND_LABELS else "",
                   urgency=urgency if urgency in {u.value for u in Urgency} else "",
                   overdue=args.get("overdue") in ("1", "y", "true", "on"))

    def args(self) -> dict:
        """Query arguments that reproduce this filter (for the pager)."""
        out = {"state": self.state if self.state != "active" else None, "kind": self.kind or None,
               "urgency": self.urgency or None, "overdue": "1" if self.overdue else None}
        return {k: v for k, v in out.items() if v}


def queue_statement(user, flt: QueueFilter | None = None):
    """Alerts the user may see, filtered; active ones by deadline, finished ones newest first."""
    flt = flt or QueueFilter()
    stmt = select(Alert).where(visible_alerts(user))
    finished = flt.state in ("converted", "closed")
    if flt.state == "active":
        stmt = stmt.where(Alert.state.in_(ACTIVE_STATES))
    elif flt.state == "mine":
        stmt = stmt.where(Alert.state == AlertState.CLAIMED.value, Alert.claimed_by_id == user.id)
    else:
        stmt = stmt.where(Alert.state == flt.state)
    if flt.kind:
        stmt = stmt.where(Alert.kind == flt.kind)
    if flt.urgency:
        stmt = stmt.where(Alert.urgency == flt.urgency)
    if flt.overdue:
        stmt = stmt.where(Alert.state.in_(ACTIVE_STATES), Alert.deadline < utcnow())
    if finished:
        return stmt.order_by(Alert.closed_at.desc(), Alert.id)
    return stmt.order_by(Alert.deadline, Alert.created_at, Alert.id)


def queue(user, flt: QueueFilter | None = None, page: int = 1, per_page: int = 25):
    return db.paginate(queue_statement(user, flt), page=page, per_page=per_page, error_out=False)


# ------------------------------------------------------------------ recording a walk-in or hotline call
def record_alert(user, kind: str, urgency: str, summary: str | None) -> Alert:
    """Put a walk-in or hotline call on the user's team queue (the caller commits)."""
    errors = {}
    if kind not in {k.value for k in RECORDABLE_KINDS}:
        errors["kind"] = _("Choose walk-in or hotline call.")
    if urgency not in {u.value for u in Urgency}:
        errors["urgency"] = _("Choose how urgent this is.")
    summary = " ".join((summary or "").split())
    if not summary:
        errors["summary"] = _("Write a short summary: who, what happened, what they need.")
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = _("Use at most %(n)d characters.", n=SUMMARY_MAX)
    if errors:
        raise Invalid(errors)
    return raise_alert(kind, urgency, team_id=user.team_id, summary=words(summary))  # the worker's own words


# ------------------------------------------------------------------ claim and release
def claim(user, alert: Alert) -> Alert:
    """Claim an open alert. Exactly one of two simultaneous claims wins: the state moves with a
    conditional UPDATE ... WHERE state = 'open', and the loser is told who holds it."""
    result = db.session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.state == AlertState.OPEN.value)
        .values(state=AlertState.CLAIMED.value, claimed_by_id=user.id, claimed_at=utcnow(),
                version=Alert.version + 1)
        .execution_options(synchronize_session=False))
    won = rows_changed(result) == 1
    db.session.refresh(alert)
    if won:
        record_event("claim", "alert", alert.id)
        return alert
    if alert.state == AlertState.CLAIMED.value:
        if alert.claimed_by_id == user.id:
            return alert  # a second click of one's own claim
        raise AlreadyClaimed(claimer_of(alert))
    raise Conflict(_("This alert has already left the queue: it was turned into a case or closed."))


def _require_claimed_by_actor(user, alert: Alert) -> None:
    if alert.state == AlertState.OPEN.value:
        raise Conflict(_("Claim this alert first."))
    if alert.state != AlertState.CLAIMED.value:
        raise Conflict(_("This alert has already left the queue: it was turned into a case or closed."))
    if not may_act(user, alert):
        raise Forbidden(_("Only the worker who claimed this alert, or a supervisor of the team, may do this."),
                        "alert", alert.id, "not_claimer")


def _save_transition(alert: Alert) -> None:
    """Flush the alert's change; its version guards against a change made meanwhile."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(_("This alert changed while you were working on it. Reload it and try again.")) from None


def release(user, alert: Alert) -> Alert:
    """Give a claimed alert back to the queue (the claimer, or the team's supervisor)."""
    _require_claimed_by_actor(user, alert)
    alert.state, alert.claimed_by_id, alert.claimed_at = AlertState.OPEN.value, None, None
    _save_transition(alert)
    record_event("release", "alert", alert.id)
    return alert


# ------------------------------------------------------------------ leaving the queue
def source_for(alert: Alert) -> Source:
    try:
        return KIND_SOURCE[AlertKind(alert.kind)]
    except ValueError:
        return Source.OTHER


def find_visible_client(user, client_id) -> Client | None:
    cid = as_uuid(client_id)
    if cid is None:
        return None
    return db.session.scalar(select(Client).where(Client.id == cid, visible_clients(user)))


def convert(user, alert: Alert, *, risk_level: str, priority: str = "normal", client_id=None,
            new_client: dict | None = None, confirm_duplicate: bool = False) -> Case:
    """Turn a claimed alert into a crisis case for an existing client the user may see, or for a
    client registered now. Raises Invalid, Conflict, Forbidden or clients.DuplicateFound."""
    _require_claimed_by_actor(user, alert)
    if client_id:
        client = find_visible_client(user, client_id)
        if client is None:
            raise Invalid({"client": _("No client you can see has this record. Search again or register "
                                       "a new client.")})
    elif new_client is not None:
        client = None
    else:
        raise Invalid({"client": _("Choose an existing client or enter the new client's details.")})
    errors = {}
    for field, enum, value in (("risk_level", RiskLevel, risk_level), ("priority", Priority, priority)):
        if value not in {m.value for m in enum}:
            errors[field] = _("Choose one of: %(options)s.", options=", ".join(m.value for m in enum))
    if errors:
        raise Invalid(errors)  # before anything is written
    if client is None:  # new_client was given (checked above)
        client = client_service.register_client(user, new_client or {}, confirm_duplicate=confirm_duplicate)
    alert.state, alert.closed_at, alert.closed_by_id = AlertState.CONVERTED.value, utcnow(), user.id
    _save_transition(alert)
    case = case_service.open_case(user, client, risk_level=risk_level, source=source_for(alert).value,
                                  priority=priority, alert=alert)
    case_service.add_event(case, "from_alert", user, alert.summary)
    record_event("convert", "alert", alert.id, reason=f"case {case.id}")
    return case


def close(user, alert: Alert, reason: str | None) -> Alert:
    """Close a claimed alert without a case; the reason is required and stored encrypted."""
    _require_claimed_by_actor(user, alert)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": _("Write why this alert is closed without opening a case.")})
    if len(reason) > REASON_MAX:
        raise Invalid({"reason": _("Use at most %(n)d characters.", n=REASON_MAX)})
    alert.state, alert.closed_at, alert.closed_by_id = AlertState.CLOSED.value, utcnow(), user.id
    alert.close_reason = reason
    _save_transition(alert)
    record_event("close", "alert", alert.id)
    return alert


def converted_case(alert: Alert) -> Case | None:
    return db.session.scalar(select(Case).where(Case.alert_id == alert.id).limit(1))


# ------------------------------------------------------------------ what the alert is about
# `subject_of(alert)`, imported from the shell, asks the area that owns the alert's subject type;
# casework owns "case" (re-screening and follow-up alerts) and "client" (outreach concerns).


def case_subject(alert: Alert) -> AlertSubject | None:
    """Re-screening and follow-up alerts are about a case: a link to it, for those who may see it."""
    cid = as_uuid(alert.subject_id)
    case = db.session.get(Case, cid) if cid else None
    if case is None or not may_see_case(current_user, case):
        return None
    return AlertSubject(_l("Case"), link_endpoint="casework.case_detail", link_args={"case_id": case.id},
                        link_text=_l("Open the case"))


def client_subject(alert: Alert) -> AlertSubject | None:
    """Outreach concerns are about a client: name and phone and a link, for those who may see them."""
    client = find_visible_client(current_user, alert.subject_id)
    if client is None:
        return None
    record_view("client", client.id)
    return AlertSubject(_l("Client"), client.display_name, client.phone, "casework.client_detail",
                        {"client_id": client.id}, _l("Open the client's record"))
