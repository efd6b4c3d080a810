"""The service's time zone and its one date style.

`CARECYCLE_TIMEZONE` (an IANA name; default UTC) is the zone of the service: every time shown is
in it, every time typed is read in it, and "today" starts at its midnight. Times are stored in
UTC. Dates are written one way per language: English `2 Dec 2026, 12:33` (or `Dec 2, 2026,
12:33 PM` with `CARECYCLE_DATE_ORDER=mdy`), Chinese `2026年12月2日 12:33`; never with seconds.
A typed date is read as an ISO date (what a date picker sends) or as written in that style."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates
from flask import current_app, has_app_context

DATE_ORDERS = ("dmy", "mdy")

# (date, date and time, month) patterns per language family and date order
_PATTERNS = {
    ("en", "dmy"): ("d MMM y", "d MMM y, HH:mm", "MMM y"),
    ("en", "mdy"): ("MMM d, y", "MMM d, y, h:mm a", "MMM y"),
    ("zh", "dmy"): ("y年M月d日", "y年M月d日 HH:mm", "y年M月"),
}
_PATTERNS[("zh", "mdy")] = _PATTERNS[("zh", "dmy")]  # Chinese writes year, month, day everywhere


def zone_named(name: str | None) -> ZoneInfo:
    """The zone of an IANA name; SystemExit naming the setting when there is no such zone."""
    try:
        return ZoneInfo((name or "UTC").strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"CareCycle will not start: CARECYCLE_TIMEZONE must be an IANA time zone name "
                         f"such as Asia/Hong_Kong or Europe/London, not {name!r}") from None


def service_zone() -> tzinfo:
    """The service's zone (UTC outside an application)."""
    if has_app_context():
        return _zone(current_app.config.get("TIMEZONE") or "UTC")
    return UTC


@lru_cache(maxsize=16)
def _zone(name: str) -> tzinfo:
    return zone_named(name)


def fixed_offset_minutes() -> int | None:
    """The service zone's offset from UTC in minutes when it has one all year (Asia/Hong_Kong:
    480, UTC: 0), None for a zone with summer time (Europe/London has two)."""
    zone = service_zone()
    return _fixed_offset(str(zone), datetime.now(UTC).year) if isinstance(zone, ZoneInfo) else 0


@lru_cache(maxsize=16)
def _fixed_offset(name: str, year: int) -> int | None:
    zone = _zone(name)
    offsets = {datetime(year, month, 1, tzinfo=UTC).astimezone(zone).utcoffset() for month in range(1, 13)}
    offset = offsets.pop() if len(offsets) == 1 else None
    return None if offset is None else round(offset.total_seconds() / 60)


def local(moment: datetime) -> datetime:
    """`moment` in the service's zone (a naive value is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(service_zone())


def local_now() -> datetime:
    return datetime.now(service_zone())


def today() -> date:
    """Today's date where the service is."""
    return local_now().date()


def to_utc(day: date, at: time, zone: tzinfo | None = None) -> datetime:
    """A wall-clock time on a day in the service's zone, as UTC. A time that does not exist (the
    hour skipped when clocks go forward) is moved on by the change (01:30 reads 02:30), and a time
    that happens twice (when clocks go back) is the first of the two (PEP 495, fold 0)."""
    zone = zone or service_zone()
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
    """Start and end of a local day, in UTC (23 or 25 hours apart on a change of clocks)."""
    return to_utc(day, time(), zone), to_utc(day + timedelta(days=1), time(), zone)


# ------------------------------------------------------------------ the one date style
def _family(language: str) -> str:
    return "zh" if language.startswith("zh") else "en"


def _order() -> str:
    return (current_app.config.get("DATE_ORDER") if has_app_context() else None) or "dmy"


def _language() -> str:
    from flask_babel import get_locale
    try:
        return str(get_locale() or "en")
    except RuntimeError:  # no request
        return "en"


@lru_cache(maxsize=64)
def _parsed(language: str, order: str, which: int):
    return Locale.parse(language), dates.parse_pattern(_PATTERNS[(_family(language), order)][which])


@lru_cache(maxsize=8192)
def _apply(language: str, order: str, which: int, value):
    locale, pattern = _parsed(language, order, which)
    return pattern.apply(value, locale)


def format_when(value: datetime | None) -> str:
    """A moment in the service's zone and the reader's style: `2 Dec 2026, 12:33`."""
    if not value:
        return ""
    return _apply(_language(), _order(), 1, local(value))


def format_day(value: date | datetime | None) -> str:
    """A date (a moment: its local date) in the reader's style: `2 Dec 2026`."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return _apply(_language(), _order(), 0, value)


def format_month(value: date | None) -> str:
    """A month in the reader's style: `Dec 2026`, `2026年12月`."""
    if not value:
        return ""
    return _apply(_language(), _order(), 2, value)


def date_message() -> str:
    """What a form says about a date it could not read."""
    from flask_babel import gettext as _
    return _("Enter a real date, for example %(example)s.", example=format_day(date(2026, 12, 2)))


_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
_MONTHS = {key: number for number, name in enumerate(_MONTH_NAMES, start=1) for key in (name, name[:3])} | {"sept": 9}
_ZH = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_DMY = re.compile(r"^\s*(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})\s*$")
_MDY = re.compile(r"^\s*([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})\s*$")


def written_day(text: str) -> date:
    """A date as a person writes it in the one style (`2 Dec 2026`, `Dec 2, 2026`, `2026年12月2日`);
    ValueError otherwise."""
    if match := _ZH.match(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _DMY.match(text):
        day, month, year = match[1], match[2], match[3]
    elif match := _MDY.match(text):
        month, day, year = match[1], match[2], match[3]
    else:
        raise ValueError("not a date")
    number = _MONTHS.get(month.lower())
    if number is None:
        raise ValueError("not a month")
    return date(int(year), number, int(day))
