"""Asking to be contacted: store who to call (encrypted) with the consent, and raise a triage alert."""
from __future__ import annotations

import re
import unicodedata
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carecycle.alerts import Alert, AlertState, AlertSubject, Urgency, raise_alert
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.messages import call, label, said
from carecycle.validation import Invalid
from screening.models import PREFERRED_TIMES, ContactRequest, ScreeningResult
from screening.service import get_instrument

CONSENT_VERSION = "2026-1"


class ContactError(Invalid):
    """A contact request refused: `fields` maps each bad field to its message."""


def phone_problem(phone: str):
    """Why a phone number cannot be called back, or None."""
    normal = unicodedata.normalize("NFKC", phone).strip()
    if not re.fullmatch(r"\+?[0-9][0-9 ()\-]{5,24}", normal):
        return _l("Enter a phone number of digits, with spaces, dashes or a leading + if you like.")
    digits = re.sub(r"\D", "", normal)
    if not 6 <= len(digits) <= 16:
        return _l("A phone number has 6 to 16 digits.")
    return None


def existing_request(result: ScreeningResult) -> ContactRequest | None:
    return db.session.scalar(select(ContactRequest).where(ContactRequest.result_id == result.id))


def request_contact(result: ScreeningResult, *, name: str, phone: str, preferred_time: str, consent: bool,
                    language: str, user=None) -> ContactRequest:
    """Store the request and put an alert on the triage queue (the caller commits)."""
    name, phone = " ".join((name or "").split()), (phone or "").strip()
    errors = {}
    if not name:
        errors["name"] = _l("Tell us what to call you (a first name is enough).")
    elif len(name) > 120:
        errors["name"] = _l("Use at most 120 characters.")
    problem = phone_problem(phone) if phone else _l("Enter the phone number we should call.")
    if problem:
        errors["phone"] = problem
    if preferred_time not in PREFERRED_TIMES:
        errors["preferred_time"] = _l("Choose when we should call.")
    if consent is not True:
        errors["consent"] = _l("We can only call you with your agreement. Tick the box to agree.")
    if errors:
        raise ContactError(errors)
    urgency = Urgency.CRISIS if result.crisis else Urgency.CONTACT_REQUEST
    request = ContactRequest(result_id=result.id, user_id=result.user_id, urgency=urgency.value,
                             preferred_time=preferred_time, consent_version=CONSENT_VERSION,
                             consented_at=utcnow(), language=language)
    request.name = name
    request.phone = phone
    db.session.add(request)
    db.session.flush()
    instrument = get_instrument(result.instrument)
    values = {"instrument": instrument.name if instrument else result.instrument,
              "band": call("screening_band", result.instrument, result.band),
              "time": label("contact_time", preferred_time)}
    summary = (said("Self-screening %(instrument)s: band %(band)s, crisis; asks to be called (%(time)s).", **values)
               if result.crisis else
               said("Self-screening %(instrument)s: band %(band)s; asks to be called (%(time)s).", **values))
    alert = raise_alert(kind="screening", urgency=urgency, subject_type="contact_request",
                        subject_id=request.id, summary=summary, public=True)
    request.alert_id = alert.id
    record_event("create", "contact_request", request.id, reason=urgency.value)
    return request


def open_requests(page: int = 1, per_page: int = 50):
    """Contact requests whose alert is still open or claimed, most urgent deadline first."""
    stmt = (select(ContactRequest).join(Alert, Alert.id == ContactRequest.alert_id)
            .options(selectinload(ContactRequest.result))  # the list shows each request's questionnaire
            .where(Alert.state.in_([AlertState.OPEN.value, AlertState.CLAIMED.value]))
            .order_by(Alert.deadline))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def request_for_staff(request_id) -> ContactRequest | None:
    """One request for the duty counsellor; the read is audited."""
    request = db.session.get(ContactRequest, request_id)
    if request is not None:
        record_event("view", "contact_request", request.id)
    return request


def alert_of(request: ContactRequest) -> Alert | None:
    return db.session.get(Alert, request.alert_id) if request.alert_id else None


def alert_subject(alert: Alert) -> AlertSubject | None:
    """Triage's view of a contact request: who asked to be called (the read is audited)."""
    try:
        request_id = uuid.UUID(alert.subject_id)
    except (TypeError, ValueError):
        return None
    request = request_for_staff(request_id)
    if request is None:
        return None
    return AlertSubject(_l("Asked to be called"), request.name, request.phone, "screening.contact_request_detail",
                        {"request_id": request.id}, _l("Contact request and screening result"))
