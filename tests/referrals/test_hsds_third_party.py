"""A directory file written by another Open Referral system (tests/fixtures/hsds/third_party.json):
fields CareCycle has no column for, schedules with their offsets, a virtual location, a nested
location, another taxonomy's attributes and no CareCycle tier. It is taken in with a default tier
and exported again without loss; an updated file updates what it sent before."""
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from referrals.models import Location, Organisation, Schedule, Service
from referrals.service import hsds

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hsds" / "third_party.json"
CARECYCLE_TAXONOMIES = set(hsds.TAXONOMY.values())


def third_party() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _counts(db) -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Organisation, Location, Service, Schedule))


def _import(client, headers, payload, tier="3"):
    query = f"?default_tier={tier}" if tier is not None else ""
    return client.post(f"/api/v1/directory/import{query}", json=payload, headers=headers)


def _by_id(items: list) -> dict:
    return {item["id"]: item for item in items}


def _ours(attribute: dict) -> bool:
    return (attribute.get("taxonomy_term") or {}).get("taxonomy") in CARECYCLE_TAXONOMIES


def assert_kept(source, exported, where="organization", extra=frozenset()):
    """Every field of the source comes back with the same value; lists of objects are compared by
    id; the only additions are CareCycle's own attributes and `extra` objects (by id) in lists."""
    if isinstance(source, dict):
        assert isinstance(exported, dict), where
        for key, value in source.items():
            assert key in exported, f"{where}.{key} was lost"
            if key == "attributes":
                assert [a for a in exported[key] if not _ours(a)] == value, f"{where}.attributes"
                continue
            assert_kept(value, exported[key], f"{where}.{key}", extra)
    elif isinstance(source, list) and source and all(isinstance(item, dict) and "id" in item for item in source):
        assert isinstance(exported, list), where
        mine = _by_id(exported)
        assert set(mine) - {item["id"] for item in source} <= extra, where
        for item in source:
            assert item["id"] in mine, f"{where}[{item['id'][:8]}] was lost"
            assert_kept(item, mine[item["id"]], f"{where}[{item['id'][:8]}]", extra)
    else:
        assert exported == source, f"{where}: {exported!r} != {source!r}"


def test_the_file_is_refused_without_a_tier_and_the_message_names_default_tier(client, db, make_user, bearer):
    response = _import(client, bearer(make_user("admin")), third_party(), tier=None)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "organizations[0].attributes" in error["fields"]
    assert "default_tier" in error["fields"]["organizations[0].attributes"]
    assert _counts(db) == (0, 0, 0, 0)


@pytest.mark.parametrize("tier", ["0", "4", "one", "%20"])
def test_a_default_tier_that_is_not_1_2_or_3_is_refused_and_changes_nothing(client, db, make_user, bearer, tier):
    response = _import(client, bearer(make_user("admin")), third_party(), tier=tier)
    if tier == "%20":  # a blank value is no default: the file is refused for its missing tier instead
        assert response.status_code == 422 and "organizations[0].attributes" in response.get_json()["error"]["fields"]
    else:
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {"default_tier": "Choose tier 1, 2 or 3."}
    assert _counts(db) == (0, 0, 0, 0)


def test_imported_with_a_default_tier_and_exported_without_loss(client, db, make_user, bearer):
    headers = bearer(make_user("admin"))
    source = third_party()
    response = _import(client, headers, source)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"organizations_created": 1, "organizations_updated": 0,
                                   "services_created": 2, "services_updated": 0}
    # the hall, the online place and the annex named only inside a service_at_location
    assert _counts(db) == (1, 3, 2, 3)
    org = db.session.scalar(select(Organisation))
    assert org.tier == 3 and org.phone == "+852 2345 6789"
    line = db.session.scalar(select(Service).where(Service.name == "Warm line"))
    assert [loc.name for loc in line.locations] == ["Harbourside annex"]
    drop_in = db.session.scalar(select(Service).where(Service.name == "Neighbours' drop-in"))
    assert sorted((s.byday, s.opens_at, s.closes_at, s.utc_offset_minutes) for s in drop_in.schedules) == [
        ("MO,TU,WE,TH,FR", "09:30", "17:00", 480), ("SA", "10:00", "13:00", 480)]

    exported = client.get("/api/v1/directory", headers=headers).get_json()["organizations"]
    assert len(exported) == 1
    mine = exported[0]
    annex = source["organizations"][0]["services"][1]["service_at_locations"][0]["location"]["id"]
    assert_kept(source["organizations"][0], mine, extra={annex})
    # CareCycle's own tier travels beside the other taxonomy's attribute
    tiers = [a for a in mine["attributes"] if _ours(a) and a["taxonomy_term"]["code"] == "3"]
    assert len(tiers) == 1
    # the annex, adopted from the nested object, is listed with the organisation's places too
    assert _by_id(mine["locations"])[annex]["name"] == "Harbourside annex"


def test_a_field_edited_here_is_exported_as_edited(client, db, make_user, bearer):
    """(tests/browser/test_directory_import_page.py edits it through the service's page.)"""
    headers = bearer(make_user("admin"))
    source = third_party()
    assert _import(client, headers, source).status_code == 200
    drop_in = db.session.scalar(select(Service).where(Service.name == "Neighbours' drop-in"))
    drop_in.description = "Tea and company, Monday to Saturday."
    db.session.commit()
    exported = client.get("/api/v1/directory", headers=headers).get_json()["organizations"][0]
    service = _by_id(exported["services"])[str(drop_in.id)]
    assert service["description"] == "Tea and company, Monday to Saturday."
    # what was not edited keeps the source's values
    raw = _by_id(source["organizations"][0]["services"])[str(drop_in.id)]
    for key in ("fees_description", "service_areas", "wait_time", "interpretation_services", "url", "email"):
        assert service[key] == raw[key], key


def test_an_updated_file_updates_what_it_sent_before_and_copies_nothing(client, db, make_user, bearer):
    headers = bearer(make_user("admin"))
    assert _import(client, headers, third_party()).status_code == 200
    before = _counts(db)
    updated = third_party()
    org = updated["organizations"][0]
    org["email"] = "office@harbourside.example.org"
    org["legal_status"] = "Registered charity (since 2010)"
    drop_in = org["services"][0]
    drop_in["schedules"][1]["closes_at"] = "14:00+08:00"
    drop_in["fees_description"] = "Free."
    response = _import(client, headers, updated)
    assert response.status_code == 200
    assert response.get_json() == {"organizations_created": 0, "organizations_updated": 1,
                                   "services_created": 0, "services_updated": 2}
    assert _counts(db) == before
    db.session.expire_all()
    assert db.session.scalar(select(Organisation)).email == "office@harbourside.example.org"
    saturday = db.session.scalar(select(Schedule).where(Schedule.service_id == uuid.UUID(drop_in["id"]),
                                                        Schedule.byday == "SA"))
    assert saturday.closes_at == "14:00"
    exported = client.get("/api/v1/directory", headers=headers).get_json()["organizations"][0]
    assert_kept(org, exported, extra={org["services"][1]["service_at_locations"][0]["location"]["id"]})
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "import", AuditEvent.object_type == "partner_directory")) == 2


@pytest.mark.parametrize("shape", ["paged", "pages", "bare"])
def test_the_specifications_other_file_shapes_are_taken_in(client, db, make_user, bearer, shape):
    org = third_party()["organizations"][0]
    payload = {
        "paged": {"total_items": 1, "total_pages": 1, "page_number": 1, "size": 1, "first_page": True,
                  "last_page": True, "empty": False, "contents": [org]},
        "pages": [{"total_items": 1, "total_pages": 1, "page_number": 1, "size": 1, "first_page": True,
                   "last_page": True, "empty": False, "contents": [org]}],
        "bare": org,
    }[shape]
    response = _import(client, bearer(make_user("admin")), payload)
    assert response.status_code == 200, response.get_json()
    assert _counts(db) == (1, 3, 2, 3)


def test_a_nested_location_naming_one_of_the_organisations_places_is_that_place(client, db, make_user, bearer):
    payload = third_party()
    org = payload["organizations"][0]
    org["services"][1]["service_at_locations"][0]["location"] = {"id": org["locations"][0]["id"],
                                                                 "location_type": "physical"}
    response = _import(client, bearer(make_user("admin")), payload)
    assert response.status_code == 200, response.get_json()
    assert _counts(db) == (1, 2, 2, 3)  # no annex: the link is to the hall
    line = db.session.scalar(select(Service).where(Service.name == "Warm line"))
    assert [loc.name for loc in line.locations] == ["Harbourside community hall"]
