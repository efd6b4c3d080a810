"""The team dashboard: per worker, open cases by risk and phase, overdue first contacts and tasks,
overdue referrals and tasks due in the coming days, with totals for the team; and the drill-down
to one worker's cases with the days since each case's last contact.

Bounded work at any size, as casework's caseload lists: every figure is read from an index range
up to a cap and shown as "200+" beyond it, and the whole dashboard is a fixed set of statements
(the team's workers; the per-worker case cells; the team totals; the unassigned cases; the task
counts; the overdue referrals) whatever the number of cases or workers. A supervisor sees only their own team: every
statement is limited to the team's cases, and a worker of another team answers 404."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.orm import joinedload

from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.pagination import CappedPage
from carecycle.roles import Role
from casework.enums import Phase, RiskLevel
from casework.models import Case, ContactNote, Task
from referrals.enums import ReferralStatus
from referrals.models import Referral
from supervision.service.common import ZERO, Count, csv_text, team_workers

CELL_CAP = 50         # open cases per worker and risk level ("50+")
TEAM_CAP = 1000       # open cases of the team per risk level ("1000+")
TASK_CAP = 50         # tasks per worker and kind of count ("50+")
REFERRAL_CAP = 1000   # overdue referrals of the team
UNASSIGNED_SCAN = 2000  # open cases without a counsellor looked at for "not assigned to anyone"
UPCOMING = timedelta(days=7)
OPEN_PHASES = (Phase.INTAKE.value, Phase.CRISIS.value, Phase.RECOVERY.value)
RISKS = [r.value for r in sorted(RiskLevel, key=lambda r: -r.rank)]  # imminent first
FIRST_CONTACT = "first_contact"
FOLLOW_UP = "follow_up"      # casework.service.followup: 1, 3 and 6 months after closing


def _slot(role: str):
    """The case column that assigns cases to workers of this role."""
    return Case.assigned_social_worker_id if role == Role.SOCIAL_WORKER.value else Case.assigned_counsellor_id


def slot_of(worker: User):
    """The case column that assigns cases to this worker."""
    return _slot(str(worker.role))


@dataclass
class Row:
    """One line of the dashboard: a worker, the unassigned cases, or the team."""

    by_risk: dict[str, Count] = field(default_factory=lambda: {r: ZERO for r in RISKS})
    by_phase: dict[str, Count] = field(default_factory=lambda: {p: ZERO for p in OPEN_PHASES})
    overdue_first_contacts: Count = ZERO
    overdue_tasks: Count = ZERO
    upcoming_tasks: Count = ZERO
    overdue_referrals: Count = ZERO
    worker: User | None = None

    @property
    def person(self) -> User:
        """The worker of a worker's line (the team's and the unassigned lines have none)."""
        if self.worker is None:
            raise ValueError("not a worker's line")
        return self.worker

    @property
    def open(self) -> Count:
        total = ZERO
        for count in self.by_risk.values():
            total = total + count
        return total

    @property
    def high_risk(self) -> Count:
        return self.by_risk[RiskLevel.IMMINENT.value] + self.by_risk[RiskLevel.HIGH.value]

    @property
    def needs_attention(self) -> bool:
        return bool(self.overdue_first_contacts or self.overdue_tasks or self.overdue_referrals
                    or self.by_risk[RiskLevel.IMMINENT.value])

    def as_json(self) -> dict:
        out: dict[str, Any] = {
            "open": self.open.as_json(),
            "by_risk": {k: v.as_json() for k, v in self.by_risk.items()},
            "by_phase": {k: v.as_json() for k, v in self.by_phase.items()},
            "overdue_first_contacts": self.overdue_first_contacts.as_json(),
            "overdue_tasks": self.overdue_tasks.as_json(),
            "upcoming_tasks": self.upcoming_tasks.as_json(),
            "overdue_referrals": self.overdue_referrals.as_json(),
        }
        if self.worker is not None:
            out = {"id": str(self.worker.id), "username": self.worker.username, "name": self.worker.name,
                   "role": str(self.worker.role), "active": self.worker.active, **out}
        return out


@dataclass
class Dashboard:
    team_id: uuid.UUID | None
    rows: list[Row]
    team: Row
    unassigned: Count
    generated_at: datetime
    sort: str = "name"
    direction: str = "asc"
    role: str = ""
    attention: bool = False

    def as_json(self) -> dict:
        return {"team_id": str(self.team_id) if self.team_id else None, "generated_at": self.generated_at.isoformat(),
                "caps": {"cases_per_worker_and_risk": CELL_CAP, "team_cases_per_risk": TEAM_CAP,
                         "tasks": TASK_CAP, "referrals": REFERRAL_CAP},
                "workers": [row.as_json() for row in self.rows],
                "team": {**self.team.as_json(), "unassigned": self.unassigned.as_json()}}


# ------------------------------------------------------------------ reading the figures
# Each statement is built once per shape (the roles of the team's workers, in order) with bound
# parameters, and reused: the request then only binds values (workers, team, time, caps).
_UUID = Case.team_id.type


def _w(index: int):
    return bindparam(f"w{index}", type_=_UUID)


@lru_cache(maxsize=128)
def _cells_statement(roles: tuple[str, ...]):
    """For each worker and risk level, up to `cap` open cases from the worker's caseload index, grouped
    by phase and by whether the case is the team's."""
    parts = []
    for index, role in enumerate(roles):
        for risk in RISKS:
            inner = (select(Case.phase.label("phase"), Case.team_id.label("team_id"))
                     .where(_slot(role) == _w(index), Case.risk_level == risk, Case.phase != Phase.CLOSED.value)
                     .order_by(Case.opened_at, Case.id).limit(bindparam("cap")).subquery())
            parts.append(select(literal(index).label("w"), literal(risk).label("r"), inner.c.phase.label("phase"),
                                sql_case((inner.c.team_id == bindparam("team", type_=_UUID), 1), else_=0)
                                .label("ours")))
    cells = union_all(*parts).subquery()
    return (select(cells.c.w, cells.c.r, cells.c.phase, cells.c.ours, func.count())
            .group_by(cells.c.w, cells.c.r, cells.c.phase, cells.c.ours))


def _workers_params(team_id, workers: list[User]) -> dict:
    return {"team": team_id, **{f"w{i}": w.id for i, w in enumerate(workers)}}


def _case_cells(team_id, workers: list[User]) -> dict[uuid.UUID, Row]:
    """One statement: per worker and risk level, the open cases (counted up to CELL_CAP) by phase."""
    rows = {w.id: Row(worker=w) for w in workers}
    if not workers:
        return rows
    grouped = db.session.execute(_cells_statement(tuple(str(w.role) for w in workers)),
                                 {**_workers_params(team_id, workers), "cap": CELL_CAP + 1}).all()
    seen: dict[tuple, int] = {}
    ours: dict[tuple, dict[str, int]] = {}
    for index, risk, phase, mine, n in grouped:
        key = (workers[int(index)].id, risk)
        seen[key] = seen.get(key, 0) + n
        if mine:
            ours.setdefault(key, {})[phase] = ours.get(key, {}).get(phase, 0) + n
    for (worker_id, risk), total in seen.items():
        capped = total > CELL_CAP
        phases = ours.get((worker_id, risk), {})
        row = rows[worker_id]
        row.by_risk[risk] = Count(min(sum(phases.values()), CELL_CAP), capped)
        for phase, n in phases.items():
            if phase in row.by_phase:
                row.by_phase[phase] = row.by_phase[phase] + Count(n, capped)
    for row in rows.values():  # a worker's phase counts are lower bounds when any risk cell was capped
        if any(c.more for c in row.by_risk.values()):
            row.by_phase = {p: Count(c.n, True) for p, c in row.by_phase.items()}
    return rows


@lru_cache(maxsize=1)
def _team_statement():
    """The team's open cases per risk level, up to `cap` each, by phase: read from the team's caseload
    index alone (team, risk, opening time, id, phase), without touching the table."""
    parts = []
    for risk in RISKS:
        inner = (select(Case.phase.label("phase"))
                 .where(Case.team_id == bindparam("team", type_=_UUID), Case.risk_level == risk,
                        Case.phase != Phase.CLOSED.value)
                 .order_by(Case.opened_at, Case.id).limit(bindparam("cap")).subquery())
        parts.append(select(literal(risk).label("r"), inner.c.phase.label("phase")))
    cells = union_all(*parts).subquery()
    return select(cells.c.r, cells.c.phase, func.count()).group_by(cells.c.r, cells.c.phase)


@lru_cache(maxsize=1)
def _unassigned_statement():
    """Open cases without a counsellor (their index range), up to `cap` of them, and how many of those
    are the team's and have no social worker either."""
    inner = (select(Case.team_id.label("team_id"), Case.assigned_social_worker_id.label("sw"))
             .where(Case.assigned_counsellor_id.is_(None), Case.phase != Phase.CLOSED.value)
             .limit(bindparam("cap")).subquery())
    mine = and_(inner.c.team_id == bindparam("team", type_=_UUID), inner.c.sw.is_(None))
    return select(func.count(), func.coalesce(func.sum(sql_case((mine, 1), else_=0)), 0))


def _team_cells(team_id) -> tuple[Row, Count]:
    """Two statements: the team's open cases by risk and phase (each risk level counted up to TEAM_CAP),
    and the open cases nobody is assigned to (looked for among up to UNASSIGNED_SCAN cases without a
    counsellor: beyond that the figure is a lower bound)."""
    team = Row()
    grouped = db.session.execute(_team_statement(), {"team": team_id, "cap": TEAM_CAP + 1}).all()
    per_risk: dict[str, int] = {}
    per_phase: dict[str, int] = {}
    for risk, phase, n in grouped:
        per_risk[risk] = per_risk.get(risk, 0) + n
        per_phase[phase] = per_phase.get(phase, 0) + n
    capped = {risk for risk, n in per_risk.items() if n > TEAM_CAP}
    for risk in RISKS:
        n = per_risk.get(risk, 0)
        team.by_risk[risk] = Count(min(n, TEAM_CAP), risk in capped)
    for phase in OPEN_PHASES:
        team.by_phase[phase] = Count(per_phase.get(phase, 0), bool(capped))
    scanned, unassigned = db.session.execute(_unassigned_statement(),
                                             {"team": team_id, "cap": UNASSIGNED_SCAN + 1}).one()
    return team, Count(min(int(unassigned), TEAM_CAP), int(scanned) > UNASSIGNED_SCAN or int(unassigned) > TEAM_CAP)


MEASURES = ("overdue", "first", "upcoming")


@lru_cache(maxsize=128)
def _tasks_statement(workers: int):
    """Per worker, open tasks on the team's cases (open cases, and follow-ups of closed ones) that are
    overdue, overdue first contacts, and tasks due in the coming days, each counted up to `cap`."""
    now, soon = bindparam("now", type_=Task.due_at.type), bindparam("soon", type_=Task.due_at.type)
    when = {"overdue": (Task.due_at < now,), "first": (Task.due_at < now, Task.kind == FIRST_CONTACT),
            "upcoming": (Task.due_at >= now, Task.due_at < soon)}
    parts = []
    for index in range(workers):
        for name in MEASURES:
            inner = (select(Task.id).join(Case, Case.id == Task.case_id)
                     .where(Task.assigned_to_id == _w(index), Task.done_at.is_(None), *when[name],
                            Case.team_id == bindparam("team", type_=_UUID),
                            or_(Case.phase != Phase.CLOSED.value, Task.kind == FOLLOW_UP))
                     .order_by(Task.due_at, Task.id).limit(bindparam("cap")).subquery())
            parts.append(select(literal(index).label("w"), literal(name).label("m"),
                                select(func.count()).select_from(inner).scalar_subquery().label("n")))
    return union_all(*parts)


def _task_counts(team_id, workers: list[User], now: datetime) -> dict[tuple[uuid.UUID, str], Count]:
    """One statement: the task figures of every worker (see _tasks_statement)."""
    if not workers:
        return {}
    rows = db.session.execute(_tasks_statement(len(workers)), {
        **_workers_params(team_id, workers), "now": now, "soon": now + UPCOMING, "cap": TASK_CAP + 1}).all()
    return {(workers[int(index)].id, name): Count(min(int(n), TASK_CAP), int(n) > TASK_CAP)
            for index, name, n in rows}


@lru_cache(maxsize=1)
def _referrals_statement():
    inner = (select(Referral.created_by_id.label("by"))
             .where(Referral.team_id == bindparam("team", type_=_UUID), Referral.status == ReferralStatus.SENT.value,
                    Referral.respond_by < bindparam("now", type_=Referral.respond_by.type))
             .order_by(Referral.respond_by).limit(bindparam("cap")).subquery())
    return select(inner.c.by, func.count()).group_by(inner.c.by)


def _overdue_referrals(team_id, now: datetime) -> tuple[dict[uuid.UUID, int], bool]:
    """One statement: the team's sent referrals past their response deadline, per referring worker."""
    rows = db.session.execute(_referrals_statement(), {"team": team_id, "now": now, "cap": REFERRAL_CAP + 1}).all()
    counts = {by: int(n) for by, n in rows}
    return counts, sum(counts.values()) > REFERRAL_CAP


def _add_work(row: Row, tasks: dict, referrals: dict, referrals_capped: bool) -> None:
    """Put a worker's task and overdue-referral figures on their dashboard line."""
    worker_id = row.person.id
    row.overdue_tasks = tasks.get((worker_id, "overdue"), ZERO)
    row.overdue_first_contacts = tasks.get((worker_id, "first"), ZERO)
    row.upcoming_tasks = tasks.get((worker_id, "upcoming"), ZERO)
    row.overdue_referrals = Count(referrals.get(worker_id, 0), referrals_capped)


SORTS = {
    "name": lambda row: (row.worker.name.casefold(),),
    "open": lambda row: (row.open.n,),
    "high": lambda row: (row.high_risk.n,),
    "overdue_first": lambda row: (row.overdue_first_contacts.n,),
    "overdue_tasks": lambda row: (row.overdue_tasks.n,),
    "referrals": lambda row: (row.overdue_referrals.n,),
    "upcoming": lambda row: (row.upcoming_tasks.n,),
}
SORT_LABELS = {
    "name": _l("Name"), "open": _l("Open cases"), "high": _l("High and imminent risk"),
    "overdue_first": _l("Overdue first contacts"), "overdue_tasks": _l("Overdue tasks"),
    "referrals": _l("Overdue referrals"), "upcoming": _l("Due in the next 7 days"),
}
ROLES = {
    "": _l("All workers"),
    Role.COUNSELLOR.value: _l("Counsellors"),
    Role.SOCIAL_WORKER.value: _l("Social workers"),
}


def clean_view(sort=None, direction=None, role=None, attention=None) -> tuple[str, str, str, bool]:
    """Sorting and filter parameters, whitelisted: anything unknown falls back to the default."""
    sort = sort if sort in SORTS else "name"
    direction = direction if direction in ("asc", "desc") else ("asc" if sort == "name" else "desc")
    role = role if role in ROLES else ""
    return sort, direction, role, attention in ("1", "true", "on", True)


def team_dashboard(supervisor, *, sort=None, direction=None, role=None, attention=None,
                   now: datetime | None = None, audit: bool = True) -> Dashboard:
    """The dashboard of the supervisor's own team (nothing of any other team)."""
    now = now or utcnow()
    team_id = supervisor.team_id
    sort, direction, role, attention = clean_view(sort, direction, role, attention)
    workers = team_workers(team_id)
    rows = _case_cells(team_id, workers)
    team, unassigned = _team_cells(team_id) if team_id else (Row(), ZERO)
    tasks = _task_counts(team_id, workers, now)
    referrals, referrals_capped = _overdue_referrals(team_id, now) if team_id else ({}, False)
    for worker in workers:
        row = rows[worker.id]
        _add_work(row, tasks, referrals, referrals_capped)
        team.overdue_tasks = team.overdue_tasks + row.overdue_tasks
        team.overdue_first_contacts = team.overdue_first_contacts + row.overdue_first_contacts
        team.upcoming_tasks = team.upcoming_tasks + row.upcoming_tasks
    team.overdue_referrals = Count(sum(referrals.values()), referrals_capped)
    shown = [rows[w.id] for w in workers
             if (not role or str(w.role) == role) and (not attention or rows[w.id].needs_attention)]
    shown.sort(key=lambda r: (r.person.name.casefold(), r.person.username))
    shown.sort(key=SORTS[sort], reverse=direction == "desc")
    if audit:
        record_event("view", "team_caseload", team_id, reason=f"workers:{len(shown)}")
    return Dashboard(team_id, shown, team, unassigned, now, sort, direction, role, attention)


# ------------------------------------------------------------------ export
def dashboard_csv(supervisor, dashboard: Dashboard) -> str:
    """The dashboard as CSV (cells neutralised against formulas); the export is audited."""
    header = [_("Worker"), _("Username"), _("Role"), _("Active"), _("Open cases")]
    header += [str(RiskLevel(r).label) for r in RISKS] + [str(Phase(p).label) for p in OPEN_PHASES]
    header += [_("Overdue first contacts"), _("Overdue tasks"), _("Overdue referrals"), _("Due in the next 7 days")]
    lines = [header]

    def figures(row: Row) -> list[str]:
        return ([str(row.open)] + [str(row.by_risk[r]) for r in RISKS] + [str(row.by_phase[p]) for p in OPEN_PHASES]
                + [str(row.overdue_first_contacts), str(row.overdue_tasks), str(row.overdue_referrals),
                   str(row.upcoming_tasks)])

    for row in dashboard.rows:
        worker = row.person
        lines.append([worker.name, worker.username, str(Role(worker.role).label),
                      _("yes") if worker.active else _("no")] + figures(row))
    lines.append([_("Team total"), "", "", ""] + figures(dashboard.team))
    lines.append([_("Not assigned to anyone"), "", "", "", str(dashboard.unassigned)])
    record_event("export", "team_caseload", dashboard.team_id, reason=f"csv rows:{len(dashboard.rows)}")
    return csv_text(lines)


# ------------------------------------------------------------------ drill-down


@dataclass
class CaseLine:
    case: Case
    last_contact: datetime | None
    next_due: datetime | None
    overdue_tasks: int
    now: datetime

    @property
    def days_since_contact(self) -> int | None:
        if self.last_contact is None:
            return None
        return max(0, (self.now - self.last_contact).days)

    @property
    def days_open(self) -> int:
        return max(0, (self.now - self.case.opened_at).days)


RISK_RANK = sql_case({r.value: -r.rank for r in RiskLevel}, value=Case.risk_level, else_=0)


def _worker_page(supervisor, worker: User, page: int, per_page: int, phase, risk) -> CappedPage:
    """Per risk level, the first entries of the worker's caseload index (highest risk first, then the
    longest open), merged and paged; the page's cases come with their clients. Two statements."""
    where = [slot_of(worker) == worker.id, Case.team_id == supervisor.team_id, Case.phase != Phase.CLOSED.value]
    if phase in OPEN_PHASES:
        where.append(Case.phase == phase)
    risks = [risk] if risk in RISKS else RISKS
    page = max(1, page)
    offset = (page - 1) * per_page
    parts = [select(Case.id.label("id"), literal(-RiskLevel(r).rank).label("rank"), Case.opened_at.label("opened_at"))
             .where(*where, Case.risk_level == r).order_by(Case.opened_at, Case.id).limit(offset + per_page + 1)
             .subquery() for r in risks]
    merged = union_all(*[select(p.c.id, p.c.rank, p.c.opened_at) for p in parts]).subquery()
    wanted = (select(merged.c.id).order_by(merged.c.rank, merged.c.opened_at, merged.c.id)
              .offset(offset).limit(per_page + 1))
    rows = db.session.scalars(select(Case).options(joinedload(Case.client)).where(Case.id.in_(wanted))
                              .order_by(RISK_RANK, Case.opened_at, Case.id)).unique().all()
    counted = select(literal(1).label("one")).where(*where, Case.risk_level.in_(risks)).limit(TEAM_CAP).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    return CappedPage.from_rows(rows, page, per_page, total, TEAM_CAP)


def worker_cases(supervisor, worker: User, *, page: int = 1, per_page: int = 50, phase=None, risk=None,
                 now: datetime | None = None):
    """A page of the worker's open cases (highest risk first) with the last contact, the next due task
    and the number of overdue tasks of each: a fixed number of statements for any caseload size."""
    now = now or utcnow()
    pagination = _worker_page(supervisor, worker, page, per_page, phase, risk)
    ids = [c.id for c in pagination.items]
    last_note = dict(db.session.execute(
        select(ContactNote.case_id, func.max(ContactNote.at))
        .where(ContactNote.case_id.in_(ids), ContactNote.addendum_to_id.is_(None), ContactNote.at <= now)
        .group_by(ContactNote.case_id)).all()) if ids else {}
    task_rows = db.session.execute(
        select(Task.case_id,
               func.max(sql_case((and_(Task.done_at.is_not(None),
                                       Task.kind.in_((FIRST_CONTACT, "next_contact"))), Task.done_at))),
               func.min(sql_case((Task.done_at.is_(None), Task.due_at))),
               func.sum(sql_case((and_(Task.done_at.is_(None), Task.due_at < now), 1), else_=0)))
        .where(Task.case_id.in_(ids)).group_by(Task.case_id)).all() if ids else []
    tasks = {case_id: (done, due, int(overdue or 0)) for case_id, done, due, overdue in task_rows}
    lines = []
    for case in pagination.items:
        done, due, overdue = tasks.get(case.id, (None, None, 0))
        contacts = [t for t in (last_note.get(case.id), done) if t is not None]
        lines.append(CaseLine(case, max(contacts) if contacts else None, due, overdue, now))
    record_event("view", "worker_caseload", worker.id, reason=f"cases:{len(lines)}")
    return pagination, lines


def worker_row(supervisor, worker: User, now: datetime | None = None) -> Row:
    """The dashboard line of one worker."""
    now = now or utcnow()
    row = _case_cells(supervisor.team_id, [worker])[worker.id]
    _add_work(row, _task_counts(supervisor.team_id, [worker], now), *_overdue_referrals(supervisor.team_id, now))
    return row


def open_case_ids(supervisor, worker: User, limit: int) -> list[uuid.UUID]:
    """Up to `limit` of the worker's open cases in the supervisor's team (for "reassign all")."""
    return list(db.session.scalars(select(Case.id).where(
        slot_of(worker) == worker.id, Case.team_id == supervisor.team_id, Case.phase != Phase.CLOSED.value)
        .order_by(Case.opened_at, Case.id).limit(limit)))


__all__ = ["team_dashboard", "dashboard_csv", "worker_cases", "worker_row", "open_case_ids",
           "Row", "Dashboard", "CaseLine", "CELL_CAP", "TEAM_CAP", "TASK_CAP"]
