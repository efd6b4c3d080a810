"""Small validation helpers the referral services share, and the errors they raise."""
from __future__ import annotations

import re
import uuid
from datetime import date

from flask_babel import gettext as _

from carecycle.localtime import date_message
from carecycle.urls import as_uuid  # noqa: F401 (referrals modules import it from here)
from carecycle.validation import Conflict, Invalid
from carecycle.validation import iso_date as parse_iso_date

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+()\-\s.#*]+$")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])(:00)?$")


NAMESPACE = uuid.UUID("6f1c8a52-3c4e-4d4a-9c1e-2a5b7e0d9c11")


def derived_id(owner, what: str) -> uuid.UUID:
    """A stable id for a value that belongs to `owner` (a phone, an opening-hours row, an HSDS attribute)."""
    return uuid.uuid5(NAMESPACE, f"{owner}:{what}")


class TransitionRefused(Conflict):
    """A status change the referral lifecycle does not allow (409 `invalid_transition`)."""

    code = "invalid_transition"


class ConsentRequired(Conflict):
    """Sending without a current consent to share with referral partners (409 `consent_required`)."""

    code = "consent_required"


def check_version(record, version, message: str) -> None:
    """A stale edit (the form's `version` is not the record's) is refused with `message`, never saved over."""
    if version is None:
        return
    try:
        version = int(version)
    except (TypeError, ValueError, OverflowError):  # 1e400 is infinity
        version = -1
    if version != record.version:
        raise Conflict(message, current_version=record.version)


class Errors(dict):
    """Field -> message, collected before raising `Invalid` once."""

    def check(self) -> None:
        if self:
            raise Invalid(dict(self))


def text(data: dict, name: str, errors: Errors, *, limit: int, required: bool = False,
         message: str | None = None, field: str | None = None) -> str | None:
    """A stripped text value or None; records a message when missing, too long or not text."""
    field = field or name
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        errors[field] = _("Must be text.")
        return None
    value = (value or "").strip()
    if not value:
        if required:
            errors[field] = message or _("Required.")
        return None
    if len(value) > limit:
        errors[field] = _("Use at most %(n)d characters.", n=limit)
        return None
    return value


def email(data: dict, name: str, errors: Errors, field: str | None = None) -> str | None:
    value = text(data, name, errors, limit=200, field=field)
    if value and not EMAIL_RE.match(value):
        errors[field or name] = _("Enter an email address like name@example.org.")
        return None
    return value


def url(data: dict, name: str, errors: Errors, field: str | None = None) -> str | None:
    value = text(data, name, errors, limit=300, field=field)
    if value and not re.match(r"^https?://[^\s/$.?#].[^\s]*$", value, re.IGNORECASE):
        errors[field or name] = _("Enter a web address starting with http:// or https://.")
        return None
    return value


def phone(data: dict, name: str, errors: Errors, *, required: bool = False, field: str | None = None) -> str | None:
    value = text(data, name, errors, limit=40, required=required, field=field,
                 message=_("Enter a phone number."))
    if value and (not PHONE_RE.match(value) or len(re.sub(r"\D", "", value)) < 3):
        errors[field or name] = _("Use digits, spaces, dashes, brackets or a leading +.")
        return None
    return value


def iso_date(data: dict, name: str, errors: Errors, *, required: bool = False, field: str | None = None) -> date | None:
    value = data.get(name)
    field = field or name
    if isinstance(value, date):
        return value
    if value in (None, ""):
        if required:
            errors[field] = _("Enter a date.")
        return None
    try:
        return parse_iso_date(str(value).strip())
    except ValueError:
        errors[field] = date_message()
        return None


def whole_number(data: dict, name: str, errors: Errors, *, low: int, high: int,
                 field: str | None = None) -> int | None:
    value = data.get(name)
    field = field or name
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = _("Use a whole number from %(low)d to %(high)d.", low=low, high=high)
        return None
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[field] = _("Use a whole number from %(low)d to %(high)d.", low=low, high=high)
        return None
    return number


def clock_time(value, errors: Errors, field: str) -> str | None:
    """"HH:MM" (seconds ":00" accepted and dropped; "24:00" means midnight and is kept as "23:59")."""
    if value in (None, ""):
        errors[field] = _("Enter a time as HH:MM.")
        return None
    value = str(value).strip()
    if value in ("24:00", "24:00:00"):
        return "23:59"
    if not TIME_RE.match(value):
        errors[field] = _("Enter a time as HH:MM, for example 09:00 or 17:30.")
        return None
    return value[:5]
