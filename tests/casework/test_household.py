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
    assert len(rows) == 2 and all(entry is not None and entry.tier == "red" for _c, _p, entry, _d in rows)
    assert [plan.medicine_days for _c, plan, _e, _d in rows] == [5, 12]
