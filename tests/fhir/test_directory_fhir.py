"""The partner directory as FHIR Organization, Location and HealthcareService: every record the HSDS
export publishes is served and valid, searches filter as the directory search does, archived records
do not exist, and only staff with the directory read it."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from carecycle.fhir import code_system_url
from referrals import demo
from referrals.models import Location, Organisation, Service
from referrals.service import directory
from tests.fhir.helpers import bearer, entries, get

TYPES = ("Organization", "Location", "HealthcareService")


@pytest.fixture
def world(app, db, make_user):
    """The demo directory, one organisation using every mapped field, an archived organisation (with
    its place and service) and an archived service of a current organisation."""
    with app.test_request_context():
        demo._load_directory(lambda _line: None)
        trust = directory.create_organisation(None, {
            "name": "Harbour Youth Trust", "alternate_name": "HYT", "tier": "3", "description": "Youth work.",
            "phone": "555-0300", "email": "hello@hyt.example.org", "website": "https://hyt.example.org"})
        pier = directory.save_location(None, trust, {
            "name": "Pier hub", "address_1": "3 Pier Road", "address_2": "Unit 4", "city": "Riverside",
            "region": "Harbour", "postal_code": "R1", "country": "hk", "latitude": "22.2819",
            "longitude": "114.1588", "description": "Above the ferry office."})
        night = directory.create_service(None, trust, {
            "name": "Night drop-in", "description": "A warm room and someone to talk to.",
            "status": "temporarily closed", "capacity": "full", "types": ["youth", "counselling"],
            "languages": ["en", {"code": "yue", "name": "Cantonese"}],
            "phones": [{"number": "555-0301", "type": "voice"}, {"number": "555-0302", "type": "text"}],
            "email": "night@hyt.example.org", "url": "https://hyt.example.org/night",
            "schedules": [{"byday": "FR,SU", "opens_at": "22:00", "closes_at": "02:00"},
                          {"byday": "MO", "opens_at": "09:00", "closes_at": "12:00", "timezone": "-5"}],
            "hours_note": "Closed on public holidays.", "eligibility": "Young people aged 12 to 24.",
            "application_process": "Just come.", "location_ids": [str(pier.id)]})
        old_service = directory.create_service(None, trust, {"name": "Old helpline", "status": "active",
                                                             "types": ["youth"]})
        directory.archive_service(None, old_service)
        gone = directory.create_organisation(None, {"name": "Closed Police Charity", "tier": "1"})
        gone_place = directory.save_location(None, gone, {"name": "Old office"})
        gone_service = directory.create_service(None, gone, {"name": "Old police line", "types": ["police"],
                                                             "location_ids": [str(gone_place.id)]})
        directory.archive_organisation(None, gone)
    db.session.commit()
    staff = make_user("social_worker")
    return {"headers": bearer(staff, db), "trust": trust, "pier": pier, "night": night,
            "hidden": {"Organization": gone.id, "Location": gone_place.id, "HealthcareService": gone_service.id},
            "old_service": old_service}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _all(client, headers, resource_type: str, **params) -> list[dict]:
    """Every entry of a search, following the Bundle's next links."""
    bundle = get(client, resource_type, headers=headers, **params)
    found = entries(bundle)
    for _page in range(100):
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return found
        bundle = get(client, _path(following[0]), headers=headers)
        found += entries(bundle)
    raise AssertionError("the next links never end")


def _expected_ids(db) -> dict[str, set[str]]:
    current_orgs = select(Organisation.id).where(Organisation.archived_at.is_(None))
    return {
        "Organization": {str(i) for i in db.session.scalars(current_orgs)},
        "Location": {str(i) for i in db.session.scalars(select(Location.id).where(
            Location.organisation_id.in_(current_orgs)))},
        "HealthcareService": {str(i) for i in db.session.scalars(select(Service.id).where(
            Service.archived_at.is_(None), Service.organisation_id.in_(current_orgs)))},
    }


def test_every_published_record_is_served_valid_by_search_and_by_id(client, db, world):
    headers = world["headers"]
    expected = _expected_ids(db)
    assert len(expected["Organization"]) == 26 and len(expected["HealthcareService"]) > 26
    for resource_type in TYPES:
        found = _all(client, headers, resource_type, _count="7")
        ids = [r["id"] for r in found]
        assert len(ids) == len(set(ids)), resource_type  # no entry on two pages
        assert set(ids) == expected[resource_type], resource_type
        for resource in found:
            assert get(client, f"{resource_type}/{resource['id']}", headers=headers) == resource


def test_an_organization_carries_its_tier_contacts_and_places(client, db, world):
    trust = world["trust"]
    org = get(client, f"Organization/{trust.id}", headers=world["headers"])
    assert org["name"] == "Harbour Youth Trust" and org["alias"] == ["HYT"] and org["active"] is True
    tier = org["type"][0]["coding"][0]
    assert tier["code"] == "3" and tier["system"].endswith("/fhir/R4/CodeSystem/responder-tier")
    assert {(t["system"], t["value"]) for t in org["telecom"]} == {
        ("phone", "555-0300"), ("email", "hello@hyt.example.org"), ("url", "https://hyt.example.org")}
    assert org["address"] == [{"use": "work", "type": "physical", "text": "3 Pier Road, Unit 4, Riverside, Harbour, R1",
                               "line": ["3 Pier Road", "Unit 4"], "city": "Riverside", "district": "Harbour",
                               "postalCode": "R1", "country": "HK"}]
    code_system = get(client, "CodeSystem/responder-tier")
    assert code_system["url"] == tier["system"]
    assert [c["code"] for c in code_system["concept"]] == ["1", "2", "3"]


def test_a_location_has_its_address_position_and_organisation(client, db, world):
    place = get(client, f"Location/{world['pier'].id}", headers=world["headers"])
    assert place["name"] == "Pier hub" and place["status"] == "active"
    assert place["position"] == {"latitude": 22.2819, "longitude": 114.1588}
    assert place["address"]["line"] == ["3 Pier Road", "Unit 4"] and place["address"]["country"] == "HK"
    assert place["managingOrganization"]["reference"] == f"Organization/{world['trust'].id}"
    assert {"system": "phone", "value": "555-0300", "use": "work", "rank": 1} in place["telecom"]
    demo_place = entries(get(client, "Location", headers=world["headers"], name="main office", _count="1"))[0]
    assert "position" not in demo_place  # no latitude stored, no position made up


def test_a_healthcare_service_carries_hours_languages_and_eligibility(client, db, world):
    service = get(client, f"HealthcareService/{world['night'].id}", headers=world["headers"])
    assert service["name"] == "Night drop-in" and service["active"] is False  # temporarily closed
    assert service["providedBy"]["reference"] == f"Organization/{world['trust'].id}"
    assert service["location"] == [{"reference": f"Location/{world['pier'].id}", "display": "Pier hub"}]
    assert service["comment"] == "A warm room and someone to talk to."
    assert service["eligibility"] == [{"comment": "Young people aged 12 to 24."}]
    assert [c["coding"][0]["code"] for c in service["type"]] == ["counselling", "youth"]
    assert {c["coding"][0]["system"].rsplit("/fhir/R4/", 1)[1] for c in service["type"]} == {"CodeSystem/service-type"}
    assert [(c["coding"][0]["system"], c["coding"][0]["code"]) for c in service["communication"]] == [
        ("urn:ietf:bcp:47", "en"), ("urn:ietf:bcp:47", "yue")]
    assert service["availableTime"] == [
        {"daysOfWeek": ["fri", "sun"], "availableStartTime": "22:00:00", "availableEndTime": "23:59:59"},
        {"daysOfWeek": ["mon", "sat"], "availableStartTime": "00:00:00", "availableEndTime": "02:00:00"},
        {"daysOfWeek": ["mon"], "availableStartTime": "09:00:00", "availableEndTime": "12:00:00"}]
    assert "Closed on public holidays." in service["availabilityExceptions"]
    assert "UTC-05:00" in service["availabilityExceptions"]
    assert [(t["system"], t["value"]) for t in service["telecom"]] == [
        ("phone", "555-0301"), ("sms", "555-0302"), ("email", "night@hyt.example.org"),
        ("url", "https://hyt.example.org/night")]
    assert service["characteristic"][0]["coding"][0]["code"] == "full"
    always = entries(get(client, "HealthcareService", headers=world["headers"], name="24-hour crisis line"))
    assert always[0]["availableTime"] == [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                           "allDay": True}]


def test_organization_searches_by_name_and_tier(client, db, world):
    headers = world["headers"]
    police = _all(client, headers, "Organization", name="POLICE")
    assert [o["name"] for o in police] == ["Example: District Police"]  # the archived one is not found
    assert [o["name"] for o in _all(client, headers, "Organization", name="hyt")] == ["Harbour Youth Trust"]
    tier_one = _all(client, headers, "Organization", type="1")
    names = {o.name for o in db.session.scalars(select(Organisation).where(
        Organisation.tier == 1, Organisation.archived_at.is_(None)))}
    assert {o["name"] for o in tier_one} == names and len(names) >= 3
    assert all(o["type"][0]["coding"][0]["code"] == "1" for o in tier_one)
    system = tier_one[0]["type"][0]["coding"][0]["system"]
    assert _all(client, headers, "Organization", type=f"{system}|1") == tier_one
    assert _all(client, headers, "Organization", type="3", name="police") == []


def test_service_and_location_searches(client, db, world):
    headers = world["headers"]
    trust = world["trust"]
    ours = _all(client, headers, "HealthcareService", organization=f"Organization/{trust.id}")
    assert [s["name"] for s in ours] == ["Night drop-in"]  # the archived service is not published
    assert _all(client, headers, "HealthcareService", organization=str(trust.id)) == ours
    crisis = _all(client, headers, "HealthcareService", **{"service-type": "crisis_line"})
    assert crisis and all("crisis_line" in [t["coding"][0]["code"] for t in s["type"]] for s in crisis)
    expected = {str(s.id) for s in db.session.scalars(select(Service).where(Service.archived_at.is_(None)))
                if "crisis_line" in s.type_codes and s.organisation.archived_at is None}
    assert {s["id"] for s in crisis} == expected
    named = _all(client, headers, "HealthcareService", name="DROP-IN")
    assert str(world["night"].id) in {s["id"] for s in named}
    assert {s["id"] for s in named} == {str(s.id) for s in db.session.scalars(select(Service).where(
        Service.archived_at.is_(None))) if "drop-in" in s.name.lower() and s.organisation.archived_at is None}
    places = _all(client, headers, "Location", organization=f"Organization/{trust.id}")
    assert [p["id"] for p in places] == [str(world["pier"].id)]
    assert [p["id"] for p in _all(client, headers, "Location", name="pier")] == [str(world["pier"].id)]
    assert _all(client, headers, "Location", name="old office") == []  # its organisation is archived


def test_archived_records_do_not_exist(client, db, world):
    headers = world["headers"]
    for resource_type, record_id in world["hidden"].items():
        body = get(client, f"{resource_type}/{record_id}", headers=headers, status=404)
        assert body["issue"][0]["code"] == "not-found"
    get(client, f"HealthcareService/{world['old_service'].id}", headers=headers, status=404)
    for resource_type in TYPES:
        get(client, f"{resource_type}/not-a-uuid", headers=headers, status=404)


@pytest.mark.parametrize("resource_type, query", [
    ("Organization", {"colour": "red"}), ("HealthcareService", {"language": "en"}), ("Location", {"near": "1|2"}),
    ("Organization", {"type": "9"}), ("Organization", {"type": "http://other.example|1"}),
    ("HealthcareService", {"service-type": "juggling"}), ("HealthcareService", {"organization": "Patient/1"}),
    ("Location", {"organization": "not-an-id"})])
def test_unknown_parameters_and_bad_values_answer_400(client, db, world, resource_type, query):
    body = get(client, resource_type, headers=world["headers"], status=400, **query)
    assert body["issue"][0]["severity"] == "error"


def test_paging_one_at_a_time_follows_next_links(client, db, world):
    headers = world["headers"]
    first = get(client, "Organization", headers=headers, _count="1")
    assert len(entries(first)) == 1
    following = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert following and "_offset=1" in following[0] and "_count=1" in following[0]
    second = get(client, _path(following[0]), headers=headers)
    assert len(entries(second)) == 1 and entries(second)[0]["id"] != entries(first)[0]["id"]
    whole = entries(get(client, "Organization", headers=headers, _count="2"))
    assert [r["id"] for r in whole] == [entries(first)[0]["id"], entries(second)[0]["id"]]
    only = get(client, "HealthcareService", headers=headers, organization=str(world["trust"].id), _count="1")
    assert len(entries(only)) == 1 and not [link for link in only["link"] if link["relation"] == "next"]


@pytest.mark.parametrize("role", ["resident"])
def test_the_directory_is_for_staff_only(client, db, world, make_user, role):
    headers = bearer(make_user(role), db)
    for resource_type in TYPES:
        get(client, resource_type, headers=headers, status=403)
    get(client, f"Organization/{world['trust'].id}", headers=headers, status=403)
    get(client, f"Location/{world['pier'].id}", headers=headers, status=403)
    get(client, f"HealthcareService/{world['night'].id}", headers=headers, status=403)
    get(client, f"Organization/{world['trust'].id}", status=401)  # no token


def test_tier_system_url_is_the_servers_own(client, db, world):
    org = get(client, f"Organization/{world['trust'].id}", headers=world["headers"])
    with client.application.test_request_context():
        assert org["type"][0]["coding"][0]["system"] == code_system_url("responder-tier")


def test_the_capability_statement_lists_the_directory_searches(client, db, world):
    statement = get(client, "metadata")
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in served["Organization"]["searchParam"]} == {"name", "type"}
    assert {p["name"] for p in served["HealthcareService"]["searchParam"]} == {"organization", "name", "service-type"}
    assert {p["name"]: p["type"] for p in served["Location"]["searchParam"]} == {"organization": "reference",
                                                                                  "name": "string"}
