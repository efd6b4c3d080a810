"""Cases: opening, the timeline, versioned edits, assignment, tasks from risk."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from carecycle.accounts.models import User
from carecycle.areas import labels
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import format_day, format_when
from carecycle.messages import is_message
from carecycle.messages import render as render_message
from carecycle.mode import scaled
from carecycle.pagination import CappedPage
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid, iso_date, whole_number
from casework.enums import ClosureReason, Phase, Priority, RiskLevel, Source
from casework.models import Case, CaseEvent, Client, Task
from casework.service.access import visible_cases

# First contact after opening or re-assessing, by risk level (emergency mode halves them).
FIRST_CONTACT = {
    RiskLevel.IMMINENT: timedelta(hours=1),
    RiskLevel.HIGH: timedelta(hours=24),
    RiskLevel.MODERATE: timedelta(hours=72),
    RiskLevel.LOW: timedelta(days=7),
}


def add_event(case: Case, kind: str, actor=None, detail: str | None = None) -> CaseEvent:
    """Append to the case timeline (codes in `kind`; anything personal goes in the encrypted detail)."""
    event = CaseEvent(case_id=case.id, kind=kind, actor_id=actor.id if actor else None, at=utcnow())
    event.detail = detail
    db.session.add(event)
    return event


def parse_version(value) -> int:
    """The record version a form or API body sent back; anything but a whole number is invalid."""
    version = whole_number(value)
    if version is None:
        raise Invalid({"version": _("Send the version you edited.")})
    return version


E = TypeVar("E", bound=Enum)


def _enum(enum: type[E], value, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise Invalid({field: _("Choose one of: %(options)s.",
                                options=", ".join(str(m.value) for m in enum))}) from None


def schedule_first_contact(case: Case, assignee_id) -> Task | None:
    interval = FIRST_CONTACT.get(case.risk)
    if interval is None:
        return None
    task = Task(case_id=case.id, kind="first_contact", due_at=utcnow() + scaled(interval),
                assigned_to_id=assignee_id)
    db.session.add(task)
    return task


def open_case(user, client: Client, *, risk_level: str, source: str, priority: str = "normal",
              alert=None) -> Case:
    """Open a case for a client; the opening counsellor is assigned, and a first-contact task is due."""
    risk = _enum(RiskLevel, risk_level, "risk_level")
    origin = _enum(Source, source, "source")
    urgency = _enum(Priority, priority, "priority")
    phase = Phase.CRISIS if risk.rank >= RiskLevel.MODERATE.rank or origin is Source.SCREENING else Phase.INTAKE
    case = Case(client_id=client.id, team_id=user.team_id, phase=phase.value, risk_level=risk.value,
                priority=urgency.value, source=origin.value, alert_id=alert.id if alert else None,
                assigned_counsellor_id=user.id if Role(user.role) is Role.COUNSELLOR else None,
                assigned_social_worker_id=user.id if Role(user.role) is Role.SOCIAL_WORKER else None)
    db.session.add(case)
    db.session.flush()
    add_event(case, "opened", user).case_version = case.version
    schedule_first_contact(case, user.id)
    record_event("create", "case", case.id)
    return case


EDITABLE = ("risk_level", "priority", "assigned_counsellor", "assigned_social_worker")


def team_staff(team_id, role: Role) -> list[User]:
    """The active staff of a team in one role, by username (who a case can be assigned to)."""
    return list(db.session.scalars(select(User).where(User.team_id == team_id, User.role == role,
                                                      User.active.is_(True)).order_by(User.username)))


def _staff(username: str | None, role: Role, team_id, field: str) -> User | None:
    if username in (None, ""):
        return None
    user = db.session.scalar(select(User).where(User.username == str(username).lower(), User.active.is_(True)))
    if user is None or Role(user.role) is not role or user.team_id != team_id:
        raise Invalid({field: _("No active %(role)s with this username in the case's team.", role=role.label)})
    return user


def changes_since(case: Case, version: int) -> list[CaseEvent]:
    """Timeline events after `version`: what another person changed meanwhile."""
    return list(db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.case_version > version).order_by(CaseEvent.at)))


UPDATED_FIELDS = {"risk_level": (_l("Risk level"), RiskLevel), "priority": (_l("Priority"), Priority),
                  "assigned_counsellor": (_l("Counsellor"), None),
                  "assigned_social_worker": (_l("Social worker"), None)}


def _staff_name(username: str) -> str:
    if username in ("", "-"):
        return _("nobody")
    user = db.session.scalar(select(User).where(User.username == username))
    return user.name if user is not None else username


def _enum_label(enum, code: str) -> str:
    try:
        return str(enum(code).label)
    except ValueError:
        return code


def describe_event(kind: str, detail: str | None) -> str | None:
    """An event's detail in words for the timeline and the conflict page: "priority=urgent" (how an
    edit is stored) reads "Priority: Urgent", "crisis -> recovery" reads "Crisis → Recovery"."""
    if not detail:
        return detail
    if is_message(detail):  # written as a message (carecycle.messages): in the reader's language
        return render_message(detail)
    if kind == "updated":
        parts = []
        for item in detail.split(", "):
            field, sep, value = item.partition("=")
            if not sep or field not in UPDATED_FIELDS:
                parts.append(item)
                continue
            label, enum = UPDATED_FIELDS[field]
            shown = _enum_label(enum, value) if enum else _staff_name(value)
            parts.append(_("%(field)s: %(value)s", field=label, value=shown))
        return "; ".join(parts)
    if kind == "phase_changed":
        old, sep, new = detail.partition(" -> ")
        codes = {p.value for p in Phase}
        if sep and old in codes and new in codes:
            return f"{_enum_label(Phase, old)} → {_enum_label(Phase, new)}"
        if detail in {r.value for r in ClosureReason}:  # a closure stores its reason's code
            return _("Closed: %(reason)s", reason=_enum_label(ClosureReason, detail))
    if kind in MOMENT_EVENTS:
        return _moment_in_words(detail)
    describe = labels("case_event_detail").get(kind)
    return describe(detail) if describe else detail


# Events whose detail is a moment (ISO, UTC; older ones "2026-12-04 10:30 UTC") or a day (ISO).
MOMENT_EVENTS = frozenset({"next_contact_set", "next_contact_moved", "care_plan_review_scheduled"})


def _moment_in_words(detail: str) -> str:
    text = detail.strip().removesuffix(" UTC")
    try:
        if len(text) == 10:
            return format_day(iso_date(text))
        moment = datetime.fromisoformat(text)
    except ValueError:
        return detail
    return format_when(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def staff_names_in_words(detail: str) -> str:
    """"from -> to: reason" with usernames (how a reassignment is stored) as "From name → To name: reason"."""
    names, sep, reason = detail.partition(": ")
    old, arrow, new = names.partition(" -> ")
    if not arrow:
        return detail
    moved = f"{_staff_name(old)} → {_staff_name(new)}"
    return f"{moved}: {reason}" if sep else moved


def update_case(user, case: Case, version, changes: dict) -> Case:
    """Versioned edit: a stale version is refused with what changed meanwhile; never a silent overwrite."""
    version = parse_version(version)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    if case.phase == Phase.CLOSED.value:
        raise Conflict(_("This case is closed; reopen it first."), current_version=case.version)
    if version != case.version:
        raise Conflict(_("Someone else changed this case since you opened it."),
                       [(e.kind, describe_event(e.kind, e.detail), None) for e in changes_since(case, version)],
                       case.version)
    done = []
    if "risk_level" in changes:
        risk = _enum(RiskLevel, changes["risk_level"], "risk_level")
        if risk.value != case.risk_level:
            case.risk_level = risk.value
            done.append(f"risk_level={risk.value}")
    if "priority" in changes:
        priority = _enum(Priority, changes["priority"], "priority")
        if priority.value != case.priority:
            case.priority = priority.value
            done.append(f"priority={priority.value}")
    for field, role, attr in (("assigned_counsellor", Role.COUNSELLOR, "assigned_counsellor_id"),
                              ("assigned_social_worker", Role.SOCIAL_WORKER, "assigned_social_worker_id")):
        if field in changes:
            staff = _staff(changes[field], role, case.team_id, field)
            new_id = staff.id if staff else None
            if new_id != getattr(case, attr):
                setattr(case, attr, new_id)
                done.append(f"{field}={staff.username if staff else '-'}")
    if not done:
        return case
    db.session.flush()  # bumps the version; a concurrent writer fails here with StaleDataError
    add_event(case, "updated", user, ", ".join(done)).case_version = case.version
    record_event("update", "case", case.id, reason=",".join(d.split("=")[0] for d in done))
    return case


def open_tasks(case: Case) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.case_id == case.id, Task.done_at.is_(None))
                                   .order_by(Task.due_at)))


def open_caseload(user, page: int = 1, per_page: int = 50) -> CappedPage:
    """A page of the open cases the user may see (the API's "my caseload"; a supervisor's team),
    oldest first, with the assigned staff loaded in the same query."""
    rows = db.session.scalars(
        select(Case).where(visible_cases(user), Case.phase != Phase.CLOSED.value)
        .options(joinedload(Case.counsellor), joinedload(Case.social_worker)).order_by(Case.opened_at, Case.id)
        .offset((page - 1) * per_page).limit(per_page + 1))
    return CappedPage.from_rows(rows, page, per_page)
