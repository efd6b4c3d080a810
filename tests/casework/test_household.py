"""Household emergency plans: written and signed through the page's own forms (a draft edited in
place, signing freezing it, the next change a new version, the earlier ones kept), the rules (who
checks on them is required, days held a whole number), optimistic locking, the emergency outreach
list ordered by when the first medicine runs out, who may see and do what, encryption and audit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from casework.models import HouseholdPlanVersion
from casework.service import household as service
from tests.conftest import form_post, sign_in
from tests.htmlform import submit

PLAN = {"checker": "Mrs Lee next door", "check_every": "twice a day", "equipment": "Oxygen concentrator",
        "phones_fail": "Knock; the caretaker has a radio", "go_to": "Daughter's flat in Block 4",
        "key_holder": "The caretaker", "medicines": [{"name": "Insulin pens", "days": 5}]}


def _signed(user, client, days, signed_days_ago=0, **changes):
    from carecycle.extensions import db
    service.save_draft(user, client, {**PLAN, "medicines": [{"name": "Tablets", "days": days}], **changes})
    plan = service.sign(user, client)
    plan.signed_at = utcnow() - timedelta(days=signed_days_ago)
    db.session.commit()
    return plan


def test_a_plan_is_written_signed_and_changed_through_the_page(client, db, login_as, make_client):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker, full_name="Lau Mei Ling")
    record = client.get(f"/clients/{person.id}").get_data(as_text=True)
    assert "No household plan yet." in record and f"/clients/{person.id}/household-plan" in record
    url = f"/clients/{person.id}/household-plan"
    refused = submit(client, url, "Save the draft", {"Row 1: Medicine or supply": "Insulin pens",
                                                     "Row 1: Days held": "lots"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Say who checks on them" in page and "how many days of it they hold" in page
    assert 'value="Insulin pens"' in page  # what was typed stays
    assert db.session.scalar(select(HouseholdPlanVersion.id)) is None

    saved = submit(client, refused, "Save the draft", {
        "Who checks on them in an emergency": "Mrs Lee next door", "How often": "twice a day",
        "Row 1: Days held": "5", "Row 2: Medicine or supply": "Blood-pressure tablets", "Row 2: Days held": "12",
        "Where they would go": "Daughter's flat in Block 4", "Who holds a key": "The caretaker"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    draft = db.session.scalar(select(HouseholdPlanVersion))
    assert (draft.number, draft.signed_at, draft.medicine_days) == (1, None, 5)
    assert draft.content["medicines"] == [{"name": "Insulin pens", "days": 5},
                                          {"name": "Blood-pressure tablets", "days": 12}]
    signed = submit(client, url, "Sign version 1")
    assert signed.status_code == 302
    db.session.expire_all()
    assert db.session.get(HouseholdPlanVersion, draft.id).signed_by_id == worker.id

    # a change starts version 2; version 1 stays as it was signed
    submit(client, url, "Save the draft", {"Row 1: Days held": "2"})
    rows = db.session.scalars(select(HouseholdPlanVersion).order_by(HouseholdPlanVersion.number)).all()
    assert [(v.number, v.signed_at is not None, v.medicine_days) for v in rows] == [(1, True, 5), (2, False, 2)]
    first = client.get(url + "?version=1").get_data(as_text=True)
    assert "Version 1" in first and "5 days held" in first
    assert "Version 2" in client.get(url).get_data(as_text=True)
    assert client.get(url + "?version=9").status_code == 404


def test_a_stale_form_is_refused_and_changes_nothing(client, db, login_as, make_client):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    url = f"/clients/{person.id}/household-plan"
    opened = client.get(url)
    service.save_draft(worker, person, PLAN)  # someone else starts the draft meanwhile
    db.session.commit()
    response = submit(client, opened, "Save the draft", {"Who checks on them in an emergency": "Nobody"})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(HouseholdPlanVersion)).content["checker"] == "Mrs Lee next door"
    with pytest.raises(Conflict):
        service.sign(worker, person, version=99)
    with pytest.raises(Invalid):
        service.save_draft(worker, person, {**PLAN, "medicines": [{"name": "", "days": 4}]})


def test_nothing_to_sign_without_a_draft(db, make_user, make_client):
    worker = make_user("social_worker")
    with pytest.raises(Invalid):
        service.sign(worker, make_client(worker.team, worker))


def test_the_emergency_list_puts_whose_medicine_runs_out_first_at_the_top(client, db, login_as, make_user,
                                                                         make_client, put_on):
    worker = login_as("social_worker")
    late = make_client(worker.team, worker, full_name="Wong Tak Wing")
    soon = make_client(worker.team, worker, full_name="Lau Mei Ling")
    none = make_client(worker.team, worker, full_name="Chan Siu Ming")
    _signed(worker, late, 10)
    _signed(worker, soon, 12, signed_days_ago=10)  # 2 days left
    _signed(worker, none, None, medicines=[])
    put_on(worker, soon, tier="red")
    other = make_user("social_worker", team="elsewhere")
    _signed(other, make_client(other.team, other, full_name="Ho Wing Sze"), 1)
    rows = service.emergency_list(worker)
    assert [c.display_name for c, _p, _e, _d in rows] == [soon.display_name, late.display_name, none.display_name]
    page = client.get("/household-plans").get_data(as_text=True)
    assert page.index(soon.display_name) < page.index(late.display_name) < page.index(none.display_name)
    assert "Ho Wing Sze" not in page and "2 days" in page
    assert "/household-plans" in client.get("/vulnerable-register").get_data(as_text=True)


def test_the_plan_is_encrypted_and_audited(db, make_user, make_client):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    plan = service.save_draft(worker, person, PLAN)
    service.sign(worker, person)
    db.session.commit()
    stored = db.session.execute(text("SELECT content FROM household_plan_version")).scalar()
    assert "Mrs Lee" not in str(stored) and "Insulin" not in str(stored)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "household_plan",
                                                         AuditEvent.object_id == str(plan.id))).all()
    assert sorted(e.reason for e in events) == ["draft 1", "signed 1"]


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_other_roles_cannot_reach_a_plan(app, client, db, login_as, make_user, make_client, role, monkeypatch):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.get(f"/clients/{person.id}/household-plan").status_code == 403
    assert client.get("/household-plans").status_code == 403
    assert client.post(f"/clients/{person.id}/household-plan", data={"checker": "x"}).status_code == 403
    assert db.session.scalar(select(HouseholdPlanVersion.id)) is None


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_only_those_who_may_edit_the_client_sign_a_plan(app, client, db, login_as, make_user, make_client, role,
                                                         monkeypatch):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    draft = service.save_draft(worker, person, PLAN)
    db.session.commit()
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    answer = client.post(f"/clients/{person.id}/household-plan/sign", data={"version": draft.version})
    assert answer.status_code == 403
    db.session.expire_all()
    assert db.session.get(HouseholdPlanVersion, draft.id).signed_at is None
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.reason == "signed 1")).all()


def test_another_teams_client_is_not_found(client, db, login_as, make_user, make_client):
    other = make_user("social_worker", team="elsewhere")
    person = make_client(other.team, other)
    login_as("social_worker")
    assert client.get(f"/clients/{person.id}/household-plan").status_code == 404


def test_the_demo_has_signed_plans_of_red_tier_people_and_loads_them_once(db):
    from carecycle.accounts.models import User
    from carecycle.demo import load_demo
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("casework demo: 2 signed household emergency plans") == 1
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    rows = service.emergency_list(worker)
    red = [plan.medicine_days for _c, plan, entry, _d in rows if entry is not None and entry.tier == "red"]
    assert red == [5, 12]
    assert said.count("casework demo: the resident account has a shared household plan") == 1
    resident = db.session.scalar(select(User).where(User.username == "resident"))
    shared = service.shared_plan_for(resident)
    assert shared is not None and shared.signed_at is not None and shared in [plan for _c, plan, _e, _d in rows]


# ------------------------------------------------------------------ sharing with the person
def _switch(client, user):
    form_post(client, "/logout", {}, page="/")
    assert sign_in(client, user.username).status_code == 302


def _linked(make_user, make_client, worker):
    resident = make_user("resident")
    person = make_client(worker.team, worker, full_name="Chan Siu Wah")
    person.resident_user_id = resident.id
    from carecycle.extensions import db
    db.session.commit()
    return resident, person


def test_a_signed_plan_is_shared_with_the_person_and_sharing_stopped_through_the_page(client, db, login_as,
                                                                                      make_user, make_client):
    worker = login_as("social_worker")
    resident, person = _linked(make_user, make_client, worker)
    url = f"/clients/{person.id}/household-plan"
    service.save_draft(worker, person, PLAN)
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Share version" not in page  # nothing signed yet
    submit(client, url, "Sign version 1")
    assert "The household plan is not shared with them." in client.get(url).get_data(as_text=True)
    shared = submit(client, url, "Share version 1 with the person")
    assert shared.status_code == 302 and shared.headers["Location"].endswith("#household-sharing")
    page = client.get(url).get_data(as_text=True)
    assert "Version 1 is shared with them since" in page and "Share version 1" not in page

    _switch(client, resident)
    mine = client.get("/my/household-plan")
    assert mine.status_code == 200
    text_of = mine.get_data(as_text=True)
    assert "Mrs Lee next door" in text_of and "Insulin pens" in text_of and "Who checks on you" in text_of
    assert "Mrs Lee next door" in client.get("/my/records").get_data(as_text=True)
    assert 'href="/my/household-plan"' in client.get("/").get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "household_plan")).all()
    assert {(e.action, e.reason) for e in events} >= {("share", "version 1"), ("view", "resident"),
                                                      ("view", "resident records")}

    _switch(client, worker)
    assert submit(client, url, "Stop sharing").status_code == 302
    _switch(client, resident)
    page = client.get("/my/household-plan").get_data(as_text=True)
    assert "Mrs Lee next door" not in page and "has not shared a household plan with you yet" in page
    assert "Mrs Lee next door" not in client.get("/my/records").get_data(as_text=True)


def test_a_newer_signed_version_replaces_the_shared_one_only_when_shared(db, make_user, make_client):
    worker = make_user("social_worker")
    resident, person = _linked(make_user, make_client, worker)
    first = _signed(worker, person, 5)
    service.share(worker, person)
    second = _signed(worker, person, 9, checker="Her son")
    assert service.shared_plan_for(resident).id == first.id  # the person still reads what they were given
    service.share(worker, person)
    db.session.commit()
    assert service.shared_plan_for(resident).id == second.id
    db.session.expire_all()
    assert not db.session.get(HouseholdPlanVersion, first.id).shared


def test_sharing_needs_a_linked_account_and_a_signed_version(client, db, login_as, make_client):
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    with pytest.raises(Invalid) as refused:
        service.share(worker, person)
    assert "no linked account" in refused.value.fields["share"]
    _signed(worker, person, 5)
    page = client.get(f"/clients/{person.id}/household-plan").get_data(as_text=True)
    assert "Their own account is not linked yet" in page and "Share version" not in page
    answer = form_post(client, f"/clients/{person.id}/household-plan/share", {},
                       page=f"/clients/{person.id}/household-plan", follow_redirects=True)
    assert "no linked account yet" in answer.get_data(as_text=True)
    assert db.session.scalar(select(HouseholdPlanVersion.shared_at)) is None


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_other_roles_cannot_share_a_plan(app, client, db, login_as, make_user, make_client, role, monkeypatch):
    worker = make_user("social_worker")
    _resident, person = _linked(make_user, make_client, worker)
    _signed(worker, person, 5)
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.post(f"/clients/{person.id}/household-plan/share").status_code == 403
    assert db.session.scalar(select(HouseholdPlanVersion.shared_at)) is None
    service.share(worker, person)
    db.session.commit()
    assert client.post(f"/clients/{person.id}/household-plan/unshare").status_code == 403
    db.session.expire_all()
    assert service.shared_with(person) is not None  # still shared


def test_another_team_cannot_share_and_another_resident_reads_nothing(app, client, db, login_as, make_user,
                                                                       make_client, monkeypatch):
    worker = make_user("social_worker")
    _resident, person = _linked(make_user, make_client, worker)
    _signed(worker, person, 5)
    login_as("social_worker", team="elsewhere")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.post(f"/clients/{person.id}/household-plan/share").status_code == 404
    assert db.session.scalar(select(HouseholdPlanVersion.shared_at)) is None
    service.share(worker, person)
    db.session.commit()
    form_post(client, "/logout", {}, page="/")
    login_as("resident")  # a resident not linked to this client
    page = client.get("/my/household-plan").get_data(as_text=True)
    assert "Mrs Lee" not in page and "Tablets" not in page and "link your account" in page.lower()
    form_post(client, "/logout", {}, page="/")
    login_as("counsellor")
    assert client.get("/my/household-plan").status_code == 403


def test_the_surge_view_lists_whose_medicine_runs_out_first(client, db, login_as, make_user, make_client):
    worker = login_as("social_worker")
    later, sooner = make_client(worker.team, worker, full_name="Lam Later"), make_client(
        worker.team, worker, full_name="Ng Sooner")
    _signed(worker, later, 20)
    _signed(worker, sooner, 2)
    other = make_user("social_worker", team="elsewhere")
    _signed(other, make_client(other.team, other, full_name="Yip Elsewhere"), 1)
    page = client.get("/supervision/surge").get_data(as_text=True)
    assert "Households to check on" in page and "Yip" not in page
    assert page.index(sooner.display_name) < page.index(later.display_name)


def test_unlinking_the_persons_account_ends_the_share(db, make_user, make_client, make_case):
    from casework.service import safety
    counsellor = make_user("counsellor")
    resident, person = _linked(make_user, make_client, counsellor)
    _signed(counsellor, person, 5)
    service.share(counsellor, person)
    case = make_case(counsellor, client=person)
    safety.unlink_resident(counsellor, case)
    db.session.commit()
    assert service.shared_plan_for(resident) is None and service.shared_with(person) is None
    unshared = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "household_plan",
                                                           AuditEvent.action == "unshare")).all()
    assert len(unshared) == 1
