"""Volunteer emergency teams: members, trainings, certificates, readiness and mobilisation.

A member is *ready* when they are active and hold a current certificate for every training
required for their team's kind (or, when the kind requires none, at least one current
certificate). A certificate *expires soon* when it ends within 60 days. In emergency operating
mode each team has a mobilisation list: its ready members, with their contact details for the staff
team that holds the volunteer team and for the supervisors of the teams it is mobilised for."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from carecycle.accounts.models import Team
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden
from carecycle.localtime import today as local_today
from carecycle.mode import current_mode
from carecycle.roles import Role
from carecycle.validation import Invalid
from referrals.enums import VolunteerRole, VolunteerTeamKind
from referrals.models import Certificate, Mobilisation, Training, Volunteer, VolunteerTeam
from referrals.service.common import Errors, as_uuid, check_version, email, iso_date, phone, text, whole_number

EXPIRY_WARNING = timedelta(days=60)


# ------------------------------------------------------------------ teams
def clean_team(data: dict) -> dict:
    errors = Errors()
    clean: dict[str, Any] = {
        "name": text(data, "name", errors, limit=120, required=True, message=_("Name the team.")),
        "description": text(data, "description", errors, limit=2000),
        "meeting_point": text(data, "meeting_point", errors, limit=300),
    }
    kind = data.get("kind") or ""
    if kind not in [k.value for k in VolunteerTeamKind]:
        errors["kind"] = _("Choose the kind of team.")
    clean["kind"] = kind
    team_id = data.get("team_id")
    clean["team_id"] = as_uuid(team_id) if team_id else None
    if team_id and (clean["team_id"] is None or db.session.get(Team, clean["team_id"]) is None):
        errors["team_id"] = _("Choose a staff team.")
    errors.check()
    return clean


def save_team(user, data: dict, team: VolunteerTeam | None = None, version=None) -> VolunteerTeam:
    clean = clean_team(data)
    if team is None:
        team = VolunteerTeam(**clean)
        db.session.add(team)
        action = "create"
    else:
        check_version(team, version, _("Someone else changed this team since you opened it."))
        for name, value in clean.items():
            setattr(team, name, value)
        action = "update"
    db.session.flush()
    record_event(action, "volunteer_team", team.id)
    return team


def teams() -> Sequence[VolunteerTeam]:
    return db.session.scalars(select(VolunteerTeam).where(VolunteerTeam.archived_at.is_(None))
                              .options(selectinload(VolunteerTeam.members).selectinload(Volunteer.certificates)
                                       .selectinload(Certificate.training))
                              .order_by(VolunteerTeam.name)).all()


# ------------------------------------------------------------------ members
def clean_member(data: dict) -> dict:
    errors = Errors()
    clean = {"full_name": text(data, "full_name", errors, limit=200, required=True,
                               message=_("Enter the volunteer's name.")),
             "phone": phone(data, "phone", errors, required=True),
             "email": email(data, "email", errors),
             "skills": text(data, "skills", errors, limit=1000),
             "joined_on": iso_date(data, "joined_on", errors) or local_today(),
             "active": bool(data.get("active", True))}
    role = data.get("role") or VolunteerRole.MEMBER.value
    if role not in [r.value for r in VolunteerRole]:
        errors["role"] = _("Choose leader, deputy or member.")
    clean["role"] = role
    errors.check()
    return clean


def save_member(user, team: VolunteerTeam, data: dict, member: Volunteer | None = None, version=None) -> Volunteer:
    clean = clean_member(data)
    if member is None:
        member = Volunteer(volunteer_team_id=team.id)
        db.session.add(member)
        action = "create"
    else:
        check_version(member, version, _("Someone else changed this volunteer's record since you opened it."))
        action = "update"
    for name, value in clean.items():
        setattr(member, name, value)
    db.session.flush()
    record_event(action, "volunteer", member.id)
    return member


# ------------------------------------------------------------------ trainings and certificates
def clean_training(data: dict) -> dict:
    errors = Errors()
    clean = {"name": text(data, "name", errors, limit=160, required=True, message=_("Name the training.")),
             "description": text(data, "description", errors, limit=2000),
             "validity_months": whole_number(data, "validity_months", errors, low=1, high=120)}
    if clean["validity_months"] is None and "validity_months" not in errors:
        errors["validity_months"] = _("Say for how many months a certificate is valid.")
    kinds = data.get("required_for") or []
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",") if k]
    known = [k.value for k in VolunteerTeamKind]
    if any(k not in known for k in kinds):
        errors["required_for"] = _("Choose kinds of team.")
    clean["required_for"] = ",".join(k for k in known if k in kinds)
    errors.check()
    return clean


def save_training(user, data: dict, training: Training | None = None) -> Training:
    clean = clean_training(data)
    if training is None:
        training = Training(**clean)
        db.session.add(training)
        action = "create"
    else:
        for name, value in clean.items():
            setattr(training, name, value)
        action = "update"
    db.session.flush()
    record_event(action, "volunteer_training", training.id)
    return training


def trainings() -> Sequence[Training]:
    return db.session.scalars(select(Training).order_by(Training.name)).all()


def add_certificate(user, member: Volunteer, data: dict) -> Certificate:
    errors = Errors()
    training = None
    tid = as_uuid(data.get("training_id")) if data.get("training_id") else None
    if tid:
        training = db.session.get(Training, tid)
    if training is None:
        errors["training_id"] = _("Choose the training.")
    issued = iso_date(data, "issued_on", errors, required=True)
    expires = iso_date(data, "expires_on", errors)
    reference = text(data, "reference", errors, limit=80)
    if issued and issued > local_today():
        errors["issued_on"] = _("A certificate cannot be issued in the future.")
    errors.check()
    assert training is not None and issued is not None  # else errors.check() refused
    if expires is None:
        expires = _add_months(issued, training.validity_months)
    if expires < issued:
        raise Invalid({"expires_on": _("The certificate cannot expire before it was issued.")})
    certificate = Certificate(volunteer_id=member.id, training_id=training.id, issued_on=issued, expires_on=expires,
                              reference=reference, recorded_by_id=user.id if user else None)
    db.session.add(certificate)
    member.certificates.append(certificate)
    db.session.flush()
    record_event("create", "volunteer_certificate", certificate.id)
    return certificate


def _add_months(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day) - timedelta(days=1)
        except ValueError:
            continue
    raise ValueError("no valid date")


# ------------------------------------------------------------------ readiness
@dataclass
class MemberReadiness:
    member: Volunteer
    current: list[Certificate] = field(default_factory=list)
    expiring: list[Certificate] = field(default_factory=list)
    missing: list[Training] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.member.active and not self.missing and bool(self.current)


@dataclass
class TeamReadiness:
    team: VolunteerTeam
    members: list[MemberReadiness]
    required: list[Training]

    @property
    def ready(self) -> list[MemberReadiness]:
        return [m for m in self.members if m.ready]

    @property
    def expiring(self) -> list[MemberReadiness]:
        return [m for m in self.members if m.member.active and m.expiring]

    @property
    def not_ready(self) -> list[MemberReadiness]:
        return [m for m in self.members if m.member.active and not m.ready]


def required_trainings(team: VolunteerTeam, all_trainings: Sequence[Training] | None = None) -> list[Training]:
    return [t for t in (all_trainings if all_trainings is not None else trainings()) if team.kind in t.required_kinds]


def readiness(team: VolunteerTeam, today: date | None = None,
              all_trainings: Sequence[Training] | None = None) -> TeamReadiness:
    today = today or local_today()
    required = required_trainings(team, all_trainings)
    rows = []
    for member in team.members:
        current = [c for c in member.certificates if c.current(today)]
        expiring = [c for c in current if c.expires_on - today <= EXPIRY_WARNING]
        held = {c.training_id for c in current}
        missing = [t for t in required if t.id not in held]
        rows.append(MemberReadiness(member, current, expiring, missing))
    rows.sort(key=lambda r: (not r.member.active, ROLE_ORDER.get(r.member.role, 9), r.member.full_name.casefold()))
    return TeamReadiness(team, rows, required)


ROLE_ORDER = {VolunteerRole.LEADER.value: 0, VolunteerRole.DEPUTY.value: 1, VolunteerRole.MEMBER.value: 2}


# ------------------------------------------------------------------ who sees volunteers' contacts
def holds(user, team: VolunteerTeam) -> bool:
    """The user belongs to the staff team that holds this volunteer team."""
    return team.team_id is not None and getattr(user, "team_id", None) == team.team_id


def current_mobilisations(team: VolunteerTeam) -> list[Mobilisation]:
    """The staff teams this volunteer team is mobilised for in the current emergency (none in normal
    operation: a mobilisation made in an earlier emergency no longer counts)."""
    state = current_mode()
    if not state.emergency:
        return []
    stmt = (select(Mobilisation).where(Mobilisation.volunteer_team_id == team.id, Mobilisation.ended_at.is_(None))
            .options(selectinload(Mobilisation.team)).order_by(Mobilisation.mobilised_at))
    if state.since is not None:
        stmt = stmt.where(Mobilisation.mobilised_at >= state.since)
    return list(db.session.scalars(stmt))


def mobilised_for(user, team: VolunteerTeam, mobilisations: list[Mobilisation] | None = None) -> bool:
    """In emergency operation: the user supervises a staff team this volunteer team is mobilised for."""
    if Role(user.role) is not Role.SUPERVISOR or getattr(user, "team_id", None) is None:
        return False
    rows = current_mobilisations(team) if mobilisations is None else mobilisations
    return any(row.team_id == user.team_id for row in rows)


def may_see_contacts(user, team: VolunteerTeam, mobilisations: list[Mobilisation] | None = None) -> bool:
    """Volunteers' contact details are for the staff team that holds their team and, in emergency
    operation, for the supervisors of the teams it is mobilised for; admins keep the records."""
    return Role(user.role) is Role.ADMIN or holds(user, team) or mobilised_for(user, team, mobilisations)


def check_contacts(user, member: Volunteer) -> None:
    """Forbidden unless the user may see this volunteer's contact details."""
    if not may_see_contacts(user, member.volunteer_team):
        raise Forbidden(_("Only the staff team that holds this volunteer team sees its volunteers' contact "
                          "details."), "volunteer", member.id, reason="volunteer contacts of another team")


@dataclass
class MobilisationList:
    team: VolunteerTeam
    ready: list[MemberReadiness]
    contacts: bool                      # phones shown to this user
    mobilisations: list[Mobilisation]   # the staff teams it is mobilised for, this emergency
    may_mobilise: bool                  # this user may lend it to another team


def mobilisation(user, team: VolunteerTeam) -> MobilisationList | None:
    """In emergency mode: the team's ready members, leaders first, with contacts when the user may see
    them (the read is audited; a read by a team it is mobilised for says so). In normal mode: None
    (the list exists only when the service is in emergency mode)."""
    if not current_mode().emergency:
        return None
    rows = current_mobilisations(team)
    held = holds(user, team)
    contacts = held or mobilised_for(user, team, rows)
    if contacts and not held:
        reason = f"mobilisation, contacts as supervisor of a team it is mobilised for ({user.team_id})"
    elif contacts:
        reason = "mobilisation"
    else:
        reason = "mobilisation, without contacts"
    record_event("view", "volunteer_team", team.id, reason=reason)
    return MobilisationList(team, readiness(team).ready, contacts, rows,
                            held and Role(user.role) is Role.SUPERVISOR)


def mobilise(user, team: VolunteerTeam, staff_team_id) -> Mobilisation:
    """Lend the volunteer team to another staff team for this emergency: only in emergency operation and
    only by a supervisor of the staff team that holds it. Audited."""
    if not (holds(user, team) and Role(user.role) is Role.SUPERVISOR):
        raise Forbidden(_("Only a supervisor of the staff team that holds this volunteer team mobilises it."),
                        "volunteer_team", team.id, reason="mobilise a volunteer team of another team")
    if not current_mode().emergency:
        raise Invalid({"team_id": _("A volunteer team is mobilised for another team only in emergency operation.")})
    key = as_uuid(staff_team_id) if staff_team_id else None
    target = db.session.get(Team, key) if key else None
    if target is None:
        raise Invalid({"team_id": _("Choose a staff team.")})
    if target.id == team.team_id:
        raise Invalid({"team_id": _("Your own team already sees this list. Choose another team.")})
    if any(row.team_id == target.id for row in current_mobilisations(team)):
        raise Invalid({"team_id": _("The volunteer team is already mobilised for %(team)s.", team=target.name)})
    row = Mobilisation(volunteer_team_id=team.id, team_id=target.id, mobilised_by_id=user.id)
    db.session.add(row)
    db.session.flush()
    record_event("create", "volunteer_mobilisation", row.id, reason=f"volunteer team {team.id} for team {target.id}")
    return row


def end_mobilisation(user, team: VolunteerTeam, mobilisation_id) -> Mobilisation:
    """End a mobilisation: the other team's supervisors no longer see the contacts. Audited."""
    if not (holds(user, team) and Role(user.role) is Role.SUPERVISOR):
        raise Forbidden(_("Only a supervisor of the staff team that holds this volunteer team mobilises it."),
                        "volunteer_team", team.id, reason="end a mobilisation of another team's volunteers")
    key = as_uuid(mobilisation_id) if mobilisation_id else None
    row = db.session.get(Mobilisation, key) if key else None
    if row is None or row.volunteer_team_id != team.id or row.ended_at is not None:
        raise Invalid({"mobilisation": _("This mobilisation has already ended.")})
    row.ended_at, row.ended_by_id = utcnow(), user.id
    record_event("update", "volunteer_mobilisation", row.id, reason="ended")
    return row
