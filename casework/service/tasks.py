"""Tasks on cases: the first contact comes from the risk level (casework.service.cases), next-contact
reminders are set here, and any task can be marked done (audited, on the timeline)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from carecycle.audit import record_event
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.localtime import date_message, day_bounds, local, to_utc
from carecycle.urls import as_uuid
from carecycle.validation import Conflict, Invalid, iso_date
from casework.enums import Phase
from casework.models import Case, Task
from casework.service.cases import add_event, open_tasks

FIRST_CONTACT = "first_contact"
NEXT_CONTACT = "next_contact"
NOTE_MAX = 500
NEXT_CONTACT_HORIZON = timedelta(days=366)

# Timeline codes for a task marked done (labels in the views); other kinds use the generic one.
DONE_EVENTS = {FIRST_CONTACT: "first_contact_done", NEXT_CONTACT: "next_contact_done"}


def local_to_utc(day: str | None, at: str | None) -> datetime:
    """A date and an optional time (HH:MM, default 09:00) in the service's zone, as UTC."""
    errors = {}
    try:
        parsed_day = iso_date((day or "").strip())
    except ValueError:
        parsed_day = None
        errors["due_date"] = date_message()
    try:
        parsed_time = datetime.strptime((at or "").strip() or "09:00", "%H:%M").time()
    except ValueError:
        parsed_time = None
        errors["due_time"] = _("Enter the time as HH:MM (24-hour clock).")
    if errors or parsed_day is None or parsed_time is None:
        raise Invalid(errors)
    return to_utc(parsed_day, parsed_time)


def today_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of today in the service's zone (from local midnight to the next), in UTC."""
    return day_bounds(local(now or utcnow()).date())


# ------------------------------------------------------------------ next contact
def _assignee_for(user, case: Case):
    """Whoever works the case: the user if assigned to it, else the counsellor, else the social worker."""
    if case.assigned_to(user):
        return user.id
    return case.assigned_counsellor_id or case.assigned_social_worker_id or user.id


def open_next_contact(case: Case) -> Task | None:
    return db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == NEXT_CONTACT,
                                                Task.done_at.is_(None)).order_by(Task.due_at).limit(1))


def set_next_contact(user, case: Case, due_at: datetime, note: str | None = None) -> Task:
    """Schedule the next contact; an open next-contact reminder on the case is moved, not duplicated."""
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed; reopen it first."))
    now = utcnow()
    errors = {}
    if due_at <= now:
        errors["due_date"] = _("Choose a time in the future.")
    elif due_at > now + NEXT_CONTACT_HORIZON:
        errors["due_date"] = _("Choose a date within a year.")
    note = " ".join((note or "").split()) or None
    if note and len(note) > NOTE_MAX:
        errors["note"] = _("Use at most %(n)d characters.", n=NOTE_MAX)
    if errors:
        raise Invalid(errors)
    existing = open_next_contact(case)
    created = existing is None
    if existing is None:
        task = Task(case_id=case.id, kind=NEXT_CONTACT, due_at=due_at, assigned_to_id=_assignee_for(user, case),
                    created_at=now)
        try:
            with db.session.begin_nested():  # someone set one at the same moment: the one-open index refuses it
                db.session.add(task)
        except IntegrityError:
            other = open_next_contact(case)
            if other is None:
                raise
            task, created = other, False  # the reminder just set by the other writer is moved, not duplicated
            task.due_at = due_at
    else:
        task = existing
        task.due_at = due_at
    task.note = note
    db.session.flush()
    when = due_at.astimezone(UTC).isoformat(timespec="minutes")  # shown in the reader's zone and style
    add_event(case, "next_contact_set" if created else "next_contact_moved", user, when)
    record_event("create" if created else "update", "task", task.id, reason=NEXT_CONTACT)
    return task


# ------------------------------------------------------------------ done
def complete_task(user, case: Case, task_id) -> Task:
    """Mark a task of this case done. A second click (or a colleague at the same moment) is told
    it was already done; the state moves with a conditional UPDATE, so it is recorded once."""
    tid = as_uuid(task_id)
    task = db.session.scalar(select(Task).where(Task.id == tid, Task.case_id == case.id)) if tid else None
    if task is None:
        raise NotFound("task")
    now = utcnow()
    result = db.session.execute(
        update(Task).where(Task.id == task.id, Task.done_at.is_(None))
        .values(done_at=now, done_by_id=user.id).execution_options(synchronize_session=False))
    db.session.refresh(task)
    if rows_changed(result) != 1:
        raise Conflict(_("This task was already marked done."))
    add_event(case, DONE_EVENTS.get(task.kind, "task_done"), user)
    record_event("update", "task", task.id, reason=f"done:{task.kind}")
    return task


def case_tasks(case: Case, recent_done: int = 5) -> tuple[list[Task], list[Task]]:
    """Open tasks by due time, and the few most recently done."""
    done = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.done_at.is_not(None))
                              .order_by(Task.done_at.desc()).limit(recent_done)).all()
    return open_tasks(case), list(done)


def count_overdue(now) -> dict[str, int]:
    """For /metrics: open tasks past their due time (a count, nothing about whose)."""
    return {"tasks": db.session.scalar(select(func.count()).select_from(Task).where(
        Task.done_at.is_(None), Task.due_at < now)) or 0}
