"""The supervision records `carecycle.lifecycle.load_visible` loads for a user, and who sees each:
drills and workers of the user's own team, and the service's after-action reviews."""
from __future__ import annotations

from sqlalchemy import false, true

from carecycle.accounts.models import User
from carecycle.lifecycle import register_kind
from supervision.models import AfterActionReview, Drill
from supervision.service.common import WORKER_ROLES


def _own_team(column):
    return lambda user: false() if user.team_id is None else column == user.team_id


def register_kinds(app) -> None:
    register_kind(app, "drill", Drill, _own_team(Drill.team_id))
    register_kind(app, "after_action_review", AfterActionReview, lambda _user: true())
    # A counsellor or social worker of the supervisor's own team; a drill-down is not a read of a record.
    register_kind(app, "worker", User,
                  lambda user: _own_team(User.team_id)(user) & User.role.in_(WORKER_ROLES),
                  audited=False)
