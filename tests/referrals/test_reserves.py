"""Reserves at three levels (service, community, household): the rules of an item and of its stock
movements (appended, never overwritten, never below zero), the marks (low, near expiry, expired),
the pages driven through their own forms, the API, who sees and does what (team scope, the
register's rule for household items, deny by default), encryption and audit."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.extensions import db as _db
from carecycle.localtime import today as local_today
from carecycle.validation import Conflict, Invalid
from casework.service import register as register_service
from referrals.models import ReserveItem, ReserveMovement
from referrals.service import agreements
from referrals.service import reserves as service
from tests.conftest import form_post
from tests.htmlform import submit


def _data(**changes) -> dict:
    data = {"level": "service", "kind": "water", "name": "Bottled water 1.5 l", "unit": "bottles", "quantity": 120,
            "low_at": 40, "expires_on": (local_today() + timedelta(days=200)).isoformat(),
            "location": "Store room B"}
    data.update(changes)
    return data


@pytest.fixture
def make_item(db):
    def factory(user, **changes):
        item = service.create_item(user, _data(**changes))
        db.session.commit()
        return item
    return factory


def _agreement(org):
    today = local_today()
    return agreements.create_agreement(None, org, {
        "title": "Shelter memorandum", "valid_from": today.isoformat(), "valid_to": (today + timedelta(days=365))
        .isoformat(), "commitments": [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"}]})


# ------------------------------------------------------------------ rules
def test_an_item_opens_with_its_stock_and_every_change_is_appended(db, make_user, make_item):
    worker = make_user("social_worker")
    item = make_item(worker)
    assert item.quantity == 120 and item.team_id == worker.team_id
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 30, "note": "Shelter at the sports centre"},
                            item.version)
    service.record_movement(worker, item, {"kind": "received", "quantity": 10})
    service.record_movement(worker, item, {"kind": "counted", "quantity": 95})  # 100 on record, 95 found
    db.session.commit()
    rows = db.session.scalars(select(ReserveMovement).where(ReserveMovement.item_id == item.id)
                              .order_by(ReserveMovement.at)).all()
    assert [(m.kind, m.change, m.quantity_after) for m in rows] == [
        ("opening", 120, 120), ("drawn", -30, 90), ("received", 10, 100), ("counted", -5, 95)]
    assert item.quantity == 95 == sum(m.change for m in rows)
    assert rows[1].note == "Shelter at the sports centre"


@pytest.mark.parametrize(("movement", "field", "words"), [
    ({"kind": "drawn", "quantity": 121}, "quantity", "Only 120 bottles on hand"),
    ({"kind": "discarded", "quantity": 500}, "quantity", "Only 120 bottles on hand"),
    ({"kind": "drawn", "quantity": 0}, "quantity", "more than 0"),
    ({"kind": "drawn", "quantity": -3}, "quantity", "whole number"),
    ({"kind": "drawn", "quantity": "ten"}, "quantity", "whole number"),
    ({"kind": "drawn", "quantity": 2.5}, "quantity", "whole number"),
    ({"kind": "drawn"}, "quantity", "how many"),
    ({"kind": "opening", "quantity": 5}, "kind", "Choose what happened"),
    ({"kind": "stolen", "quantity": 5}, "kind", "Choose what happened"),
    ({"kind": "received", "quantity": 10**9}, "quantity", "whole number"),
])
def test_a_bad_movement_is_refused_naming_the_field_and_changes_nothing(db, make_user, make_item, movement,
                                                                        field, words):
    worker = make_user("social_worker")
    item = make_item(worker)
    with pytest.raises(Invalid) as refused:
        service.record_movement(worker, item, movement)
    assert words in refused.value.fields[field]
    db.session.rollback()
    assert db.session.get(ReserveItem, item.id).quantity == 120
    assert db.session.scalar(select(ReserveMovement.id).where(ReserveMovement.kind != "opening")) is None


def test_a_stale_movement_is_refused(db, make_user, make_item):
    worker = make_user("social_worker")
    item = make_item(worker)
    seen = item.version
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 1}, seen)
    db.session.commit()
    with pytest.raises(Conflict):
        service.record_movement(worker, item, {"kind": "drawn", "quantity": 1}, seen)
    assert item.quantity == 119


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"level": "street"}, "level", "who holds it"),
    ({"kind": "gold"}, "kind", "what kind"),
    ({"name": " "}, "name", "Say what it is"),
    ({"unit": ""}, "unit", "unit"),
    ({"quantity": -1}, "quantity", "whole number"),
    ({"quantity": None}, "quantity", "how many there are now"),
    ({"expires_on": None}, "expires_on", "expiry date"),  # water keeps only so long
    ({"expires_on": "31/12/2027"}, "expires_on", ""),
    ({"low_at": "a few"}, "low_at", "whole number"),
    ({"level": "community"}, "organization_id", "choose the organisation"),
    ({"level": "household"}, "register_entry_id", "choose them"),
    ({"level": "community", "organization_id": "not-an-id"}, "organization_id", "partner organisation"),
])
def test_a_bad_item_is_refused_naming_the_field(db, make_user, changes, field, words):
    worker = make_user("social_worker")
    with pytest.raises(Invalid) as refused:
        service.create_item(worker, _data(**changes))
    assert words in refused.value.fields[field]
    db.session.rollback()
    assert db.session.scalar(select(ReserveItem.id)) is None


def test_a_community_reserve_is_held_by_a_partner_under_its_own_agreement(db, make_user, make_org):
    worker = make_user("social_worker")
    org, other = make_org(name="Harbour Shelter"), make_org(name="Elsewhere")
    agreement = _agreement(org)
    db.session.commit()
    item = service.create_item(worker, _data(level="community", kind="shelter", name="Camp beds", unit="beds",
                                             expires_on=None, organization_id=str(org.id),
                                             agreement_id=str(agreement.id)))
    assert item.organisation_id == org.id and item.agreement_id == agreement.id
    with pytest.raises(Invalid) as refused:
        service.create_item(worker, _data(level="community", kind="shelter", name="Camp beds", unit="beds",
                                          expires_on=None, organization_id=str(other.id),
                                          agreement_id=str(agreement.id)))
    assert "agreement_id" in refused.value.fields
    with pytest.raises(Invalid) as refused:  # a service reserve names no partner
        service.create_item(worker, _data(organization_id=str(org.id)))
    assert "organization_id" in refused.value.fields


def test_marks_low_near_expiry_and_expired(db, make_user, make_item):
    worker = make_user("social_worker")
    today = local_today()
    item = make_item(worker, expires_on=(today + timedelta(days=30)).isoformat())
    assert service.marks(item, today) == service.Marks(low=False, expired=False, near_expiry=True)
    assert not service.marks(item, today - timedelta(days=1)).near_expiry  # 31 days away
    assert service.marks(item, today + timedelta(days=31)).expired
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 80})  # 40 left: the low mark
    assert service.marks(item, today).low and service.marks(item, today).attention
    service.record_movement(worker, item, {"kind": "received", "quantity": 1})
    assert not service.marks(item, today).low


# ------------------------------------------------------------------ who sees what
def test_a_team_sees_only_its_own_reserves(db, make_user, make_item):
    mine, theirs = make_user("social_worker", team="a"), make_user("social_worker", team="b")
    item = make_item(mine)
    assert [i.id for i in service.items(mine)[0]] == [item.id]
    assert service.items(theirs)[0] == []
    assert service.items(make_user("admin"))[0] == []


def test_a_household_reserve_is_seen_only_with_the_persons_register_entry(db, make_user, make_client, put_on):
    worker = make_user("social_worker", team="a")
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=10)
    db.session.commit()
    item = service.create_item(worker, _data(level="household", kind="medicine", name="Insulin pens", unit="pens",
                                             quantity=6, low_at=2, register_entry_id=str(entry.id),
                                             location="Fridge door"))
    db.session.commit()
    assert [i.id for i in service.items(worker, "household")[0]] == [item.id]
    # a person of another team cannot be chosen, and another team does not see the item
    other = make_user("social_worker", team="b")
    with pytest.raises(Invalid) as refused:
        service.create_item(other, _data(level="household", kind="medicine", name="Insulin pens", unit="pens",
                                         register_entry_id=str(entry.id)))
    assert "register_entry_id" in refused.value.fields
    assert service.items(other)[0] == []


def test_where_it_is_kept_and_the_notes_are_encrypted_and_changes_audited(db, make_user, make_item):
    worker = make_user("social_worker")
    item = make_item(worker)
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 2, "note": "For Mrs Lau at Block 4"})
    db.session.commit()
    stored = db.session.execute(text("SELECT location FROM reserve_item")).scalar()
    notes = db.session.execute(text("SELECT note FROM reserve_movement WHERE note IS NOT NULL")).scalars().all()
    assert "Store room" not in str(stored) and all("Lau" not in str(n) for n in notes) and len(notes) == 1
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "reserve_item",
                                                         AuditEvent.object_id == str(item.id))).all()
    assert sorted((e.action, e.reason) for e in events) == [("create", None), ("update", "drawn -2")]


# ------------------------------------------------------------------ pages
def test_a_social_worker_records_a_reserve_and_a_draw_through_the_forms(client, db, login_as):
    worker = login_as("social_worker")
    listing = client.get("/reserves").get_data(as_text=True)
    assert "No reserves recorded yet." in listing and "/reserves/new" in listing
    response = submit(client, "/reserves/new", "Save", {
        "Who holds it": "service", "Kind": "medicine", "What it is": "Paracetamol 500 mg", "Unit": "boxes",
        "How many now": "20", "Low at": "5", "Expires on": (local_today() + timedelta(days=20)).isoformat(),
        "Where it is kept": "Cabinet 2"})
    assert response.status_code == 302, response.get_data(as_text=True)
    item = db.session.scalar(select(ReserveItem))
    assert item.name == "Paracetamol 500 mg" and item.quantity == 20 and item.team_id == worker.team_id
    detail = response.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "Expires within 30 days" in page and "Cabinet 2" in page and "Opening stock" in page

    response = submit(client, detail, "Record", {"What happened": "drawn", "How many": "16",
                                                 "Note (optional)": "Night shelter"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(detail).get_data(as_text=True)
    assert "Low stock" in page and "Night shelter" in page and "-16" in page
    listing = client.get("/reserves?attention=1").get_data(as_text=True)
    assert "Paracetamol 500 mg" in listing and "Low stock" in listing


def test_the_forms_show_what_is_wrong_and_save_nothing(client, db, login_as, make_user):
    worker = login_as("social_worker")
    response = submit(client, "/reserves/new", "Save", {"Who holds it": "community", "Kind": "food",
                                                        "What it is": "", "Unit": "meals", "How many now": "-4"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Say what it is" in page and "choose the organisation" in page and "expiry date" in page
    assert db.session.scalar(select(ReserveItem.id)) is None
    item = service.create_item(worker, _data())
    db.session.commit()
    response = submit(client, f"/reserves/{item.id}", "Record", {"What happened": "drawn", "How many": "500"})
    assert response.status_code == 400 and "Only 120 bottles on hand" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 120


def test_a_stale_stock_form_is_shown_as_a_conflict(client, db, login_as):
    worker = login_as("social_worker")
    item = service.create_item(worker, _data())
    db.session.commit()
    opened = client.get(f"/reserves/{item.id}")
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 10})
    db.session.commit()
    response = submit(client, opened, "Record", {"What happened": "drawn", "How many": "5"})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 110


def _without_csrf(app, monkeypatch):
    """So a forbidden post reaches the permission check (the CSRF check would refuse it first)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])


def test_counsellors_read_reserves_but_do_not_record_them(app, client, db, login_as, make_user, monkeypatch):
    _without_csrf(app, monkeypatch)
    counsellor = login_as("counsellor")
    item = service.create_item(make_user("social_worker", team=counsellor.team), _data())
    db.session.commit()
    assert client.get(f"/reserves/{item.id}").status_code == 200
    assert "Record a change of stock" not in client.get(f"/reserves/{item.id}").get_data(as_text=True)
    assert client.get("/reserves/new").status_code == 403
    assert client.post(f"/reserves/{item.id}/movements", data={"kind": "drawn", "quantity": "5"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 120


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_admins_and_residents_cannot_reach_reserves(client, db, login_as, make_user, role):
    login_as(role)
    item = service.create_item(make_user("social_worker"), _data())
    db.session.commit()
    for path in ("/reserves", "/reserves/new", f"/reserves/{item.id}"):
        assert client.get(path).status_code == 403, path


def test_another_teams_item_is_not_found(app, client, db, login_as, make_user, monkeypatch):
    _without_csrf(app, monkeypatch)
    login_as("supervisor", team="a")
    item = service.create_item(make_user("social_worker", team="b"), _data())
    db.session.commit()
    assert client.get(f"/reserves/{item.id}").status_code == 404
    assert client.post(f"/reserves/{item.id}/movements", data={"kind": "drawn", "quantity": "5"}).status_code == 404


# ------------------------------------------------------------------ API
def _api(client, bearer, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=bearer(user), **kwargs)


def test_the_api_records_lists_reads_and_moves_stock(client, db, make_user, bearer):
    worker = make_user("social_worker")
    created = _api(client, bearer, worker, "POST", "/reserves", json=_data())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["quantity"] == 120 and body["location"] == "Store room B"
    assert [m["kind"] for m in body["movements"]] == ["opening"]
    path = f"/reserves/{body['id']}/movements"
    moved = _api(client, bearer, worker, "POST", path, json={"kind": "drawn", "quantity": 90,
                                                             "version": body["version"]})
    assert moved.status_code == 201 and moved.get_json()["quantity"] == 30 and moved.get_json()["marks"]["low"]
    stale = _api(client, bearer, worker, "POST", path, json={"kind": "drawn", "quantity": 1,
                                                             "version": body["version"]})
    assert stale.status_code == 409
    too_many = _api(client, bearer, worker, "POST", path, json={"kind": "drawn", "quantity": 31})
    assert too_many.status_code == 422 and "quantity" in too_many.get_json()["error"]["fields"]
    unknown = _api(client, bearer, worker, "POST", path, json={"kind": "drawn", "quantity": 1, "who": "me"})
    assert unknown.status_code == 422 and "who" in unknown.get_json()["error"]["fields"]
    listed = _api(client, bearer, make_user("counsellor", team=worker.team), "GET", "/reserves?attention=1")
    assert listed.status_code == 200 and [r["id"] for r in listed.get_json()["reserves"]] == [body["id"]]
    assert _api(client, bearer, worker, "GET", "/reserves?level=street").status_code == 422
    read = _api(client, bearer, worker, "GET", f"/reserves/{body['id']}")
    assert [m["change"] for m in read.get_json()["movements"]] == [-90, 120]
    db.session.expire_all()
    assert db.session.get(ReserveItem, uuid.UUID(body["id"])).quantity == 30


@pytest.mark.parametrize("role", ["counsellor", "admin", "resident"])
def test_the_api_refuses_recording_to_other_roles(client, db, make_user, bearer, role):
    worker = make_user("social_worker")
    item = service.create_item(worker, _data())
    db.session.commit()
    user = make_user(role, team=worker.team) if role == "counsellor" else make_user(role)
    assert _api(client, bearer, user, "POST", "/reserves", json=_data()).status_code == 403
    assert _api(client, bearer, user, "POST", f"/reserves/{item.id}/movements",
                json={"kind": "drawn", "quantity": 1}).status_code == 403
    if role != "counsellor":
        assert _api(client, bearer, user, "GET", "/reserves").status_code == 403
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 120
    assert db.session.scalar(select(ReserveItem.id).where(ReserveItem.id != item.id)) is None


def test_an_account_held_for_a_supervisor_neither_reads_nor_records_reserves(app, client, db, make_user, bearer,
                                                                             monkeypatch):
    """Recording stock is not itself case access, but an account whose access waits for a supervisor
    (carecycle.accounts.separation) is refused it with the same 403 as the case pages."""
    _without_csrf(app, monkeypatch)
    item = service.create_item(make_user("social_worker"), _data())
    held = make_user("social_worker", access_pending=True)  # the same team as the item's
    for method, path, body in (("GET", "/reserves", None), ("POST", "/reserves", _data(name="Blankets")),
                               ("POST", f"/reserves/{item.id}/movements", {"kind": "drawn", "quantity": 5})):
        assert _api(client, bearer, held, method, path, json=body).status_code == 403, path
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 120
    assert db.session.scalar(select(ReserveItem.id).where(ReserveItem.id != item.id)) is None


# ------------------------------------------------------------------ household reserves at outreach
def _household(user, entry, **changes):
    item = service.create_item(user, _data(level="household", kind="medicine", name="Insulin pens", unit="pens",
                                           quantity=6, low_at=2, register_entry_id=str(entry.id),
                                           location="Fridge door", **changes))
    _db.session.commit()
    return item


def test_household_reserves_are_recorded_and_counted_from_the_register_entry(client, db, login_as, make_client,
                                                                             put_on):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=10)
    page_url = f"/vulnerable-register/{entry.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Household reserves" in page and "No household reserves recorded for this person." in page
    # the page's own link opens the form with the level and the person already chosen
    link = next(a for a in page.split('href="')[1:] if a.startswith("/reserves/new?")).split('"')[0]
    form_page = client.get(link.replace("&amp;", "&"))
    response = submit(client, form_page, "Save", {
        "Kind": "medicine", "What it is": "Insulin pens", "Unit": "pens", "How many now": "6", "Low at": "2",
        "Expires on": (local_today() + timedelta(days=90)).isoformat(), "Where it is kept": "Fridge door"})
    assert response.status_code == 302 and response.headers["Location"] == page_url
    item = db.session.scalar(select(ReserveItem))
    assert (item.level, item.register_entry_id, item.quantity) == ("household", entry.id, 6)
    page = client.get(page_url)
    assert "Insulin pens" in page.get_data(as_text=True) and "6 pens" in page.get_data(as_text=True)
    # counted at the visit: 2 left, so it is marked low, and the page comes back to the entry
    response = submit(client, page, "Record count", {"How many of Insulin pens there are now": "2"})
    assert response.status_code == 302 and response.headers["Location"].startswith(page_url)
    db.session.expire_all()
    item = db.session.get(ReserveItem, item.id)
    assert item.quantity == 2
    assert [(m.kind, m.change) for m in service.movements(item)] == [("counted", -4), ("opening", 6)]
    assert "Low stock" in client.get(page_url).get_data(as_text=True)


def test_a_count_at_the_visit_that_is_wrong_or_stale_changes_nothing(client, db, login_as, make_client, put_on):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="orange")
    item = _household(worker, entry)
    opened = client.get(f"/vulnerable-register/{entry.id}")
    response = submit(client, opened, "Record count", {"How many of Insulin pens there are now": "-1"})
    assert response.status_code == 400 and "whole number" in response.get_data(as_text=True)
    service.record_movement(worker, item, {"kind": "drawn", "quantity": 1})
    db.session.commit()
    response = submit(client, opened, "Record count", {"How many of Insulin pens there are now": "3"})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(ReserveItem, item.id).quantity == 5


def test_only_a_local_page_is_gone_back_to(client, db, login_as):
    worker = login_as("social_worker")
    item = service.create_item(worker, _data())
    db.session.commit()
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        db.session.expire_all()
        version = db.session.get(ReserveItem, item.id).version
        response = form_post(client, f"/reserves/{item.id}/movements", {
            "version": version, "kind": "counted", "quantity": "120", "next": target}, page=f"/reserves/{item.id}")
        assert response.status_code == 302 and response.headers["Location"] == f"/reserves/{item.id}"


def test_who_sees_household_reserves_on_the_register_entry(client, db, login_as, make_user, make_client, put_on):
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    _household(worker, entry)
    page_url = f"/vulnerable-register/{entry.id}"
    # a counsellor of the team reads them but has no count form and no link to record one
    login_as("counsellor", team=worker.team)
    page = client.get(page_url).get_data(as_text=True)
    assert "Insulin pens" in page and "Record count" not in page and "Record a household reserve" not in page
    # taken off the register: the record stays, nothing more is recorded from the page
    register_service.remove_from_register(worker, entry, entry.version, "Moved to her daughter's")
    db.session.commit()
    form_post(client, "/logout", {}, page=page_url)
    login_as("social_worker", team=worker.team)
    page = client.get(page_url).get_data(as_text=True)
    assert "Insulin pens" in page and "Record count" not in page and "Record a household reserve" not in page


def test_a_household_item_is_refused_for_a_person_not_on_the_register(client, db, login_as, make_client, put_on):
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    register_service.remove_from_register(worker, entry, entry.version, "Moved away")
    db.session.commit()
    page = client.get(f"/reserves/new?level=household&register_entry_id={entry.id}")
    assert f'value="{entry.id}"' not in page.get_data(as_text=True)  # not offered, so not preselected
    with pytest.raises(Invalid) as refused:
        service.create_item(worker, _data(level="household", kind="medicine", name="Insulin pens", unit="pens",
                                          register_entry_id=str(entry.id)))
    assert "register_entry_id" in refused.value.fields


def test_the_demo_has_household_reserves_on_red_tier_entries_and_loads_them_once(client, db):
    from carecycle.accounts.models import User
    from carecycle.demo import DEMO_PASSWORD, load_demo
    from tests.conftest import sign_in
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("referrals demo: 3 household reserves created") == 1
    rows = db.session.scalars(select(ReserveItem).where(ReserveItem.level == "household")).all()
    assert len(rows) == 3 and {r.register_entry.tier for r in rows} == {"red"}
    assert len({r.register_entry_id for r in rows}) == 2
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    assert any(service.marks(r).low for r in rows) and any(service.marks(r).near_expiry for r in rows)
    # the demo social worker finds them on the person's register entry
    assert sign_in(client, worker.username, DEMO_PASSWORD).status_code == 302
    page = client.get(f"/vulnerable-register/{rows[0].register_entry_id}").get_data(as_text=True)
    assert rows[0].name in page and "Record count" in page
