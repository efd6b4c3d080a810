"""Group emergency plans: written and changed through the pages' own forms (a place or group, who it
covers, where everyone meets, who leads and checks whom, the drill it was last practised in),
clients linked from their record, the covered people named only where the reader may see them and
otherwise counted; optimistic locking, archive, who may see and do what, encryption and audit."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from carecycle.audit import AuditEvent
from casework.models import GroupPlan, GroupPlanMember
from casework.service import groupplans as service
from tests.htmlform import submit

PLAN = {"name": "Block 4, Lok Wah Estate", "kind": "building", "meeting_point": "The ground-floor lobby",
        "leader": "Mr Ho, the caretaker", "checks": "Mrs Lee (12B) checks flat 12A", "others": "12"}


def _drill(supervisor, scenario="Typhoon evacuation", days_ago=10):
    from carecycle.extensions import db
    from supervision.service import drills
    row = drills.record_drill(supervisor, {"scenario": scenario, "schools": ["Lok Wah Primary"],
                                           "held_on": (date.today() - timedelta(days=days_ago)).isoformat()})
    db.session.commit()
    return row


def test_a_plan_is_written_linked_and_changed_through_the_pages(client, db, login_as, make_user, make_client):
    worker = login_as("social_worker")
    drill = _drill(make_user("supervisor", team=worker.team))
    assert "No group plan yet." in client.get("/group-plans").get_data(as_text=True)
    refused = submit(client, "/group-plans/new", "Save the group plan",
                     {"Who leads": "Mr Ho", "Other people it covers": "many"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Name the place or group" in page and "Say where everyone meets" in page
    assert "Choose what kind of place" in page and "a whole number from 0" in page and 'value="Mr Ho"' in page
    assert db.session.scalar(select(GroupPlan.id)) is None

    saved = submit(client, refused, "Save the group plan", {
        "Place or group": PLAN["name"], "Kind": "building", "Where everyone meets": PLAN["meeting_point"],
        "Who checks on whom": PLAN["checks"], "Other people it covers": "12", "Last practised in": str(drill.id)})
    assert saved.status_code == 302
    plan = db.session.scalar(select(GroupPlan))
    assert (plan.others, plan.last_drill_id, plan.roles["leader"]) == (12, drill.id, "Mr Ho")
    detail = client.get(f"/group-plans/{plan.id}").get_data(as_text=True)
    assert "Typhoon evacuation" in detail and f"/supervision/drills/{drill.id}" in detail
    assert "12 more people, counted not named" in detail

    person = make_client(worker.team, worker, full_name="Lau Mei Ling")
    record = f"/clients/{person.id}"
    assert "Not covered by a group plan." in client.get(record).get_data(as_text=True)
    added = submit(client, record, "Add to the group plan", {"Group plan": str(plan.id)})
    assert added.status_code == 302
    assert "Add to the group plan" not in client.get(record).get_data(as_text=True)  # no other plan to join
    detail = client.get(f"/group-plans/{plan.id}").get_data(as_text=True)
    assert person.display_name in detail
    listing = client.get("/group-plans").get_data(as_text=True)
    assert PLAN["name"] in listing and ">13<" in listing  # 1 client + 12 others

    changed = submit(client, f"/group-plans/{plan.id}/edit", "Save the group plan",
                     {"Where everyone meets": "The hall"})
    assert changed.status_code == 302
    db.session.expire_all()
    assert db.session.get(GroupPlan, plan.id).meeting_point == "The hall"
    assert submit(client, f"/group-plans/{plan.id}", "Remove").status_code == 302
    assert db.session.scalar(select(GroupPlanMember.id)) is None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "group_plan")).all()
    assert sorted((e.action, e.reason or "") for e in events) == [
        ("create", ""), ("update", ""), ("update", "client added"), ("update", "client removed")]


def test_a_stale_form_is_refused_and_an_archived_plan_cannot_change(client, db, login_as):
    worker = login_as("social_worker")
    plan = service.create(worker, PLAN)
    db.session.commit()
    url = f"/group-plans/{plan.id}"
    stale = client.get(url + "/edit")
    assert submit(client, url + "/edit", "Save the group plan", {"Who leads": "Ms Chan"}).status_code == 302
    conflict = submit(client, stale, "Save the group plan", {"Who leads": "Someone else"})
    assert conflict.status_code == 409
    db.session.expire_all()
    assert db.session.get(GroupPlan, plan.id).roles["leader"] == "Ms Chan"
    assert submit(client, url, "Archive the group plan").status_code == 302
    assert PLAN["name"] not in client.get("/group-plans").get_data(as_text=True)
    assert PLAN["name"] in client.get("/group-plans?archived=1").get_data(as_text=True)
    assert client.get(url + "/edit").status_code == 302  # back to the plan, with a message


def test_people_outside_the_readers_caseload_are_counted_not_named(db, make_user, make_client):
    worker = make_user("social_worker")
    plan = service.create(worker, PLAN)
    mine = make_client(worker.team, worker, full_name="Lau Mei Ling")
    service.add_member(worker, plan, mine)
    other = make_user("social_worker", team="elsewhere")
    theirs = make_client(other.team, other, full_name="Ng Siu Ming")
    plan.members.append(GroupPlanMember(client_id=theirs.id, added_by_id=other.id))  # linked while visible
    db.session.commit()
    named, counted = service.coverage(worker, plan)
    assert [c.id for c in named] == [mine.id] and counted == 12 + 1
    assert not service.add_member(worker, plan, mine)  # already covered


def test_the_drill_must_be_one_of_the_teams(db, make_user):
    from carecycle.validation import Invalid
    worker = make_user("social_worker")
    elsewhere = _drill(make_user("supervisor", team="elsewhere"))
    with pytest.raises(Invalid) as refused:
        service.create(worker, {**PLAN, "last_drill_id": str(elsewhere.id)})
    assert "last_drill_id" in refused.value.fields
    with pytest.raises(Invalid):
        service.create(worker, {**PLAN, "kind": "castle"})
    assert db.session.scalar(select(GroupPlan.id)) is None


def test_roles_are_encrypted(db, make_user):
    worker = make_user("social_worker")
    service.create(worker, PLAN)
    db.session.commit()
    stored = db.session.execute(text("SELECT roles FROM group_plan")).scalar()
    assert "Mr Ho" not in str(stored) and "Mrs Lee" not in str(stored)


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_other_roles_cannot_reach_group_plans(app, client, db, login_as, make_user, make_client, role, monkeypatch):
    worker = make_user("social_worker")
    plan = service.create(worker, PLAN)
    person = make_client(worker.team, worker)
    db.session.commit()
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.get("/group-plans").status_code == 403
    assert client.get(f"/group-plans/{plan.id}").status_code == 403
    assert client.post("/group-plans/new", data={**PLAN}).status_code == 403
    assert client.post(f"/clients/{person.id}/group-plans", data={"plan_id": str(plan.id)}).status_code == 403
    assert client.post(f"/group-plans/{plan.id}/archive").status_code == 403
    assert db.session.scalar(select(GroupPlanMember.id)) is None
    service.add_member(worker, plan, person)
    db.session.commit()
    assert client.post(f"/group-plans/{plan.id}/clients/{person.id}/remove").status_code == 403
    assert client.post(f"/group-plans/{plan.id}/edit", data={**PLAN, "meeting_point": "x"}).status_code == 403
    db.session.expire_all()
    assert [m.client_id for m in db.session.get(GroupPlan, plan.id).members] == [person.id]
    assert db.session.get(GroupPlan, plan.id).meeting_point == PLAN["meeting_point"]
    assert db.session.scalar(select(GroupPlan.id).where(GroupPlan.archived_at.is_not(None))) is None


def test_another_teams_plan_is_not_found_and_cannot_take_a_client(app, client, db, login_as, make_user,
                                                                   make_client, monkeypatch):
    other = make_user("social_worker", team="elsewhere")
    theirs = service.create(other, {**PLAN, "name": "Their building"})
    db.session.commit()
    worker = login_as("social_worker")
    person = make_client(worker.team, worker)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.get(f"/group-plans/{theirs.id}").status_code == 404
    assert "Their building" not in client.get("/group-plans").get_data(as_text=True)
    answer = client.post(f"/clients/{person.id}/group-plans", data={"plan_id": str(theirs.id)},
                         follow_redirects=True)
    assert "Choose one of your team&#39;s group plans." in answer.get_data(as_text=True)
    assert db.session.scalar(select(GroupPlanMember.id)) is None


def test_the_demo_has_a_group_plan_practised_in_a_drill_and_loads_it_once(db):
    from carecycle.accounts.models import User
    from carecycle.demo import load_demo
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("casework demo: a group plan covering 2 clients and 18 others") == 1
    [plan] = db.session.scalars(select(GroupPlan)).all()
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    named, counted = service.coverage(worker, plan)
    assert len(named) == 2 and counted == 18
    drill = service.drill_of(worker, plan)
    assert drill is not None and drill.scenario.startswith("Evacuating the Riverside day centre")


# ------------------------------------------------------------------ API
def _api(client, bearer, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=bearer(user), **kwargs)


def test_the_api_writes_changes_links_and_archives_a_plan(client, db, make_user, make_client, bearer):
    worker = make_user("social_worker")
    person = make_client(worker.team, worker)
    refused = _api(client, bearer, worker, "POST", "/group-plans", json={**PLAN, "kind": ["building"]})
    assert refused.status_code == 422 and "kind" in refused.get_json()["error"]["fields"]
    made = _api(client, bearer, worker, "POST", "/group-plans", json={**PLAN, "others": 12})
    assert made.status_code == 201
    plan = made.get_json()
    assert (plan["leader"], plan["counted"], plan["clients"]) == ("Mr Ho, the caretaker", 12, [])
    path = f"/group-plans/{plan['id']}"
    linked = _api(client, bearer, worker, "POST", path + "/clients", json={"client_id": str(person.id)})
    assert linked.status_code == 200 and linked.get_json()["clients"] == [str(person.id)]
    changed = _api(client, bearer, worker, "PATCH", path, json={"meeting_point": "The hall",
                                                                "version": linked.get_json()["version"]})
    assert changed.status_code == 200 and changed.get_json()["meeting_point"] == "The hall"
    assert changed.get_json()["name"] == PLAN["name"]  # what was not sent is kept
    stale = _api(client, bearer, worker, "PATCH", path, json={"meeting_point": "x", "version": plan["version"]})
    assert stale.status_code == 409
    removed = _api(client, bearer, worker, "DELETE", f"{path}/clients/{person.id}")
    assert removed.status_code == 200 and removed.get_json()["clients"] == []
    other = make_user("social_worker", team="elsewhere")
    assert _api(client, bearer, other, "GET", path).status_code == 404
    assert _api(client, bearer, other, "PATCH", path, json={"meeting_point": "x"}).status_code == 404
    assert _api(client, bearer, make_user("admin"), "GET", "/group-plans").status_code == 403
    archived = _api(client, bearer, worker, "POST", path + "/archive", json={})
    assert archived.status_code == 200 and archived.get_json()["archived_at"]
    assert _api(client, bearer, worker, "GET", "/group-plans").get_json()["group_plans"] == []
    assert _api(client, bearer, worker, "GET", "/group-plans?archived=true").get_json()["group_plans"]


def test_bad_counts_are_refused_and_an_archived_plan_keeps_its_clients(db, make_user, make_client):
    from carecycle.validation import Conflict, Invalid
    worker = make_user("social_worker")
    for others in ("²", "9" * 5000, -1, True, "1.5"):
        with pytest.raises(Invalid) as refused:
            service.create(worker, {**PLAN, "others": others})
        assert "others" in refused.value.fields
    plan = service.create(worker, PLAN)
    person = make_client(worker.team, worker)
    service.add_member(worker, plan, person)
    service.archive(worker, plan)
    with pytest.raises(Conflict):
        service.remove_member(worker, plan, person)
    assert [m.client_id for m in plan.members] == [person.id]


def test_a_drill_already_named_is_kept_on_a_change_even_when_no_longer_offered(db, make_user, monkeypatch):
    worker = make_user("social_worker")
    drill = _drill(make_user("supervisor", team=worker.team))
    plan = service.create(worker, {**PLAN, "last_drill_id": str(drill.id)})
    monkeypatch.setattr(service, "drills", lambda _user: [])  # older than the latest drills offered
    service.update(worker, plan, {**PLAN, "meeting_point": "The hall", "last_drill_id": str(drill.id)})
    assert plan.last_drill_id == drill.id and plan.meeting_point == "The hall"
