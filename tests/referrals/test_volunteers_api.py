"""Volunteer teams API: the pages' permissions and rules. Readiness (names, certificates) for all staff,
never a contact detail; a volunteer's record with contacts only for the holding staff team and admins;
phones on the mobilisation list only in emergency operation, for the holding team and the supervisors
of the teams it is mobilised for."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from carecycle.accounts.service import create_token
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import switch_mode
from referrals.models import Certificate, Mobilisation, Training, Volunteer, VolunteerTeam
from referrals.service import volunteers as service

PHONES = ("5550 1001", "5550 1002", "5550 1003")
EMAIL = "wingsze@example.org"


@pytest.fixture
def crew(db, make_user):
    """A crisis-response team held by the "default" staff team, with a ready leader, a member missing a
    training and an inactive member."""
    holder = make_user("supervisor")
    pfa = service.save_training(None, {"name": "Psychological first aid", "validity_months": 24,
                                       "required_for": ["crisis_response"]})
    cpr = service.save_training(None, {"name": "First aid and CPR", "validity_months": 36,
                                       "required_for": "crisis_response"})
    team = service.save_team(None, {"name": "Riverside Crisis Response", "kind": "crisis_response",
                                    "meeting_point": "Community hall", "team_id": str(holder.team_id)})
    issued = (date.today() - timedelta(days=100)).isoformat()

    def member(name, phone, trainings, **extra):
        person = service.save_member(None, team, {"full_name": name, "phone": phone, **extra})
        for training in trainings:
            service.add_certificate(None, person, {"training_id": str(training.id), "issued_on": issued})
        return person

    people = {"ready": member("Ho Wing Sze", PHONES[0], [pfa, cpr], role="leader", email=EMAIL,
                              skills="retired nurse"),
              "missing": member("Maria Santos", PHONES[1], [pfa]),
              "inactive": member("Tse Yuk Lan", PHONES[2], [pfa, cpr], active=False)}
    db.session.commit()
    return {"team": team, "people": people, "holder": holder, "trainings": (pfa, cpr)}


@pytest.fixture
def bearer(db):
    def headers(user) -> dict:
        token = create_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}
    return headers


def _events(db, **where):
    stmt = select(AuditEvent)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return db.session.scalars(stmt).all()


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _no_contacts(response) -> None:
    text = response.get_data(as_text=True)
    assert not any(phone in text for phone in PHONES) and EMAIL not in text and "retired nurse" not in text


def _emergency(db, make_user):
    switch_mode("emergency", make_user("supervisor", team=None), "Flooding in the district")
    db.session.commit()


# ------------------------------------------------------------------ teams
def test_staff_list_the_teams_readiness_without_contacts(client, db, make_user, bearer, crew):
    headers = bearer(make_user("counsellor"))
    archived = service.save_team(None, {"name": "Old crew", "kind": "community_care"})
    archived.archived_at = utcnow()
    db.session.commit()
    response = client.get("/api/v1/volunteer-teams", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["pages"] == 1
    [row] = body["volunteer_teams"]
    assert row["id"] == str(crew["team"].id) and row["name"] == "Riverside Crisis Response"
    assert row["staff_team"]["id"] == str(crew["holder"].team_id)
    assert (row["active_members"], row["ready"], row["not_ready"]) == (2, 1, 1)
    _no_contacts(response)
    assert [e.reason for e in _events(db, action="view", object_type="volunteer_team")] == ["readiness"]
    paged = client.get("/api/v1/volunteer-teams?page=2&per_page=1", headers=headers).get_json()
    assert paged["volunteer_teams"] == [] and paged["total"] == 1
    bad = client.get("/api/v1/volunteer-teams?per_page=500", headers=headers)
    assert bad.status_code == 422 and "per_page" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/volunteer-teams").status_code == 401


def test_a_team_with_its_members_readiness_and_no_contacts(client, db, make_user, bearer, crew):
    url = f"/api/v1/volunteer-teams/{crew['team'].id}"
    for role, records in (("counsellor", False), ("social_worker", False), ("supervisor", True)):
        response = client.get(url, headers=bearer(make_user(role)))
        assert response.status_code == 200, role
        body = response.get_json()
        assert body["member_records"] is records, role
        _no_contacts(response)
    members = {m["full_name"]: m for m in body["members"]}
    assert list(members) == ["Ho Wing Sze", "Maria Santos", "Tse Yuk Lan"]  # leaders first, inactive last
    assert members["Ho Wing Sze"]["ready"] and members["Ho Wing Sze"]["role"] == "leader"
    assert [t["name"] for t in members["Maria Santos"]["missing_trainings"]] == ["First aid and CPR"]
    assert not members["Tse Yuk Lan"]["active"] and "phone" not in members["Ho Wing Sze"]
    assert {t["name"] for t in body["required_trainings"]} == {"Psychological first aid", "First aid and CPR"}
    # another staff team's supervisor sees the readiness but may not open the records
    other = client.get(url, headers=bearer(make_user("supervisor", team="other"))).get_json()
    assert other["member_records"] is False and len(other["members"]) == 3
    assert len(_events(db, action="view", object_type="volunteer_team", reason="readiness")) == 4
    headers = bearer(make_user("counsellor"))
    assert client.get(f"/api/v1/volunteer-teams/{uuid.uuid4()}", headers=headers).status_code == 404
    assert client.get("/api/v1/volunteer-teams/not-an-id", headers=headers).status_code == 404
    crew["team"].archived_at = utcnow()
    db.session.commit()
    assert client.get(url, headers=headers).status_code == 404
    assert client.get(url).status_code == 401


def test_residents_reach_no_volunteer_endpoint(client, db, make_user, bearer, crew):
    headers = bearer(make_user("resident"))
    for url in ("/api/v1/volunteer-teams", f"/api/v1/volunteer-teams/{crew['team'].id}",
                f"/api/v1/volunteers/{crew['people']['ready'].id}", "/api/v1/volunteer-trainings"):
        assert client.get(url, headers=headers).status_code == 403, url


def test_supervisors_create_a_team(client, db, make_user, bearer):
    supervisor = make_user("supervisor")
    headers = bearer(supervisor)
    response = client.post("/api/v1/volunteer-teams", headers=headers, json={
        "name": "Hillside Medical Reserve", "kind": "medical_reserve", "team_id": str(supervisor.team_id),
        "meeting_point": "Clinic car park"})
    assert response.status_code == 201, response.get_json()
    saved = db.session.get(VolunteerTeam, uuid.UUID(response.get_json()["id"]))
    assert (saved.name, saved.kind, saved.team_id, saved.meeting_point) == (
        "Hillside Medical Reserve", "medical_reserve", supervisor.team_id, "Clinic car park")
    assert _events(db, action="create", object_type="volunteer_team", object_id=str(saved.id))
    # a role that may not, an unknown field, invalid values: nothing is created
    forbidden = client.post("/api/v1/volunteer-teams", headers=bearer(make_user("counsellor")),
                            json={"name": "X", "kind": "medical_reserve"})
    assert forbidden.status_code == 403
    unknown = client.post("/api/v1/volunteer-teams", headers=headers,
                          json={"name": "X", "kind": "medical_reserve", "archived": True})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"archived": "Unknown field."}
    invalid = client.post("/api/v1/volunteer-teams", headers=headers, json={"name": " ", "kind": "army"})
    assert invalid.status_code == 422 and set(invalid.get_json()["error"]["fields"]) == {"name", "kind"}
    bad_team = client.post("/api/v1/volunteer-teams", headers=headers,
                           json={"name": "X", "kind": "medical_reserve", "team_id": "not-a-team"})
    assert bad_team.status_code == 422 and "team_id" in bad_team.get_json()["error"]["fields"]
    no_team = client.post("/api/v1/volunteer-teams", headers=headers,
                          json={"name": "X", "kind": "medical_reserve", "team_id": str(uuid.uuid4())})
    assert no_team.status_code == 422 and "team_id" in no_team.get_json()["error"]["fields"]
    assert client.post("/api/v1/volunteer-teams", json={"name": "X", "kind": "medical_reserve"}).status_code == 401
    assert _count(db, VolunteerTeam) == 1


def test_editing_a_team_keeps_the_fields_not_sent_and_refuses_a_stale_version(client, db, make_user, bearer, crew):
    team = crew["team"]
    url = f"/api/v1/volunteer-teams/{team.id}"
    headers = bearer(make_user("supervisor"))
    version = team.version
    response = client.patch(url, headers=headers, json={"version": version, "meeting_point": "Library steps"})
    assert response.status_code == 200 and response.get_json()["version"] == version + 1
    db.session.expire_all()
    team = db.session.get(VolunteerTeam, team.id)
    assert (team.meeting_point, team.name, team.kind, team.team_id) == (
        "Library steps", "Riverside Crisis Response", "crisis_response", crew["holder"].team_id)
    stale = client.patch(url, headers=headers, json={"version": version, "name": "Overwritten"})
    assert stale.status_code == 409
    invalid = client.patch(url, headers=headers, json={"kind": "army", "name": "Renamed"})
    assert invalid.status_code == 422 and set(invalid.get_json()["error"]["fields"]) == {"kind"}
    unknown = client.patch(url, headers=headers, json={"archived_at": "2024-01-01"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"archived_at": "Unknown field."}
    assert client.patch(url, headers=bearer(make_user("social_worker")), json={"name": "Mine"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(VolunteerTeam, team.id).name == "Riverside Crisis Response"
    team.archived_at = utcnow()
    db.session.commit()
    assert client.patch(url, headers=headers, json={"name": "Back"}).status_code == 404


# ------------------------------------------------------------------ members
def test_adding_a_volunteer_stores_them_and_answers_no_contacts(client, db, make_user, bearer, crew):
    url = f"/api/v1/volunteer-teams/{crew['team'].id}/members"
    headers = bearer(make_user("supervisor"))
    response = client.post(url, headers=headers, json={"full_name": "Chan Siu Ming", "phone": "+852 5550 2001",
                                                       "email": "siuming@example.org", "role": "deputy",
                                                       "joined_on": "2024-03-01"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert "phone" not in body and "5550 2001" not in response.get_data(as_text=True)
    member = db.session.get(Volunteer, uuid.UUID(body["id"]))
    assert (member.full_name, member.phone, member.email, member.role, member.joined_on, member.active) == (
        "Chan Siu Ming", "+852 5550 2001", "siuming@example.org", "deputy", date(2024, 3, 1), True)
    assert member.volunteer_team_id == crew["team"].id
    before = _count(db, Volunteer)
    assert client.post(url, headers=bearer(make_user("counsellor")),
                       json={"full_name": "A", "phone": "5550 0000"}).status_code == 403
    invalid = client.post(url, headers=headers, json={"full_name": "", "phone": "call me", "role": "captain"})
    assert invalid.status_code == 422
    assert set(invalid.get_json()["error"]["fields"]) == {"full_name", "phone", "role"}
    not_bool = client.post(url, headers=headers, json={"full_name": "A", "phone": "5550 0000", "active": "no"})
    assert not_bool.status_code == 422 and "active" in not_bool.get_json()["error"]["fields"]
    unknown = client.post(url, headers=headers, json={"full_name": "A", "phone": "5550 0000", "notes": "x"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"notes": "Unknown field."}
    assert _count(db, Volunteer) == before
    crew["team"].archived_at = utcnow()
    db.session.commit()
    assert client.post(url, headers=headers, json={"full_name": "A", "phone": "5550 0000"}).status_code == 404


def test_a_volunteers_record_with_contacts_is_for_the_holding_team_and_admins(client, db, make_user, bearer,
                                                                                crew):
    person = crew["people"]["ready"]
    url = f"/api/v1/volunteers/{person.id}"
    for user in (make_user("supervisor"), make_user("admin")):
        response = client.get(url, headers=bearer(user))
        assert response.status_code == 200
        body = response.get_json()
        assert (body["phone"], body["email"], body["skills"]) == (PHONES[0], EMAIL, "retired nurse")
        assert {c["training"] for c in body["certificates"]} == {"Psychological first aid", "First aid and CPR"}
    assert len(_events(db, action="view", object_type="volunteer", object_id=str(person.id))) == 2
    # another staff team's supervisor: 403, audited, and nothing of the record
    refused = client.get(url, headers=bearer(make_user("supervisor", team="other")))
    assert refused.status_code == 403
    _no_contacts(refused)
    [denied] = _events(db, action="permission_denied", object_id=str(person.id))
    assert denied.reason == "volunteer contacts of another team"
    assert len(_events(db, action="view", object_type="volunteer")) == 2
    # staff who only see readiness may not open it
    counsellor = client.get(url, headers=bearer(make_user("counsellor")))
    assert counsellor.status_code == 403
    _no_contacts(counsellor)
    assert client.get(f"/api/v1/volunteers/{uuid.uuid4()}", headers=bearer(make_user("supervisor"))).status_code \
        == 404
    assert client.get(url).status_code == 401


def test_editing_a_volunteer(client, db, make_user, bearer, crew):
    person = crew["people"]["missing"]
    url = f"/api/v1/volunteers/{person.id}"
    headers = bearer(make_user("supervisor"))
    version = person.version
    response = client.patch(url, headers=headers, json={"version": version, "active": False,
                                                        "skills": "speaks Tagalog"})
    assert response.status_code == 200 and response.get_json()["phone"] == PHONES[1]
    db.session.expire_all()
    person = db.session.get(Volunteer, person.id)
    assert (person.active, person.skills, person.full_name, person.phone, person.role) == (
        False, "speaks Tagalog", "Maria Santos", PHONES[1], "member")
    assert person.version == version + 1
    assert client.patch(url, headers=headers, json={"version": version, "role": "leader"}).status_code == 409
    invalid = client.patch(url, headers=headers, json={"phone": "none", "role": "leader"})
    assert invalid.status_code == 422 and set(invalid.get_json()["error"]["fields"]) == {"phone"}
    unknown = client.patch(url, headers=headers, json={"volunteer_team_id": str(uuid.uuid4())})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {
        "volunteer_team_id": "Unknown field."}
    other = client.patch(url, headers=bearer(make_user("supervisor", team="other")), json={"role": "leader"})
    assert other.status_code == 403
    _no_contacts(other)
    assert client.patch(url, headers=bearer(make_user("counsellor")), json={"role": "leader"}).status_code == 403
    db.session.expire_all()
    person = db.session.get(Volunteer, person.id)
    assert (person.role, person.phone, person.version) == ("member", PHONES[1], version + 1)


def test_recording_a_certificate(client, db, make_user, bearer, crew):
    person, (_pfa, cpr) = crew["people"]["missing"], crew["trainings"]
    url = f"/api/v1/volunteers/{person.id}/certificates"
    headers = bearer(make_user("supervisor"))
    issued = date.today() - timedelta(days=10)
    response = client.post(url, headers=headers, json={"training_id": str(cpr.id), "issued_on": issued.isoformat(),
                                                       "reference": "CPR-77"})
    assert response.status_code == 201, response.get_json()
    row = db.session.get(Certificate, uuid.UUID(response.get_json()["id"]))
    assert (row.volunteer_id, row.training_id, row.issued_on, row.reference) == (person.id, cpr.id, issued, "CPR-77")
    assert row.expires_on > issued + timedelta(days=3 * 365 - 5)  # the training's 36 months
    team = client.get(f"/api/v1/volunteer-teams/{crew['team'].id}", headers=headers).get_json()
    assert next(m for m in team["members"] if m["id"] == str(person.id))["ready"] is True
    before = _count(db, Certificate)
    future = client.post(url, headers=headers, json={"training_id": str(cpr.id),
                                                     "issued_on": (date.today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "issued_on" in future.get_json()["error"]["fields"]
    missing = client.post(url, headers=headers, json={"training_id": str(uuid.uuid4()), "issued_on": "soon"})
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"training_id", "issued_on"}
    unknown = client.post(url, headers=headers, json={"training_id": str(cpr.id), "issued_on": issued.isoformat(),
                                                      "grade": "A"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"grade": "Unknown field."}
    other = client.post(url, headers=bearer(make_user("supervisor", team="other")),
                        json={"training_id": str(cpr.id), "issued_on": issued.isoformat()})
    assert other.status_code == 403
    assert client.post(url, headers=bearer(make_user("counsellor")),
                       json={"training_id": str(cpr.id), "issued_on": issued.isoformat()}).status_code == 403
    assert _count(db, Certificate) == before


# ------------------------------------------------------------------ trainings
def test_trainings_are_listed_added_and_edited_by_managers(client, db, make_user, bearer, crew):
    headers = bearer(make_user("supervisor"))
    listed = client.get("/api/v1/volunteer-trainings", headers=headers).get_json()
    assert [t["name"] for t in listed["trainings"]] == ["First aid and CPR", "Psychological first aid"]
    assert listed["total"] == 2 and listed["trainings"][0]["required_for"] == ["crisis_response"]
    created = client.post("/api/v1/volunteer-trainings", headers=headers, json={
        "name": "Flood safety", "validity_months": 12, "required_for": ["auxiliary_security", "crisis_response"]})
    assert created.status_code == 201
    training = db.session.get(Training, uuid.UUID(created.get_json()["id"]))
    assert (training.name, training.validity_months, training.required_kinds) == (
        "Flood safety", 12, ["crisis_response", "auxiliary_security"])
    url = f"/api/v1/volunteer-trainings/{training.id}"
    assert client.get(url, headers=headers).get_json()["validity_months"] == 12
    changed = client.patch(url, headers=headers, json={"validity_months": 18})
    assert changed.status_code == 200
    db.session.expire_all()
    training = db.session.get(Training, training.id)
    assert (training.validity_months, training.name, training.required_kinds) == (
        18, "Flood safety", ["crisis_response", "auxiliary_security"])
    invalid = client.patch(url, headers=headers, json={"validity_months": 500, "required_for": ["army"]})
    assert invalid.status_code == 422
    assert set(invalid.get_json()["error"]["fields"]) == {"validity_months", "required_for"}
    refused = client.post("/api/v1/volunteer-trainings", headers=headers, json={"name": "", "validity_months": 0})
    assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {"name", "validity_months"}
    unknown = client.post("/api/v1/volunteer-trainings", headers=headers,
                          json={"name": "X", "validity_months": 1, "price": 3})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"price": "Unknown field."}
    counsellor = bearer(make_user("counsellor"))
    assert client.get("/api/v1/volunteer-trainings", headers=counsellor).status_code == 403
    assert client.get(url, headers=counsellor).status_code == 403
    assert client.patch(url, headers=counsellor, json={"validity_months": 1}).status_code == 403
    assert client.post("/api/v1/volunteer-trainings", headers=counsellor,
                       json={"name": "X", "validity_months": 1}).status_code == 403
    db.session.expire_all()
    assert _count(db, Training) == 3 and db.session.get(Training, training.id).validity_months == 18
    assert client.get(f"/api/v1/volunteer-trainings/{uuid.uuid4()}", headers=headers).status_code == 404
    assert client.get("/api/v1/volunteer-trainings").status_code == 401


# ------------------------------------------------------------------ mobilisation
def test_the_mobilisation_list_is_empty_in_normal_operation(client, db, make_user, bearer, crew):
    headers = bearer(make_user("supervisor"))
    body = client.get(f"/api/v1/volunteer-teams/{crew['team'].id}/mobilisation", headers=headers).get_json()
    assert body["emergency"] is False and body["ready"] == [] and body["contacts"] is False
    other = make_user("supervisor", team="other")
    refused = client.post(f"/api/v1/volunteer-teams/{crew['team'].id}/mobilisation", headers=headers,
                          json={"team_id": str(other.team_id)})
    assert refused.status_code == 422 and "team_id" in refused.get_json()["error"]["fields"]
    assert _count(db, Mobilisation) == 0


def test_in_an_emergency_phones_go_to_the_holding_team_and_the_teams_it_is_mobilised_for(client, db, make_user,
                                                                                         bearer, crew):
    _emergency(db, make_user)
    team = crew["team"]
    url = f"/api/v1/volunteer-teams/{team.id}/mobilisation"
    other = make_user("supervisor", team="hillside")
    other_headers = bearer(other)
    holder_headers = bearer(make_user("supervisor"))
    counsellor_headers = bearer(make_user("counsellor"))
    before = client.get(url, headers=other_headers)
    body = before.get_json()
    assert body["emergency"] is True and body["contacts"] is False and body["may_mobilise"] is False
    assert [m["full_name"] for m in body["ready"]] == ["Ho Wing Sze"] and "phone" not in body["ready"][0]
    _no_contacts(before)
    assert _events(db, action="view", object_id=str(team.id), reason="mobilisation, without contacts")
    own = client.get(url, headers=counsellor_headers).get_json()  # the holding team sees the phones
    assert own["contacts"] is True and own["ready"][0]["phone"] == PHONES[0] and own["may_mobilise"] is False
    # only a supervisor of the holding team mobilises; an unknown field and an invalid team change nothing
    assert client.post(url, headers=counsellor_headers, json={"team_id": str(other.team_id)}).status_code == 403
    assert client.post(url, headers=other_headers, json={"team_id": str(other.team_id)}).status_code == 403
    unknown = client.post(url, headers=holder_headers, json={"team_id": str(other.team_id), "until": "x"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"until": "Unknown field."}
    own_team = client.post(url, headers=holder_headers, json={"team_id": str(crew["holder"].team_id)})
    assert own_team.status_code == 422
    assert _count(db, Mobilisation) == 0
    mobilised = client.post(url, headers=holder_headers, json={"team_id": str(other.team_id)})
    assert mobilised.status_code == 201 and mobilised.get_json()["team_id"] == str(other.team_id)
    row = db.session.get(Mobilisation, uuid.UUID(mobilised.get_json()["id"]))
    assert (row.volunteer_team_id, row.team_id, row.ended_at) == (team.id, other.team_id, None)
    after = client.get(url, headers=other_headers).get_json()
    assert after["contacts"] is True and after["ready"][0]["phone"] == PHONES[0]
    assert after["ready"][0]["skills"] == "retired nurse" and "email" not in after["ready"][0]
    assert [m["id"] for m in after["mobilisations"]] == [str(row.id)]
    record = f"/api/v1/volunteers/{crew['people']['ready'].id}"
    assert client.get(record, headers=other_headers).get_json()["phone"] == PHONES[0]  # as the page: mobilised for
    # ending it: only by the holding team's supervisor
    end = f"{url}/end"
    assert client.post(end, headers=other_headers, json={"mobilisation": str(row.id)}).status_code == 403
    wrong = client.post(end, headers=holder_headers, json={"mobilisation": str(uuid.uuid4())})
    assert wrong.status_code == 422 and "mobilisation" in wrong.get_json()["error"]["fields"]
    ended = client.post(end, headers=holder_headers, json={"mobilisation": str(row.id)})
    assert ended.status_code == 200 and ended.get_json()["ended_at"] is not None
    db.session.expire_all()
    assert db.session.get(Mobilisation, row.id).ended_at is not None
    hidden = client.get(url, headers=other_headers)
    assert hidden.get_json()["contacts"] is False
    _no_contacts(hidden)
    assert client.get(record, headers=other_headers).status_code == 403
    assert client.get(url).status_code == 401
