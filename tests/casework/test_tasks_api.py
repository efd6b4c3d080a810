"""Tasks and follow-ups API: a case's tasks, "My day"'s own tasks, the next contact, marking done, and
the follow-ups after closure with the same rules as the pages (403 for roles without casework, 404 for
what the caller may not see, 409 for what was done already, 422 naming what is wrong, nothing changed)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carecycle.alerts import Alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import Case, CaseEvent, FollowUp, Task
from casework.service import careplans, outcomes, phases
from casework.service.tasks import today_bounds
from tests.casework.recovery_helpers import GOAL, bearer, phq9, recovery_case


def _fresh(db, model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _open_next_contacts(db, case):
    db.session.expire_all()
    return db.session.scalars(select(Task).where(Task.case_id == case.id, Task.kind == "next_contact",
                                                 Task.done_at.is_(None))).all()


def _views_of_case(db, case) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id))) or 0


@pytest.fixture
def crew(make_user, make_case, db):
    """A case of a counsellor with a social worker; an admin; a counsellor of another team with a case."""
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=social)  # moderate risk: a first contact is due
    stranger = make_user("counsellor", team="elsewhere")
    theirs = make_case(stranger)
    admin = make_user("admin")
    db.session.commit()
    return {"counsellor": counsellor, "social": social, "case": case, "stranger": stranger, "theirs": theirs,
            "admin": admin}


# ------------------------------------------------------------------ a case's tasks
def test_a_case_lists_its_open_and_recently_done_tasks_and_the_read_is_audited(client, crew, db):
    case = crew["case"]
    done = Task(case_id=case.id, kind="review", due_at=utcnow() - timedelta(days=2), done_at=utcnow(),
                assigned_to_id=crew["counsellor"].id)
    db.session.add(done)
    db.session.commit()
    before = _views_of_case(db, case)
    response = client.get(f"/api/v1/cases/{case.id}/tasks", headers=bearer(crew["social"]))
    assert response.status_code == 200
    body = response.get_json()
    assert [t["kind"] for t in body["open"]] == ["first_contact"]
    assert body["open"][0]["case_id"] == str(case.id) and body["open"][0]["done_at"] is None
    assert [t["id"] for t in body["recently_done"]] == [str(done.id)]
    assert _views_of_case(db, case) == before + 1


def test_a_case_s_tasks_are_refused_to_admins_strangers_and_without_a_token(client, crew):
    case = crew["case"]
    assert client.get(f"/api/v1/cases/{case.id}/tasks", headers=bearer(crew["admin"])).status_code == 403
    assert client.get(f"/api/v1/cases/{case.id}/tasks", headers=bearer(crew["stranger"])).status_code == 404
    assert client.get("/api/v1/cases/not-an-id/tasks", headers=bearer(crew["counsellor"])).status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/tasks").status_code == 401


# ------------------------------------------------------------------ my tasks
def test_my_tasks_lists_only_my_overdue_or_due_later_today_tasks(client, crew, db):
    me, case = crew["counsellor"], crew["case"]
    now = utcnow()
    _start, end = today_bounds(now)
    overdue = Task(case_id=case.id, kind="review", due_at=now - timedelta(hours=3), assigned_to_id=me.id,
                   note="Call back about the flat")
    later = Task(case_id=case.id, kind="rescreen", due_at=now + (end - now) / 2, assigned_to_id=me.id)
    not_mine = Task(case_id=case.id, kind="review", due_at=now - timedelta(hours=2), assigned_to_id=crew["social"].id)
    theirs = Task(case_id=crew["theirs"].id, kind="review", due_at=now - timedelta(hours=1),
                  assigned_to_id=crew["stranger"].id)
    db.session.add_all([overdue, later, not_mine, theirs])
    db.session.commit()
    headers = bearer(me)
    listed = client.get("/api/v1/tasks", headers=headers).get_json()
    assert listed["when"] == "overdue" and listed["has_next"] is False
    ids = [t["id"] for t in listed["tasks"]]
    assert str(overdue.id) in ids and str(not_mine.id) not in ids and str(theirs.id) not in ids
    row = next(t for t in listed["tasks"] if t["id"] == str(overdue.id))
    assert row["overdue"] is True and row["note"] == "Call back about the flat"
    assert row["client_id"] == str(case.client_id) and row["risk_level"] == case.risk_level
    assert row["client_label"] == case.client.list_label
    today = client.get("/api/v1/tasks?when=today", headers=headers).get_json()
    assert [t["id"] for t in today["tasks"]] == [str(later.id)]
    paged = client.get("/api/v1/tasks?per_page=1", headers=headers).get_json()
    assert len(paged["tasks"]) == 1 and paged["has_next"] is (len(ids) > 1)


def test_my_tasks_refuses_bad_arguments_other_roles_and_no_token(client, crew):
    headers = bearer(crew["counsellor"])
    bad = client.get("/api/v1/tasks?when=tomorrow", headers=headers)
    assert bad.status_code == 422 and "when" in bad.get_json()["error"]["fields"]
    big = client.get("/api/v1/tasks?per_page=500", headers=headers)
    assert big.status_code == 422 and "per_page" in big.get_json()["error"]["fields"]
    assert client.get("/api/v1/tasks", headers=bearer(crew["admin"])).status_code == 403
    assert client.get("/api/v1/tasks").status_code == 401


# ------------------------------------------------------------------ next contact
def _day(days=3) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def test_the_next_contact_is_scheduled_and_then_moved_not_duplicated(client, crew, db):
    case, headers = crew["case"], bearer(crew["counsellor"])
    url = f"/api/v1/cases/{case.id}/next-contact"
    first = client.put(url, headers=headers, json={"due_date": _day(3), "due_time": "14:30", "note": "After the GP"})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["kind"] == "next_contact" and first.get_json()["note"] == "After the GP"
    (task,) = _open_next_contacts(db, case)
    assert str(task.id) == first.get_json()["id"] and task.note == "After the GP"
    first_due = task.due_at
    moved = client.put(url, headers=bearer(crew["social"]), json={"due_date": _day(5)})
    assert moved.status_code == 200 and moved.get_json()["id"] == str(task.id)
    (again,) = _open_next_contacts(db, case)
    assert again.due_at > first_due + timedelta(days=1) and again.note is None
    events = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "next_contact_set" in events and "next_contact_moved" in events


def test_the_next_contact_refuses_bad_input_and_changes_nothing(client, crew, db):
    case, headers = crew["case"], bearer(crew["counsellor"])
    url = f"/api/v1/cases/{case.id}/next-contact"
    past = client.put(url, headers=headers, json={"due_date": _day(-2)})
    assert past.status_code == 422 and "due_date" in past.get_json()["error"]["fields"]
    bad_time = client.put(url, headers=headers, json={"due_date": _day(), "due_time": "25:99"})
    assert bad_time.status_code == 422 and "due_time" in bad_time.get_json()["error"]["fields"]
    missing = client.put(url, headers=headers, json={"note": "Soon"})
    assert missing.status_code == 422 and "due_date" in missing.get_json()["error"]["fields"]
    not_text = client.put(url, headers=headers, json={"due_date": 20301201})
    assert not_text.status_code == 422 and "due_date" in not_text.get_json()["error"]["fields"]
    long = client.put(url, headers=headers, json={"due_date": _day(), "note": "x" * 501})
    assert long.status_code == 422 and "note" in long.get_json()["error"]["fields"]
    unknown = client.put(url, headers=headers, json={"due_date": _day(), "kind": "review"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"kind": "Unknown field."}
    assert _open_next_contacts(db, case) == []


def test_the_next_contact_is_refused_to_admins_strangers_on_closed_cases_and_without_a_token(client, crew, db):
    case = crew["case"]
    url = f"/api/v1/cases/{case.id}/next-contact"
    assert client.put(url, headers=bearer(crew["admin"]), json={"due_date": _day()}).status_code == 403
    assert client.put(url, headers=bearer(crew["stranger"]), json={"due_date": _day()}).status_code == 404
    assert client.put(url, json={"due_date": _day()}).status_code == 401
    case.phase = "closed"
    db.session.commit()
    closed = client.put(url, headers=bearer(crew["counsellor"]), json={"due_date": _day()})
    assert closed.status_code == 409
    assert _open_next_contacts(db, case) == []


# ------------------------------------------------------------------ done
def _first_contact(db, case) -> Task:
    return db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == "first_contact"))


def test_a_task_is_marked_done_once(client, crew, db):
    case, me = crew["case"], crew["counsellor"]
    task = _first_contact(db, case)
    url = f"/api/v1/cases/{case.id}/tasks/{task.id}/done"
    response = client.post(url, headers=bearer(me))
    assert response.status_code == 200 and response.get_json()["done_at"] is not None
    stored = _fresh(db, Task, task.id)
    assert stored.done_at is not None and stored.done_by_id == me.id
    assert "first_contact_done" in [e.kind for e in db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id))]
    again = client.post(url, headers=bearer(crew["social"]), json={})
    assert again.status_code == 409
    assert _fresh(db, Task, task.id).done_by_id == me.id


def test_marking_done_refuses_unknown_fields_other_cases_tasks_roles_and_no_token(client, crew, db):
    case = crew["case"]
    task, their_task = _first_contact(db, case), _first_contact(db, crew["theirs"])
    url = f"/api/v1/cases/{case.id}/tasks/{task.id}/done"
    unknown = client.post(url, headers=bearer(crew["counsellor"]), json={"reopen": True})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"reopen": "Unknown field."}
    assert client.post(url, headers=bearer(crew["admin"])).status_code == 403
    assert client.post(url, headers=bearer(crew["stranger"])).status_code == 404
    assert client.post(url).status_code == 401
    # a task of another case, named under this one, does not exist here
    assert client.post(f"/api/v1/cases/{case.id}/tasks/{their_task.id}/done",
                       headers=bearer(crew["counsellor"])).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/tasks/not-an-id/done",
                       headers=bearer(crew["counsellor"])).status_code == 404
    assert _fresh(db, Task, task.id).done_at is None and _fresh(db, Task, their_task.id).done_at is None


# ------------------------------------------------------------------ follow-ups
@pytest.fixture
def closed(make_user, make_case, db):
    """A recovery case closed with an outcome snapshot (PHQ-9 14 -> 8): its follow-ups are due."""
    case, counsellor, social = recovery_case(make_user, make_case)
    careplans.save_plan(social, case, 0, {"goals": [{**GOAL, "status": "achieved"}, dict(GOAL)]})
    outcomes.record_screening(counsellor, case, "phq9", phq9(14), taken_at=utcnow() - timedelta(days=28, hours=1))
    outcomes.record_screening(counsellor, case, "phq9", phq9(8), taken_at=utcnow() - timedelta(hours=1))
    db.session.commit()
    assert phases.request_closure(social, case, case.version, "Back at work part time.", "goals_achieved") is None
    db.session.commit()
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                    .order_by(FollowUp.months)).all()
    return case, counsellor, social, follow_ups


def _record_url(case, item) -> str:
    return f"/api/v1/cases/{case.id}/follow-ups/{item.id}/record"


def test_a_closed_case_lists_its_follow_ups_and_one_shows_the_outcome_at_closure(client, closed, db):
    case, counsellor, social, follow_ups = closed
    before = _views_of_case(db, case)
    listed = client.get(f"/api/v1/cases/{case.id}/follow-ups", headers=bearer(social))
    assert listed.status_code == 200
    rows = listed.get_json()["follow_ups"]
    assert [r["months"] for r in rows] == [1, 3, 6]
    assert all(r["state"] == "due" and r["recordable"] and r["status"] is None for r in rows)
    assert "note" not in rows[0]
    assert _views_of_case(db, case) == before + 1
    one = client.get(f"/api/v1/cases/{case.id}/follow-ups/{follow_ups[0].id}", headers=bearer(counsellor))
    assert one.status_code == 200
    body = one.get_json()
    assert body["months"] == 1 and body["note"] is None and body["self_screenings"] == []
    assert any("14" in line and "8" in line for line in body["closure_outcome"])
    assert body["closure_goals"] and "1 of 2" in body["closure_goals"]


def test_recording_a_follow_up_stores_it_and_closes_its_task_once(client, closed, db):
    case, counsellor, social, follow_ups = closed
    item = follow_ups[0]
    response = client.post(_record_url(case, item), headers=bearer(social),
                           json={"status": "better", "note": "Working four days a week.", "crisis": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["state"] == "recorded" and body["status"] == "better" and body["recorded_by"] == social.username
    assert body["note"] == "Working four days a week." and body["case_phase"] == "closed" and body["alert_id"] is None
    stored = _fresh(db, FollowUp, item.id)
    assert stored.recorded_at is not None and stored.recorded_by_id == social.id and stored.status == "better"
    assert db.session.get(Task, stored.task_id).done_at is not None
    again = client.post(_record_url(case, item), headers=bearer(counsellor), json={"status": "same"})
    assert again.status_code == 409
    assert _fresh(db, FollowUp, item.id).status == "better"


def test_not_reached_counts_an_attempt_and_keeps_the_follow_up_due(client, closed, db):
    case, counsellor, _social, follow_ups = closed
    item = follow_ups[0]
    response = client.post(_record_url(case, item), headers=bearer(counsellor), json={"status": "not_reached"})
    assert response.status_code == 200
    assert response.get_json()["state"] == "due" and response.get_json()["attempts"] == 1
    stored = _fresh(db, FollowUp, item.id)
    assert stored.attempts == 1 and stored.recorded_at is None
    assert db.session.get(Task, stored.task_id).due_at >= utcnow() + timedelta(days=2)


def test_a_worse_follow_up_with_a_screening_reopens_the_case_into_triage(client, closed, db):
    case, counsellor, _social, follow_ups = closed
    item = follow_ups[0]
    response = client.post(_record_url(case, item), headers=bearer(counsellor), json={
        "status": "worse", "screening": {"instrument": "phq9", "answers": phq9(19)}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["reopened"] is True and body["alert_id"] and body["case_phase"] != "closed"
    assert body["recordable"] is False
    assert _fresh(db, Case, case.id).phase != "closed"
    alert = db.session.get(Alert, item.alert_id)
    assert alert is not None and alert.kind == "follow_up" and str(alert.subject_id) == str(case.id)
    # the follow-ups still due are cancelled with the reopening
    later = [_fresh(db, FollowUp, f.id) for f in follow_ups[1:]]
    assert all(f.cancelled_at is not None for f in later)


def test_recording_refuses_invalid_input_and_changes_nothing(client, closed, db):
    case, counsellor, _social, follow_ups = closed
    item, headers = follow_ups[0], bearer(counsellor)
    url = _record_url(case, item)
    cases = [
        ({"status": "fine"}, "status"),
        ({}, "status"),
        ({"status": "not_reached", "crisis": True}, "status"),
        ({"status": "same", "crisis": "yes"}, "crisis"),
        ({"status": "same", "note": 5}, "note"),
        ({"status": "same", "note": "x" * 4001}, "note"),
        ({"status": "same", "screening": "phq9"}, "screening"),
        ({"status": "same", "screening": {"instrument": "nope", "answers": [1]}}, "screening.instrument"),
        ({"status": "same", "screening": {"result_id": "not-one-of-theirs"}}, "screening.result_id"),
    ]
    for body, field in cases:
        response = client.post(url, headers=headers, json=body)
        assert response.status_code == 422, (body, response.get_data(as_text=True))
        assert field in response.get_json()["error"]["fields"], (body, response.get_json())
    unknown = client.post(url, headers=headers, json={"status": "same", "reopen": True})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"reopen": "Unknown field."}
    nested = client.post(url, headers=headers, json={"status": "same", "screening": {"instrument": "phq9",
                                                                                     "score": 3}})
    assert nested.status_code == 422 and nested.get_json()["error"]["fields"] == {
        "screening.score": "Unknown field."}
    stored = _fresh(db, FollowUp, item.id)
    assert stored.recorded_at is None and stored.attempts == 0 and stored.status is None
    assert db.session.get(Task, stored.task_id).done_at is None
    assert _fresh(db, Case, case.id).phase == "closed"


def test_follow_ups_are_refused_to_admins_strangers_other_cases_and_without_a_token(client, closed, make_user,
                                                                                    make_case, db):
    case, counsellor, _social, follow_ups = closed
    item = follow_ups[0]
    admin, stranger = make_user("admin"), make_user("counsellor", team="elsewhere")
    other_case = make_case(counsellor)
    db.session.commit()
    urls = [f"/api/v1/cases/{case.id}/follow-ups", f"/api/v1/cases/{case.id}/follow-ups/{item.id}"]
    for url in urls:
        assert client.get(url, headers=bearer(admin)).status_code == 403
        assert client.get(url, headers=bearer(stranger)).status_code == 404
        assert client.get(url).status_code == 401
    record = _record_url(case, item)
    assert client.post(record, headers=bearer(admin), json={"status": "same"}).status_code == 403
    assert client.post(record, headers=bearer(stranger), json={"status": "same"}).status_code == 404
    assert client.post(record, json={"status": "same"}).status_code == 401
    # the follow-up named under another case the worker sees does not exist there
    assert client.get(f"/api/v1/cases/{other_case.id}/follow-ups/{item.id}",
                      headers=bearer(counsellor)).status_code == 404
    assert client.post(f"/api/v1/cases/{other_case.id}/follow-ups/{item.id}/record", headers=bearer(counsellor),
                       json={"status": "same"}).status_code == 404
    assert _fresh(db, FollowUp, item.id).recorded_at is None


def test_the_answers_match_the_documented_schemas(client, closed, make_case, db):
    from openapi_schema_validator import OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    case, counsellor, _social, follow_ups = closed
    document = client.get("/api/v1/openapi.json").get_json()
    registry: Registry = Registry().with_resource("urn:doc", Resource.from_contents(
        document, default_specification=DRAFT202012))
    open_case = make_case(counsellor)
    task = Task(case_id=open_case.id, kind="review", due_at=utcnow() - timedelta(hours=1),
                assigned_to_id=counsellor.id)
    db.session.add(task)
    db.session.commit()
    headers = bearer(counsellor)
    calls = [
        ("get", "/api/v1/cases/{case_id}/tasks", f"/api/v1/cases/{open_case.id}/tasks", None, 200),
        ("get", "/api/v1/tasks", "/api/v1/tasks", None, 200),
        ("put", "/api/v1/cases/{case_id}/next-contact", f"/api/v1/cases/{open_case.id}/next-contact",
         {"due_date": _day()}, 200),
        ("post", "/api/v1/cases/{case_id}/tasks/{task_id}/done", f"/api/v1/cases/{open_case.id}/tasks/{task.id}/done",
         None, 200),
        ("get", "/api/v1/cases/{case_id}/follow-ups", f"/api/v1/cases/{case.id}/follow-ups", None, 200),
        ("get", "/api/v1/cases/{case_id}/follow-ups/{follow_up_id}",
         f"/api/v1/cases/{case.id}/follow-ups/{follow_ups[0].id}", None, 200),
        ("post", "/api/v1/cases/{case_id}/follow-ups/{follow_up_id}/record", _record_url(case, follow_ups[0]),
         {"status": "same"}, 200),
        ("post", "/api/v1/cases/{case_id}/follow-ups/{follow_up_id}/record", _record_url(case, follow_ups[0]),
         {"status": "same"}, 409),
    ]
    for method, path, url, body, expected in calls:
        response = client.open(url, method=method.upper(), headers=headers, json=body)
        assert response.status_code == expected, (url, response.get_data(as_text=True))
        operation = document["paths"][path][method]
        assert operation["summary"] and operation["operationId"].startswith("api_")
        schema = operation["responses"][str(expected)]["content"]["application/json"]["schema"]
        validator = OAS31Validator({"$ref": "urn:doc" + schema["$ref"]}, registry=registry)
        assert sorted(e.message for e in validator.iter_errors(response.get_json())) == [], url
