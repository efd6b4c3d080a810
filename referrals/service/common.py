"""Small validation helpers the referral services share, and the errors they raise."""
from __future__ import annotations

import re
import uuid

from flask_babel import gettext as _

from carecycle.fields import Errors, check_version, text  # noqa: F401 (referrals modules import them from here)
from carecycle.fields import date_field as iso_date  # noqa: F401
from carecycle.fields import number_field as whole_number  # noqa: F401
from carecycle.urls import as_uuid  # noqa: F401 (referrals modules import it from here)
from carecycle.validation import Conflict

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
