"""Emergency re-timing of what casework already holds waiting (a mode-switch hook registered with
the shell, carecycle.areas.add_mode_switch_hook).

On the switch to emergency, every open or claimed alert and every pending first-contact task gets
the earlier of its current deadline and its emergency deadline, counted from when it was created.
Going back to normal leaves deadlines as they are: a deadline is never moved later, so no item
needs a note explaining why it got more time."""
from __future__ import annotations

from sqlalchemy import select, update

from carecycle.alerts import DEADLINES, Alert, Urgency
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.mode import ModeState, scaled
from casework.enums import Phase, RiskLevel
from casework.models import Case, Task
from casework.service.cases import FIRST_CONTACT
from casework.service.tasks import FIRST_CONTACT as FIRST_CONTACT_KIND
from casework.service.triage import ACTIVE_STATES

AUDIT_REASON = "emergency deadline"


def tighten_waiting(state: ModeState, _change=None) -> None:
    """The mode-switch hook: bring waiting alerts and first contacts forward in an emergency."""
    if not state.emergency:
        return
    tighten_alerts(state)
    tighten_first_contacts(state)


def tighten_alerts(state: ModeState) -> int:
    """Open and claimed alerts: deadline = min(deadline, created + emergency interval). Returns how many moved."""
    moved = 0
    rows = db.session.execute(select(Alert.id, Alert.urgency, Alert.created_at, Alert.deadline)
                              .where(Alert.state.in_(ACTIVE_STATES))).all()
    for alert_id, urgency, created_at, deadline in rows:
        try:
            interval = DEADLINES[Urgency(urgency)]
        except ValueError:
            continue
        earlier = created_at + scaled(interval, state)
        if earlier >= deadline:
            continue
        # the deadline alone moves: a worker's claim or close made meanwhile keeps its version
        result = db.session.execute(update(Alert).where(Alert.id == alert_id, Alert.state.in_(ACTIVE_STATES),
                                                        Alert.deadline > earlier).values(deadline=earlier))
        if result.rowcount:
            moved += 1
            record_event("update", "alert", alert_id, reason=AUDIT_REASON)
    return moved


def tighten_first_contacts(state: ModeState) -> int:
    """Pending first-contact tasks of cases not closed: due = min(due, created + emergency interval
    for the case's risk now). Returns how many moved."""
    moved = 0
    rows = db.session.execute(
        select(Task.id, Task.created_at, Task.due_at, Case.risk_level).join(Case, Case.id == Task.case_id)
        .where(Task.kind == FIRST_CONTACT_KIND, Task.done_at.is_(None), Case.phase != Phase.CLOSED.value)).all()
    for task_id, created_at, due_at, risk_level in rows:
        try:
            interval = FIRST_CONTACT.get(RiskLevel(risk_level))
        except ValueError:
            interval = None
        if interval is None:
            continue
        earlier = created_at + scaled(interval, state)
        if earlier >= due_at:
            continue
        result = db.session.execute(update(Task).where(Task.id == task_id, Task.done_at.is_(None),
                                                       Task.due_at > earlier).values(due_at=earlier))
        if result.rowcount:
            moved += 1
            record_event("update", "task", task_id, reason=AUDIT_REASON)
    return moved
