"""Group emergency plans: a team's plan for a place or a group (a building, a care home, a school
class, a volunteer team): the people it covers, where they meet, who leads and who checks whom, and
the drill it was last practised in. Whoever may see clients reads the team's plans; whoever may edit
clients writes them and links clients (the routes check the permissions; a client is linked only by
someone who may see them). A reader sees by name only the covered clients they may see: the others,
and the people who are not clients, are counted.

The drills are supervision's: that area offers the team's drills through the hook
`group_plan_drills(user) -> [(id, held_on, scenario, url)]`, so casework imports nothing of it."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from carecycle.areas import hooks
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.fields import Errors, check_version, number_field, text
from carecycle.permissions import Permission, access_held, user_has
from carecycle.validation import Conflict, Invalid
from casework.enums import GroupPlanKind
from casework.models import Client, GroupPlan, GroupPlanMember
from casework.service.access import visible_clients

LIMITS = {"name": 200, "meeting_point": 300, "leader": 300, "checks": 2000}
MAX_OTHERS = 100_000


@dataclass(frozen=True)
class Drill:
    id: uuid.UUID
    held_on: date
    scenario: str
    url: str


def drills(user) -> list[Drill]:
    """The drills of the user's team a plan may name (the latest first), from supervision's hook."""
    found = [Drill(*row) for hook in hooks("group_plan_drills") for row in hook(user)]
    return sorted(found, key=lambda d: d.held_on, reverse=True)


def drill_of(user, plan: GroupPlan) -> Drill | None:
    return next((d for d in drills(user) if d.id == plan.last_drill_id), None) if plan.last_drill_id else None


def visible_plans(user):
    if user.team_id is None or not user_has(user, Permission.CLIENTS_VIEW) or access_held(user):
        return false()
    return GroupPlan.team_id == user.team_id


def load(user, plan_id) -> GroupPlan | None:
    try:
        pid = uuid.UUID(str(plan_id))
    except ValueError:
        return None
    return db.session.scalar(select(GroupPlan).where(GroupPlan.id == pid, visible_plans(user)))


def listing(user, archived: bool = False) -> list[tuple[GroupPlan, int]]:
    """The team's plans (in use, or archived) by name, each with how many people it covers."""
    members = (select(GroupPlanMember.plan_id, func.count().label("n")).group_by(GroupPlanMember.plan_id)
               .subquery())
    rows = db.session.execute(
        select(GroupPlan, members.c.n).outerjoin(members, members.c.plan_id == GroupPlan.id)
        .where(visible_plans(user), GroupPlan.archived_at.is_not(None) if archived else GroupPlan.archived_at.is_(None))
        .order_by(func.lower(GroupPlan.name), GroupPlan.id)).all()
    return [(plan, (n or 0) + plan.others) for plan, n in rows]


def _clean(user, data: dict, kept_drill: uuid.UUID | None = None) -> dict:
    errors = Errors()
    required = {"name": _("Name the place or group, for example \"Block 4, Lok Wah Estate\"."),
                "meeting_point": _("Say where everyone meets in an emergency.")}
    clean: dict = {name: text(data, name, errors, limit=limit, required=name in required,
                              message=required.get(name)) or "" for name, limit in LIMITS.items()}
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in GroupPlanKind}:
        errors["kind"] = _("Choose what kind of place or group it is.")
    clean["kind"] = kind
    clean["others"] = number_field(data, "others", errors, low=0, high=MAX_OTHERS) or 0
    if "others" in errors:
        errors["others"] = _("Enter how many other people it covers, a whole number from 0.")
    drill = data.get("last_drill_id") or None
    clean["last_drill_id"] = None
    if drill is not None and kept_drill is not None and str(drill) == str(kept_drill):
        clean["last_drill_id"] = kept_drill  # unchanged: no need to find it among the latest drills again
    elif drill is not None:
        chosen = next((d for d in drills(user) if str(d.id) == str(drill)), None)
        if chosen is None:
            errors["last_drill_id"] = _("Choose one of your team's drills, or none.")
        else:
            clean["last_drill_id"] = chosen.id
    errors.check()
    return clean


def _apply(plan: GroupPlan, clean: dict) -> None:
    plan.name, plan.kind, plan.meeting_point = clean["name"], clean["kind"], clean["meeting_point"]
    plan.others, plan.last_drill_id = clean["others"], clean["last_drill_id"]
    plan.roles = {"leader": clean["leader"], "checks": clean["checks"]}
    plan.updated_at = utcnow()


def create(user, data: dict) -> GroupPlan:
    if user.team_id is None:
        raise Invalid({"name": _("A group plan is the record of a team, and your account is on none.")})
    clean = _clean(user, data)
    plan = GroupPlan(team_id=user.team_id, created_by_id=user.id)
    _apply(plan, clean)
    db.session.add(plan)
    db.session.flush()
    record_event("create", "group_plan", plan.id, actor=user)
    return plan


def _check(plan: GroupPlan, version) -> None:
    if plan.archived:
        raise Conflict(_("This group plan is archived."), current_version=plan.version)
    check_version(plan, version, _("Someone changed this group plan since you opened it: check it again."))


def update(user, plan: GroupPlan, data: dict, version=None) -> GroupPlan:
    _check(plan, version)
    _apply(plan, _clean(user, data, kept_drill=plan.last_drill_id))
    db.session.flush()
    record_event("update", "group_plan", plan.id, actor=user)
    return plan


def archive(user, plan: GroupPlan, version=None) -> GroupPlan:
    _check(plan, version)
    plan.archived_at = utcnow()
    db.session.flush()
    record_event("archive", "group_plan", plan.id, actor=user)
    return plan


def add_member(user, plan: GroupPlan, client: Client) -> bool:
    """Link a client (loaded by the caller with `load_visible`); False when already linked."""
    if plan.archived:
        raise Conflict(_("This group plan is archived."), current_version=plan.version)
    if any(m.client_id == client.id for m in plan.members):
        return False
    try:
        with db.session.begin_nested():  # two people linking the same client at once: one link
            plan.members.append(GroupPlanMember(client_id=client.id, added_by_id=user.id))
            db.session.flush()
    except IntegrityError:
        db.session.expire(plan, ["members"])
        return False
    record_event("update", "group_plan", plan.id, reason="client added", actor=user)
    return True


def remove_member(user, plan: GroupPlan, client: Client) -> bool:
    if plan.archived:
        raise Conflict(_("This group plan is archived."), current_version=plan.version)
    member = next((m for m in plan.members if m.client_id == client.id), None)
    if member is None:
        return False
    plan.members.remove(member)
    db.session.flush()
    record_event("update", "group_plan", plan.id, reason="client removed", actor=user)
    return True


def coverage(user, plan: GroupPlan) -> tuple[list[Client], int]:
    """(the covered clients `user` may see, by name; how many others it covers, counted not named)."""
    ids = [m.client_id for m in plan.members]
    named = list(db.session.scalars(select(Client).where(Client.id.in_(ids), visible_clients(user)))) if ids else []
    named.sort(key=lambda c: (c.display_name or "").lower())
    return named, len(ids) - len(named) + plan.others


def plans_of(user, client: Client) -> Sequence[GroupPlan]:
    """The team's plans in use that cover the client."""
    return db.session.scalars(
        select(GroupPlan).join(GroupPlanMember, GroupPlanMember.plan_id == GroupPlan.id)
        .where(GroupPlanMember.client_id == client.id, visible_plans(user), GroupPlan.archived_at.is_(None))
        .order_by(GroupPlan.name)).all()


def open_plans(user) -> Sequence[GroupPlan]:
    return db.session.scalars(select(GroupPlan).where(visible_plans(user), GroupPlan.archived_at.is_(None))
                              .options(selectinload(GroupPlan.members)).order_by(GroupPlan.name)).all()
