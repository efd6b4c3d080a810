"""Partner agreements (memoranda of cooperation): validating and saving them, their state today,
and the list of those that expire within 60 days.

An agreement runs from `valid_from` to `valid_to` (both days included); it *expires soon* when
`valid_to` is at most 60 days away, and its *review is due* once the review date has come. Each
commitment says which side gives what in an emergency: a positive whole quantity, a unit and what
("10 shelter beds": 10, "beds", "shelter"). Agreements are never deleted: an ended one stays as
the record of what was agreed."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import today as local_today
from referrals.enums import AgreementSide, AgreementState
from referrals.models import Organisation, PartnerAgreement
from referrals.service.common import Errors, check_version, iso_date, phone, text, whole_number

EXPIRY_WARNING = timedelta(days=60)
MAX_QUANTITY = 1_000_000
MAX_COMMITMENTS = 20
MAX_CONTACTS = 10
COMMITMENT_FIELDS = ("side", "quantity", "unit", "what")
CONTACT_FIELDS = ("name", "phone", "role")


# ------------------------------------------------------------------ state
def state(agreement: PartnerAgreement, today: date | None = None) -> AgreementState:
    today = today or local_today()
    if agreement.valid_to < today:
        return AgreementState.EXPIRED
    if agreement.valid_from > today:
        return AgreementState.UPCOMING
    if agreement.valid_to - today <= EXPIRY_WARNING:
        return AgreementState.EXPIRING
    if review_due(agreement, today):
        return AgreementState.REVIEW_DUE
    return AgreementState.CURRENT


def review_due(agreement: PartnerAgreement, today: date | None = None) -> bool:
    today = today or local_today()
    return agreement.review_on is not None and agreement.review_on <= today and agreement.valid_to >= today


# ------------------------------------------------------------------ validation
def _blank(row: dict, names: Sequence[str]) -> bool:
    return all(row.get(name) in (None, "") for name in names)


def _rows(data: dict, name: str, errors: Errors, limit: int) -> list:
    rows = data.get(name)
    if rows in (None, ""):
        return []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        errors[name] = _("Must be a list of objects.")
        return []
    if len(rows) > limit:
        errors[name] = _("At most %(n)d rows.", n=limit)
        return []
    return rows


def clean_commitments(data: dict, errors: Errors) -> list[dict]:
    clean = []
    sides = [s.value for s in AgreementSide]
    for index, row in enumerate(_rows(data, "commitments", errors, MAX_COMMITMENTS)):
        if _blank(row, ("quantity", "unit", "what")):
            continue  # an empty row of the form
        prefix = f"commitments[{index}]."
        side = row.get("side")
        if side not in sides:
            errors[prefix + "side"] = _("Choose who commits: the partner or our service.")
        quantity = whole_number(row, "quantity", errors, low=1, high=MAX_QUANTITY, field=prefix + "quantity")
        if quantity is None:  # missing, not a whole number, zero or negative
            errors[prefix + "quantity"] = _("Enter how many, as a positive whole number.")
        unit = text(row, "unit", errors, limit=60, required=True, field=prefix + "unit",
                    message=_("Enter the unit, for example beds, hours a week or vans."))
        what = text(row, "what", errors, limit=200, required=True, field=prefix + "what",
                    message=_("Say what is committed, for example shelter or counselling."))
        clean.append({"side": side, "quantity": quantity, "unit": unit, "what": what})
    if not clean and "commitments" not in errors and not any(k.startswith("commitments[") for k in errors):
        errors["commitments"] = _("Add at least one commitment.")
    return clean


def clean_contacts(data: dict, errors: Errors) -> list[dict]:
    clean = []
    for index, row in enumerate(_rows(data, "contacts", errors, MAX_CONTACTS)):
        if _blank(row, CONTACT_FIELDS):
            continue
        prefix = f"contacts[{index}]."
        name = text(row, "name", errors, limit=200, required=True, field=prefix + "name",
                    message=_("Enter the contact person's name."))
        number = phone(row, "phone", errors, required=True, field=prefix + "phone")
        role = text(row, "role", errors, limit=120, field=prefix + "role")
        clean.append({"name": name, "phone": number, "role": role})
    return clean


def clean_agreement(data: dict) -> dict:
    """Validate an agreement's fields; raises Invalid naming each bad field (rows as `commitments[1].quantity`)."""
    errors = Errors()
    clean: dict[str, Any] = {
        "title": text(data, "title", errors, limit=200, required=True, message=_("Give the agreement a title.")),
        "valid_from": iso_date(data, "valid_from", errors, required=True),
        "valid_to": iso_date(data, "valid_to", errors, required=True),
        "review_on": iso_date(data, "review_on", errors),
        "document_reference": text(data, "document_reference", errors, limit=300),
        "commitments": clean_commitments(data, errors),
        "contacts": clean_contacts(data, errors),
    }
    if clean["valid_from"] and clean["valid_to"] and clean["valid_to"] <= clean["valid_from"]:
        errors["valid_to"] = _("The agreement must end after the day it starts.")
    errors.check()
    return clean


# ------------------------------------------------------------------ saving
def create_agreement(user, org: Organisation, data: dict, *, agreement_id=None) -> PartnerAgreement:
    clean = clean_agreement(data)
    contacts = clean.pop("contacts")
    agreement = PartnerAgreement(id=agreement_id or uuid.uuid4(), organisation_id=org.id, organisation=org,
                                 created_by_id=getattr(user, "id", None), updated_by_id=getattr(user, "id", None),
                                 **clean)
    agreement.contacts = contacts or None
    db.session.add(agreement)
    db.session.flush()
    record_event("create", "partner_agreement", agreement.id)
    return agreement


def update_agreement(user, agreement: PartnerAgreement, data: dict, version=None) -> PartnerAgreement:
    check_version(agreement, version, _("Someone else changed this agreement since you opened it."))
    clean = clean_agreement(data)
    contacts = clean.pop("contacts")
    for name, value in clean.items():
        setattr(agreement, name, value)
    agreement.contacts = contacts or None
    agreement.updated_at = utcnow()
    agreement.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    record_event("update", "partner_agreement", agreement.id)
    return agreement


# ------------------------------------------------------------------ lists
def agreements_of(org: Organisation) -> Sequence[PartnerAgreement]:
    """An organisation's agreements, the latest ending first."""
    return db.session.scalars(select(PartnerAgreement).where(PartnerAgreement.organisation_id == org.id)
                              .order_by(PartnerAgreement.valid_to.desc(), PartnerAgreement.title)).all()


def expiring(today: date | None = None) -> Sequence[PartnerAgreement]:
    """Agreements in force that end within 60 days, of organisations not archived, the soonest first."""
    today = today or local_today()
    return db.session.scalars(
        select(PartnerAgreement).join(Organisation, Organisation.id == PartnerAgreement.organisation_id)
        .where(Organisation.archived_at.is_(None), PartnerAgreement.valid_from <= today,
               PartnerAgreement.valid_to >= today, PartnerAgreement.valid_to <= today + EXPIRY_WARNING)
        .options(selectinload(PartnerAgreement.organisation))
        .order_by(PartnerAgreement.valid_to, Organisation.name, PartnerAgreement.title)).all()
