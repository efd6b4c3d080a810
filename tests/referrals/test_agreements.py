"""Partner agreements (memoranda of cooperation): the rules (dates, commitments, contacts), their state
today, the list of those expiring within 60 days, the pages driven through their own forms, the API,
who may do what (deny by default), encryption of the contact people and the audit of each change."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.localtime import today as local_today
from carecycle.validation import Conflict, Invalid
from referrals.enums import AgreementState
from referrals.models import PartnerAgreement
from referrals.service import agreements as service
from referrals.service import directory
from tests.htmlform import find_form, submit

PHONE = "5550 7788"


def _data(**changes) -> dict:
    today = local_today()
    data = {"title": "Emergency shelter and meals", "valid_from": (today - timedelta(days=30)).isoformat(),
            "valid_to": (today + timedelta(days=365)).isoformat(), "review_on": None, "document_reference": "MOC-7",
            "commitments": [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"},
                            {"side": "service", "quantity": 40, "unit": "counselling hours a week",
                             "what": "counselling"}],
            "contacts": [{"name": "Chan Mei Ling", "phone": PHONE, "role": "Duty officer"}]}
    data.update(changes)
    return data


@pytest.fixture
def make_agreement(db, make_org):
    def factory(org=None, **changes):
        agreement = service.create_agreement(None, org or make_org(), _data(**changes))
        db.session.commit()
        return agreement
    return factory


def _events(db, action, record_id):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                       AuditEvent.object_type == "partner_agreement",
                                                       AuditEvent.object_id == str(record_id))).all()


# ------------------------------------------------------------------ rules
def test_the_state_today_current_expiring_expired_upcoming_and_review_due(db, make_agreement):
    agreement = make_agreement()
    today = local_today()
    assert service.state(agreement, today) is AgreementState.CURRENT
    assert service.state(agreement, agreement.valid_to - timedelta(days=60)) is AgreementState.EXPIRING
    assert service.state(agreement, agreement.valid_to - timedelta(days=61)) is AgreementState.CURRENT
    assert service.state(agreement, agreement.valid_to) is AgreementState.EXPIRING  # the last day still counts
    assert service.state(agreement, agreement.valid_to + timedelta(days=1)) is AgreementState.EXPIRED
    assert service.state(agreement, agreement.valid_from - timedelta(days=1)) is AgreementState.UPCOMING
    agreement.review_on = today - timedelta(days=1)
    assert service.state(agreement, today) is AgreementState.REVIEW_DUE and service.review_due(agreement, today)
    assert not service.review_due(agreement, agreement.valid_to + timedelta(days=1))  # ended: nothing to review


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"valid_to": "2026-01-01", "valid_from": "2026-01-01"}, "valid_to", "end after"),
    ({"valid_to": "2025-12-31", "valid_from": "2026-01-01"}, "valid_to", "end after"),
    ({"valid_from": "01/13/2026"}, "valid_from", ""),
    ({"title": " "}, "title", "title"),
    ({"commitments": []}, "commitments", "at least one commitment"),
    ({"commitments": [{"side": "partner", "quantity": "", "unit": "", "what": ""}]}, "commitments",
     "at least one commitment"),
    ({"commitments": [{"side": "partner", "quantity": 0, "unit": "beds", "what": "shelter"}]},
     "commitments[0].quantity", "positive whole number"),
    ({"commitments": [{"side": "partner", "quantity": -3, "unit": "beds", "what": "shelter"}]},
     "commitments[0].quantity", "positive whole number"),
    ({"commitments": [{"side": "partner", "quantity": 2.5, "unit": "beds", "what": "shelter"}]},
     "commitments[0].quantity", "positive whole number"),
    ({"commitments": [{"side": "partner", "quantity": "ten", "unit": "beds", "what": "shelter"}]},
     "commitments[0].quantity", "positive whole number"),
    ({"commitments": [{"side": "both", "quantity": 1, "unit": "van", "what": "transport"}]},
     "commitments[0].side", "who commits"),
    ({"commitments": [{"side": "partner", "quantity": 1, "unit": "", "what": "transport"}]},
     "commitments[0].unit", "unit"),
    ({"contacts": [{"name": "Chan Mei Ling", "phone": "call the office", "role": ""}]}, "contacts[0].phone",
     "Use digits"),
    ({"contacts": [{"name": "", "phone": PHONE, "role": ""}]}, "contacts[0].name", "name"),
    ({"commitments": "10 beds"}, "commitments", "list"),
])
def test_bad_agreements_are_refused_naming_the_field(db, make_org, changes, field, words):
    org = make_org()
    with pytest.raises(Invalid) as refused:
        service.create_agreement(None, org, _data(**changes))
    assert field in refused.value.fields, refused.value.fields
    assert words.lower() in str(refused.value.fields[field]).lower()


def test_blank_rows_are_dropped_and_contacts_are_optional(db, make_org):
    blank = {"side": "partner", "quantity": "", "unit": "", "what": ""}
    agreement = service.create_agreement(None, make_org(), _data(
        commitments=[blank, {"side": "service", "quantity": "2", "unit": "vans", "what": "transport"}, blank],
        contacts=[{"name": "", "phone": "", "role": ""}]))
    assert agreement.commitments == [{"side": "service", "quantity": 2, "unit": "vans", "what": "transport"}]
    assert agreement.contacts is None


def test_each_change_is_versioned_and_audited_and_a_stale_one_refused(db, make_agreement):
    agreement = make_agreement()
    assert agreement.version == 1 and len(_events(db, "create", agreement.id)) == 1
    service.update_agreement(None, agreement, _data(title="Renewed agreement"), version=1)
    db.session.commit()
    assert agreement.version == 2 and len(_events(db, "update", agreement.id)) == 1
    with pytest.raises(Conflict):
        service.update_agreement(None, agreement, _data(title="Overwritten"), version=1)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, agreement.id).title == "Renewed agreement"


def test_the_contact_people_are_stored_encrypted(db, make_agreement):
    agreement = make_agreement()
    row = db.session.execute(text("SELECT contacts, title FROM partner_agreement WHERE id = :id"),
                             {"id": agreement.id.hex if db.engine.dialect.name == "sqlite" else agreement.id}).one()
    assert row.contacts.startswith("ccv1:")
    assert PHONE not in row.contacts and "5550" not in row.contacts and "Chan Mei Ling" not in row.contacts
    assert row.title == "Emergency shelter and meals"  # not personal data: plain
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, agreement.id).contacts[0]["phone"] == PHONE


def test_the_expiring_list_holds_agreements_in_force_ending_within_60_days(db, make_org, make_agreement):
    today = local_today()
    soon = make_agreement(title="Ends in 30 days", valid_to=(today + timedelta(days=30)).isoformat())
    edge = make_agreement(title="Ends in 60 days", valid_to=(today + timedelta(days=60)).isoformat())
    make_agreement(title="Ends in 61 days", valid_to=(today + timedelta(days=61)).isoformat())
    make_agreement(title="Ended", valid_from="2020-01-01", valid_to=(today - timedelta(days=1)).isoformat())
    archived = make_org(name="Archived partner")
    make_agreement(org=archived, title="Of an archived partner", valid_to=(today + timedelta(days=10)).isoformat())
    directory.archive_organisation(None, archived)
    db.session.commit()
    assert [a.id for a in service.expiring(today)] == [soon.id, edge.id]


# ------------------------------------------------------------------ pages
def test_a_supervisor_adds_an_agreement_through_its_form_and_edits_it(client, db, login_as, make_org):
    login_as("supervisor")
    org = make_org(name="Harbour Shelter")
    today = local_today()
    org_page = client.get(f"/directory/organisations/{org.id}").get_data(as_text=True)
    assert "No agreements recorded." in org_page and f"/directory/organisations/{org.id}/agreements/new" in org_page
    page = f"/directory/organisations/{org.id}/agreements/new"
    response = submit(client, page, "Save", {
        "Title": "Emergency shelter", "Valid from": (today - timedelta(days=10)).isoformat(),
        "Valid to": (today + timedelta(days=40)).isoformat(), "Document reference": "MOC-2026-04",
        "Row 1: Who commits": "partner", "Row 1: Quantity": "10", "Row 1: Unit": "beds", "Row 1: What": "shelter",
        "Row 2: Who commits": "service", "Row 2: Quantity": "40", "Row 2: Unit": "counselling hours a week",
        "Row 2: What": "counselling",
        "Contact 1: Name": "Chan Mei Ling", "Contact 1: Phone": PHONE, "Contact 1: Role": "Duty officer"})
    assert response.status_code == 302, response.get_data(as_text=True)
    agreement = db.session.scalar(select(PartnerAgreement))
    assert agreement.commitments == [{"side": "partner", "quantity": 10, "unit": "beds", "what": "shelter"},
                                     {"side": "service", "quantity": 40, "unit": "counselling hours a week",
                                      "what": "counselling"}]
    assert agreement.contacts == [{"name": "Chan Mei Ling", "phone": PHONE, "role": "Duty officer"}]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chan Mei Ling" in detail and PHONE in detail and "Expiring within 60 days" in detail
    org_page = client.get(f"/directory/organisations/{org.id}").get_data(as_text=True)
    assert "Emergency shelter" in org_page and "Expiring within 60 days" in org_page
    assert "10 beds of shelter" in org_page

    edit = f"/directory/agreements/{agreement.id}/edit"
    form = find_form(client.get(edit).get_data(as_text=True), button="Save")
    assert [c.attrs.get("value") for c in form.controls if c.name == "commitments-0-quantity"] == ["10"]
    response = submit(client, edit, "Save", {"Valid to": (today + timedelta(days=400)).isoformat(),
                                             "Row 3: Quantity": "2", "Row 3: Unit": "vans",
                                             "Row 3: What": "transport"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    agreement = db.session.get(PartnerAgreement, agreement.id)
    assert agreement.version == 2 and len(agreement.commitments) == 3 and agreement.commitments[2]["unit"] == "vans"
    assert service.state(agreement) is AgreementState.CURRENT
    assert agreement.contacts[0]["phone"] == PHONE  # kept through the form


def test_the_form_shows_each_rule_broken_and_saves_nothing(client, db, login_as, make_org):
    login_as("supervisor")
    org = make_org()
    response = submit(client, f"/directory/organisations/{org.id}/agreements/new", "Save", {
        "Title": "Transport", "Valid from": "2026-05-01", "Valid to": "2026-04-01",
        "Contact 1: Name": "Wong Tak Wing", "Contact 1: Phone": "ring the desk"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The agreement must end after the day it starts." in page
    assert "Add at least one commitment." in page and "Use digits, spaces, dashes" in page
    response = submit(client, f"/directory/organisations/{org.id}/agreements/new", "Save", {
        "Title": "Transport", "Valid from": "2026-01-01", "Valid to": "2027-01-01",
        "Row 1: Quantity": "0", "Row 1: Unit": "vans", "Row 1: What": "transport",
        "Row 2: Quantity": "1.5", "Row 2: Unit": "vans", "Row 2: What": "transport"})
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("Enter how many, as a positive whole number.") == 2
    assert db.session.scalar(select(PartnerAgreement)) is None


def test_a_stale_edit_on_the_page_is_shown_as_a_conflict(client, db, login_as, make_agreement):
    login_as("supervisor")
    agreement = make_agreement()
    edit = f"/directory/agreements/{agreement.id}/edit"
    opened = client.get(edit)
    service.update_agreement(None, agreement, _data(title="Changed meanwhile"), version=1)
    db.session.commit()
    response = submit(client, opened, "Save", {"Title": "My change"})
    assert response.status_code == 409 and "Someone else changed this agreement" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, agreement.id).title == "Changed meanwhile"


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_the_expiring_list(client, db, login_as, make_agreement, role):
    login_as(role)
    today = local_today()
    make_agreement(title="Ends soon", valid_to=(today + timedelta(days=20)).isoformat())
    make_agreement(title="Ends next year", valid_to=(today + timedelta(days=400)).isoformat())
    page = client.get("/directory/agreements/expiring")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Ends soon" in body and "Ends next year" not in body and ">20<" in body
    assert "/directory/agreements/expiring" in client.get("/directory").get_data(as_text=True)


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "resident"])
def test_other_roles_cannot_open_or_edit_agreements(client, db, login_as, make_agreement, role):
    login_as(role)
    agreement = make_agreement()
    org_id = agreement.organisation_id
    for path in (f"/directory/organisations/{org_id}/agreements/new", f"/directory/agreements/{agreement.id}",
                 f"/directory/agreements/{agreement.id}/edit", "/directory/agreements/expiring"):
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"title": "Taken over"}).status_code in (400, 403), path
    org_page = client.get(f"/directory/organisations/{org_id}")
    if role == "resident":
        assert org_page.status_code == 403
    else:  # directory readers see that the agreement exists, never its contact people nor an edit link
        body = org_page.get_data(as_text=True)
        assert org_page.status_code == 200 and "Emergency shelter and meals" in body
        assert PHONE not in body and "Chan Mei Ling" not in body and "/edit" not in body.split("Agreements")[1]
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, agreement.id).title == "Emergency shelter and meals"


def test_opening_an_agreement_is_audited(client, db, login_as, make_agreement):
    user = login_as("supervisor")
    agreement = make_agreement()
    assert client.get(f"/directory/agreements/{agreement.id}").status_code == 200
    views = _events(db, "view", agreement.id)
    assert [str(e.actor_id) for e in views] == [str(user.id)]


# ------------------------------------------------------------------ API
def _api(client, bearer, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=bearer(user), **kwargs)


def test_the_api_creates_reads_lists_and_updates_an_agreement(client, db, make_user, make_org, bearer):
    supervisor = make_user("supervisor")
    org = make_org(name="Harbour Shelter")
    body = _data()
    created = _api(client, bearer, supervisor, "POST", f"/directory/organizations/{org.id}/agreements", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    answer = created.get_json()
    assert answer["state"] == "current" and answer["version"] == 1 and answer["contacts"][0]["phone"] == PHONE
    assert answer["organization"] == "Harbour Shelter" and answer["commitments"][0]["quantity"] == 10
    agreement_id = answer["id"]
    assert _events(db, "create", agreement_id)

    listed = _api(client, bearer, make_user("social_worker"), "GET", f"/directory/organizations/{org.id}/agreements")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.get_json()["agreements"]] == [agreement_id]
    assert "contacts" not in listed.get_json()["agreements"][0] and PHONE not in listed.get_data(as_text=True)

    read = _api(client, bearer, supervisor, "GET", f"/directory/agreements/{agreement_id}")
    assert read.status_code == 200 and read.get_json()["contacts"][0]["name"] == "Chan Mei Ling"

    soon = (local_today() + timedelta(days=15)).isoformat()
    patched = _api(client, bearer, supervisor, "PATCH", f"/directory/agreements/{agreement_id}",
                   json={"version": 1, "valid_to": soon})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json()["version"] == 2 and patched.get_json()["state"] == "expiring"
    assert patched.get_json()["title"] == body["title"] and patched.get_json()["contacts"] == body["contacts"]
    assert _events(db, "update", agreement_id)

    stale = _api(client, bearer, supervisor, "PATCH", f"/directory/agreements/{agreement_id}",
                 json={"version": 1, "title": "Overwrite"})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"]

    expiring = _api(client, bearer, supervisor, "GET", "/directory/agreements/expiring")
    assert expiring.status_code == 200 and [a["id"] for a in expiring.get_json()["agreements"]] == [agreement_id]
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, uuid.UUID(agreement_id)).title == body["title"]


def test_the_api_refuses_unknown_fields_and_bad_values_with_422(client, db, make_user, make_org, bearer):
    supervisor = make_user("supervisor")
    org = make_org()
    path = f"/directory/organizations/{org.id}/agreements"
    unknown = _api(client, bearer, supervisor, "POST", path, json=_data(reserved_capacity=3))
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["fields"] == {"reserved_capacity": "Unknown field."}
    nested = _api(client, bearer, supervisor, "POST", path, json=_data(
        commitments=[{"side": "partner", "quantity": 1, "unit": "van", "what": "transport", "colour": "red"}]))
    assert nested.status_code == 422 and nested.get_json()["error"]["fields"] == {
        "commitments[0].colour": "Unknown field."}
    bad = _api(client, bearer, supervisor, "POST", path, json=_data(
        valid_from="2026-03-01", valid_to="2026-02-01",
        commitments=[{"side": "partner", "quantity": 0, "unit": "beds", "what": "shelter"}]))
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"valid_to", "commitments[0].quantity"}
    none = _api(client, bearer, supervisor, "POST", path, json=_data(commitments=[]))
    assert none.status_code == 422 and "commitments" in none.get_json()["error"]["fields"]
    assert db.session.scalar(select(PartnerAgreement)) is None


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "resident"])
def test_the_api_denies_other_roles(client, db, make_user, make_agreement, bearer, role):
    user = make_user(role)
    agreement = make_agreement()
    org_id = agreement.organisation_id
    calls = [("POST", f"/directory/organizations/{org_id}/agreements", _data()),
             ("GET", f"/directory/agreements/{agreement.id}", None),
             ("PATCH", f"/directory/agreements/{agreement.id}", {"title": "Taken over"}),
             ("GET", "/directory/agreements/expiring", None)]
    for method, path, body in calls:
        response = _api(client, bearer, user, method, path, json=body)
        assert response.status_code == 403, (method, path, response.status_code)
    listed = _api(client, bearer, user, "GET", f"/directory/organizations/{org_id}/agreements")
    assert listed.status_code == (403 if role == "resident" else 200)
    assert client.get(f"/api/v1/directory/agreements/{agreement.id}").status_code == 401
    db.session.expire_all()
    assert db.session.get(PartnerAgreement, agreement.id).title == "Emergency shelter and meals"
    assert db.session.scalar(select(PartnerAgreement).where(PartnerAgreement.id != agreement.id)) is None


def test_the_demo_has_agreements_one_expiring_and_loads_once(db):
    from referrals.demo import load_demo
    lines: list[str] = []
    load_demo(lines.append)
    load_demo(lines.append)
    rows = db.session.scalars(select(PartnerAgreement)).all()
    assert len(rows) == 3 and "referrals demo: partner agreements already loaded" in lines
    assert len(service.expiring()) == 1
    assert all(r.organisation.is_example and r.contacts for r in rows)
    assert date.today() - timedelta(days=400) < rows[0].valid_from
