"""Readers of a form's or a JSON body's fields for the services of every area: each collects its
message in `Errors` (field -> message) instead of raising, so that one `Invalid` names every field
that is wrong; and the optimistic-locking check of a record's `version`."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from carecycle.localtime import date_message
from carecycle.validation import Conflict, Invalid
from carecycle.validation import iso_date as parse_iso_date


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


def date_field(data: dict, name: str, errors: Errors, *, required: bool = False,
               field: str | None = None) -> date | None:
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


def number_field(data: dict, name: str, errors: Errors, *, low: int, high: int,
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
