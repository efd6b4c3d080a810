"""Group emergency plans API: the team's plans for a place or group, writing and changing one
(`version`: 409 when someone changed it since), linking and unlinking a client, archiving. The
same service functions and rules as the pages: covered clients the caller may not see are counted,
not listed."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import Field

from carecycle.api import json_body
from carecycle.lifecycle import NotFound, load_visible
from carecycle.openapi import Closed, Empty, Open, described
from carecycle.permissions import Permission, requires
from casework.api import api
from casework.api.common import iso
from casework.service import groupplans as service


class GroupPlanFilter(Closed):
    archived: bool = Field(False, description="true: the archived plans instead of those in use")


class GroupPlanNew(Closed):
    name: str = Field(description="the place or group (up to 200 characters)")
    kind: str = Field(description="building, care_home, school_class, volunteer_team or other")
    meeting_point: str = Field(description="where everyone meets (up to 300 characters)")
    leader: str | None = Field(None, description="who leads (stored encrypted)")
    checks: str | None = Field(None, description="who checks on whom, one per line (stored encrypted)")
    others: int | None = Field(None, ge=0, description="people it covers who are not clients: counted, never named")
    last_drill_id: str | None = Field(None, description="the id of one of the team's drills (as listed at "
                                                        "/supervision/drills), or null")


class GroupPlanChange(GroupPlanNew):
    version: int | None = Field(None, description="the plan's version read; a stale one is refused with 409")


class GroupPlanArchive(Closed):
    version: int | None = Field(None, description="the plan's version read; a stale one is refused with 409")


class GroupPlanClient(Closed):
    client_id: str = Field(description="a client you may see")


class GroupPlanOut(Open):
    id: str
    name: str
    kind: str
    meeting_point: str
    leader: str
    checks: str
    others: int
    last_drill_id: str | None
    clients: list[str] = Field(description="ids of the covered clients the caller may see")
    counted: int = Field(description="everyone else it covers: clients the caller may not see and non-clients")
    archived_at: str | None
    updated_at: str
    version: int


class GroupPlanList(Open):
    group_plans: list[GroupPlanOut]


def _out(plan) -> dict:
    named, counted = service.coverage(current_user, plan)
    roles = plan.roles or {}
    return {"id": str(plan.id), "name": plan.name, "kind": plan.kind, "meeting_point": plan.meeting_point,
            "leader": roles.get("leader", ""), "checks": roles.get("checks", ""), "others": plan.others,
            "last_drill_id": str(plan.last_drill_id) if plan.last_drill_id else None,
            "clients": [str(c.id) for c in named], "counted": counted, "archived_at": iso(plan.archived_at),
            "updated_at": iso(plan.updated_at), "version": plan.version}


def _load(plan_id):
    plan = service.load(current_user, plan_id)
    if plan is None:
        raise NotFound()
    return plan


@api.route("/group-plans", methods=["GET"])
@described(query=GroupPlanFilter, responses={200: GroupPlanList})
@requires(Permission.CLIENTS_VIEW)
def api_group_plans():
    """The team's group plans in use (or the archived ones), by name."""
    archived = request.args.get("archived", "false").lower() in ("1", "true")
    return {"group_plans": [_out(plan) for plan, _n in service.listing(current_user, archived)]}


@api.route("/group-plans", methods=["POST"])
@described(body=GroupPlanNew, responses={201: GroupPlanOut})
@requires(Permission.CLIENTS_EDIT)
def api_group_plan_create():
    """Write a group plan for a place or group of the caller's team."""
    return _out(service.create(current_user, json_body())), 201


@api.route("/group-plans/<plan_id>", methods=["GET"])
@described(responses={200: GroupPlanOut})
@requires(Permission.CLIENTS_VIEW)
def api_group_plan(plan_id):
    """One group plan of the team."""
    return _out(_load(plan_id))


@api.route("/group-plans/<plan_id>", methods=["PATCH"])
@described(body=GroupPlanChange, responses={200: GroupPlanOut}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_group_plan_change(plan_id):
    """Change the plan: the fields sent replace those kept; the others stay."""
    plan = _load(plan_id)
    body = json_body()
    roles = plan.roles or {}
    kept = {"name": plan.name, "kind": plan.kind, "meeting_point": plan.meeting_point,
            "leader": roles.get("leader", ""), "checks": roles.get("checks", ""), "others": plan.others,
            "last_drill_id": str(plan.last_drill_id) if plan.last_drill_id else None}
    service.update(current_user, plan, {**kept, **{k: v for k, v in body.items() if k != "version"}},
                   body.get("version"))
    return _out(plan)


@api.route("/group-plans/<plan_id>/archive", methods=["POST"])
@described(body=GroupPlanArchive, body_optional=True, responses={200: GroupPlanOut}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_group_plan_archive(plan_id):
    """Archive the plan (kept, no longer listed or changed)."""
    plan = _load(plan_id)
    service.archive(current_user, plan, json_body(optional=True).get("version"))
    return _out(plan)


@api.route("/group-plans/<plan_id>/clients", methods=["POST"])
@described(body=GroupPlanClient, responses={200: GroupPlanOut}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_group_plan_add_client(plan_id):
    """Link a client the caller may see (a second call changes nothing)."""
    plan = _load(plan_id)
    client = load_visible("client", json_body().get("client_id"), current_user, audit=False)
    service.add_member(current_user, plan, client)
    return _out(plan)


@api.route("/group-plans/<plan_id>/clients/<client_id>", methods=["DELETE"])
@described(body=Empty, body_optional=True, responses={200: GroupPlanOut}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_group_plan_remove_client(plan_id, client_id):
    """Unlink a client (one the caller may see); an archived plan keeps its clients (409)."""
    json_body(optional=True)
    plan = _load(plan_id)
    client = load_visible("client", client_id, current_user, audit=False)
    service.remove_member(current_user, plan, client)
    return _out(plan)
