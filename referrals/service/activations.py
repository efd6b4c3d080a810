"""The activation board: in emergency operation, every agreement in force with what the partner
committed and whom to call, the team's record of each activation (who called whom, when, what was
promised, what arrived) and the team's reserves with what was drawn since the emergency began.
An activation belongs to the emergency period it was made in (the mode switch that opened it);
switching back to normal keeps it, and the after-action review of a period lists what was
activated and what failed to arrive.

Who: social workers and supervisors of a team (ACTIVATIONS); an account whose access waits for a
supervisor is refused by the routes. Activations are the team's record: another team's answer 404."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import today as local_today
from carecycle.mode import Mode, ModeChange
from carecycle.permissions import Permission, access_held, user_has
from carecycle.validation import Invalid
from referrals.enums import ActivationStatus, AgreementSide, MovementKind
from referrals.models import Activation, Organisation, PartnerAgreement, ReserveItem, ReserveMovement
from referrals.service.common import Errors, check_version, text, whole_number
from referrals.service.reserves import visible_items

MAX_PROMISED = 100_000
FAILED = (ActivationStatus.PARTLY.value, ActivationStatus.NOT_ARRIVED.value, ActivationStatus.DECLINED.value)


# ------------------------------------------------------------------ periods
@dataclass(frozen=True)
class Period:
    """An emergency period: from the switch to emergency to the next switch (None while it lasts)."""
    id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    reason: str

    @property
    def current(self) -> bool:
        return self.ended_at is None


def periods() -> list[Period]:
    """Every emergency period, the latest first."""
    changes = db.session.execute(select(ModeChange.id, ModeChange.mode, ModeChange.switched_at, ModeChange.reason)
                                 .order_by(ModeChange.switched_at, ModeChange.id)).all()
    found: list[Period] = []
    for n, (cid, mode, at, reason) in enumerate(changes):
        if mode != Mode.EMERGENCY.value:
            continue
        ended = next((later.switched_at for later in changes[n + 1:] if later.mode != Mode.EMERGENCY.value), None)
        found.append(Period(cid, at, ended, reason))
    return found[::-1]


def current_period() -> Period | None:
    latest = periods()
    return latest[0] if latest and latest[0].current else None


def period(period_id) -> Period | None:
    try:
        pid = uuid.UUID(str(period_id))
    except ValueError:
        return None
    return next((p for p in periods() if p.id == pid), None)


# ------------------------------------------------------------------ who sees what
def visible_activations(user):
    if user.team_id is None or not user_has(user, Permission.ACTIVATIONS) or access_held(user):
        return false()
    return Activation.team_id == user.team_id


def load(user, activation_id) -> Activation | None:
    try:
        aid = uuid.UUID(str(activation_id))
    except ValueError:
        return None
    return db.session.scalar(select(Activation).where(Activation.id == aid, visible_activations(user)))


# ------------------------------------------------------------------ the board
@dataclass(frozen=True)
class Commitment:
    agreement: PartnerAgreement
    index: int
    quantity: int | None
    unit: str
    what: str

    @property
    def text(self) -> str:
        return " ".join(str(part) for part in (self.quantity, self.unit, self.what) if part not in (None, ""))


def agreements_in_force(agreement_id: uuid.UUID | None = None) -> Sequence[PartnerAgreement]:
    """The agreements in force today (of an organisation not archived); only that one with `agreement_id`."""
    today = local_today()
    return db.session.scalars(
        select(PartnerAgreement).join(Organisation, Organisation.id == PartnerAgreement.organisation_id)
        .where(Organisation.archived_at.is_(None), PartnerAgreement.valid_from <= today,
               PartnerAgreement.valid_to >= today,
               *(() if agreement_id is None else (PartnerAgreement.id == agreement_id,)))
        .options(selectinload(PartnerAgreement.organisation))
        .order_by(Organisation.name, PartnerAgreement.title)).all()


def commitments(agreement: PartnerAgreement) -> list[Commitment]:
    """What the partner committed under an agreement (the service's own commitments are not called in)."""
    return [Commitment(agreement, n, row.get("quantity"), row.get("unit") or "", row.get("what") or "")
            for n, row in enumerate(agreement.commitments or [])
            if row.get("side", AgreementSide.PARTNER.value) == AgreementSide.PARTNER.value]


def activations(user, period_id: uuid.UUID) -> Sequence[Activation]:
    return db.session.scalars(
        select(Activation).where(visible_activations(user), Activation.period_id == period_id)
        .options(selectinload(Activation.agreement).selectinload(PartnerAgreement.organisation))
        .order_by(Activation.called_at.desc(), Activation.id)).all()


def reserves_drawn(user, since: datetime, until: datetime | None = None) -> list[tuple[ReserveItem, int]]:
    """The team's reserves (those `user` may see), each with how much was drawn or discarded in the period."""
    moved = (select(ReserveMovement.item_id, func.sum(ReserveMovement.change).label("out"))
             .where(ReserveMovement.kind.in_([MovementKind.DRAWN.value, MovementKind.DISCARDED.value]),
                    ReserveMovement.at >= since, *(() if until is None else (ReserveMovement.at < until,)))
             .group_by(ReserveMovement.item_id).subquery())
    rows = db.session.execute(
        select(ReserveItem, moved.c.out).outerjoin(moved, moved.c.item_id == ReserveItem.id)
        .where(visible_items(user)).order_by(ReserveItem.level, ReserveItem.name)).all()
    return [(item, -(out or 0)) for item, out in rows]


# ------------------------------------------------------------------ recording
def emergency_period() -> Period:
    """The emergency period going on; Invalid (on `agreement_id`) in normal operation."""
    current = current_period()
    if current is None:
        raise Invalid({"agreement_id": _("The service is in normal operation: activations are recorded in emergency "
                                         "operation only.")})
    return current


def agreement_in_force(agreement_id) -> PartnerAgreement | None:
    try:
        aid = uuid.UUID(str(agreement_id))
    except ValueError:
        return None
    return next(iter(agreements_in_force(aid)), None)


def record_call(user, data: dict) -> Activation:
    """Record that `user` called a partner to activate one of its agreement's commitments."""
    current = emergency_period()
    if getattr(user, "team_id", None) is None:
        raise Invalid({"agreement_id": _("An activation is the record of a team, and your account is on none.")})
    errors = Errors()
    agreement = agreement_in_force(data.get("agreement_id"))
    if agreement is None:
        errors["agreement_id"] = _("Choose an agreement in force.")
    commitment = None
    if agreement is not None and "agreement_id" not in errors:
        index = data.get("commitment")
        commitment = next((c for c in commitments(agreement) if str(c.index) == str(index)), None)
        if commitment is None:
            errors["commitment"] = _("Choose one of what the partner committed.")
    contact = text(data, "contact", errors, limit=200, required=True,
                   message=_("Say whom you called, for example the duty manager and the number."))
    promised = whole_number(data, "promised", errors, low=0, high=MAX_PROMISED)
    if promised is None and "promised" not in errors:
        errors["promised"] = _("Enter how many they promised (0 if they could not help).")
    note = text(data, "note", errors, limit=500)
    errors.check()
    assert agreement is not None and commitment is not None and promised is not None
    row = Activation(team_id=user.team_id, period_id=current.id, agreement_id=agreement.id, agreement=agreement,
                     commitment=commitment.index, what=commitment.text[:300], unit=commitment.unit[:60] or "-",
                     promised=promised, called_by_id=user.id,
                     status=ActivationStatus.PROMISED.value if promised else ActivationStatus.DECLINED.value)
    row.contact = contact
    row.note = note
    if not promised:
        row.arrived, row.outcome_at, row.outcome_by_id = 0, utcnow(), user.id
    db.session.add(row)
    db.session.flush()
    record_event("create", "activation", row.id, reason=row.status, actor=user)
    return row


def record_outcome(user, row: Activation, data: dict, version=None) -> Activation:
    """What arrived of an activation: all, part (how many), nothing, or the partner could not help."""
    check_version(row, version, _("Someone recorded this activation since you opened the board: check it again."))
    errors = Errors()
    status = data.get("status")
    if status not in (ActivationStatus.ARRIVED.value, *FAILED):
        errors["status"] = _("Choose what happened: arrived, partly arrived, did not arrive or could not help.")
    arrived = whole_number(data, "arrived", errors, low=0, high=MAX_PROMISED)
    note = text(data, "note", errors, limit=500)
    if status == ActivationStatus.PARTLY.value and "arrived" not in errors:
        if arrived is None or not 0 < arrived < row.promised:
            errors["arrived"] = _("Enter how many arrived: more than 0 and fewer than the %(n)d promised.",
                                  n=row.promised)
    errors.check()
    row.status = str(status)
    row.arrived = {ActivationStatus.ARRIVED.value: row.promised, ActivationStatus.PARTLY.value: arrived}.get(
        row.status, 0)
    row.outcome_at, row.outcome_by_id = utcnow(), user.id
    if note:
        row.note = f"{row.note}\n{note}" if row.note else note  # earlier words stay
    db.session.flush()
    record_event("update", "activation", row.id, reason=row.status, actor=user)
    return row


# ------------------------------------------------------------------ the after-action review
@dataclass(frozen=True)
class Review:
    period: Period
    activations: Sequence[Activation]
    reserves: list[tuple[ReserveItem, int]]

    @property
    def failed(self) -> list[Activation]:
        """What failed to arrive: partly, nothing, could not help, or never confirmed."""
        return [a for a in self.activations if a.status in FAILED or a.status == ActivationStatus.PROMISED.value]

    @property
    def arrived(self) -> list[Activation]:
        return [a for a in self.activations if a.status == ActivationStatus.ARRIVED.value]


def review(user, chosen: Period) -> Review:
    return Review(chosen, activations(user, chosen.id), [(item, out) for item, out in
                                                         reserves_drawn(user, chosen.started_at, chosen.ended_at)
                                                         if out])


def period_counts(user) -> dict[uuid.UUID, tuple[int, int]]:
    """{period id: (activations, failed to arrive)} of the user's team."""
    rows = db.session.execute(select(Activation.period_id, Activation.status, func.count())
                              .where(visible_activations(user)).group_by(Activation.period_id, Activation.status))
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    for pid, status, n in rows:
        total, failed = counts.get(pid, (0, 0))
        bad = status in FAILED or status == ActivationStatus.PROMISED.value
        counts[pid] = (total + n, failed + (n if bad else 0))
    return counts
