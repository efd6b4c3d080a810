"""Volunteer teams API (level-3 responders): the same service functions and rules as the pages.

Every staff member with the volunteers permission sees the teams' readiness: names, roles and
certificates, never a contact detail. A volunteer's own record (phone, e-mail, skills) is for the
managers of the staff team that holds the volunteer team and for admins (403, audited, for anyone
else); in emergency operation the mobilisation list shows ready members' phones and skills to the
holding team and to the supervisors of the teams it is mobilised for. Teams are created and edited,
members added and edited (an `active: false` member stays on the team, as on the pages), trainings
and certificates recorded; nothing is deleted or archived here, because the pages do not do it."""
from __future__ import annotations

from datetime import date

from flask_login import current_user
from pydantic import Field

from carecycle.api import ApiError, json_body
from carecycle.audit import record_event
from carecycle.lifecycle import load_visible
from carecycle.localtime import today as local_today
from carecycle.openapi import Closed, Open, Paging, described
from carecycle.permissions import Permission, can, requires
from casework.api.common import iso, page_args
from referrals.api import api
from referrals.service import volunteers as service

TEAM_FIELDS = ("name", "kind", "team_id", "meeting_point", "description")
MEMBER_FIELDS = ("full_name", "phone", "email", "role", "skills", "joined_on", "active")
TRAINING_FIELDS = ("name", "description", "validity_months", "required_for")
CERTIFICATE_FIELDS = ("training_id", "issued_on", "expires_on", "reference")


# ------------------------------------------------------------------ models
class VolunteerStaffTeam(Open):
    id: str
    name: str


class VolunteerNamed(Open):
    id: str
    name: str


class VolunteerPerson(Open):
    id: str
    full_name: str


class VolunteerTeamInfo(Open):
    id: str
    name: str
    kind: str = Field(description="crisis_response, medical_reserve, community_care or auxiliary_security")
    staff_team: VolunteerStaffTeam | None = Field(description="the staff team that holds it (sees the contacts)")
    meeting_point: str | None
    description: str | None
    version: int


class VolunteerTeamItem(VolunteerTeamInfo):
    active_members: int
    ready: int = Field(description="active members certified and current")
    not_ready: int
    expiring: list[VolunteerPerson] = Field(description="active members with a certificate ending within 60 days")


class VolunteerTeamList(Open):
    volunteer_teams: list[VolunteerTeamItem]
    page: int
    per_page: int
    pages: int
    total: int


class VolunteerCurrentCertificate(Open):
    training_id: str
    training: str
    expires_on: str
    expiring: bool


class VolunteerReadiness(Open):
    id: str
    full_name: str
    role: str
    active: bool
    ready: bool
    expiring: bool
    current_certificates: list[VolunteerCurrentCertificate]
    missing_trainings: list[VolunteerNamed]


class VolunteerTeamDetail(VolunteerTeamItem):
    required_trainings: list[VolunteerNamed]
    member_records: bool = Field(description="the caller may open the members' records (with contact details)")
    members: list[VolunteerReadiness]


class VolunteerTeamNew(Closed):
    name: str
    kind: str = Field(description="crisis_response, medical_reserve, community_care or auxiliary_security")
    team_id: str | None = Field(None, description="the staff team that holds it")
    meeting_point: str | None = None
    description: str | None = None


class VolunteerTeamChange(Closed):
    version: int | None = Field(None, description="the version read; a stale one is refused with 409")
    name: str | None = None
    kind: str | None = None
    team_id: str | None = None
    meeting_point: str | None = None
    description: str | None = None


class VolunteerNew(Closed):
    full_name: str
    phone: str
    email: str | None = None
    role: str | None = Field(None, description="leader, deputy or member (the default)")
    skills: str | None = None
    joined_on: str | None = Field(None, description="YYYY-MM-DD; today by default")
    active: bool = True


class VolunteerChange(Closed):
    version: int | None = Field(None, description="the version read; a stale one is refused with 409")
    full_name: str | None = None
    phone: str | None = None
    email: str | None = None
    role: str | None = None
    skills: str | None = None
    joined_on: str | None = None
    active: bool | None = Field(None, description="false: no longer an active member (stays on the team)")


class VolunteerCreated(Open):
    id: str
    volunteer_team_id: str
    full_name: str
    role: str
    active: bool
    version: int


class VolunteerCertificate(Open):
    id: str
    training_id: str
    training: str
    issued_on: str
    expires_on: str
    reference: str | None
    expired: bool
    expiring: bool


class VolunteerDetail(VolunteerCreated):
    volunteer_team: str
    phone: str | None
    email: str | None
    skills: str | None
    joined_on: str | None
    certificates: list[VolunteerCertificate]


class VolunteerCertificateNew(Closed):
    training_id: str
    issued_on: str = Field(description="YYYY-MM-DD, not in the future")
    expires_on: str | None = Field(None, description="YYYY-MM-DD; by default the training's validity")
    reference: str | None = Field(None, description="the certificate number")


class VolunteerTraining(Open):
    id: str
    name: str
    description: str | None
    validity_months: int
    required_for: list[str] = Field(description="the kinds of team that require it")


class VolunteerTrainingList(Open):
    trainings: list[VolunteerTraining]
    page: int
    per_page: int
    pages: int
    total: int


class VolunteerTrainingNew(Closed):
    name: str
    description: str | None = None
    validity_months: int = Field(description="1 to 120")
    required_for: list[str] = Field(default_factory=list, description="kinds of team")


class VolunteerTrainingChange(Closed):
    name: str | None = None
    description: str | None = None
    validity_months: int | None = None
    required_for: list[str] | None = None


class VolunteerMobilisedFor(Open):
    id: str
    team_id: str
    team: str
    mobilised_at: str | None
    ended_at: str | None


class VolunteerReadyMember(Open):
    id: str
    full_name: str
    role: str
    phone: str | None = Field(None, description="only when `contacts` is true")
    skills: str | None = Field(None, description="only when `contacts` is true")


class VolunteerMobilisation(Open):
    emergency: bool = Field(description="the list exists only in emergency operation; otherwise it is empty")
    volunteer_team_id: str
    meeting_point: str | None
    contacts: bool = Field(description="phones and skills are shown to the caller")
    may_mobilise: bool
    ready: list[VolunteerReadyMember]
    mobilisations: list[VolunteerMobilisedFor]


class VolunteerMobilise(Closed):
    team_id: str = Field(description="the staff team whose supervisors will see the list with the contacts")


class VolunteerMobilisationEnd(Closed):
    mobilisation: str = Field(description="the id of the mobilisation to end")


# ------------------------------------------------------------------ answers
def _team_info(team) -> dict:
    return {"id": str(team.id), "name": team.name, "kind": team.kind,
            "staff_team": {"id": str(team.staff_team.id), "name": team.staff_team.name} if team.staff_team else None,
            "meeting_point": team.meeting_point, "description": team.description, "version": team.version}


def _team_item(row) -> dict:
    return {**_team_info(row.team), "active_members": sum(1 for m in row.members if m.member.active),
            "ready": len(row.ready), "not_ready": len(row.not_ready),
            "expiring": [{"id": str(m.member.id), "full_name": m.member.full_name} for m in row.expiring]}


def _readiness_json(row) -> dict:
    member = row.member
    return {"id": str(member.id), "full_name": member.full_name, "role": member.role, "active": member.active,
            "ready": row.ready, "expiring": bool(row.expiring),
            "current_certificates": [{"training_id": str(c.training_id), "training": c.training.name,
                                      "expires_on": iso(c.expires_on), "expiring": c in row.expiring}
                                     for c in row.current],
            "missing_trainings": [{"id": str(t.id), "name": t.name} for t in row.missing]}


def _member_created(member) -> dict:
    return {"id": str(member.id), "volunteer_team_id": str(member.volunteer_team_id), "full_name": member.full_name,
            "role": member.role, "active": member.active, "version": member.version}


def _member_detail(member) -> dict:
    """The volunteer's record with contacts: only after `service.check_contacts`."""
    today = local_today()
    return {**_member_created(member), "volunteer_team": member.volunteer_team.name, "phone": member.phone,
            "email": member.email, "skills": member.skills, "joined_on": iso(member.joined_on),
            "certificates": [{"id": str(c.id), "training_id": str(c.training_id), "training": c.training.name,
                              "issued_on": iso(c.issued_on), "expires_on": iso(c.expires_on),
                              "reference": c.reference, "expired": c.expires_on < today,
                              "expiring": today <= c.expires_on and c.expires_on - today <= service.EXPIRY_WARNING}
                             for c in member.certificates]}


def _training_json(training) -> dict:
    return {"id": str(training.id), "name": training.name, "description": training.description,
            "validity_months": training.validity_months, "required_for": training.required_kinds}


def _mobilised_json(row) -> dict:
    return {"id": str(row.id), "team_id": str(row.team_id), "team": row.team.name,
            "mobilised_at": iso(row.mobilised_at), "ended_at": iso(row.ended_at)}


def _paged(rows, key: str) -> tuple[dict, list]:
    page, per_page = page_args()
    total = len(rows)
    chosen = list(rows[(page - 1) * per_page:page * per_page])
    return {key: [], "page": page, "per_page": per_page, "pages": (total + per_page - 1) // per_page,
            "total": total}, chosen


def _boolean(body: dict, name: str) -> None:
    if name in body and not isinstance(body[name], bool):
        raise ApiError(422, "Some fields are not valid.", {name: "Must be true or false."})


def _member_with_contacts(volunteer_id, *, audit: bool):
    """The volunteer's record holds their contact details: only for those who may see them (403, audited,
    for anyone else), as on the volunteer's page."""
    member = load_visible("volunteer", volunteer_id, current_user, audit=False)
    service.check_contacts(current_user, member)
    return load_visible("volunteer", volunteer_id, current_user, audit=audit)


# ------------------------------------------------------------------ teams
@api.route("/volunteer-teams", methods=["GET"])
@described(query=Paging, responses={200: VolunteerTeamList})
@requires(Permission.VOLUNTEERS_VIEW)
def api_volunteer_teams():
    """Volunteer teams by name, with their readiness: ready, not ready, certificates expiring soon."""
    answer, teams = _paged(service.teams(), "volunteer_teams")
    all_trainings = service.trainings()
    for team in teams:
        row = service.readiness(team, all_trainings=all_trainings)
        record_event("view", "volunteer_team", team.id, reason="readiness")
        answer["volunteer_teams"].append(_team_item(row))
    return answer


@api.route("/volunteer-teams", methods=["POST"])
@described(body=VolunteerTeamNew, responses={201: VolunteerTeamInfo})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_team_create():
    """Create a volunteer team (name, kind, the staff team that holds it, meeting point)."""
    body = json_body()
    team = service.save_team(current_user, {name: body.get(name) for name in TEAM_FIELDS})
    return _team_info(team), 201


@api.route("/volunteer-teams/<volunteer_team_id>", methods=["GET"])
@described(responses={200: VolunteerTeamDetail})
@requires(Permission.VOLUNTEERS_VIEW)
def api_volunteer_team(volunteer_team_id):
    """One volunteer team with its members' readiness (names and certificates, no contact details)."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    row = service.readiness(team)
    record_event("view", "volunteer_team", team.id, reason="readiness")
    return {**_team_item(row), "required_trainings": [{"id": str(t.id), "name": t.name} for t in row.required],
            "member_records": can(Permission.VOLUNTEERS_MANAGE) and service.may_see_contacts(current_user, team),
            "members": [_readiness_json(m) for m in row.members]}


@api.route("/volunteer-teams/<volunteer_team_id>", methods=["PATCH"])
@described(body=VolunteerTeamChange, responses={200: VolunteerTeamInfo}, errors=(409,))
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_team_patch(volunteer_team_id):
    """Change a volunteer team's fields; the others stay (`version`: 409 when someone changed it since)."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    body = json_body()
    version = body.pop("version", None)
    data = {"name": team.name, "kind": team.kind, "team_id": str(team.team_id) if team.team_id else None,
            "meeting_point": team.meeting_point, "description": team.description, **body}
    service.save_team(current_user, data, team, version)
    return _team_info(team)


# ------------------------------------------------------------------ members
@api.route("/volunteer-teams/<volunteer_team_id>/members", methods=["POST"])
@described(body=VolunteerNew, responses={201: VolunteerCreated})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_create(volunteer_team_id):
    """Add a volunteer to a team (name and phone required; the answer repeats no contact detail)."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    body = json_body()
    _boolean(body, "active")
    member = service.save_member(current_user, team, {name: body[name] for name in MEMBER_FIELDS if name in body})
    return _member_created(member), 201


@api.route("/volunteers/<volunteer_id>", methods=["GET"])
@described(responses={200: VolunteerDetail})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer(volunteer_id):
    """A volunteer's record with contact details and certificates: the holding staff team and admins (audited)."""
    return _member_detail(_member_with_contacts(volunteer_id, audit=True))


@api.route("/volunteers/<volunteer_id>", methods=["PATCH"])
@described(body=VolunteerChange, responses={200: VolunteerDetail}, errors=(409,))
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_patch(volunteer_id):
    """Change a volunteer's fields (`active: false` takes them off duty); the others stay."""
    member = _member_with_contacts(volunteer_id, audit=False)
    body = json_body()
    _boolean(body, "active")
    version = body.pop("version", None)
    data: dict = {name: getattr(member, name) for name in MEMBER_FIELDS}
    data.update({name: value for name, value in body.items() if not (name == "active" and value is None)})
    if isinstance(data.get("joined_on"), date):
        data["joined_on"] = data["joined_on"].isoformat()
    service.save_member(current_user, member.volunteer_team, data, member, version)
    return _member_detail(member)


@api.route("/volunteers/<volunteer_id>/certificates", methods=["POST"])
@described(body=VolunteerCertificateNew, responses={201: VolunteerCertificate})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_certificate(volunteer_id):
    """Record a volunteer's certificate from a training (it expires after the training's validity unless given)."""
    member = _member_with_contacts(volunteer_id, audit=False)
    body = json_body()
    certificate = service.add_certificate(current_user, member, {name: body.get(name) for name in CERTIFICATE_FIELDS})
    today = local_today()
    return {"id": str(certificate.id), "training_id": str(certificate.training_id),
            "training": certificate.training.name, "issued_on": iso(certificate.issued_on),
            "expires_on": iso(certificate.expires_on), "reference": certificate.reference,
            "expired": certificate.expires_on < today,
            "expiring": today <= certificate.expires_on and certificate.expires_on - today <= service.EXPIRY_WARNING}, \
        201


# ------------------------------------------------------------------ trainings
@api.route("/volunteer-trainings", methods=["GET"])
@described(query=Paging, responses={200: VolunteerTrainingList})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_trainings():
    """The trainings volunteers take, by name: validity and the kinds of team that require them."""
    answer, rows = _paged(service.trainings(), "trainings")
    answer["trainings"] = [_training_json(t) for t in rows]
    return answer


@api.route("/volunteer-trainings", methods=["POST"])
@described(body=VolunteerTrainingNew, responses={201: VolunteerTraining})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_training_create():
    """Add a training (name, validity in months, the kinds of team that require it)."""
    body = json_body()
    training = service.save_training(current_user, {name: body.get(name) for name in TRAINING_FIELDS})
    return _training_json(training), 201


@api.route("/volunteer-trainings/<training_id>", methods=["GET"])
@described(responses={200: VolunteerTraining})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_training(training_id):
    """One training."""
    return _training_json(load_visible("training", training_id, current_user))


@api.route("/volunteer-trainings/<training_id>", methods=["PATCH"])
@described(body=VolunteerTrainingChange, responses={200: VolunteerTraining})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_training_patch(training_id):
    """Change a training's fields; the others stay."""
    training = load_visible("training", training_id, current_user)
    body = json_body()
    data = {"name": training.name, "description": training.description,
            "validity_months": training.validity_months, "required_for": training.required_kinds, **body}
    service.save_training(current_user, data, training)
    return _training_json(training)


# ------------------------------------------------------------------ mobilisation (emergency operation)
@api.route("/volunteer-teams/<volunteer_team_id>/mobilisation", methods=["GET"])
@described(responses={200: VolunteerMobilisation})
@requires(Permission.VOLUNTEERS_VIEW)
def api_volunteer_mobilisation(volunteer_team_id):
    """In emergency operation, the team's ready members, leaders first; phones only for those who may see them."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    listing = service.mobilisation(current_user, team)
    answer = {"emergency": listing is not None, "volunteer_team_id": str(team.id), "meeting_point": team.meeting_point,
              "contacts": False, "may_mobilise": False, "ready": [], "mobilisations": []}
    if listing is None:
        return answer
    answer.update({"contacts": listing.contacts, "may_mobilise": listing.may_mobilise,
                   "mobilisations": [_mobilised_json(m) for m in listing.mobilisations]})
    for row in listing.ready:
        person = {"id": str(row.member.id), "full_name": row.member.full_name, "role": row.member.role}
        if listing.contacts:
            person.update(phone=row.member.phone, skills=row.member.skills)
        answer["ready"].append(person)
    return answer


@api.route("/volunteer-teams/<volunteer_team_id>/mobilisation", methods=["POST"])
@described(body=VolunteerMobilise, responses={201: VolunteerMobilisedFor})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_mobilise(volunteer_team_id):
    """Mobilise the team for another staff team in this emergency (a supervisor of the holding team)."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    body = json_body()
    return _mobilised_json(service.mobilise(current_user, team, body.get("team_id"))), 201


@api.route("/volunteer-teams/<volunteer_team_id>/mobilisation/end", methods=["POST"])
@described(body=VolunteerMobilisationEnd, responses={200: VolunteerMobilisedFor})
@requires(Permission.VOLUNTEERS_MANAGE)
def api_volunteer_mobilisation_end(volunteer_team_id):
    """End a mobilisation: that team's supervisors no longer see the contacts (a supervisor of the holding team)."""
    team = load_visible("volunteer_team", volunteer_team_id, current_user)
    body = json_body()
    return _mobilised_json(service.end_mobilisation(current_user, team, body.get("mobilisation")))
