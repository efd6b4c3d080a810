"""Patient, EpisodeOfCare and Consent: exact search through the blind indexes only, the visibility
of the pages (another team's client is a 404), no case data for administrators and residents, and
every read audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from casework.service import clients as client_service
from tests.fhir.helpers import bearer, entries, get


@pytest.fixture
def record(db, make_user, make_client, make_case):
    counsellor = make_user("counsellor")
    social_worker = make_user("social_worker", team=counsellor.team)
    client = make_client(counsellor.team, counsellor, full_name="Mei Chan", preferred_name="Mei",
                         phone="9123 4567", id_number="A123456(7)", date_of_birth="1990-04-01", sex="female",
                         address="1 Harbour Road", preferred_language="zh_Hant", emergency_contact="Ann 9000 0000")
    case = make_case(counsellor, client, social_worker=social_worker)
    consent = client_service.record_consent(counsellor, client, "referral_sharing")
    client_service.record_consent(counsellor, client, "contact")
    client_service.withdraw_consent(counsellor, client, consent.id)
    db.session.commit()
    return counsellor, social_worker, client, case


def test_a_patient_is_found_by_exact_identifier_telecom_or_name(client, db, record):
    counsellor, _sw, person, _case = record
    headers = bearer(counsellor, db)
    for params in ({"identifier": "A123456(7)"}, {"identifier": "urn:carecycle:id-number|A123456(7)"},
                   {"telecom": "91234567"}, {"telecom": "phone|9123 4567"}, {"name": "Mei Chan"}):
        found = entries(get(client, "Patient", headers=headers, **params))
        assert [p["id"] for p in found] == [str(person.id)], params
    for params in ({"identifier": "A123456"}, {"telecom": "9123"}, {"name": "Mei"}):
        assert entries(get(client, "Patient", headers=headers, **params)) == [], params
    get(client, "Patient", headers=headers, status=400)  # never a list of everyone
    get(client, "Patient", headers=headers, status=400, identifier="urn:other|A123456(7)")
    get(client, "Patient", headers=headers, status=400, birthdate="1990-04-01")


def test_the_patient_resource_carries_the_client_record(client, db, record):
    counsellor, _sw, person, _case = record
    patient = get(client, f"Patient/{person.id}", headers=bearer(counsellor, db))
    assert patient["name"][0]["text"] == "Mei Chan" and patient["name"][1] == {"use": "usual", "text": "Mei"}
    assert patient["birthDate"] == "1990-04-01" and patient["gender"] == "female"
    assert patient["telecom"] == [{"system": "phone", "value": person.phone}]
    assert patient["identifier"][0]["value"] == "A123456(7)"
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "zh-Hant"
    assert patient["contact"][0]["name"]["text"] == "Ann 9000 0000"
    views = [(e.action, e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == counsellor.id))]
    assert ("view", "client", str(person.id)) in views


def test_episode_of_care_follows_the_phase(client, db, record):
    counsellor, _sw, person, case = record
    headers = bearer(counsellor, db)
    episode = get(client, f"EpisodeOfCare/{case.id}", headers=headers)
    assert case.phase == "crisis"  # a case opened on a moderate risk starts in crisis intervention
    assert episode["status"] == "active" and episode["patient"]["reference"] == f"Patient/{person.id}"
    assert episode["type"][0]["coding"][0]["code"] == "crisis"
    assert episode["careManager"]["display"] == counsellor.name
    assert episode["managingOrganization"]["display"] == counsellor.team.name
    found = entries(get(client, "EpisodeOfCare", headers=headers, patient=f"Patient/{person.id}"))
    assert [e["id"] for e in found] == [str(case.id)]
    assert entries(get(client, f"EpisodeOfCare?patient={person.id}&status=finished", headers=headers)) == []
    assert len(entries(get(client, f"EpisodeOfCare?patient={person.id}&status=active", headers=headers))) == 1
    get(client, "EpisodeOfCare?status=closed", headers=headers, status=400)
    get(client, "EpisodeOfCare", headers=headers, status=400, patient="Group/1")


def test_consents_with_their_period_and_withdrawal(client, db, record):
    counsellor, _sw, person, _case = record
    headers = bearer(counsellor, db)
    consents = entries(get(client, "Consent", headers=headers, patient=f"Patient/{person.id}"))
    by_scope = {c["category"][0]["coding"][1]["code"]: c for c in consents}
    assert by_scope["contact"]["status"] == "active" and "end" not in by_scope["contact"]["provision"]["period"]
    assert by_scope["referral_sharing"]["status"] == "inactive"
    assert "end" in by_scope["referral_sharing"]["provision"]["period"]
    active = entries(get(client, f"Consent?patient={person.id}&status=active", headers=headers))
    assert [c["id"] for c in active] == [by_scope["contact"]["id"]]
    assert get(client, f"Consent/{active[0]['id']}", headers=headers)["id"] == active[0]["id"]


def test_another_teams_client_does_not_exist_for_me(client, db, record, make_user, make_team):
    _counsellor, _sw, person, case = record
    outsider = make_user("counsellor", team=make_team())
    headers = bearer(outsider, db)
    get(client, f"Patient/{person.id}", headers=headers, status=404)
    get(client, f"EpisodeOfCare/{case.id}", headers=headers, status=404)
    get(client, f"Patient/{person.id}/$everything", headers=headers, status=404)
    assert entries(get(client, "Patient", headers=headers, identifier="A123456(7)")) == []
    assert entries(get(client, "Consent", headers=headers, patient=str(person.id))) == []
    get(client, "Patient/not-an-id", headers=headers, status=404)


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_administrators_and_residents_get_no_case_data(client, db, record, make_user, role):
    _counsellor, _sw, person, case = record
    headers = bearer(make_user(role), db)
    for path in (f"Patient/{person.id}", f"EpisodeOfCare/{case.id}", f"Patient/{person.id}/$everything",
                 "Consent?patient=" + str(person.id)):
        get(client, path, headers=headers, status=403)


def test_no_token_no_patient(client, db, record):
    get(client, f"Patient/{record[2].id}", status=401)


def test_everything_gathers_what_the_caller_may_see(client, db, record):
    counsellor, social_worker, person, case = record
    bundle = get(client, f"Patient/{person.id}/$everything", headers=bearer(counsellor, db))
    kinds = [r["resourceType"] for r in entries(bundle)]
    assert kinds[0] == "Patient" and "EpisodeOfCare" in kinds and kinds.count("Consent") == 2
    assert bundle["total"] == len(kinds)
    worker = get(client, f"Patient/{person.id}/$everything", headers=bearer(social_worker, db))
    assert "EpisodeOfCare" in [r["resourceType"] for r in entries(worker)]
