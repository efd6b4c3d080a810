"""Community recovery API: the team's recovery plans, starting one after an incident, a plan with
its needs assessment (counts through the small-count rule), actions, care groups and reviews,
adding an action, marking one done, linking a group, writing a review when it is due, and the
counts-only summary. The same service functions and rules as the pages."""
from __future__ import annotations

from flask_login import current_user
from pydantic import Field

from carecycle.api import json_body
from carecycle.lifecycle import NotFound
from carecycle.openapi import Closed, Empty, Open, described
from carecycle.permissions import Permission, requires
from casework.api.common import iso
from supervision.api import api
from supervision.service import recovery as service

Count = int | str  # a number, or "<5"


class RecoveryNew(Closed):
    title: str
    area: str = Field(description="the community it is for (a place)")
    period_id: str | None = Field(None, description="an emergency period that has ended (GET /api/v1/activations/"
                                                    "periods); else give incident, started_on and ended_on")
    incident: str | None = None
    started_on: str | None = Field(None, description="YYYY-MM-DD")
    ended_on: str | None = Field(None, description="YYYY-MM-DD, not in the future")


class ActionNew(Closed):
    description: str = Field(description="stored encrypted")
    owner_id: str = Field(description="a member of the team's staff")
    due_on: str = Field(description="YYYY-MM-DD")


class GroupLink(Closed):
    group_id: str = Field(description="one of the team's community groups")


class ReviewNew(Closed):
    months: int = Field(description="1, 3 or 6; refused before it is due")
    summary: str = Field(description="how the community is doing, no names (stored encrypted)")


class NeedOut(Open):
    code: str
    label: str
    count: Count


class ActionOut(Open):
    id: str
    description: str
    owner_id: str
    due_on: str
    done_at: str | None


class CareOut(Open):
    group_id: str
    name: str
    sessions: int
    attended: Count


class ReviewOut(Open):
    months: int
    due_on: str
    written_at: str | None
    summary: str | None
    figures: dict | None = Field(description="the counts of the day it was written")


class RecoveryOut(Open):
    id: str
    title: str
    area: str
    period_id: str | None
    incident: str
    started_on: str
    ended_on: str
    needs: list[NeedOut]
    actions: list[ActionOut]
    care: list[CareOut]
    reviews: list[ReviewOut]
    version: int


class RecoveryBrief(Open):
    id: str
    title: str
    area: str
    incident: str
    started_on: str
    ended_on: str
    actions: int
    actions_done: int


class RecoveryList(Open):
    recovery_plans: list[RecoveryBrief]


class SummaryOut(Open):
    title: str
    area: str
    started_on: str
    ended_on: str
    needs: list[NeedOut]
    actions: int
    actions_done: int
    care: list[dict] = Field(description="[{name, sessions, attended}]")
    now: dict = Field(description="the outcome counts today")
    reviews: list[dict] = Field(description="[{months, due_on, figures}] (figures null until written)")


def _load(recovery_id):
    plan = service.load(current_user, recovery_id)
    if plan is None:
        raise NotFound()
    return plan


def _needs(plan) -> list[dict]:
    return [{"code": n.code, "label": n.label, "count": n.count} for n in service.needs(plan)]


def _out(plan) -> dict:
    return {"id": str(plan.id), "title": plan.title, "area": plan.area,
            "period_id": str(plan.period_id) if plan.period_id else None, "incident": plan.incident,
            "started_on": plan.started_on.isoformat(), "ended_on": plan.ended_on.isoformat(), "needs": _needs(plan),
            "actions": [{"id": str(a.id), "description": a.description, "owner_id": str(a.owner_id),
                         "due_on": a.due_on.isoformat(), "done_at": iso(a.done_at)} for a in plan.actions],
            "care": [{"group_id": str(c.group.id), "name": c.group.name, "sessions": c.sessions,
                      "attended": c.attended} for c in service.care(plan)],
            "reviews": [{"months": m, "due_on": day.isoformat(), "written_at": iso(r.written_at) if r else None,
                         "summary": r.summary if r else None, "figures": r.figures if r else None}
                        for m, day, r in service.reviews(plan)],
            "version": plan.version}


@api.route("/recovery-plans", methods=["GET"])
@described(responses={200: RecoveryList})
@requires(Permission.RECOVERY_VIEW)
def api_recovery_plans():
    """The team's community recovery plans, the latest incident first."""
    return {"recovery_plans": [
        {"id": str(p.id), "title": p.title, "area": p.area, "incident": p.incident,
         "started_on": p.started_on.isoformat(), "ended_on": p.ended_on.isoformat(), "actions": len(p.actions),
         "actions_done": sum(1 for a in p.actions if a.done)} for p in service.listing(current_user)]}


@api.route("/recovery-plans", methods=["POST"])
@described(body=RecoveryNew, responses={201: RecoveryOut})
@requires(Permission.RECOVERY_MANAGE)
def api_recovery_create():
    """Start a recovery plan after an emergency period that has ended, or an incident recorded here."""
    return _out(service.create(current_user, json_body())), 201


@api.route("/recovery-plans/<recovery_id>", methods=["GET"])
@described(responses={200: RecoveryOut})
@requires(Permission.RECOVERY_VIEW)
def api_recovery_plan(recovery_id):
    """One plan with its needs assessment, actions, care groups and reviews."""
    return _out(_load(recovery_id))


@api.route("/recovery-plans/<recovery_id>/actions", methods=["POST"])
@described(body=ActionNew, responses={201: RecoveryOut}, errors=(409,))
@requires(Permission.RECOVERY_MANAGE)
def api_recovery_action_add(recovery_id):
    """Add an action with an owner of the team and a due date."""
    plan = _load(recovery_id)
    service.add_action(current_user, plan, json_body())
    return _out(plan), 201


@api.route("/recovery-plans/<recovery_id>/actions/<action_id>/done", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: RecoveryOut})
@requires(Permission.RECOVERY_VIEW)
def api_recovery_action_done(recovery_id, action_id):
    """Mark an action done: its owner, or a supervisor."""
    json_body(optional=True)
    plan = _load(recovery_id)
    service.complete_action(current_user, plan, action_id)
    return _out(plan)


@api.route("/recovery-plans/<recovery_id>/groups", methods=["POST"])
@described(body=GroupLink, responses={200: RecoveryOut}, errors=(409,))
@requires(Permission.RECOVERY_MANAGE)
def api_recovery_group_link(recovery_id):
    """Link a community group whose sessions are the plan's community care."""
    plan = _load(recovery_id)
    service.link_group(current_user, plan, json_body().get("group_id"))
    return _out(plan)


@api.route("/recovery-plans/<recovery_id>/reviews", methods=["POST"])
@described(body=ReviewNew, responses={201: RecoveryOut}, errors=(409,))
@requires(Permission.RECOVERY_MANAGE)
def api_recovery_review(recovery_id):
    """Write the 1-, 3- or 6-month review (when due, once), with the figures of today."""
    plan = _load(recovery_id)
    body = json_body()
    service.write_review(current_user, plan, body.get("months"), body.get("summary"))
    return _out(plan), 201


@api.route("/recovery-plans/<recovery_id>/summary", methods=["GET"])
@described(responses={200: SummaryOut})
@requires(Permission.RECOVERY_VIEW)
def api_recovery_summary(recovery_id):
    """What the residents' committee may read: counts only."""
    plan = _load(recovery_id)
    summary = service.summary(plan)
    return {"title": plan.title, "area": plan.area, "started_on": plan.started_on.isoformat(),
            "ended_on": plan.ended_on.isoformat(),
            "needs": _needs(plan), "actions": summary["actions"], "actions_done": summary["actions_done"],
            "care": [{"name": name, "sessions": sessions, "attended": attended}
                     for name, sessions, attended in summary["care"]],
            "now": summary["now"],
            "reviews": [{"months": m, "due_on": day.isoformat(), "figures": figures}
                        for m, day, figures in summary["reviews"]]}
