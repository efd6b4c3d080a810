"""The operating mode (`normal` / `emergency`): who switched it, when and why.

Areas read `current_mode()` to set deadlines of what they create, and register a hook
(carecycle.areas.add_mode_switch_hook) to re-time what is already waiting when the mode is
switched; the switch page comes with supervision."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from carecycle.audit import record_event
from carecycle.database import UUIDPrimaryKey, rows_changed, utcnow
from carecycle.extensions import Model, db
from carecycle.validation import Invalid


class Mode(StrEnum):
    NORMAL = "normal"
    EMERGENCY = "emergency"

    @property
    def label(self):
        return {Mode.NORMAL: _l("Normal operation"), Mode.EMERGENCY: _l("Emergency operation")}[self]


class ModeChange(UUIDPrimaryKey, Model):
    __tablename__ = "mode_change"

    mode: Mapped[str] = mapped_column(String(20))
    switched_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    switched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class ModeState:
    mode: Mode
    since: datetime | None
    switched_by_id: uuid.UUID | None
    reason: str | None

    @property
    def emergency(self) -> bool:
        return self.mode is Mode.EMERGENCY


def mode_columns() -> tuple:
    """The latest switch's mode, time, switcher and reason as scalar subqueries, for one SELECT that
    also asks other things (the page header asks the mode and the unread count in one statement)."""
    def latest(column):
        return select(column).order_by(ModeChange.switched_at.desc()).limit(1).scalar_subquery()
    return (latest(ModeChange.mode), latest(ModeChange.switched_at), latest(ModeChange.switched_by_id),
            latest(ModeChange.reason))


def mode_state(mode, switched_at, switched_by_id, reason) -> ModeState:
    """The ModeState of the values `mode_columns` selects (normal when nothing was ever switched)."""
    if mode is None:
        return ModeState(Mode.NORMAL, None, None, None)
    return ModeState(Mode(mode), switched_at, switched_by_id, reason)


def current_mode() -> ModeState:
    return mode_state(*db.session.execute(select(*mode_columns())).one())


def switch_mode(mode: Mode | str, user, reason: str, *, retime: bool = True) -> ModeChange:
    """Record a switch and run the areas' mode-switch hooks (the caller checks the permission and
    commits). `retime=False` only records the row, for a period replayed in the past (demo data)."""
    try:
        mode = Mode(mode)
    except ValueError:
        raise Invalid({"mode": _("Choose normal or emergency.")}) from None
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": _("Give a reason for the switch.")})
    if current_mode().mode is mode:
        raise Invalid({"mode": _("The service is already in this mode.")})
    row = ModeChange(mode=mode.value, switched_by_id=user.id if user else None, reason=reason)
    db.session.add(row)
    db.session.flush()
    record_event("update", "operating_mode", row.id, reason=mode.value, actor=user)
    if retime:
        state = ModeState(mode, row.switched_at, row.switched_by_id, reason)
        for hook in current_app.extensions.get("carecycle_mode_switch_hooks", []):
            hook(state, row)
    return row


def scaled(interval: timedelta, state: ModeState | None = None) -> timedelta:
    """Emergency mode halves deadlines and outreach intervals."""
    state = state or current_mode()
    return interval / 2 if state.emergency else interval


EMERGENCY_DEADLINE = "emergency deadline"  # the audit reason of a deadline brought forward


def bring_deadlines_forward(column, candidates, still_waiting, object_type: str) -> int:
    """The emergency re-timing every area's mode-switch hook does: for each `(row id, current
    deadline, emergency deadline)` in `candidates`, set `column` to the emergency deadline when it
    is earlier and the row is still waiting (`still_waiting`, a SQL condition). The deadline alone
    moves, so a claim or answer made meanwhile keeps its version; a deadline never moves later.
    Each move is audited. Returns how many moved."""
    model = column.class_
    moved = 0
    for row_id, current, earlier in candidates:
        if earlier is None or current is None or earlier >= current:
            continue
        result = db.session.execute(update(model).where(model.id == row_id, still_waiting, column > earlier)
                                    .values({column.key: earlier}))
        if rows_changed(result):
            moved += 1
            record_event("update", object_type, row_id, reason=EMERGENCY_DEADLINE)
    return moved
