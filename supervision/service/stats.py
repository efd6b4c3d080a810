"""Service statistics for a period: screenings by instrument and band, the crisis rate, alerts and
the time to claim them, cases opened and closed, the time from alert to first contact, referral
completion by tier, and the share of recovery cases with a reliable improvement.

Figures are computed raw here; whatever leaves this module for a person to read (pages, charts,
CSV, the API, the monthly report, after-action reviews) goes through `present`, which applies the
small-count rule: a count below 5 is shown as "<5"; when one hidden count of a breakdown could be
worked out from its total, the next smallest (5 or more) is shown as "hidden" (never "<5", which
would be a false figure); rates and durations built on fewer than 5 are not shown.

Scope: a supervisor's figures are their team's (cases, referrals, the team's alerts and those not
yet given to any team); an administrator's are the whole service's. Screenings are anonymous and
belong to no team: everyone sees the service's."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, true

from carecycle.alerts import Alert, Urgency
from carecycle.extensions import db
from carecycle.roles import Role
from casework.enums import Phase
from casework.models import Case, ContactNote, Task
from referrals.enums import ReferralStatus, Tier
from referrals.models import Referral
from screening.models import ScreeningResult
from screening.service import get_instrument
from screening.service import instruments as all_instruments
from screening.service.definitions import text as definition_text
from screening.service.results import catalogue
from supervision.service.charts import bar_chart
from supervision.service.common import (
    HIDDEN_LABEL,
    SMALL_LABEL,
    Period,
    csv_text,
    marker_text,
    markers_explained,
    percentile,
    small,
    small_group,
    suppressed,
)

DRAFT = ReferralStatus.DRAFT.value
COMPLETED = ReferralStatus.COMPLETED.value
FIRST_CONTACT = "first_contact"


@dataclass
class Scope:
    team_id: uuid.UUID | None      # None: the whole service (administrators)
    label: str

    @property
    def whole_service(self) -> bool:
        return self.team_id is None


def scope_for(user) -> Scope:
    if Role(user.role) is Role.ADMIN:
        return Scope(None, str(_l("Whole service")))
    if user.team_id is None:  # a supervisor without a team sees no team's figures
        return Scope(uuid.UUID(int=0), "—")
    return Scope(user.team_id, user.team.name if user.team else "—")


@dataclass
class Figures:
    """Raw figures of one period (never shown as they are: see `present`)."""

    period: Period
    scope: Scope
    screenings: dict[str, dict[str, int]] = field(default_factory=dict)   # instrument -> band -> n
    crisis: int = 0
    alerts: dict[str, int] = field(default_factory=dict)                  # urgency -> n
    claim_minutes: list[float] = field(default_factory=list)
    cases_opened: int = 0
    cases_closed: int = 0
    contact_minutes: list[float] = field(default_factory=list)            # alert -> first contact
    referrals: dict[str, dict[str, int]] = field(default_factory=dict)    # tier -> {"sent", "completed"}
    recovery_measured: int = 0
    recovery_improved: int = 0
    weekly: list[tuple] = field(default_factory=list)                     # (week start, opened, closed)

    @property
    def screenings_total(self) -> int:
        return sum(sum(bands.values()) for bands in self.screenings.values())

    @property
    def alerts_total(self) -> int:
        return sum(self.alerts.values())


def _alert_scope(scope: Scope):
    if scope.whole_service:
        return true()
    return or_(Alert.team_id == scope.team_id, Alert.team_id.is_(None))


def _team(column, scope: Scope):
    return true() if scope.whole_service else column == scope.team_id


def compute(scope: Scope, period: Period) -> Figures:
    """The figures of `period` for `scope` (a fixed set of grouped statements)."""
    start, end = period.start, period.end
    figures = Figures(period, scope)
    for instrument, band, n in db.session.execute(
            select(ScreeningResult.instrument, ScreeningResult.band, func.count())
            .where(ScreeningResult.created_at >= start, ScreeningResult.created_at < end)
            .group_by(ScreeningResult.instrument, ScreeningResult.band)):
        figures.screenings.setdefault(instrument, {})[band] = int(n)
    figures.crisis = db.session.scalar(select(func.count()).select_from(ScreeningResult).where(
        ScreeningResult.created_at >= start, ScreeningResult.created_at < end, ScreeningResult.crisis.is_(True))) or 0

    figures.alerts, figures.claim_minutes = _alerts(scope, start, end)
    figures.cases_opened = _cases_opened(scope, start, end)
    figures.cases_closed = db.session.scalar(select(func.count()).select_from(Case).where(
        Case.closed_at >= start, Case.closed_at < end, Case.phase == Phase.CLOSED.value,
        _team(Case.team_id, scope))) or 0

    first_task = (select(func.min(Task.done_at)).where(Task.case_id == Case.id, Task.kind == FIRST_CONTACT,
                                                       Task.done_at.is_not(None)).scalar_subquery())
    first_note = (select(func.min(ContactNote.at)).where(ContactNote.case_id == Case.id,
                                                         ContactNote.addendum_to_id.is_(None)).scalar_subquery())
    for created, task_done, note_at in db.session.execute(
            select(Alert.created_at, first_task, first_note).join(Case, Case.alert_id == Alert.id)
            .where(Alert.created_at >= start, Alert.created_at < end, _team(Case.team_id, scope))):
        contacts = [t for t in (task_done, note_at) if t is not None and t >= created]
        if contacts:
            figures.contact_minutes.append((min(contacts) - created).total_seconds() / 60)

    figures.referrals = _referrals(scope, start, end)
    figures.recovery_measured, figures.recovery_improved = recovery_counts(scope, period)
    figures.weekly = _weekly(scope, period)
    return figures


def _alerts(scope: Scope, start: datetime, end: datetime) -> tuple[dict[str, int], list[float]]:
    """Alerts raised between two moments by urgency, and the minutes to claim each claimed one."""
    in_period = and_(Alert.created_at >= start, Alert.created_at < end, _alert_scope(scope))
    counts = {u: int(n) for u, n in db.session.execute(
        select(Alert.urgency, func.count()).where(in_period).group_by(Alert.urgency))}
    claim_minutes = [(claimed - created).total_seconds() / 60 for created, claimed in db.session.execute(
        select(Alert.created_at, Alert.claimed_at).where(in_period, Alert.claimed_at.is_not(None)))
        if claimed is not None and claimed >= created]
    return counts, claim_minutes


def _cases_opened(scope: Scope, start: datetime, end: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Case).where(
        Case.opened_at >= start, Case.opened_at < end, _team(Case.team_id, scope))) or 0


def _referrals(scope: Scope, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Referrals sent between two moments, per tier: how many, and how many of them are completed."""
    out: dict[str, dict[str, int]] = {}
    for tier, status, n in db.session.execute(
            select(Referral.tier, Referral.status, func.count())
            .where(Referral.sent_at >= start, Referral.sent_at < end, Referral.status != DRAFT,
                   _team(Referral.team_id, scope))
            .group_by(Referral.tier, Referral.status)):
        bucket = out.setdefault(str(tier), {"sent": 0, "completed": 0})
        bucket["sent"] += int(n)
        if status == COMPLETED:
            bucket["completed"] += int(n)
    return out


def emergency_figures(start: datetime, end: datetime) -> dict:
    """The whole service's alerts, time to claim, cases opened and referrals by tier between two moments,
    as plain numbers: an after-action review stores them (`present_stored` applies the rule when shown)."""
    whole = Scope(None, "")
    alerts, claim_minutes = _alerts(whole, start, end)
    return {"alerts": alerts, "claim_minutes": claim_minutes, "cases_opened": _cases_opened(whole, start, end),
            "referrals": _referrals(whole, start, end)}


def recovery_counts(scope: Scope, period: Period) -> tuple[int, int]:
    """Recovery cases (in recovery now, or closed in the period) with at least two scores on an
    instrument that has a reliable-change rule, and how many of them reliably improved on one."""
    try:
        from casework.models import CaseScreening
        from casework.service.outcomes import MARKER_RULES, markers
    except ImportError:  # outcomes not installed: nothing to measure
        return 0, 0
    cases = select(Case.id).where(_team(Case.team_id, scope), or_(
        Case.phase == Phase.RECOVERY.value,
        and_(Case.phase == Phase.CLOSED.value, Case.closed_at >= period.start, Case.closed_at < period.end)))
    rows = db.session.execute(
        select(CaseScreening.case_id, ScreeningResult.instrument, ScreeningResult.score)
        .join(ScreeningResult, ScreeningResult.id == CaseScreening.result_id)
        .where(CaseScreening.case_id.in_(cases), ScreeningResult.instrument.in_(list(MARKER_RULES)),
               ScreeningResult.score.is_not(None), ScreeningResult.created_at < period.end)
        .order_by(CaseScreening.case_id, ScreeningResult.created_at, ScreeningResult.id)).all()
    scores: dict[tuple, list[int]] = {}
    for case_id, instrument, score in rows:
        if score is not None:
            scores.setdefault((case_id, instrument), []).append(score)
    measured: set = set()
    improved: set = set()
    for (case_id, instrument), values in scores.items():
        if len(values) < 2:
            continue
        measured.add(case_id)
        definition = get_instrument(instrument)
        factor = definition.percentage_factor if definition else None
        if "reliable_improvement" in markers(instrument, values[0], values[-1], factor):
            improved.add(case_id)
    return len(measured), len(improved)


def _weekly(scope: Scope, period: Period) -> list[tuple]:
    """Cases opened and closed per week of the period (weeks start on the period's first day)."""
    weeks: list[datetime] = []
    start = period.start
    while start < period.end and len(weeks) < 60:
        weeks.append(start)
        start += timedelta(days=7)
    opened = [o for (o,) in db.session.execute(select(Case.opened_at).where(
        Case.opened_at >= period.start, Case.opened_at < period.end, _team(Case.team_id, scope)))]
    closed = [c for (c,) in db.session.execute(select(Case.closed_at).where(
        Case.closed_at >= period.start, Case.closed_at < period.end, Case.phase == Phase.CLOSED.value,
        _team(Case.team_id, scope))) if c is not None]

    def week_of(moment: datetime) -> int:
        return min(len(weeks) - 1, int((moment - period.start).total_seconds() // (7 * 86400)))

    opened_in = [0] * len(weeks)
    closed_in = [0] * len(weeks)
    for moment in opened:
        opened_in[week_of(moment)] += 1
    for moment in closed:
        closed_in[week_of(moment)] += 1
    return list(zip(weeks, opened_in, closed_in, strict=True))


# ------------------------------------------------------------------ presenting (the small-count rule)
def _minutes(value: float | None) -> str | None:
    if value is None:
        return None
    if value < 120:
        return _("%(n)d min", n=round(value))
    if value < 48 * 60:
        return _("%(n).1f h", n=value / 60)
    return _("%(n).1f days", n=value / 1440)


def _duration(values: list[float]) -> dict:
    """Median and 90th percentile, or nothing when fewer than 5 values."""
    if suppressed(len(values)):
        return {"n": small(len(values)), "median_minutes": None, "p90_minutes": None,
                "median": None, "p90": None}
    median, p90 = percentile(values, 0.5), percentile(values, 0.9)
    assert median is not None and p90 is not None  # at least 5 values here
    return {"n": small(len(values)), "median_minutes": round(median, 1), "p90_minutes": round(p90, 1),
            "median": _minutes(median), "p90": _minutes(p90)}


def _rate(part: int, whole: int) -> float | None:
    """A share in percent, shown only when both counts are 5 or more."""
    if suppressed(part) or suppressed(whole):
        return None
    return round(100 * part / whole, 1)


def _band_label(instrument, code: str) -> str:
    band = instrument.band(code) if instrument else None
    if band is None:
        return code
    locale = str(get_locale() or "en")
    return definition_text(band.label, locale) or code


def small_count_rule() -> str:
    return _("Counts below 5 are shown as %(small)s. A count of 5 or more that is hidden so that a count "
             "below 5 cannot be worked out from the total is shown as %(hidden)s.",
             small=SMALL_LABEL, hidden=marker_text(HIDDEN_LABEL))


def present(figures: Figures) -> dict:
    """What may be shown: every count through the small-count rule (the API answers this as JSON)."""
    locale_order = {inst.id: index for index, inst in enumerate(catalogue(all_instruments()))}
    screenings = []
    for instrument_id in sorted(figures.screenings, key=lambda i: (locale_order.get(i, 99), i)):
        bands = figures.screenings[instrument_id]
        definition = get_instrument(instrument_id)
        order = [b.code for b in definition.bands] if definition else []
        codes = sorted(bands, key=lambda c: (order.index(c) if c in order else 99, c))
        shown = small_group({code: bands[code] for code in codes})
        screenings.append({
            "instrument": instrument_id, "name": definition.name if definition else instrument_id,
            "total": small(sum(bands.values())),
            "bands": [{"band": code, "label": _band_label(definition, code), "count": shown[code]} for code in codes],
        })
    alerts_shown = small_group({u.value: figures.alerts.get(u.value, 0) for u in Urgency})
    referrals = []
    for tier in Tier:
        bucket = figures.referrals.get(tier.value, {"sent": 0, "completed": 0})
        referrals.append({"tier": tier.number, "label": str(tier.label), "sent": small(bucket["sent"]),
                          "completed": small(bucket["completed"]),
                          "completion_rate": _rate(bucket["completed"], bucket["sent"])})
    return {
        "period": {"from": figures.period.first.isoformat(), "to": figures.period.last.isoformat()},
        "scope": {"team_id": None if figures.scope.whole_service else str(figures.scope.team_id),
                  "label": figures.scope.label},
        "small_count_rule": small_count_rule(),
        "markers": markers_explained(),
        "screenings": {"total": small(figures.screenings_total), "by_instrument": screenings,
                       "crisis": small(figures.crisis),
                       "crisis_rate": _rate(figures.crisis, figures.screenings_total)},
        "alerts": {"total": small(figures.alerts_total),
                   "by_urgency": [{"urgency": u.value, "label": str(u.label), "count": alerts_shown[u.value]}
                                  for u in Urgency],
                   "time_to_claim": _duration(figures.claim_minutes)},
        "cases": {"opened": small(figures.cases_opened), "closed": small(figures.cases_closed),
                  "alert_to_first_contact": _duration(figures.contact_minutes),
                  "weekly": [{"week_from": w.date().isoformat(), "opened": small(o), "closed": small(c)}
                             for w, o, c in figures.weekly]},
        "referrals": {"by_tier": referrals},
        "recovery": {"measured": small(figures.recovery_measured), "improved": small(figures.recovery_improved),
                     "improved_rate": _rate(figures.recovery_improved, figures.recovery_measured)},
    }


def _bar_value(shown) -> float | None:
    return None if shown is None or isinstance(shown, str) else float(shown)


def charts(shown: dict) -> dict:
    """The charts of a presented figure set (bars only for counts that may be shown)."""
    def text(value) -> str:
        return "—" if value is None else str(marker_text(value))

    return {
        "screenings": bar_chart(_("Screenings by instrument"), [
            (row["name"], _bar_value(row["total"]), text(row["total"]))
            for row in shown["screenings"]["by_instrument"]]),
        "alerts": bar_chart(_("Alerts by urgency"), [
            (row["label"], _bar_value(row["count"]), text(row["count"])) for row in shown["alerts"]["by_urgency"]]),
        "weekly": bar_chart(_("Cases opened per week"), [
            (row["week_from"], _bar_value(row["opened"]), text(row["opened"])) for row in shown["cases"]["weekly"]]),
        "referrals": bar_chart(_("Referral completion rate by tier"), [
            (row["label"], row["completion_rate"],
             "—" if row["completion_rate"] is None else f"{row['completion_rate']:g} %")
            for row in shown["referrals"]["by_tier"]], maximum=100),
    }


def stats_csv(shown: dict) -> str:
    """The presented figures as CSV rows (section, item, value): the small-count rule already applied."""
    def v(value):
        return "" if value is None else marker_text(value)

    rows = [[_("Section"), _("Item"), _("Value")],
            [_("Period"), _("From"), shown["period"]["from"]], [_("Period"), _("To"), shown["period"]["to"]],
            [_("Scope"), "", shown["scope"]["label"]],
            [_("Screenings"), _("Total"), v(shown["screenings"]["total"])]]
    for row in shown["screenings"]["by_instrument"]:
        rows.append([_("Screenings"), row["name"], v(row["total"])])
        rows.extend([_("Screenings"), f"{row['name']}: {band['label']}", v(band["count"])] for band in row["bands"])
    rows += [[_("Screenings"), _("Crisis"), v(shown["screenings"]["crisis"])],
             [_("Screenings"), _("Crisis rate (%)"), v(shown["screenings"]["crisis_rate"])],
             [_("Alerts"), _("Total"), v(shown["alerts"]["total"])]]
    rows.extend([_("Alerts"), row["label"], v(row["count"])] for row in shown["alerts"]["by_urgency"])
    claim = shown["alerts"]["time_to_claim"]
    rows += [[_("Alerts"), _("Time to claim, median (minutes)"), v(claim["median_minutes"])],
             [_("Alerts"), _("Time to claim, 90th percentile (minutes)"), v(claim["p90_minutes"])],
             [_("Cases"), _("Opened"), v(shown["cases"]["opened"])],
             [_("Cases"), _("Closed"), v(shown["cases"]["closed"])]]
    contact = shown["cases"]["alert_to_first_contact"]
    rows += [[_("Cases"), _("Alert to first contact, median (minutes)"), v(contact["median_minutes"])],
             [_("Cases"), _("Alert to first contact, 90th percentile (minutes)"), v(contact["p90_minutes"])]]
    for row in shown["referrals"]["by_tier"]:
        rows += [[_("Referrals"), f"{row['label']}: {_('sent')}", v(row["sent"])],
                 [_("Referrals"), f"{row['label']}: {_('completed')}", v(row["completed"])],
                 [_("Referrals"), f"{row['label']}: {_('completion rate (%)')}", v(row["completion_rate"])]]
    rec = shown["recovery"]
    rows += [[_("Recovery"), _("Cases with two or more scores"), v(rec["measured"])],
             [_("Recovery"), _("Reliably improved"), v(rec["improved"])],
             [_("Recovery"), _("Reliably improved (%)"), v(rec["improved_rate"])],
             [_("Rule"), "", shown["small_count_rule"]]]
    return csv_text(rows)


def present_stored(raw: dict) -> dict:
    """Figures stored with an after-action review, shown under the small-count rule."""
    alerts = raw.get("alerts") or {}
    shown_alerts = small_group({u.value: int(alerts.get(u.value, 0)) for u in Urgency})
    referrals = raw.get("referrals") or {}
    return {
        "small_count_rule": small_count_rule(),
        "alerts_total": small(sum(int(n) for n in alerts.values())),
        "alerts": [{"label": str(u.label), "count": shown_alerts[u.value]} for u in Urgency],
        "time_to_claim": _duration([float(m) for m in raw.get("claim_minutes") or []]),
        "cases_opened": small(int(raw.get("cases_opened") or 0)),
        "referrals": [{"label": str(tier.label),
                       "sent": small(int((referrals.get(tier.value) or {}).get("sent", 0)))} for tier in Tier],
    }
