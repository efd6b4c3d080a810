"""Closure and follow-up of recovery cases.

At closure the case keeps an outcome snapshot (each instrument's baseline, latest score and markers,
and how the goals ended), its re-screening and review tasks stop, and follow-ups are due 1, 3 and 6
months later, each as a task of kind `follow_up`. A closed case is read-only except for follow-ups
(and note addenda). A follow-up records how the person is doing, optionally with a screening; when
they are worse than at closure, a screening shows reliable deterioration against the closing score,
or there is a crisis, the case is reopened and a triage alert (kind `follow_up`) carries the history."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from carecycle.alerts import Urgency, raise_alert
from carecycle.audit import record_event
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.messages import call, day, label, said, store, text
from carecycle.validation import Conflict, Invalid
from casework.enums import Phase
from casework.models import Case, FollowUp, Task
from casework.models.recovery import FollowUpStatus
from casework.service import careplans, outcomes, phases
from casework.service.cases import add_event
from screening.service import get_instrument

FOLLOW_UP = "follow_up"
FOLLOW_UP_MONTHS = (1, 3, 6)
NOTE_MAX = 4000
RETRY_AFTER_DAYS = 3


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` calendar months later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# ------------------------------------------------------------------ the snapshot kept at closure
def snapshot_statements(snapshot: dict | None) -> list[str]:
    """The snapshot's outcomes in words, in the reader's language."""
    lines = []
    for item in (snapshot or {}).get("instruments", []):
        scores = [item["baseline"]] if item.get("count", 2) < 2 else [item["baseline"], item["latest"]]
        lines.append(outcomes.outcome_statement(item.get("name") or item["instrument"], item["instrument"], scores,
                                                item.get("percentage_factor")))
    return lines


def goal_statement(snapshot: dict | None) -> str | None:
    counts = (snapshot or {}).get("goals") or {}
    total = sum(counts.values())
    if not total:
        return None
    return _("Care plan: %(achieved)d of %(total)d goals achieved, %(open)d still open, %(dropped)d dropped.",
             achieved=counts.get("achieved", 0), total=total, dropped=counts.get("dropped", 0),
             open=counts.get("not_started", 0) + counts.get("in_progress", 0))


# ------------------------------------------------------------------ at closure
def _assignee(case: Case, user=None):
    return case.assigned_social_worker_id or case.assigned_counsellor_id or (user.id if user else None)


def _cancel_open(user, case: Case, now: datetime) -> int:
    count = 0
    for follow_up in db.session.scalars(select(FollowUp).where(
            FollowUp.case_id == case.id, FollowUp.recorded_at.is_(None), FollowUp.cancelled_at.is_(None))):
        follow_up.cancelled_at = now
        task = db.session.get(Task, follow_up.task_id) if follow_up.task_id else None
        if task is not None and task.done_at is None:
            task.done_at, task.done_by_id = now, user.id if user else None
        count += 1
    return count


def schedule_follow_ups(user, case: Case) -> list[FollowUp]:
    """The close hook: stop re-screens and reviews, and make the 1-, 3- and 6-month follow-ups."""
    now = utcnow()
    closed_at = case.closed_at or now
    _cancel_open(user, case, now)
    outcomes.end_schedules(user, case)
    careplans.close_review_tasks(user, case)
    made = []
    for months in FOLLOW_UP_MONTHS:
        due = add_months(closed_at, months)
        task = Task(case_id=case.id, kind=FOLLOW_UP, due_at=due, assigned_to_id=_assignee(case, user), created_at=now)
        db.session.add(task)
        db.session.flush()
        follow_up = FollowUp(case_id=case.id, months=months, closed_at=closed_at, due_at=due, task_id=task.id)
        db.session.add(follow_up)
        made.append(follow_up)
        record_event("create", "task", task.id, reason=FOLLOW_UP)
    db.session.flush()
    statements = snapshot_statements(case.outcome_snapshot)
    add_event(case, "follow_ups_scheduled", user, "; ".join(statements) or None)
    return made


# ------------------------------------------------------------------ reading
def follow_ups_of(case: Case) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                   .order_by(FollowUp.closed_at.desc(), FollowUp.months)))


# ------------------------------------------------------------------ recording
def _reference_score(case: Case, instrument_id: str, new_result_id) -> int | None:
    """What a follow-up screening is compared with: the last score before closure (the snapshot),
    else the case's baseline."""
    for item in (case.outcome_snapshot or {}).get("instruments", []):
        if item["instrument"] == instrument_id:
            return item["latest"]
    for outcome in outcomes.outcomes_of(case):
        if outcome.id == instrument_id:
            earlier = [r for r in outcome.results if r.id != new_result_id]
            return earlier[0].score if earlier else None
    return None


def record_follow_up(user, case: Case, follow_up: FollowUp, *, status, note=None, crisis=False,
                     screening: dict | None = None):
    """Record how the person is doing. Returns (follow_up, alert or None); a deterioration or a crisis
    reopens the case and raises a triage alert."""
    if follow_up.case_id != case.id:
        raise NotFound("follow-up")
    if follow_up.done:
        raise Conflict(_("This follow-up has already been recorded."))
    if case.phase != Phase.CLOSED.value:
        raise Conflict(_("The case is open again: record how the person is doing in a contact note instead."))
    errors: dict = {}
    try:
        status = FollowUpStatus(status)
    except ValueError:
        errors["status"] = _("Choose how the person is doing.")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        errors["note"] = _("Use at most %(n)d characters.", n=NOTE_MAX)
    crisis = bool(crisis)
    if not errors and status is FollowUpStatus.NOT_REACHED and (screening or crisis):
        errors["status"] = _("A screening or a crisis can only be recorded when the person was reached.")
    if errors:
        raise Invalid(errors)
    now = utcnow()
    task = db.session.get(Task, follow_up.task_id) if follow_up.task_id else None
    if status is FollowUpStatus.NOT_REACHED:
        follow_up.attempts += 1
        follow_up.last_attempt_at = now
        if task is not None and task.done_at is None:
            task.due_at = max(task.due_at, now + timedelta(days=RETRY_AFTER_DAYS))
        db.session.flush()
        add_event(case, "follow_up_not_reached", user, note)
        record_event("update", "follow_up", follow_up.id, reason="not_reached")
        return follow_up, None
    # only one of two workers recording the same follow-up at once gets through
    claimed = rows_changed(db.session.execute(update(FollowUp).where(
        FollowUp.id == follow_up.id, FollowUp.recorded_at.is_(None), FollowUp.cancelled_at.is_(None))
        .values(recorded_at=now, recorded_by_id=user.id).execution_options(synchronize_session=False)))
    if claimed != 1:
        raise Conflict(_("This follow-up has already been recorded."))
    follow_up.recorded_at, follow_up.recorded_by_id = now, user.id
    link = None
    finding = []
    deteriorated = status is FollowUpStatus.WORSE
    if deteriorated:
        finding.append(said("worse than at closure"))
    if crisis:
        finding.append(said("crisis flag set by the worker"))
    if screening:
        if screening.get("result_id"):
            link, _alert = outcomes.link_self_screening(user, case, screening["result_id"], allow_closed=True,
                                                        raise_alerts=False)
        else:
            link, _outcome, _alert = outcomes.record_screening(
                user, case, screening.get("instrument"), screening.get("answers"), sex=screening.get("sex"),
                allow_closed=True, raise_alerts=False)
        result = link.result
        definition = get_instrument(result.instrument)
        factor = definition.percentage_factor if definition else None
        reference = _reference_score(case, result.instrument, result.id)
        name = definition.name if definition else result.instrument
        if reference is not None and "reliable_deterioration" in outcomes.markers(result.instrument, reference,
                                                                                  result.score, factor):
            deteriorated = True
            finding.append(said("%(name)s reliably deteriorated since closure: %(before)s -> %(now)s", name=name,
                                before=outcomes.show_score(reference, factor),
                                now=outcomes.show_score(result.score, factor)))
        else:
            finding.append(said("%(name)s %(score)s", name=name, score=outcomes.show_score(result.score, factor)))
        if result.crisis:
            crisis = True
            finding.append(said("the %(name)s answers meet the crisis rule", name=name))
    follow_up.status, follow_up.crisis, follow_up.deteriorated = status.value, crisis, deteriorated
    follow_up.note = note
    follow_up.screening_id = link.id if link else None
    if task is not None and task.done_at is None:
        task.done_at, task.done_by_id = now, user.id
    db.session.flush()
    add_event(case, "follow_up_recorded", user, _("%(n)d-month follow-up: %(status)s", n=follow_up.months,
                                                   status=status.label))
    record_event("update", "follow_up", follow_up.id, reason=status.value)
    alert = None
    if deteriorated or crisis:
        alert = _reopen_into_triage(user, case, follow_up, finding)
    return follow_up, alert


def snapshot_messages(snapshot: dict | None) -> list[dict]:
    """The snapshot's outcomes as messages (carecycle.messages): worded when read."""
    return [call("outcome_statement", item.get("name") or item["instrument"], item["instrument"],
                 [item["baseline"]] if item.get("count", 2) < 2 else [item["baseline"], item["latest"]],
                 item.get("percentage_factor"))
            for item in (snapshot or {}).get("instruments", [])]


def _reopen_into_triage(user, case: Case, follow_up: FollowUp, finding: list[dict]):
    """Reopen the case (audited, on the timeline) and put it on the triage queue with its history.
    The alert's summary and the timeline's line are messages: each reader reads them in their language."""
    history = [said("Case closed %(when)s (%(reason)s).", when=day(case.closed_at) if case.closed_at else "-",
                    reason=label("closure_reason", case.closure_reason) if case.closure_reason else "-")]
    history += snapshot_messages(case.outcome_snapshot)
    if goal_statement(case.outcome_snapshot):
        history.append(call("goal_statement", {"goals": (case.outcome_snapshot or {}).get("goals") or {}}))
    earlier = [f for f in follow_ups_of(case) if f.recorded_at is not None and f.id != follow_up.id
               and f.closed_at == follow_up.closed_at]
    for other in earlier:
        history.append(said("%(n)d-month follow-up: %(status)s", n=other.months,
                            status=label("follow_up_status", str(other.status))))
    summary = said("%(n)d-month follow-up after closure: %(finding)s. History: %(history)s", n=follow_up.months,
                   finding=finding, history=history)
    alert = raise_alert(FOLLOW_UP, Urgency.CRISIS if follow_up.crisis else Urgency.URGENT, subject_type="case",
                        subject_id=case.id, team_id=case.team_id, summary=summary)
    follow_up.alert_id, follow_up.reopened = alert.id, True
    reason = _("Reopened after the %(n)d-month follow-up: %(finding)s.", n=follow_up.months,
               finding=text(finding))  # the reopen reason is kept as written
    phases.reopen(user, case, case.version, reason)  # its hook cancels the follow-ups still due
    add_event(case, "follow_up_alert", user, store(summary))
    return alert


# ------------------------------------------------------------------ wiring into the closure
def cancel_follow_ups(user, case: Case) -> None:
    """The reopen hook: follow-ups still due are not needed while the case is open again."""
    if _cancel_open(user, case, utcnow()):
        add_event(case, "follow_ups_cancelled", user)


