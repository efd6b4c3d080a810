"""Outcomes over time: screenings counted on a case, the change markers of ../shared/INSTRUMENTS.md
("Change over time"), the re-screening schedule, and the triage alert a worrying re-screen raises.

A screening is scored by screening's own definitions and pure scoring function and stored as a
screening result (no account, nothing that identifies the person); `CaseScreening` links it to
the case. A worker records one with the client, or links the client's own self-screening (taken
while signed in to the resident account linked to the client).

The baseline of an instrument is the first score on the case (by when it was taken), the latest
the last one; the markers compare the two."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carecycle.alerts import Urgency, raise_alert
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import date_message
from carecycle.messages import label, said, store
from carecycle.urls import as_uuid
from carecycle.validation import Conflict, Invalid, iso_date, iso_datetime
from casework.models import Case, CaseScreening, RescreenSchedule, Task
from casework.service.careplans import require_open
from casework.service.cases import add_event
from screening.models import ScreeningResult
from screening.service import get_instrument
from screening.service import instruments as all_instruments
from screening.service.charts import score_chart
from screening.service.definitions import Instrument
from screening.service.results import catalogue, new_result
from screening.service.scoring import InvalidAnswers, score

RESCREEN = "rescreen"
MARKER_CODES = ("reliable_improvement", "reliable_deterioration", "remission", "response")
MARKER_LABELS = {
    "reliable_improvement": _l("reliable improvement"),
    "reliable_deterioration": _l("reliable deterioration"),
    "remission": _l("remission"),
    "response": _l("response (score at least halved)"),
}
STATEMENT_WORDS = {"remission": _l("remission"), "response": _l("response")}
WHO5_PERCENTAGE_FACTOR = 4
MIN_WEEKS, MAX_WEEKS = 1, 26


@dataclass(frozen=True)
class MarkerRule:
    reliable: int                 # the reliable change, in points (WHO-5: percentage points)
    higher_is_better: bool = False
    percentage: bool = False      # compare percentages (WHO-5)
    remission_response: bool = False  # PHQ-9: remission and response


MARKER_RULES = {
    "phq9": MarkerRule(6, remission_response=True),
    "gad7": MarkerRule(4),
    "who5": MarkerRule(10, higher_is_better=True, percentage=True),
    "pcl5": MarkerRule(10),
}
# Shown as context, not a marker.
MCID = {"phq9": 5}


def markers(instrument_id: str, baseline: int, latest: int, percentage_factor: int | None = None) -> list[str]:
    """The marker codes for a baseline and a latest score (raw scores; WHO-5 is compared in percent)."""
    rule = MARKER_RULES.get(instrument_id)
    if rule is None or baseline is None or latest is None:
        return []
    b, last = baseline, latest
    if rule.percentage:
        factor = percentage_factor or WHO5_PERCENTAGE_FACTOR
        b, last = baseline * factor, latest * factor
    improvement = (last - b) if rule.higher_is_better else (b - last)
    found = []
    if improvement >= rule.reliable:
        found.append("reliable_improvement")
    if -improvement >= rule.reliable:
        found.append("reliable_deterioration")
    if rule.remission_response:
        if baseline >= 10 and latest < 5:
            found.append("remission")
        if baseline >= 10 and 2 * latest <= baseline:
            found.append("response")
    return found


# ------------------------------------------------------------------ reading
@dataclass
class InstrumentOutcome:
    """One instrument's scores on a case, oldest first, with its markers."""

    instrument: Instrument  # screening's definition
    results: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.instrument.id

    @property
    def name(self) -> str:
        return self.instrument.name

    @property
    def factor(self) -> int | None:
        return self.instrument.percentage_factor

    @property
    def baseline(self) -> ScreeningResult:
        return self.results[0]

    @property
    def latest(self) -> ScreeningResult:
        return self.results[-1]

    @property
    def markers(self) -> list[str]:
        if len(self.results) < 2:
            return []
        first, last = self.baseline.score, self.latest.score
        if first is None or last is None:
            return []
        return markers(self.id, first, last, self.factor)

    def shown(self, raw: int) -> str:
        return show_score(raw, self.factor)

    @property
    def statement(self) -> str:
        return outcome_statement(self.name, self.id, [r.score for r in self.results], self.factor)

    @property
    def chart(self):
        return score_chart(self.instrument, self.results)


def outcome_statement(name: str, instrument_id: str, scores: list[int], factor: int | None = None) -> str:
    """The outcome in words: "PHQ-9 reliably improved: 17 -> 8"."""
    if not scores:
        return ""
    if len(scores) == 1:
        return _("%(name)s: one score so far, %(score)s", name=name, score=show_score(scores[0], factor))
    baseline, latest = scores[0], scores[-1]
    codes = markers(instrument_id, baseline, latest, factor)
    values = {"name": name, "baseline": show_score(baseline, factor), "latest": show_score(latest, factor)}
    if "reliable_improvement" in codes:
        text = _("%(name)s reliably improved: %(baseline)s -> %(latest)s", **values)
    elif "reliable_deterioration" in codes:
        text = _("%(name)s reliably deteriorated: %(baseline)s -> %(latest)s", **values)
    elif instrument_id in MARKER_RULES:
        text = _("%(name)s: no reliable change, %(baseline)s -> %(latest)s", **values)
    else:
        text = _("%(name)s: %(baseline)s -> %(latest)s", **values)
    extra = [str(STATEMENT_WORDS[c]) for c in codes if c in STATEMENT_WORDS]
    if extra:
        text += " (" + ", ".join(extra) + ")"
    return text


def case_results(case: Case) -> list[tuple[CaseScreening, ScreeningResult]]:
    return list(db.session.execute(
        select(CaseScreening, ScreeningResult).join(ScreeningResult, ScreeningResult.id == CaseScreening.result_id)
        .where(CaseScreening.case_id == case.id)
        .order_by(ScreeningResult.created_at, ScreeningResult.id)).all())


def outcomes_of(case: Case) -> list[InstrumentOutcome]:
    """Per instrument with a score, in catalogue order: the scores over time and the markers."""
    grouped: dict[str, InstrumentOutcome] = {}
    for _link, result in case_results(case):
        if result.score is None:
            continue
        if result.instrument not in grouped:
            definition = get_instrument(result.instrument)
            if definition is None:
                continue
            grouped[result.instrument] = InstrumentOutcome(definition)
        grouped[result.instrument].results.append(result)
    order = {inst.id: index for index, inst in enumerate(catalogue(all_instruments()))}
    return sorted(grouped.values(), key=lambda o: order.get(o.id, len(order)))


def outcome_statements(case: Case) -> list[str]:
    return [o.statement for o in outcomes_of(case)]


def recordable_instruments() -> list:
    """Instruments a worker can record with the client: those with a total score."""
    return [i for i in catalogue(all_instruments()) if i.method == "sum"]


# ------------------------------------------------------------------ recording and linking
def _parse_taken_at(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(12))
    else:
        raw = str(value).strip()
        try:
            parsed = iso_datetime(raw.replace("Z", "+00:00")) if "T" in raw or " " in raw \
                else datetime.combine(iso_date(raw), time(12))
        except ValueError:
            raise Invalid({"taken_at": date_message()}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    now = utcnow()
    if parsed > now + timedelta(minutes=5):
        raise Invalid({"taken_at": _("The screening cannot be in the future.")})
    if parsed < now - timedelta(days=366):
        raise Invalid({"taken_at": _("Record screenings from the last twelve months only.")})
    return min(parsed, now)


def record_screening(user, case: Case, instrument_id, answers, *, sex: str | None = None, taken_at=None,
                     language: str | None = None, allow_closed: bool = False, raise_alerts: bool = True):
    """A worker records a screening done with the client: scored exactly like a self-screening,
    stored as a screening result and linked to the case. Returns (link, outcome, alert or None)."""
    if not allow_closed:
        require_open(case, case.version)
    definition = get_instrument(instrument_id) if isinstance(instrument_id, str) else None
    if definition is None or definition.method != "sum":
        raise Invalid({"instrument": _("Choose one of: %(options)s.",
                                       options=", ".join(i.id for i in recordable_instruments()))})
    when = _parse_taken_at(taken_at)
    try:
        outcome = score(definition, answers, sex=sex or None)
    except InvalidAnswers as error:
        raise Invalid(
            {k: str(v) for k, v in error.fields.items()}, _("Some answers are missing or not valid.")
        ) from error
    if language is None:
        language = str(get_locale() or "en") if has_request_context() else "en"
    if language not in current_app.config.get("LANGUAGES", {"en": "English"}):
        raise Invalid({"language": _("Choose one of: %(options)s.",
                                     options=", ".join(current_app.config.get("LANGUAGES", {"en": ""})))})
    result = new_result(definition, outcome, language=language)
    if when is not None:
        result.created_at = when
    db.session.add(result)
    db.session.flush()
    record_event("create", "screening_result", result.id, reason="worker recorded")
    link = _link(user, case, result, "worker")
    add_event(case, "screening_recorded", user, f"{definition.name}: {result.score}")
    alert = _after_new_result(user, case, link, result, raise_alerts)
    return link, outcome, alert


def resident_screenings(case: Case) -> list[ScreeningResult]:
    """The client's own self-screenings (their linked resident account) not yet on this case."""
    resident_id = case.client.resident_user_id
    if resident_id is None:
        return []
    linked = select(CaseScreening.result_id).where(CaseScreening.case_id == case.id)
    return list(db.session.scalars(select(ScreeningResult).where(
        ScreeningResult.user_id == resident_id, ScreeningResult.id.not_in(linked),
        ScreeningResult.score.is_not(None)).order_by(ScreeningResult.created_at.desc()).limit(50)))


def link_self_screening(user, case: Case, result_id, *, allow_closed: bool = False, raise_alerts: bool = True):
    """Count the client's own self-screening on the case. Returns (link, alert or None)."""
    if not allow_closed:
        require_open(case, case.version)
    rid = as_uuid(result_id)
    result = db.session.get(ScreeningResult, rid) if rid else None
    resident_id = case.client.resident_user_id
    # the same answer whether the result does not exist or belongs to someone else
    if result is None or resident_id is None or result.user_id != resident_id or result.score is None:
        raise Invalid({"result_id": _("This is not one of the client's own screenings. The client must have "
                                      "taken it while signed in to their linked account.")})
    exists = db.session.scalar(select(CaseScreening.id).where(CaseScreening.case_id == case.id,
                                                              CaseScreening.result_id == result.id))
    if exists:
        raise Conflict(_("This screening is already on the case."))
    link = _link(user, case, result, "self")
    definition = get_instrument(result.instrument)
    add_event(case, "screening_linked", user, f"{definition.name if definition else result.instrument}: "
                                               f"{result.score}")
    alert = _after_new_result(user, case, link, result, raise_alerts)
    return link, alert


def _link(user, case: Case, result: ScreeningResult, source: str) -> CaseScreening:
    link = CaseScreening(case_id=case.id, result_id=result.id, source=source, recorded_by_id=user.id,
                         recorded_at=utcnow())
    db.session.add(link)
    db.session.flush()
    record_event("create", "case_screening", link.id, reason=f"{source}:{result.instrument}")
    return link


def _after_new_result(user, case: Case, link: CaseScreening, result: ScreeningResult, raise_alerts: bool = True):
    """Complete the due re-screen, and raise a triage alert for a crisis or a reliable deterioration."""
    _advance_schedule(user, case, result)
    if not raise_alerts:
        return None
    series = [r for _link, r in case_results(case) if r.instrument == result.instrument and r.score is not None]
    definition = get_instrument(result.instrument)
    factor = definition.percentage_factor if definition else None
    first, now_score = (series[0].score, result.score) if series else (None, None)
    deteriorated = bool(len(series) >= 2 and series[-1].id == result.id and first is not None
                        and now_score is not None
                        and "reliable_deterioration" in markers(result.instrument, first, now_score, factor))
    if not (deteriorated or result.crisis):
        return None
    name = definition.name if definition else result.instrument
    parts = []
    if deteriorated:
        parts.append(said("%(name)s reliably deteriorated: %(baseline)s -> %(latest)s", name=name,
                          baseline=show_score(series[0].score, factor), latest=show_score(result.score, factor)))
    if result.crisis:
        parts.append(said("the %(name)s answers meet the crisis rule", name=name))
    summary = said("Re-screening on a %(phase)s case: %(finding)s.", phase=label("case_phase", case.phase),
                   finding=parts)  # worded when read, in each reader's language
    alert = raise_alert("rescreen", Urgency.CRISIS if result.crisis else Urgency.URGENT, subject_type="case",
                        subject_id=case.id, team_id=case.team_id, summary=summary)
    link.alert_id = alert.id
    add_event(case, "rescreen_alert", user, store(summary))
    return alert


def show_score(raw, factor) -> str:
    """A score as pages and statements show it: WHO-5 (a percentage factor) as a percentage."""
    return f"{raw * factor}%" if factor else str(raw)


# ------------------------------------------------------------------ re-screening schedule
def _assignee(case: Case, user=None):
    return case.assigned_counsellor_id or case.assigned_social_worker_id or (user.id if user else None)


def schedules_of(case: Case) -> list[RescreenSchedule]:
    return list(db.session.scalars(select(RescreenSchedule).where(RescreenSchedule.case_id == case.id,
                                                                  RescreenSchedule.active.is_(True))
                                   .order_by(RescreenSchedule.instrument)))


def _last_result_at(case: Case, instrument_id: str) -> datetime | None:
    return db.session.scalar(select(ScreeningResult.created_at).join(
        CaseScreening, CaseScreening.result_id == ScreeningResult.id).where(
        CaseScreening.case_id == case.id, ScreeningResult.instrument == instrument_id)
        .order_by(ScreeningResult.created_at.desc()).limit(1))


def _new_task(case: Case, due_at: datetime, note: str, user=None) -> Task:
    task = Task(case_id=case.id, kind=RESCREEN, due_at=due_at, assigned_to_id=_assignee(case, user),
                created_at=utcnow())
    task.note = note
    db.session.add(task)
    db.session.flush()
    record_event("create", "task", task.id, reason=RESCREEN)
    return task


def set_schedule(user, case: Case, instrument_id, weeks) -> RescreenSchedule:
    """Re-screen with `instrument` every `weeks` weeks: the next one is due that long after the last
    score of it on the case (now when there is none). Changing the interval moves the due task."""
    require_open(case, case.version)
    definition = get_instrument(instrument_id) if isinstance(instrument_id, str) else None
    errors = {}
    if definition is None or definition.method != "sum":
        errors["instrument"] = _("Choose one of: %(options)s.",
                                 options=", ".join(i.id for i in recordable_instruments()))
    try:
        weeks = int(weeks)
        if not MIN_WEEKS <= weeks <= MAX_WEEKS:
            raise ValueError
    except (TypeError, ValueError):
        errors["weeks"] = _("Choose every %(low)d to %(high)d weeks.", low=MIN_WEEKS, high=MAX_WEEKS)
    if errors or definition is None:
        raise Invalid(errors)
    now = utcnow()
    schedule = db.session.scalar(select(RescreenSchedule).where(RescreenSchedule.case_id == case.id,
                                                                RescreenSchedule.instrument == definition.id))
    created = schedule is None
    if schedule is None:
        schedule = RescreenSchedule(case_id=case.id, instrument=definition.id, every_days=weeks * 7,
                                    created_by_id=user.id, created_at=now)
        db.session.add(schedule)
    schedule.every_days, schedule.active, schedule.updated_at = weeks * 7, True, now
    last = _last_result_at(case, definition.id)
    due = last + timedelta(days=schedule.every_days) if last else now
    task = schedule.task if schedule.task_id else None
    if task is not None and task.done_at is None:
        task.due_at = due
    else:
        schedule.task = _new_task(case, due, definition.name, user)
    db.session.flush()
    add_event(case, "rescreen_scheduled", user, _("%(name)s every %(n)d weeks", name=definition.name, n=weeks))
    record_event("create" if created else "update", "rescreen_schedule", schedule.id, reason=definition.id)
    return schedule


def stop_schedule(user, case: Case, instrument_id: str) -> RescreenSchedule | None:
    require_open(case, case.version)
    schedule = db.session.scalar(select(RescreenSchedule).where(
        RescreenSchedule.case_id == case.id, RescreenSchedule.instrument == instrument_id,
        RescreenSchedule.active.is_(True)))
    if schedule is None:
        return None
    _end_schedule(user, schedule)
    add_event(case, "rescreen_stopped", user, instrument_id)
    record_event("update", "rescreen_schedule", schedule.id, reason="stopped")
    return schedule


def _end_schedule(user, schedule: RescreenSchedule) -> None:
    schedule.active, schedule.updated_at = False, utcnow()
    task = schedule.task
    if task is not None and task.done_at is None:
        task.done_at, task.done_by_id = utcnow(), user.id if user else None


def end_schedules(user, case: Case) -> int:
    """At closure: the schedule stops and its due task is closed."""
    count = 0
    for schedule in schedules_of(case):
        _end_schedule(user, schedule)
        count += 1
    return count


def _advance_schedule(user, case: Case, result: ScreeningResult) -> None:
    schedule = db.session.scalar(select(RescreenSchedule).where(
        RescreenSchedule.case_id == case.id, RescreenSchedule.instrument == result.instrument,
        RescreenSchedule.active.is_(True)))
    if schedule is None:
        return
    task = schedule.task
    interval = timedelta(days=schedule.every_days)
    if task is not None and task.done_at is None:
        if result.created_at <= task.due_at - interval:
            return  # older than the current interval: it does not answer the due re-screen
        task.done_at, task.done_by_id = utcnow(), user.id
        add_event(case, "task_done", user)
    definition = get_instrument(result.instrument)
    schedule.task = _new_task(case, result.created_at + interval, definition.name if definition else
                              result.instrument, user)


def due_rescreens(case: Case) -> list[tuple[RescreenSchedule, Task | None]]:
    return [(s, s.task if s.task and s.task.done_at is None else None) for s in schedules_of(case)]
