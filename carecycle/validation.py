"""Errors that services raise and both pages and the API turn into answers."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _


class Invalid(ValueError):
    """Bad input: `fields` maps each field to its message. Pages re-show the form; the API answers 422."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.message = message


class Conflict(Exception):
    """A stale edit or a transition the record's state does not allow (409).

    `changes` lists what changed since the caller's version: (field, theirs, current)."""

    def __init__(self, message: str, changes: list[tuple[str, object, object]] | None = None,
                 current_version: int | None = None):
        super().__init__(message)
        self.message, self.changes, self.current_version = message, changes or [], current_version
        self.back_url: str | None = None  # where a page's conflict answer links back to (set by the page)


def unknown_fields(data: dict, allowed, prefix: str = "") -> dict[str, str]:
    """The one rule for fields a receiver does not take: each is named (at most 20, names cut to
    60 characters) with "Unknown field.", never silently ignored. Empty when all are known."""
    unknown = sorted(str(key) for key in set(data) - set(allowed))
    return {f"{prefix}{key[:60]}": _("Unknown field.") for key in unknown[:20]}


def refuse_unknown_fields(data: dict, allowed, prefix: str = "") -> None:
    """Raise Invalid naming the fields of `data` not in `allowed`."""
    fields = unknown_fields(data, allowed, prefix)
    if fields:
        raise Invalid(fields)


INT_MAX = 2**31 - 1  # what every database's INTEGER holds


def whole_number(value, low: int = 0, high: int = INT_MAX) -> int | None:
    """A whole number from a form, query or JSON body within [low, high] (a database integer holds
    it), or None: `int()` alone lets through values that overflow the database."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if low <= number <= high else None


EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # far enough both ways; date arithmetic
# on them (a period's end + 1 day, a month's next month) never overflows


def iso_date(value: str) -> date:
    """An ISO date (what a date picker sends) or one written in the service's style (`2 Dec 2026`,
    `2026年12月2日`), limited to years 1900 to 2999; ValueError otherwise (as for a bad date)."""
    from carecycle.localtime import written_day
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = written_day(value)
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError("date out of range")
    return day


def iso_datetime(value: str) -> datetime:
    """`datetime.fromisoformat` limited to years 1900 to 2999; ValueError otherwise."""
    moment = datetime.fromisoformat(value)
    if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
        raise ValueError("date out of range")
    return moment
