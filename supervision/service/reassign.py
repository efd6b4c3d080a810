"""Reassigning cases from one worker to another of the same role and team (a worker leaving, a
worker overloaded): one case or many, with a reason. Each case's timeline shows the move, its
open tasks move with it, every case is audited, and both workers are notified once per batch."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.notifications import notify
from carecycle.validation import Invalid
from casework.enums import Phase
from casework.models import Case, Task
from casework.service.cases import add_event
from supervision.service.caseload import slot_of
from supervision.service.common import as_uuid
from supervision.service.links import path_for

BATCH = 200            # cases per reassignment (a larger caseload is moved in several goes)
REASON_MIN, REASON_MAX = 10, 1000
EVENT = "reassigned"
EVENT_LABEL = _l("Case reassigned")


@dataclass
class Result:
    moved: list[Case]
    skipped: int
    from_worker: User
    to_worker: User


def _clean(supervisor, from_worker: User, to_worker_id, case_ids, reason) -> tuple[User, list, str]:
    errors = {}
    reason = " ".join((reason or "").split()) if isinstance(reason, str) else ""
    if len(reason) < REASON_MIN:
        errors["reason"] = _("Write the reason for the move (at least %(n)d characters).", n=REASON_MIN)
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("Keep the reason under %(n)d characters.", n=REASON_MAX)
    wid = as_uuid(to_worker_id)
    to_worker = db.session.get(User, wid) if wid else None
    if (to_worker is None or to_worker.team_id != supervisor.team_id or not to_worker.active
            or str(to_worker.role) != str(from_worker.role)):
        errors["to_worker"] = _("Choose an active %(role)s of your team.", role=from_worker.role.label)
    elif to_worker.id == from_worker.id:
        errors["to_worker"] = _("Choose another worker than the one the cases are with.")
    ids = [as_uuid(i) for i in (case_ids or [])]
    if not ids:
        errors["cases"] = _("Choose at least one case.")
    elif len(set(ids)) > BATCH:
        errors["cases"] = _("Move at most %(n)d cases at a time.", n=BATCH)
    if errors or to_worker is None:
        raise Invalid(errors)
    if any(i is None for i in ids):
        raise NotFound("worker")
    return to_worker, list(dict.fromkeys(ids)), reason


def reassign(supervisor, from_worker: User, case_ids, to_worker_id, reason) -> Result:
    """Move the given cases of `from_worker` (in the supervisor's team) to another worker of the same
    role. A case that is not the team's answers 404; a case no longer with `from_worker` or closed is
    skipped (someone moved it meanwhile). The caller commits."""
    to_worker, ids, reason = _clean(supervisor, from_worker, to_worker_id, case_ids, reason)
    cases = db.session.scalars(select(Case).where(Case.id.in_(ids), Case.team_id == supervisor.team_id)
                               .order_by(Case.opened_at, Case.id)).all()
    if len(cases) != len(ids):
        raise NotFound("case")
    slot = slot_of(from_worker).key
    moved, skipped = [], 0
    db.session.info["supervision_reassigning"] = True  # one notification per worker, sent below
    try:
        for case in cases:
            if getattr(case, slot) != from_worker.id or case.phase == Phase.CLOSED.value:
                skipped += 1
                continue
            setattr(case, slot, to_worker.id)
            db.session.flush()  # bumps the version; a concurrent edit fails here (409)
            add_event(case, EVENT, supervisor,
                      f"{from_worker.username} -> {to_worker.username}: {reason}").case_version = case.version
            db.session.execute(update(Task).where(Task.case_id == case.id, Task.assigned_to_id == from_worker.id,
                                                  Task.done_at.is_(None))
                               .values(assigned_to_id=to_worker.id).execution_options(synchronize_session=False))
            record_event("update", "case", case.id, reason=f"reassigned:{slot}")
            moved.append(case)
        db.session.flush()
    finally:
        db.session.info.pop("supervision_reassigning", None)
    if moved:
        one = len(moved) == 1
        notify(to_worker, "cases_assigned",
               path_for("casework.case_detail", case_id=moved[0].id) if one else path_for("casework.cases"),
               count=len(moved), object_type="case" if one else None, object_id=moved[0].id if one else None)
        if from_worker.active:
            notify(from_worker, "cases_reassigned", path_for("casework.cases"), count=len(moved))
    return Result(moved, skipped, from_worker, to_worker)


def candidates(supervisor, from_worker: User) -> list[User]:
    """Who the worker's cases can go to: active workers of the same role in the team."""
    return list(db.session.scalars(select(User).where(
        User.team_id == supervisor.team_id, User.role == from_worker.role, User.active.is_(True),
        User.id != from_worker.id).order_by(User.username)))
