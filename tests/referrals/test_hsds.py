"""Open Referral HSDS 3.0 JSON: the export, the round trip, and refused imports that change nothing."""
import copy
import io
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select

from carecycle.audit import AuditEvent
from referrals.models import (
    Location,
    Organisation,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceLanguage,
    ServiceTypeTag,
)
from referrals.service import directory, hsds
from tests.conftest import csrf_from


def _rich_directory(db):
    """A directory using every field the exchange carries."""
    police = directory.create_organisation(None, {
        "name": "Example: District Police", "tier": "1", "description": "Emergency response.", "phone": "555-0199",
        "email": "duty@police.example.org", "website": "https://police.example.org", "has_agreement": True,
        "agreement_start": "2024-01-01", "agreement_note": "Welfare checks within the hour.", "is_example": True,
        "alternate_name": "Police"})
    station = directory.save_location(None, police, {
        "name": "Central station", "address_1": "1 Harbour Road", "city": "Riverside", "postal_code": "",
        "country": "hk", "latitude": "22.2819", "longitude": "114.1588", "transportation": "Bus 1"})
    directory.create_service(None, police, {
        "name": "Emergency response", "description": "Immediate help.", "status": "active", "capacity": "open",
        "types": ["police", "emergency_services"], "languages": ["en", "yue", {"code": "ta", "name": "Tamil",
                                                                           "note": "Via an interpreter line"}],
        "phones": [{"number": "555-0199", "type": "voice"}, {"number": "555-0198", "type": "text",
                                                             "description": "For deaf callers"}],
        "schedules": [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00", "closes_at": "24:00"}],
        "public": True, "location_ids": [str(station.id)], "service_area": "Riverside district",
        "hours_note": "Always open"})
    shelter_org = directory.create_organisation(None, {"name": "Night Shelter", "tier": "2", "description": ""})
    shelter = directory.create_service(None, shelter_org, {
        "name": "Night shelter", "status": "temporarily closed", "capacity": "full",
        "schedules": [{"byday": "FR,SA", "opens_at": "21:00", "closes_at": "03:00"},
                      {"byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}],
        "eligibility": "Adults without a safe place to sleep.", "minimum_age": "18", "maximum_age": 99,
        "url": "https://shelter.example.org/beds", "email": "beds@shelter.example.org",
        "application_process": "Just come.", "crisis_line": True, "types": ["housing"]})
    shelter.capacity_updated_at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    gone = directory.create_organisation(None, {"name": "Closed charity", "tier": "3", "description": "Gone."})
    directory.archive_organisation(None, gone)
    db.session.commit()


def _empty_directory(db):
    for model in (ServiceAtLocation, ServiceTypeTag, ServiceLanguage, Schedule, Service, Location, Organisation):
        db.session.execute(delete(model))
    db.session.commit()


def test_the_export_is_hsds_organizations_with_their_services(client, db, make_user, bearer):
    _rich_directory(db)
    response = client.get("/api/v1/directory", headers=bearer(make_user("counsellor")))
    assert response.status_code == 200
    body = response.get_json()
    assert body["hsds_version"] == "3.0"
    names = [org["name"] for org in body["organizations"]]
    assert names == ["Example: District Police", "Night Shelter"]  # archived ones are not exported
    police = body["organizations"][0]
    assert uuid.UUID(police["id"]) and police["description"] == "Emergency response."
    service = police["services"][0]
    assert uuid.UUID(service["id"]) and service["organization_id"] == police["id"] and service["status"] == "active"
    assert {lang["code"] for lang in service["languages"]} == {"en", "yue", "ta"}
    assert service["schedules"][0]["byday"] == "MO,TU,WE,TH,FR,SA,SU" and service["schedules"][0]["freq"] == "WEEKLY"
    assert service["service_at_locations"][0]["location_id"] == police["locations"][0]["id"]
    address = police["locations"][0]["addresses"][0]
    assert address["address_1"] == "1 Harbour Road" and address["country"] == "HK"
    tier = [a for a in police["attributes"] if a["taxonomy_term"]["taxonomy"] == hsds.TAXONOMY["tier"]]
    assert tier[0]["taxonomy_term"]["code"] == "1"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export",
                                                      AuditEvent.object_type == "partner_directory"))


def test_round_trip_export_import_into_an_empty_database_export_again_equal(client, db, make_user, bearer):
    _rich_directory(db)
    headers = bearer(make_user("admin"))
    first = client.get("/api/v1/directory", headers=headers).get_json()
    _empty_directory(db)
    assert client.get("/api/v1/directory", headers=headers).get_json()["organizations"] == []
    imported = client.post("/api/v1/directory/import", json=first, headers=headers)
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["organizations_created"] == 2 and imported.get_json()["services_created"] == 2
    second = client.get("/api/v1/directory", headers=headers).get_json()
    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)
    # and importing the same file again changes nothing either
    client.post("/api/v1/directory/import", json=first, headers=headers)
    assert client.get("/api/v1/directory", headers=headers).get_json() == first


def test_round_trip_through_the_pages(client, db, login_as):
    _rich_directory(db)
    login_as("supervisor")
    exported = client.get("/directory/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    first = json.loads(exported.get_data(as_text=True))
    _empty_directory(db)
    token = csrf_from(client.get("/directory/import"))
    response = client.post("/directory/import", data={"csrf_token": token,
                                                      "file": (io.BytesIO(exported.get_data()), "directory.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert json.loads(client.get("/directory/export.json").get_data(as_text=True)) == first


def _valid_file():
    org_id, service_id = str(uuid.uuid4()), str(uuid.uuid4())
    term = {"id": str(uuid.uuid4()), "code": "3", "name": "Tier 3", "description": "",
            "taxonomy": hsds.TAXONOMY["tier"]}
    return {"organizations": [{
        "id": org_id, "name": "Good Neighbours", "description": "Visits.",
        "attributes": [{"id": str(uuid.uuid4()), "link_id": org_id, "taxonomy_term": term}],
        "services": [{"id": service_id, "name": "Visiting", "status": "active",
                      "schedules": [{"id": str(uuid.uuid4()), "byday": "MO", "opens_at": "09:00",
                                     "closes_at": "12:00"}]}]}]}


def test_a_bad_file_is_refused_with_row_and_field_and_nothing_is_half_imported(client, db, make_user, bearer):
    payload = _valid_file()
    bad = copy.deepcopy(payload["organizations"][0])
    bad["id"] = str(uuid.uuid4())
    bad["services"][0]["id"] = str(uuid.uuid4())
    bad["services"][0]["name"] = ""
    bad["services"][0]["schedules"][0]["opens_at"] = "9 o'clock"
    bad["services"][0]["schedules"][0]["id"] = str(uuid.uuid4())
    payload["organizations"].append(bad)
    response = client.post("/api/v1/directory/import", json=payload, headers=bearer(make_user("admin")))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "import_refused"
    assert "organizations[1].services[0].name" in error["fields"]
    assert "organizations[1].services[0].schedules[0].opens_at" in error["fields"]
    assert not any(key.startswith("organizations[0]") for key in error["fields"])
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0  # the good one is not imported
    assert db.session.scalar(select(func.count()).select_from(Service)) == 0


def test_an_existing_directory_is_untouched_by_a_refused_file(client, db, make_user, bearer, make_service):
    service = make_service(name="Befriending")
    payload = _valid_file()
    payload["organizations"][0]["id"] = str(service.organisation_id)  # would update it ...
    payload["organizations"][0]["name"] = "Renamed"
    payload["organizations"][0]["services"][0]["languages"] = [{"id": str(uuid.uuid4()), "code": "not a code"}]
    response = client.post("/api/v1/directory/import", json=payload, headers=bearer(make_user("admin")))
    assert response.status_code == 422
    assert "organizations[0].services[0].languages[0].code" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Organisation, service.organisation_id).name == "Org tier 3"  # ... but nothing changed


def test_missing_tier_duplicate_ids_and_bad_references_are_named(client, db, make_user, bearer):
    payload = _valid_file()
    org = payload["organizations"][0]
    twin = copy.deepcopy(org)
    twin["attributes"] = []
    twin["services"][0]["service_at_locations"] = [{"id": str(uuid.uuid4()), "location_id": str(uuid.uuid4())}]
    payload["organizations"].append(twin)
    fields = client.post("/api/v1/directory/import", json=payload,
                         headers=bearer(make_user("admin"))).get_json()["error"]["fields"]
    assert "organizations[1].id" in fields and "organizations[1].services[0].id" in fields
    assert "organizations[1].attributes" in fields
    assert "organizations[1].services[0].service_at_locations[0].location_id" in fields


def test_an_import_that_is_not_hsds_json_is_refused(client, db, make_user, bearer, login_as):
    headers = bearer(make_user("admin"))
    assert client.post("/api/v1/directory/import", data="nope", headers=headers).status_code == 400
    response = client.post("/api/v1/directory/import", json={"services": []}, headers=headers)
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]
    login_as("admin")
    token = csrf_from(client.get("/directory/import"))
    page = client.post("/directory/import", data={"csrf_token": token, "file": (io.BytesIO(b"{oops"), "x.json")},
                       content_type="multipart/form-data")
    assert page.status_code == 400 and "This is not a JSON file" in page.get_data(as_text=True)


def test_the_import_page_lists_each_problem(client, db, login_as):
    login_as("supervisor")
    payload = _valid_file()
    payload["organizations"][0]["services"][0]["status"] = "sometimes"
    token = csrf_from(client.get("/directory/import"))
    response = client.post("/directory/import", data={
        "csrf_token": token, "file": (io.BytesIO(json.dumps(payload).encode()), "x.json")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "organizations[0].services[0]" in page and "status" in page and "Nothing was changed" in page
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_who_may_export_and_import(client, db, make_user, bearer):
    assert client.get("/api/v1/directory").status_code == 401
    resident = bearer(make_user("resident"))
    assert client.get("/api/v1/directory", headers=resident).status_code == 403
    counsellor = bearer(make_user("counsellor"))
    assert client.get("/api/v1/directory", headers=counsellor).status_code == 200
    assert client.post("/api/v1/directory/import", json=_valid_file(), headers=counsellor).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_agreement_dates_round_trip(db):
    org = directory.create_organisation(None, {"name": "A", "tier": "2", "has_agreement": True,
                                               "agreement_start": date(2024, 1, 1), "agreement_end": "2026-12-31"})
    db.session.commit()
    exported = hsds.organisation_json(org)
    values = [a.get("value") for a in exported["attributes"] if a["taxonomy_term"]["code"] == "standing_agreement"]
    assert values == ["2024-01-01/2026-12-31"]


@pytest.mark.parametrize("where, key", [
    ("organization", "attributes"), ("organization", "phones"), ("organization", "locations"),
    ("organization", "services"), ("location", "addresses"), ("service", "attributes"), ("service", "phones"),
    ("service", "schedules"), ("service", "service_areas"), ("service", "languages"),
    ("service", "service_at_locations"),
])
@pytest.mark.parametrize("value", [5, {"0": {}}, "text"])
def test_a_list_that_is_not_a_list_is_named_not_a_server_error(client, db, make_user, bearer, where, key, value):
    payload = _valid_file()
    org = payload["organizations"][0]
    org["locations"] = [{"id": str(uuid.uuid4()), "name": "Office", "addresses": []}]
    target = {"organization": org, "location": org["locations"][0], "service": org["services"][0]}[where]
    target[key] = value
    response = client.post("/api/v1/directory/import", json=payload, headers=bearer(make_user("admin")))
    assert response.status_code == 422, response.get_json()
    row = {"organization": "organizations[0]", "location": "organizations[0].locations[0]",
           "service": "organizations[0].services[0]"}[where]
    assert f"{row}.{key}" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_a_bad_organisation_phone_is_reported_at_its_number(client, db, login_as, make_user, bearer):
    payload = _valid_file()
    payload["organizations"][0]["phones"] = [{"id": str(uuid.uuid4()), "number": ""},
                                             {"id": str(uuid.uuid4()), "number": "call us"}]
    response = client.post("/api/v1/directory/import", json=payload, headers=bearer(make_user("admin")))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert "organizations[0].phones[1].number" in fields and "organizations[0].phones" not in fields

    login_as("supervisor")
    upload = (io.BytesIO(json.dumps(payload).encode()), "directory.json")  # htmlform does not send files
    refused = client.post("/directory/import", data={"csrf_token": csrf_from(client.get("/directory/import")),
                                                     "file": upload}, content_type="multipart/form-data")
    text = refused.get_data(as_text=True)
    assert refused.status_code in (400, 422) and "<code>phones[1].number</code>" in text
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0
