"""Preparedness drills run in normal times with schools, businesses, partner organisations and
volunteer teams: scenario, date, who took part, what went well and what must change. Each "must
change" becomes an action with an owner (a staff member of the team) and a due date; the owner is
notified and marks it done. The readiness view shows the last drill of each volunteer team."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from carecycle.accounts.models import User
from carecycle.audit import record_event
from carecycle.database import rows_changed, utcnow
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.localtime import date_message
from carecycle.localtime import today as local_today
from carecycle.notifications import notify
from carecycle.permissions import Permission, user_has
from carecycle.roles import Role
from carecycle.validation import Conflict, Invalid, iso_date
from referrals.models import Organisation, VolunteerTeam
from supervision.models import PARTICIPANT_KINDS, Drill, DrillAction, DrillParticipant
from supervision.service.common import WORKER_ROLES, as_uuid
from supervision.service.links import path_for

SCENARIO_MAX, TEXT_MAX, NAME_MAX, ACTION_MAX = 300, 8000, 200, 1000
MAX_ACTIONS = 20
MAX_NAMES = 50
STALE_AFTER = timedelta(days=365)  # a volunteer team not drilled for a year is flagged


def _names(raw, field: str, errors: dict) -> list[str]:
    """One name per line (schools, businesses, others)."""
    if raw is None:
        return []
    lines = raw if isinstance(raw, list) else str(raw).splitlines()
    names = [" ".join(str(line).split()) for line in lines]
    names = [n for n in names if n]
    if len(names) > MAX_NAMES:
        errors[field] = _("At most %(n)d names.", n=MAX_NAMES)
    elif any(len(n) > NAME_MAX for n in names):
        errors[field] = _("Keep each name under %(n)d characters.", n=NAME_MAX)
    return list(dict.fromkeys(names))


def _day(value, field: str, errors: dict) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return iso_date(str(value or "").strip())
    except ValueError:
        errors[field] = date_message()
        return None


def team_staff(team_id) -> list[User]:
    """Who can own a drill action: the active staff of the team."""
    return list(db.session.scalars(select(User).where(
        User.team_id == team_id, User.active.is_(True),
        User.role.in_((*WORKER_ROLES, Role.SUPERVISOR.value)))
        .order_by(User.username)))


def record_drill(supervisor, data: dict) -> Drill:
    """Record a drill and turn each "must change" into an action with an owner (the caller commits).

    `data`: scenario, held_on (YYYY-MM-DD), volunteer_team_ids, organisation_ids, schools, businesses,
    others (lists or one name per line), went_well, notes, actions: [{description, owner_id, due_on}]."""
    errors: dict[str, str] = {}
    scenario = " ".join(str(data.get("scenario") or "").split())
    if not scenario:
        errors["scenario"] = _("Describe the scenario that was drilled.")
    elif len(scenario) > SCENARIO_MAX:
        errors["scenario"] = _("Keep the scenario under %(n)d characters.", n=SCENARIO_MAX)
    held_on = _day(data.get("held_on"), "held_on", errors)
    if held_on and held_on > local_today():
        errors["held_on"] = _("Record a drill once it has taken place.")
    went_well = str(data.get("went_well") or "").strip()
    notes = str(data.get("notes") or "").strip()
    for name, value in (("went_well", went_well), ("notes", notes)):
        if len(value) > TEXT_MAX:
            errors[name] = _("Keep this under %(n)d characters.", n=TEXT_MAX)

    team_ids = [as_uuid(v) for v in data.get("volunteer_team_ids") or []]
    volunteer_teams = list(db.session.scalars(select(VolunteerTeam).where(
        VolunteerTeam.id.in_([t for t in team_ids if t]), VolunteerTeam.archived_at.is_(None)))) if team_ids else []
    if len(volunteer_teams) != len(set(team_ids)):
        errors["volunteer_team_ids"] = _("Choose volunteer teams from the list.")
    org_ids = [as_uuid(v) for v in data.get("organisation_ids") or []]
    organisations = list(db.session.scalars(select(Organisation).where(
        Organisation.id.in_([o for o in org_ids if o]), Organisation.archived_at.is_(None)))) if org_ids else []
    if len(organisations) != len(set(org_ids)):
        errors["organisation_ids"] = _("Choose partner organisations from the list.")
    schools = _names(data.get("schools"), "schools", errors)
    businesses = _names(data.get("businesses"), "businesses", errors)
    others = _names(data.get("others"), "others", errors)
    if not errors and not (volunteer_teams or organisations or schools or businesses or others):
        errors["participants"] = _("Say who took part: a volunteer team, a partner, a school, a business or another.")

    owners = {u.id: u for u in team_staff(supervisor.team_id)}
    actions = []
    raw_actions = data.get("actions") or []
    if len(raw_actions) > MAX_ACTIONS:
        errors["actions"] = _("At most %(n)d actions per drill.", n=MAX_ACTIONS)
        raw_actions = []
    for index, raw in enumerate(raw_actions):
        raw = raw if isinstance(raw, dict) else {}
        text = " ".join(str(raw.get("description") or "").split())
        owner, due = raw.get("owner_id"), raw.get("due_on")
        if not text and not owner and not due:
            continue  # an empty row of the form
        prefix = f"actions-{index}-"
        if not text:
            errors[prefix + "description"] = _("Say what must change.")
        elif len(text) > ACTION_MAX:
            errors[prefix + "description"] = _("Keep this under %(n)d characters.", n=ACTION_MAX)
        owner_id = as_uuid(owner)
        owner_user = owners.get(owner_id) if owner_id else None
        if owner_user is None:
            errors[prefix + "owner_id"] = _("Choose who owns this change (a member of your team).")
        due_on = _day(due, prefix + "due_on", errors)
        if due_on and held_on and due_on < held_on:
            errors[prefix + "due_on"] = _("The due date cannot be before the drill.")
        if owner_user is not None:
            actions.append((text, owner_user, due_on))
    if errors:
        raise Invalid(errors)

    drill = Drill(team_id=supervisor.team_id, held_on=held_on, scenario=scenario, created_by_id=supervisor.id,
                  created_at=utcnow())
    drill.went_well = went_well or None
    drill.notes = notes or None
    for team in volunteer_teams:
        drill.participants.append(DrillParticipant(kind="volunteer_team", name=team.name[:NAME_MAX],
                                                   volunteer_team_id=team.id))
    for org in organisations:
        drill.participants.append(DrillParticipant(kind="partner_organisation", name=org.name[:NAME_MAX],
                                                   organisation_id=org.id))
    for kind, names in (("school", schools), ("business", businesses), ("other", others)):
        for name in names:
            drill.participants.append(DrillParticipant(kind=kind, name=name))
    db.session.add(drill)
    db.session.flush()
    record_event("create", "drill", drill.id, reason=f"actions:{len(actions)}")
    for text, owner, due_on in actions:
        action = DrillAction(drill_id=drill.id, owner_id=owner.id, due_on=due_on, created_at=utcnow())
        action.description = text
        db.session.add(action)
        db.session.flush()
        record_event("create", "drill_action", action.id)
        if owner.id != supervisor.id:
            notify(owner, "drill_action", path_for("supervision.my_drill_actions"), object_type="drill_action",
                   object_id=action.id)
    return drill


def drills(team_id, page: int = 1, per_page: int = 20):
    stmt = (select(Drill).where(Drill.team_id == team_id)
            .options(selectinload(Drill.participants), selectinload(Drill.actions))
            .order_by(Drill.held_on.desc(), Drill.created_at.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def my_actions(user, include_done: bool = False) -> list[DrillAction]:
    stmt = (select(DrillAction).where(DrillAction.owner_id == user.id)
            .options(selectinload(DrillAction.drill)).order_by(DrillAction.done_at.is_not(None), DrillAction.due_on))
    if not include_done:
        stmt = stmt.where(DrillAction.done_at.is_(None))
    return list(db.session.scalars(stmt))


def may_complete(user, action: DrillAction) -> bool:
    """The owner of an action, or a supervisor of the drill's team, may mark it done."""
    return action.owner_id == user.id or (Role(user.role) is Role.SUPERVISOR and action.drill.team_id == user.team_id)


def complete_action(user, action_id) -> DrillAction:
    """The owner (or a supervisor of the drill's team) marks an action done, once."""
    aid = as_uuid(action_id)
    action = db.session.get(DrillAction, aid) if aid else None
    if action is None:
        raise NotFound("drill action")
    if not may_complete(user, action):
        raise NotFound("drill action")
    done = db.session.execute(
        update(DrillAction)
        .where(DrillAction.id == action.id, DrillAction.done_at.is_(None))
        .values(done_at=utcnow(), done_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(action)
    if rows_changed(done) != 1:
        raise Conflict(_("This action was already marked done."))
    record_event("update", "drill_action", action.id, reason="done")
    return action


@dataclass
class TeamReadiness:
    team: VolunteerTeam
    last_drill: Drill | None
    drills_in_year: int
    open_actions: int

    @property
    def stale(self) -> bool:
        return self.last_drill is None or self.last_drill.held_on < local_today() - STALE_AFTER


def readiness() -> list[TeamReadiness]:
    """Every active volunteer team with its last drill, drills in the last year and open actions
    from its drills (a fixed number of statements)."""
    teams = list(db.session.scalars(select(VolunteerTeam).where(VolunteerTeam.archived_at.is_(None))
                                    .order_by(VolunteerTeam.name)))
    if not teams:
        return []
    ids = [t.id for t in teams]
    latest = (select(DrillParticipant.volunteer_team_id.label("team_id"), func.max(Drill.held_on).label("held_on"))
              .join(Drill, Drill.id == DrillParticipant.drill_id)
              .where(DrillParticipant.volunteer_team_id.in_(ids)).group_by(DrillParticipant.volunteer_team_id)
              .subquery())
    rows = db.session.execute(
        select(latest.c.team_id, Drill).join(DrillParticipant, DrillParticipant.volunteer_team_id == latest.c.team_id)
        .join(Drill, (Drill.id == DrillParticipant.drill_id) & (Drill.held_on == latest.c.held_on))
        .order_by(Drill.created_at)).all()
    last = {team_id: drill for team_id, drill in rows}
    year_ago = local_today() - timedelta(days=365)
    counts = dict(db.session.execute(
        select(DrillParticipant.volunteer_team_id, func.count(func.distinct(Drill.id)))
        .join(Drill, Drill.id == DrillParticipant.drill_id)
        .where(DrillParticipant.volunteer_team_id.in_(ids), Drill.held_on >= year_ago)
        .group_by(DrillParticipant.volunteer_team_id)).all())
    open_actions = dict(db.session.execute(
        select(DrillParticipant.volunteer_team_id, func.count(func.distinct(DrillAction.id)))
        .join(DrillAction, DrillAction.drill_id == DrillParticipant.drill_id)
        .where(DrillParticipant.volunteer_team_id.in_(ids), DrillAction.done_at.is_(None))
        .group_by(DrillParticipant.volunteer_team_id)).all())
    return [TeamReadiness(t, last.get(t.id), int(counts.get(t.id, 0)), int(open_actions.get(t.id, 0))) for t in teams]


__all__ = ["record_drill", "drills", "my_actions", "may_complete", "complete_action", "readiness",
           "team_staff", "PARTICIPANT_KINDS"]


PLAN_DRILLS = 100  # the drills a group plan may name: the team's latest hundred


def drills_for_plans(user) -> list[tuple]:
    """casework's hook `group_plan_drills`: the user's team's drills (id, day, scenario, page), the
    latest first; none for someone on no team or without DRILLS_VIEW."""
    if user.team_id is None or not user_has(user, Permission.DRILLS_VIEW):
        return []
    rows = db.session.execute(select(Drill.id, Drill.held_on, Drill.scenario).where(Drill.team_id == user.team_id)
                              .order_by(Drill.held_on.desc(), Drill.created_at.desc()).limit(PLAN_DRILLS)).all()
    return [(did, day, scenario, path_for("supervision.drill", drill_id=did)) for did, day, scenario in rows]
