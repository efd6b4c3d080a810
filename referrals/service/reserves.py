"""Reserves: recording an item at its level, changing its stock only by appending a movement, the
marks a list shows (low, near expiry, expired) and who sees what.

A *service* reserve is held by a team; a *community* reserve by a partner organisation (under one of
its agreements, where there is one); a *household* reserve by a person on the vulnerable-person
register, recorded at outreach. Every item is the record of one team and is seen by that team's
staff; a household item only by those who may also see the person's register entry.

Stock never goes below zero and is never overwritten: a receipt adds, a draw or a discard takes
away (never more than is on hand), and a stock count records the difference to what was on record.
An item is *low* at or below its low mark, *near expiry* within 30 days of its expiry date."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import false, or_, select
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import today as local_today
from carecycle.permissions import Permission, access_held, user_has
from carecycle.validation import Invalid
from casework.models import Client, RegisterEntry
from casework.service.access import visible_clients
from referrals.enums import MovementKind, ReserveKind, ReserveLevel
from referrals.models import Organisation, PartnerAgreement, ReserveItem, ReserveMovement
from referrals.service.common import Errors, check_version, iso_date, text, whole_number

NEAR_EXPIRY = timedelta(days=30)
MAX_QUANTITY = 1_000_000
PAGE_SIZE = 50


# ------------------------------------------------------------------ who sees what
def visible_items(user):
    """A WHERE clause selecting the reserve items `user` may see: their team's, and of the household
    ones only those whose register entry they may see."""
    if user.team_id is None or not user_has(user, Permission.RESERVES_VIEW) or access_held(user):
        return false()
    entries = (select(RegisterEntry.id).join(Client, Client.id == RegisterEntry.client_id)
               .where(visible_clients(user)))
    return (ReserveItem.team_id == user.team_id) & or_(ReserveItem.register_entry_id.is_(None),
                                                       ReserveItem.register_entry_id.in_(entries))


def _household_entries(user, *columns):
    """SELECT of the register entries of the user's team a household item may be recorded for (on the
    register now, of a client the user may see)."""
    return (select(*(columns or (RegisterEntry,))).join(Client, Client.id == RegisterEntry.client_id)
            .where(RegisterEntry.team_id == user.team_id, RegisterEntry.removed_at.is_(None), visible_clients(user)))


def household_choices(user) -> Sequence[RegisterEntry]:
    if user.team_id is None:
        return []
    return db.session.scalars(_household_entries(user).options(selectinload(RegisterEntry.client))).all()


# ------------------------------------------------------------------ marks
@dataclass(frozen=True)
class Marks:
    low: bool
    expired: bool
    near_expiry: bool

    @property
    def attention(self) -> bool:
        return self.low or self.expired or self.near_expiry


def marks(item: ReserveItem, today: date | None = None) -> Marks:
    today = today or local_today()
    expired = item.expires_on is not None and item.expires_on < today
    near = item.expires_on is not None and not expired and item.expires_on - today <= NEAR_EXPIRY
    low = item.low_at is not None and item.quantity <= item.low_at
    return Marks(low=low, expired=expired, near_expiry=near)


# ------------------------------------------------------------------ validation
def _choice(data: dict, name: str, enum, errors: Errors, message: str) -> str | None:
    value = data.get(name)
    if value not in [member.value for member in enum]:
        errors[name] = message
        return None
    return value


def _record(data: dict, name: str, model, errors: Errors, message: str, where=()):
    """The record `data[name]` names (an id), or None; `message` when it names none (or a forbidden one)."""
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        rid = uuid.UUID(str(value))
    except ValueError:
        errors[name] = message
        return None
    row = db.session.scalar(select(model).where(model.id == rid, *where))
    if row is None:
        errors[name] = message
    return row


def clean_item(user, data: dict) -> dict:
    """Validate a new item; raises Invalid naming each bad field. Returns the fields and the holder records."""
    errors = Errors()
    level = _choice(data, "level", ReserveLevel, errors, _("Choose who holds it: the service, a partner or a "
                                                           "household."))
    clean: dict[str, Any] = {
        "level": level,
        "kind": _choice(data, "kind", ReserveKind, errors, _("Choose what kind of reserve it is.")),
        "name": text(data, "name", errors, limit=200, required=True,
                     message=_("Say what it is, for example bottled water or insulin pens.")),
        "unit": text(data, "unit", errors, limit=60, required=True,
                     message=_("Enter the unit, for example bottles, boxes, beds or people.")),
        "location": text(data, "location", errors, limit=200),
        "expires_on": iso_date(data, "expires_on", errors),
        "low_at": whole_number(data, "low_at", errors, low=0, high=MAX_QUANTITY),
    }
    quantity = whole_number(data, "quantity", errors, low=0, high=MAX_QUANTITY)
    if quantity is None and "quantity" not in errors:
        errors["quantity"] = _("Enter how many there are now (0 or more).")
    clean["quantity"] = quantity
    org = _record(data, "organization_id", Organisation, errors, _("Choose a partner organisation of the directory."),
                  where=(Organisation.archived_at.is_(None),))
    agreement = _record(data, "agreement_id", PartnerAgreement, errors, _("Choose one of the partner's agreements."))
    entry = _record(data, "register_entry_id", RegisterEntry, errors, _("Choose a person on your team's register."),
                    where=(RegisterEntry.id.in_(_household_entries(user, RegisterEntry.id)),))
    if level == ReserveLevel.COMMUNITY.value:
        if org is None and "organization_id" not in errors:
            errors["organization_id"] = _("A community reserve is held by a partner: choose the organisation.")
        if agreement is not None and org is not None and agreement.organisation_id != org.id:
            errors["agreement_id"] = _("Choose one of the partner's agreements.")
    elif org is not None or agreement is not None:
        errors["organization_id"] = _("Only a community reserve is held by a partner organisation.")
    if level == ReserveLevel.HOUSEHOLD.value:
        if entry is None and "register_entry_id" not in errors:
            errors["register_entry_id"] = _("A household reserve is held by a person on the register: choose them.")
    elif entry is not None:
        errors["register_entry_id"] = _("Only a household reserve is held by a person on the register.")
    if clean["kind"] in (ReserveKind.MEDICINE.value, ReserveKind.FOOD.value, ReserveKind.WATER.value) \
            and clean["expires_on"] is None and "expires_on" not in errors:
        errors["expires_on"] = _("Medicines, food and water keep only so long: enter the expiry date (the soonest "
                                 "if there are several).")
    errors.check()
    clean.update(organisation=org, agreement=agreement, register_entry=entry)
    return clean


def clean_movement(item: ReserveItem, data: dict) -> tuple[str, int, str | None]:
    """(kind, signed change, note) of a stock movement; raises Invalid naming each bad field."""
    errors = Errors()
    kinds = [MovementKind.RECEIVED.value, MovementKind.DRAWN.value, MovementKind.DISCARDED.value,
             MovementKind.COUNTED.value]
    kind = data.get("kind")
    if kind not in kinds:
        errors["kind"] = _("Choose what happened: received, drawn, discarded or counted.")
    number = whole_number(data, "quantity", errors, low=0, high=MAX_QUANTITY)
    note = text(data, "note", errors, limit=300)
    change = 0
    if number is None and "quantity" not in errors:
        errors["quantity"] = _("Enter how many.")
    elif number is not None and kind in kinds:
        if kind == MovementKind.COUNTED.value:
            change = number - item.quantity
        elif number == 0:
            errors["quantity"] = _("Enter how many, more than 0.")
        elif kind == MovementKind.RECEIVED.value:
            change = number
            if item.quantity + number > MAX_QUANTITY:
                errors["quantity"] = _("Use a whole number from %(low)d to %(high)d.", low=1,
                                       high=MAX_QUANTITY - item.quantity)
        elif number > item.quantity:
            errors["quantity"] = _("Only %(n)d %(unit)s on hand: record a stock count if there are more.",
                                   n=item.quantity, unit=item.unit)
        else:
            change = -number
    errors.check()  # a count that confirms the stock (change 0) is recorded too
    return str(kind), change, note


# ------------------------------------------------------------------ saving
def _append(user, item: ReserveItem, kind: str, change: int, note: str | None) -> ReserveMovement:
    item.quantity += change
    item.updated_at = utcnow()
    movement = ReserveMovement(item_id=item.id, item=item, kind=kind, change=change, quantity_after=item.quantity,
                               by_id=getattr(user, "id", None), at=item.updated_at)
    movement.note = note
    db.session.add(movement)
    return movement


def create_item(user, data: dict, *, item_id=None) -> ReserveItem:
    if getattr(user, "team_id", None) is None:
        raise Invalid({"level": _("A reserve is the record of a team, and your account is on none: ask an "
                                  "administrator to place it on a team.")})
    clean = clean_item(user, data)
    quantity = clean.pop("quantity")
    location = clean.pop("location")
    org, agreement, entry = clean.pop("organisation"), clean.pop("agreement"), clean.pop("register_entry")
    item = ReserveItem(id=item_id or uuid.uuid4(), team_id=user.team_id, quantity=0,
                       organisation_id=org.id if org else None, agreement_id=agreement.id if agreement else None,
                       register_entry_id=entry.id if entry else None, created_by_id=getattr(user, "id", None),
                       **clean)
    item.location = location
    db.session.add(item)
    db.session.flush()
    _append(user, item, MovementKind.OPENING.value, quantity, None)
    db.session.flush()
    record_event("create", "reserve_item", item.id)
    return item


def record_movement(user, item: ReserveItem, data: dict, version=None) -> ReserveMovement:
    """Append a movement to `item` (`version`: the item's version the person saw; stale -> Conflict)."""
    check_version(item, version, _("The stock of this item changed since you opened it: check the new figure."))
    kind, change, note = clean_movement(item, data)
    movement = _append(user, item, kind, change, note)
    db.session.flush()
    record_event("update", "reserve_item", item.id, reason=f"{kind} {change:+d}")
    return movement


# ------------------------------------------------------------------ lists
def items(user, level: str | None = None, attention: bool = False, today: date | None = None,
          page: int = 1) -> tuple[list[ReserveItem], bool]:
    """The user's team's items (of a level), those needing attention first then by name; (page, more)."""
    stmt = select(ReserveItem).where(visible_items(user))
    if level in [lv.value for lv in ReserveLevel]:
        stmt = stmt.where(ReserveItem.level == level)
    rows = db.session.scalars(stmt.options(selectinload(ReserveItem.organisation),
                                           selectinload(ReserveItem.register_entry)
                                           .selectinload(RegisterEntry.client))).all()
    today = today or local_today()
    flagged = [(marks(row, today), row) for row in rows]
    if attention:
        flagged = [(m, row) for m, row in flagged if m.attention]
    flagged.sort(key=lambda pair: (not pair[0].attention, pair[1].expires_on or date.max, pair[1].name.lower()))
    start = (max(page, 1) - 1) * PAGE_SIZE
    chosen = [row for _m, row in flagged[start:start + PAGE_SIZE + 1]]
    return chosen[:PAGE_SIZE], len(chosen) > PAGE_SIZE


def household_items(user, entry: RegisterEntry, today: date | None = None) -> list[ReserveItem]:
    """What the person of a register entry holds at home, as `user` may see it: those needing attention
    first, then by expiry and name (a household holds a handful of items, so no paging)."""
    rows = db.session.scalars(select(ReserveItem).where(visible_items(user), ReserveItem.register_entry_id == entry.id)
                              .limit(PAGE_SIZE)).all()
    today = today or local_today()
    return sorted(rows, key=lambda row: (not marks(row, today).attention, row.expires_on or date.max,
                                         row.name.lower()))


def movements(item: ReserveItem, limit: int = 200) -> Sequence[ReserveMovement]:
    return db.session.scalars(select(ReserveMovement).where(ReserveMovement.item_id == item.id)
                              .order_by(ReserveMovement.at.desc(), ReserveMovement.id).limit(limit)).all()
