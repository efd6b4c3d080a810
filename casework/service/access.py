"""Who sees which client and case.

A case is visible to its assigned counsellor and social worker, to the supervisor of its team,
and to a counsellor or social worker holding a current break-glass grant for it. A client is
visible to staff of the team that registered them, to staff assigned to one of their cases,
and to the supervisors of those cases' teams. An account whose access waits for a supervisor to
confirm an administrator's change (`access_pending`, carecycle.accounts.separation) sees none. To
anyone else the record does not exist: the
loaders answer 404, exactly as for a missing record, and searches never return it."""
from __future__ import annotations

import uuid

from sqlalchemy import false, or_, select

from carecycle import breakglass
from carecycle.extensions import db
from carecycle.permissions import Permission, access_held, role_has
from carecycle.roles import Role
from carecycle.urls import as_uuid
from casework.models import Case, Client


def _grant_case_ids(user) -> list[uuid.UUID]:
    return [cid for cid in map(as_uuid, breakglass.granted_ids(user, "case")) if cid]


def visible_cases(user):
    """A WHERE clause selecting the cases `user` may see."""
    role = Role(user.role)
    if not role_has(role, Permission.CASES_VIEW) or access_held(user):
        return false()
    if role is Role.SUPERVISOR:
        return Case.team_id == user.team_id
    clauses = [Case.assigned_counsellor_id == user.id, Case.assigned_social_worker_id == user.id]
    granted = _grant_case_ids(user)
    if granted:
        clauses.append(Case.id.in_(granted))
    return or_(*clauses)


def visible_clients(user):
    """A WHERE clause selecting the clients `user` may see."""
    role = Role(user.role)
    if not role_has(role, Permission.CLIENTS_VIEW) or access_held(user):
        return false()
    via_cases = select(Case.client_id).where(visible_cases(user))
    return or_(Client.team_id == user.team_id, Client.id.in_(via_cases))


def note_grant_in_use(case: Case, user) -> None:
    """A case open to `user` only through break-glass: what the user does now is under the grant."""
    if not _own_case(user, case):
        breakglass.use_grant(user, "case", case.id)


def _own_case(user, case: Case) -> bool:
    """Visible without a grant: assigned to the user, or on the team the user supervises."""
    if Role(user.role) is Role.SUPERVISOR:
        return case.team_id == user.team_id
    return user.id in (case.assigned_counsellor_id, case.assigned_social_worker_id)


def may_see_case(user, case: Case) -> bool:
    return db.session.scalar(select(Case.id).where(Case.id == case.id, visible_cases(user))) is not None


def cases_of_client(user, client: Client) -> tuple[list[Case], set[uuid.UUID]]:
    """All of a client's cases, newest first, and the ids of those `user` may open (two queries)."""
    cases = list(db.session.scalars(select(Case).where(Case.client_id == client.id).order_by(Case.opened_at.desc())))
    visible = set(db.session.scalars(select(Case.id).where(Case.client_id == client.id, visible_cases(user))))
    return cases, visible


def case_team_of(case_id: str):
    """Break-glass target resolver for cases: (team id, URL) or None."""
    from flask import url_for

    from carecycle.breakglass import Target
    cid = as_uuid(case_id)
    case = db.session.get(Case, cid) if cid else None
    return Target(case.team_id, url_for("casework.case_detail", case_id=case.id)) if case else None
