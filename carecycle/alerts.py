"""Alerts: the triage items every area raises and the casework triage queue works through."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Integer, String, false, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.audit import record_event
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model, db
from carecycle.lifecycle import visible_ids
from carecycle.messages import render as render_message
from carecycle.messages import store as store_message
from carecycle.messages import words
from carecycle.mode import scaled


class Urgency(StrEnum):
    CRISIS = "crisis"
    URGENT = "urgent"
    CONTACT_REQUEST = "contact_request"
    ROUTINE = "routine"

    @property
    def label(self):
        return URGENCY_LABELS[self]


URGENCY_LABELS = {
    Urgency.CRISIS: _l("Crisis"),
    Urgency.URGENT: _l("Urgent"),
    Urgency.CONTACT_REQUEST: _l("Contact request"),
    Urgency.ROUTINE: _l("Routine"),
}

# Normal-mode response deadlines; emergency mode halves them.
DEADLINES = {
    Urgency.CRISIS: timedelta(hours=2),
    Urgency.URGENT: timedelta(hours=24),
    Urgency.CONTACT_REQUEST: timedelta(days=2),
    Urgency.ROUTINE: timedelta(days=7),
}


class AlertState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CONVERTED = "converted"
    CLOSED = "closed"


STATE_LABELS = {
    AlertState.OPEN: _l("Open"),
    AlertState.CLAIMED: _l("Claimed"),
    AlertState.CONVERTED: _l("Turned into a case"),
    AlertState.CLOSED: _l("Closed"),
}

KIND_LABELS = {
    "screening": _l("Self-screening"),
    "walk_in": _l("Walk-in"),
    "hotline": _l("Hotline call"),
    "inbound_referral": _l("Inbound referral"),
    "outreach_concern": _l("Outreach concern"),
    "rescreen": _l("Re-screening result"),
    "follow_up": _l("Follow-up finding"),
}


class Alert(UUIDPrimaryKey, Model):
    __tablename__ = "alert"

    kind: Mapped[str] = mapped_column(String(30), index=True)
    urgency: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=AlertState.OPEN.value, index=True)
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # raised from a public form (contact request, inbound referral), and whether it arrived past the
    # service-wide ceiling of such alerts (a possible flood the duty worker checks before acting)
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    possible_flood: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    _summary: Mapped[str | None] = mapped_column("summary", Sealed)
    summary = Encrypted("_summary")
    _close_reason: Mapped[str | None] = mapped_column("close_reason", Sealed)
    close_reason = Encrypted("_close_reason")

    __mapper_args__ = {"version_id_col": version}

    @property
    def summary_text(self) -> str | None:
        """The summary in the reader's language (the system's words are stored as a message,
        carecycle.messages; what a duty worker typed shows as typed)."""
        return render_message(self.summary)

    @property
    def overdue(self) -> bool:
        return self.state in (AlertState.OPEN, AlertState.CLAIMED) and utcnow() > self.deadline

    @property
    def urgency_label(self):
        return Urgency(self.urgency).label

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def state_label(self):
        return STATE_LABELS.get(AlertState(self.state), self.state)


def alert_deadline(urgency: Urgency | str, raised_at: datetime) -> datetime:
    return raised_at + scaled(DEADLINES[Urgency(urgency)])


def raise_alert(kind: str, urgency: Urgency | str, *, subject_type: str | None = None,
                subject_id=None, team_id: uuid.UUID | None = None, summary: dict | str | None = None,
                public: bool = False) -> Alert:
    """Put an item on the triage queue (the caller commits).

    `summary`: a carecycle.messages message (`said(...)`), shown in each reader's language, or the
    words a person typed (a plain string, kept as typed).
    `public`: raised from a public form. Besides each form's per-address limit, public alerts are
    counted service-wide; past PUBLIC_ALERT_CEILING in PUBLIC_ALERT_WINDOW_MINUTES a new one is
    still stored and queued, never dropped, but marked `possible_flood` for the duty worker."""
    urgency = Urgency(urgency)
    now = utcnow()
    flood = public and public_alerts_since(now - public_alert_window()) >= current_app.config["PUBLIC_ALERT_CEILING"]
    alert = Alert(kind=kind, urgency=urgency.value, subject_type=subject_type,
                  subject_id=str(subject_id) if subject_id is not None else None, team_id=team_id,
                  created_at=now, deadline=alert_deadline(urgency, now), public=public, possible_flood=flood)
    alert.summary = None if summary is None else store_message(words(summary) if isinstance(summary, str) else summary)
    db.session.add(alert)
    db.session.flush()
    record_event("create", "alert", alert.id, reason=f"{kind}:{urgency.value}{':possible-flood' if flood else ''}")
    return alert


def public_alert_window() -> timedelta:
    return timedelta(minutes=current_app.config["PUBLIC_ALERT_WINDOW_MINUTES"])


def public_alerts_since(since: datetime) -> int:
    """How many alerts public forms raised service-wide since `since`."""
    return db.session.scalar(select(func.count(Alert.id)).where(Alert.public.is_(True), Alert.created_at >= since)) or 0


FLOOD_NOTICE = _l("Possible flood: many requests arrived at once — check before acting.")


def alerts_for(user):
    """Alerts a staff member sees: their team's, and those not yet given to any team."""
    return or_(Alert.team_id.is_(None), Alert.team_id == user.team_id)


def open_alerts(user, page: int = 1, per_page: int = 50):
    stmt = (select(Alert).where(Alert.state.in_([AlertState.OPEN.value, AlertState.CLAIMED.value]),
                                alerts_for(user))
            .order_by(Alert.deadline))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


# ------------------------------------------------------------------ what an alert is about
@dataclass
class AlertSubject:
    """What raised an alert, as far as the queue may show it to the worker looking at it.

    `name` and `phone` (when given) fill in the "new client" form of the case made from the
    alert; the link opens the subject's own page, which keeps its own access rules."""

    heading: object                 # e.g. "Asked to be called"
    name: str | None = None
    phone: str | None = None
    link_endpoint: str | None = None
    link_args: dict | None = None
    link_text: object = None


def subject_of(alert: Alert) -> AlertSubject | None:
    """Ask the area that owns the alert's subject type (see carecycle.areas.add_alert_subject)."""
    if not alert.subject_type or not alert.subject_id:
        return None
    describe: Callable | None = current_app.extensions.get("carecycle_alert_subjects", {}).get(alert.subject_type)
    return describe(alert) if describe else None


def subject_refs(alerts, user) -> dict[uuid.UUID, dict]:
    """`{"type": ..., "id": ...}` of what each alert is about, keyed by alert id, for the alerts
    whose subject `user` may see by that record's own rule (one query per subject type); an
    alert about something hidden from them, or about nothing, is left out."""
    kinds: dict = current_app.extensions.get("carecycle_alert_subject_kinds", {})
    by_type: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.subject_type in kinds and alert.subject_id:
            by_type.setdefault(alert.subject_type, []).append(alert)
    refs: dict[uuid.UUID, dict] = {}
    for subject_type, group in by_type.items():
        seen = {str(i) for i in visible_ids(kinds[subject_type], (a.subject_id for a in group), user)}
        refs.update({a.id: {"type": subject_type, "id": a.subject_id} for a in group if a.subject_id in seen})
    return refs
