"""Helpers shared by supervision's services: the small-count rule, CSV cells that a spreadsheet
will not run as formulas, capped counts, periods and team members."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.extensions import db
from carecycle.localtime import date_message, format_month
from carecycle.localtime import today as local_today
from carecycle.roles import Role
from carecycle.urls import as_uuid  # noqa: F401 (supervision's services take it from here)
from carecycle.validation import Invalid, iso_date

# ------------------------------------------------------------------ the small-count rule
SMALL = 5
# The two markers a presented count can be instead of a number (stable codes: the API answers them
# as they are; pages and the CSV show them through `marker_text`).
SMALL_LABEL = "<5"        # the count is below 5
HIDDEN_LABEL = "hidden"   # the count is 5 or more, hidden so that a small count beside it cannot be
                          # worked out from the total (complementary suppression)
MARKERS = (SMALL_LABEL, HIDDEN_LABEL)


def small(n: int | None):
    """A count for statistics: below 5 it is shown as "<5" (pages, exports and the API alike)."""
    if n is None:
        return None
    return SMALL_LABEL if n < SMALL else int(n)


def suppressed(n: int | None) -> bool:
    return n is None or n < SMALL


def small_group(counts: dict) -> dict:
    """Counts of one breakdown whose total is shown too: each count below 5 becomes "<5", and when
    exactly one is hidden, the next smallest (5 or more) becomes "hidden", so that the small one
    cannot be worked out by subtracting the others from the total."""
    shown = {key: small(value) for key, value in counts.items()}
    hidden = [key for key, value in counts.items() if suppressed(value)]
    if len(hidden) == 1:
        others = sorted((value, str(key)) for key, value in counts.items() if key not in hidden)
        if others:
            smallest = others[0][1]
            for key in counts:
                if str(key) == smallest:
                    shown[key] = HIDDEN_LABEL
    return shown


def marker_text(value):
    """A presented count as a person reads it (page, chart, CSV): "hidden" in the reader's language,
    "<5" and numbers as they are."""
    if value == HIDDEN_LABEL:
        return _("hidden")
    return value


def markers_explained() -> dict[str, str]:
    """What each marker means, for the API's answer and the pages' note."""
    return {SMALL_LABEL: _("The count is below 5."),
            HIDDEN_LABEL: _("The count is 5 or more, hidden so that a count below 5 beside it cannot be worked "
                            "out from the total.")}


# ------------------------------------------------------------------ CSV
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """One CSV cell that a spreadsheet shows as text: a value starting with =, +, -, @, a tab or a
    carriage return, also after leading spaces or other whitespace (spreadsheets skip them), gets a
    leading apostrophe (OWASP's advice for CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) or text.lstrip(" \t\r\n\u00a0\u3000").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


# ------------------------------------------------------------------ capped counts
@dataclass(frozen=True)
class Count:
    """A count read up to a cap: `more` says that there are at least `n` (shown as "n+")."""

    n: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.n}+" if self.more else str(self.n)

    def __add__(self, other: Count) -> Count:
        return Count(self.n + other.n, self.more or other.more)

    def __bool__(self) -> bool:
        return self.n > 0

    def as_json(self) -> dict:
        return {"count": self.n, "at_least": self.more}


ZERO = Count(0)


# ------------------------------------------------------------------ periods
@dataclass(frozen=True)
class Period:
    """From the start of `first` to the end of `last` (whole days, UTC)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


MAX_PERIOD_DAYS = 3 * 366


def parse_day(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return iso_date(str(value).strip())
    except ValueError:
        raise Invalid({field: date_message()}) from None


def _free_period(first, last, *, default_days: int = 30, today: date | None = None) -> Period:
    """Any period from two ISO dates (either may be empty: the last `default_days` days up to today)."""
    today = today or local_today()
    errors = {}
    try:
        start = parse_day(first, "from")
    except Invalid as invalid:
        errors.update(invalid.fields)
        start = None
    try:
        end = parse_day(last, "to")
    except Invalid as invalid:
        errors.update(invalid.fields)
        end = None
    if errors:
        raise Invalid(errors)
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise Invalid({"from": _("The start date must be on or before the end date.")})
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid({"from": _("Choose a period of at most %(n)d days.", n=MAX_PERIOD_DAYS)})
    return Period(start, end)


# Statistics are offered for whole ISO weeks, calendar months and calendar quarters only: two
# overlapping free periods (30 days against 29) could be subtracted to reveal a count under 5.
PERIOD_KINDS = ("week", "month", "quarter")


def whole_period(kind: str, day: date) -> Period:
    """The whole week (Monday to Sunday), calendar month or calendar quarter holding `day`."""
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return Period(first, first + timedelta(days=6))
    if kind == "quarter":
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        months = 3
    else:
        first = day.replace(day=1)
        months = 1
    year, month = divmod(first.month - 1 + months, 12)
    following = first.replace(year=first.year + year, month=month + 1)
    return Period(first, following - timedelta(days=1))


def period_kind(period: Period) -> str | None:
    """Which whole period `period` is ("week", "month", "quarter"), or None."""
    for kind in PERIOD_KINDS:
        if whole_period(kind, period.first) == period:
            return kind
    return None


def period_from(first, last, *, today: date | None = None) -> Period:
    """A whole ISO week, calendar month or calendar quarter from two ISO dates; both empty: this month."""
    today = today or local_today()
    if first in (None, "") and last in (None, ""):
        return whole_period("month", today)
    errors = {}
    if first in (None, ""):
        errors["from"] = _("Enter the first day of the period.")
    if last in (None, ""):
        errors["to"] = _("Enter the last day of the period.")
    if errors:
        raise Invalid(errors)
    period = _free_period(first, last, today=today)
    if period_kind(period) is None:
        raise Invalid({"from": _("Statistics cover a whole week (Monday to Sunday), a calendar month or a "
                                 "calendar quarter only.")})
    return period


def chosen_period(kind, day, *, today: date | None = None) -> Period:
    """The page's choice: a kind of period (week, month, quarter) and any date inside it."""
    today = today or local_today()
    errors = {}
    kind = (kind or "month").strip() if isinstance(kind, str) or kind is None else kind
    if kind not in PERIOD_KINDS:
        errors["period"] = _("Choose a week, a month or a quarter.")
    try:
        inside = parse_day(day, "date") or today
    except Invalid as invalid:
        errors.update(invalid.fields)
        inside = today
    if errors:
        raise Invalid(errors)
    return whole_period(kind, inside)


def period_from_args(args, *, today: date | None = None) -> Period:
    """A statistics period from request arguments: `period` and `date`, or `from` and `to`."""
    if args.get("period") or args.get("date"):
        if args.get("from") or args.get("to"):
            raise Invalid({"period": _("Choose either a period and a date, or from and to, not both.")})
        return chosen_period(args.get("period"), args.get("date"), today=today)
    return period_from(args.get("from"), args.get("to"), today=today)


def month_period(value: str | None, today: date | None = None) -> Period:
    """A calendar month from YYYY-MM (default: last month)."""
    today = today or local_today()
    if value:
        try:
            year, month = (int(part) for part in str(value).split("-", 1))
            first = iso_date(f"{year:04d}-{month:02d}-01")
        except ValueError:
            example = format_month(date(2026, 12, 1))
            raise Invalid({"month": _("Choose a month, for example %(example)s.", example=example)}) from None
    else:
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period(first, following - timedelta(days=1))


# ------------------------------------------------------------------ people
WORKER_ROLES = (Role.COUNSELLOR.value, Role.SOCIAL_WORKER.value)


def team_workers(team_id, *, active_only: bool = False) -> list[User]:
    """Counsellors and social workers of a team, by name."""
    if team_id is None:
        return []
    stmt = select(User).where(User.team_id == team_id, User.role.in_(WORKER_ROLES))
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return sorted(db.session.scalars(stmt), key=lambda u: (u.name.casefold(), u.username))


def team_supervisors(team_id) -> list[User]:
    if team_id is None:
        return []
    return list(db.session.scalars(select(User).where(
        User.team_id == team_id, User.role == Role.SUPERVISOR.value, User.active.is_(True))))


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (share 0.5 = median, 0.9 = 90th); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n) without float error
    return ordered[min(rank, len(ordered)) - 1]
