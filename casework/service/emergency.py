"""Emergency re-timing of what casework already holds waiting (a mode-switch hook registered with
the shell, carecycle.areas.add_mode_switch_hook).

On the switch to emergency, every open or claimed alert and every pending first-contact task gets
the earlier of its current deadline and its emergency deadline, counted from when it was created.
Going back to normal leaves deadlines as they are: a deadline is never moved later, so no item
needs a note explaining why it got more time."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.alerts import DEADLINES, Alert
from carecycle.extensions import db
from carecycle.mode import ModeState, bring_deadlines_forward, scaled
from casework.enums import Phase
from casework.models import Case, Task
from casework.service.cases import FIRST_CONTACT
from casework.service.tasks import FIRST_CONTACT as FIRST_CONTACT_KIND
from casework.service.triage import ACTIVE_STATES


def tighten_waiting(state: ModeState, _change=None) -> None:
    """The mode-switch hook: bring waiting alerts and first contacts forward in an emergency."""
    if not state.emergency:
        return
    tighten_alerts(state)
    tighten_first_contacts(state)


def _emergency_deadline(intervals, code, created_at, state):
    """created + the emergency interval for `code` (an urgency or risk level code: the enums are
    string enums, so their dicts take the stored code), or None when it has none."""
    interval = intervals.get(code)
    return created_at + scaled(interval, state) if interval is not None else None


def tighten_alerts(state: ModeState) -> int:
    """Open and claimed alerts: deadline = min(deadline, created + emergency interval). Returns how many moved."""
    rows = db.session.execute(select(Alert.id, Alert.urgency, Alert.created_at, Alert.deadline)
                              .where(Alert.state.in_(ACTIVE_STATES))).all()
    return bring_deadlines_forward(
        Alert.deadline, ((row_id, deadline, _emergency_deadline(DEADLINES, urgency, created, state))
                         for row_id, urgency, created, deadline in rows),
        Alert.state.in_(ACTIVE_STATES), "alert")


def tighten_first_contacts(state: ModeState) -> int:
    """Pending first-contact tasks of cases not closed: due = min(due, created + emergency interval
    for the case's risk now). Returns how many moved."""
    rows = db.session.execute(
        select(Task.id, Task.created_at, Task.due_at, Case.risk_level).join(Case, Case.id == Task.case_id)
        .where(Task.kind == FIRST_CONTACT_KIND, Task.done_at.is_(None), Case.phase != Phase.CLOSED.value)).all()
    return bring_deadlines_forward(
        Task.due_at, ((row_id, due_at, _emergency_deadline(FIRST_CONTACT, risk, created, state))
                      for row_id, created, due_at, risk in rows),
        Task.done_at.is_(None), "task")
