"""Caseload lists: a worker's cases (a supervisor's: the team's) by risk, and a worker's "My day".

Bounded work at any size. A page is one statement that reads, for each way the user sees cases
(assigned counsellor, assigned social worker, break-glass grant; a supervisor's team) and each
risk level, at most a page of index entries in order (the caseload indexes in
casework.models.cases), merges them and loads the page's cases with their clients; totals are
counted up to a cap ("1,000 or more"). The statements are built once per shape with bound
parameters and reused. The pages therefore cost the same number of SQL statements, and about the
same time, at 250 cases or 25,000."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, false, func, literal, or_, select, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.orm import contains_eager

from carecycle.alerts import Alert, AlertState
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.pagination import CappedPage
from carecycle.permissions import Permission, access_held, role_has
from carecycle.roles import Role
from casework.enums import Phase, RiskLevel
from casework.models import Case, Client, Task
from casework.service.access import _grant_case_ids
from casework.service.tasks import today_bounds

CASE_COUNT_CAP = 1000  # "1,000 or more cases"
TASK_COUNT_CAP = 100   # "100+ overdue"
HIGHEST_RISK_FIRST = sorted(RiskLevel, key=lambda r: -r.rank)
RISK_RANK = sql_case({r.value: -r.rank for r in RiskLevel}, value=Case.risk_level, else_=0)
ORDER = (RISK_RANK, Case.opened_at, Case.id)
# What the lists show, loaded in the same statement: a case's list columns and its client's names.
CASE_COLUMNS = (Case.client_id, Case.phase, Case.risk_level, Case.priority, Case.opened_at, Case.closed_at,
                Case.version)
CLIENT_NAMES = (Client._full_name, Client._preferred_name)


# ------------------------------------------------------------------ whose cases
@dataclass(frozen=True)
class Scope:
    """How a user sees cases: `kind` picks the statement shape, `params` fill it."""

    kind: str  # "none", "team" (a supervisor), "staff", "staff_granted" (with break-glass grants)
    params: dict

    @property
    def branches(self) -> tuple:
        return scope_branches(self.kind)

    def clause(self):
        """All visible cases, as one WHERE clause (bound with `params`)."""
        branches = self.branches
        return or_(*branches) if branches else false()


def caseload_scope(user) -> Scope:
    """The same cases as access.visible_cases(user), split by how they are seen (one grant lookup)."""
    role = Role(user.role)
    params = {"cl_user": user.id, "cl_team": user.team_id}
    if not role_has(role, Permission.CASES_VIEW) or access_held(user):
        return Scope("none", params)
    if role is Role.SUPERVISOR:
        return Scope("team", params)
    granted = _grant_case_ids(user)
    if granted:
        return Scope("staff_granted", {**params, "cl_granted": granted})
    return Scope("staff", params)


def _uid():
    return bindparam("cl_user", type_=Case.assigned_counsellor_id.type)


@cache
def scope_branches(kind: str) -> tuple:
    """Disjoint WHERE clauses whose union is the scope's visible cases, each served by one index
    (an OR of them would make the database collect and sort every match)."""
    if kind == "none":
        return ()
    if kind == "team":
        return (Case.team_id == bindparam("cl_team", type_=Case.team_id.type),)
    not_counsellor = or_(Case.assigned_counsellor_id.is_(None), Case.assigned_counsellor_id != _uid())
    not_social_worker = or_(Case.assigned_social_worker_id.is_(None), Case.assigned_social_worker_id != _uid())
    branches: tuple = (Case.assigned_counsellor_id == _uid(),
                       and_(Case.assigned_social_worker_id == _uid(), not_counsellor))
    if kind == "staff_granted":
        granted = bindparam("cl_granted", expanding=True, type_=Case.id.type)
        branches += (and_(Case.id.in_(granted), not_counsellor, not_social_worker),)
    return branches


def _phase(closed: bool):
    return Case.phase == Phase.CLOSED.value if closed else Case.phase != Phase.CLOSED.value


# ------------------------------------------------------------------ a page of cases
class ClientNames:
    """A client's names for a list row, decrypted on first read like on the model (same
    descriptors, same key binding); read with the case in one statement, without the ORM's
    identity map, which costs more than the query on a page of fifty."""

    # Client's own descriptors and helpers, set on the class below
    full_name: Any
    preferred_name: Any
    reference: Any
    list_label: Any

    def __init__(self, client_id, full_name, preferred_name):
        self.id, self._full_name, self._preferred_name = client_id, full_name, preferred_name

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name


# Assigned after the class is made, so that the descriptors keep Client as their owner (the table
# and column the ciphertext is bound to).
for _name in ("full_name", "preferred_name", "reference", "list_label"):  # reference, list_label: "Mei C. · C-7F3A"
    setattr(ClientNames, _name, Client.__dict__[_name])


@dataclass(slots=True)
class CaseRow:
    """What the caseload lists show of a case (read-only)."""

    id: object
    client_id: object
    phase: str
    risk_level: str
    priority: str
    opened_at: datetime
    closed_at: datetime | None
    version: int
    client: ClientNames

    @classmethod
    def from_row(cls, row) -> CaseRow:
        (case_id, client_id, phase, risk, priority, opened, closed, version, full_name, preferred) = row
        return cls(case_id, client_id, phase, risk, priority, opened, closed, version,
                   ClientNames(client_id, full_name, preferred))


@cache
def _page_statement(kind: str, closed: bool):
    """Per branch and risk level the first `cl_want` index entries, merged; then the page's cases."""
    parts = [select(Case.id.label("id"), literal(-risk.rank).label("rank"), Case.opened_at.label("opened_at"))
             .where(branch, Case.risk_level == risk.value, _phase(closed)).order_by(Case.opened_at, Case.id)
             .limit(bindparam("cl_want")).subquery()
             for branch in scope_branches(kind) for risk in HIGHEST_RISK_FIRST]
    merged = union_all(*[select(p.c.id, p.c.rank, p.c.opened_at) for p in parts]).subquery()
    wanted = (select(merged.c.id).order_by(merged.c.rank, merged.c.opened_at, merged.c.id)
              .offset(bindparam("cl_offset")).limit(bindparam("cl_limit")))
    return (select(Case.id, *CASE_COLUMNS, *CLIENT_NAMES).join(Client, Client.id == Case.client_id)
            .where(Case.id.in_(wanted)).order_by(*ORDER))


@cache
def _count_statement(kind: str, closed: bool):
    """How many cases, counted up to `cl_cap` per branch."""
    parts = [select(literal(1).label("one")).select_from(Case).where(branch, _phase(closed))
             .limit(bindparam("cl_cap")).subquery() for branch in scope_branches(kind)]
    counted = union_all(*[select(p.c.one) for p in parts]).subquery()
    return select(func.count()).select_from(counted)


def caseload_page(user, page: int = 1, per_page: int = 50, *, closed: bool = False,
                  scope: Scope | None = None) -> CappedPage:
    """Visible cases by risk (highest first, then the longest open), the client loaded with them."""
    scope = scope or caseload_scope(user)
    page = max(1, page)
    if not scope.branches:
        return CappedPage([], page, per_page, False, 0)
    offset = (page - 1) * per_page
    rows = [CaseRow.from_row(row) for row in db.session.execute(_page_statement(scope.kind, closed), {
        **scope.params, "cl_want": offset + per_page + 1, "cl_offset": offset, "cl_limit": per_page + 1,
    })]
    total = db.session.scalar(_count_statement(scope.kind, closed), {**scope.params, "cl_cap": CASE_COUNT_CAP}) or 0
    return CappedPage.from_rows(rows, page, per_page, total, CASE_COUNT_CAP)


# ------------------------------------------------------------------ My day
@dataclass
class MyDay:
    claimed_alerts: list = field(default_factory=list)
    overdue: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    overdue_total: int = 0
    due_today_total: int = 0
    totals_capped: tuple[bool, bool] = (False, False)
    cases: CappedPage | None = None
    next_due: dict = field(default_factory=dict)
    day_end: datetime | None = None


def _my_open_tasks(kind: str):
    """Open tasks assigned to `cl_user` on visible cases that are not closed, and the follow-ups that
    fall due after a case has closed."""
    scope = Scope(kind, {})
    return (Task.assigned_to_id == _uid(), Task.done_at.is_(None),
            or_(Case.phase != Phase.CLOSED.value, Task.kind == "follow_up"), scope.clause())


@cache
def _task_statement(kind: str, today: bool):
    """Overdue (or due later today) tasks by due time, with their case and client."""
    when = ((Task.due_at >= bindparam("day_now"), Task.due_at < bindparam("day_end")) if today
            else (Task.due_at < bindparam("day_now"),))
    return (select(Task).join(Task.case).where(*_my_open_tasks(kind), *when)
            .options(contains_eager(Task.case).load_only(*CASE_COLUMNS),
                     contains_eager(Task.case).joinedload(Case.client).load_only(*CLIENT_NAMES))
            .order_by(Task.due_at, Task.id)
            .offset(bindparam("day_offset")).limit(bindparam("day_limit")))


@cache
def _task_count_statement(kind: str):
    """Overdue and due-later-today task counts, each up to `day_cap`."""
    def capped(*when):
        ids = select(Task.id).join(Task.case).where(*_my_open_tasks(kind), *when).limit(bindparam("day_cap"))
        return select(func.count()).select_from(ids.subquery()).scalar_subquery()
    return select(capped(Task.due_at < bindparam("day_now")),
                  capped(Task.due_at >= bindparam("day_now"), Task.due_at < bindparam("day_end")))


_NEXT_DUE = (select(Task.case_id, func.min(Task.due_at))
             .where(Task.case_id.in_(bindparam("case_ids", expanding=True)), Task.done_at.is_(None))
             .group_by(Task.case_id))


def my_day(user, *, task_limit: int = 10, case_limit: int = 25, now: datetime | None = None) -> MyDay:
    """Claimed alerts, the most pressing overdue and due-today tasks on visible open cases (the rest
    are a click away, see task_page), and the cases by risk.

    A fixed set of statements whatever the size: the break-glass grant lookup, claimed alerts,
    overdue tasks, today's tasks, both capped task counts at once, the cases, their capped count
    and the next due task of the cases shown."""
    now = now or utcnow()
    _start, end = today_bounds(now)
    scope = caseload_scope(user)
    day = MyDay(day_end=end)
    day.claimed_alerts = list(db.session.scalars(
        select(Alert).where(Alert.state == AlertState.CLAIMED.value, Alert.claimed_by_id == user.id)
        .order_by(Alert.deadline).limit(case_limit)))
    params = {**scope.params, "day_now": now, "day_end": end, "day_offset": 0, "day_limit": task_limit,
              "day_cap": TASK_COUNT_CAP}
    day.overdue = list(db.session.scalars(_task_statement(scope.kind, False), params).unique())
    day.due_today = list(db.session.scalars(_task_statement(scope.kind, True), params).unique())
    overdue, today = db.session.execute(_task_count_statement(scope.kind), params).one()
    day.overdue_total, day.due_today_total = int(overdue), int(today)
    day.totals_capped = (overdue >= TASK_COUNT_CAP, today >= TASK_COUNT_CAP)
    day.cases = caseload_page(user, 1, case_limit, scope=scope)
    day.next_due = dict(db.session.execute(_NEXT_DUE, {"case_ids": [c.id for c in day.cases.items]}).all())
    return day


def task_page(user, when: str, page: int = 1, per_page: int = 25, now: datetime | None = None) -> CappedPage:
    """All of the user's overdue (`when="overdue"`) or due-later-today tasks, a page at a time."""
    now = now or utcnow()
    _start, end = today_bounds(now)
    scope = caseload_scope(user)
    page = max(1, page)
    rows = list(db.session.scalars(_task_statement(scope.kind, when == "today"), {
        **scope.params, "day_now": now, "day_end": end, "day_offset": (page - 1) * per_page,
        "day_limit": per_page + 1}).unique())
    return CappedPage.from_rows(rows, page, per_page)  # not counted: the pager shows "Page n"
