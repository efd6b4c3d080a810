"""Vulnerable-person register API: the page's filters and order, who sees which entry, roles,
adding and adding back, versioned changes, taking off, the outreach log and the red-tier alert,
every refusal storing nothing, and the answers checked against the OpenAPI document."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carecycle.accounts.service import create_token
from carecycle.alerts import Alert, Urgency
from carecycle.audit import AuditEvent
from carecycle.mode import switch_mode
from casework.models import RegisterChange, RegisterEntry, RegisterOutreach
from casework.service import register as service
from tests.test_openapi import _validator


def bearer(user, db):
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def worker(make_user):
    return make_user("social_worker")


@pytest.fixture
def api(client, worker, db):
    """Calls as `worker`: api("get", path) or api("post", path, {...})."""
    headers = bearer(worker, db)

    def call(method, path, body=None, **extra):
        kwargs = {"json": body} if body is not None else {}
        return client.open(path, method=method.upper(), headers={**headers, **extra}, **kwargs)
    return call


# The register: filters, order, paging ------------------------------------------------------------

def test_the_register_lists_next_due_first_with_the_pages_filters(api, worker, make_client, put_on):
    red_late = put_on(worker, make_client(worker.team, worker, full_name="Red Overdue"), tier="red",
                      flags=["previous_self_harm"], days=9)
    red_fresh = put_on(worker, make_client(worker.team, worker, full_name="Red Fresh"), tier="red")
    carer = put_on(worker, make_client(worker.team, worker, full_name="Green Carer"), tier="green",
                   flags=["carer_under_strain"], flag_other="Looks after twin toddlers alone")
    yellow_late = put_on(worker, make_client(worker.team, worker, full_name="Yellow Late"), tier="yellow",
                         flags=["recent_job_loss"], days=31)

    everyone = api("get", "/api/v1/register")
    assert everyone.status_code == 200
    body = everyone.json
    assert [e["client_name"] for e in body["entries"]] == ["Red Overdue", "Yellow Late", "Red Fresh", "Green Carer"]
    assert (body["page"], body["per_page"], body["pages"], body["total"], body["has_next"]) == (1, 25, 1, 4, False)
    green = body["entries"][3]
    assert green["id"] == str(carer.id) and green["flags"] == ["carer_under_strain", "other"]
    assert green["flag_other"] == "Looks after twin toddlers alone" and green["interval_days"] == 90
    assert green["on_register"] is True and green["overdue"] is False and green["version"] == 1
    assert green["client_reference"].startswith("C-") and green["last_outreach_at"] is None

    def names(query):
        answer = api("get", f"/api/v1/register?{query}")
        assert answer.status_code == 200, answer.json
        return {e["id"] for e in answer.json["entries"]}

    assert names("tier=red") == {str(red_late.id), str(red_fresh.id)}
    assert names("flag=carer_under_strain") == {str(carer.id)}
    assert names("overdue=1") == names("overdue=y") == names("overdue=true") == {str(red_late.id),
                                                                                  str(yellow_late.id)}
    assert names("overdue=0") == names("overdue=") == {str(e.id) for e in (red_late, red_fresh, carer, yellow_late)}
    assert names("tier=red&overdue=1&flag=previous_self_harm") == {str(red_late.id)}
    assert names("tier=green&overdue=1") == set()
    late = api("get", "/api/v1/register?overdue=1").json["entries"]
    assert all(e["overdue"] for e in late)


def test_bad_filters_answer_422_naming_each(api):
    answer = api("get", "/api/v1/register?tier=purple&flag=unknown")
    assert answer.status_code == 422
    assert set(answer.json["error"]["fields"]) == {"tier", "flag"}
    for query, field in (("overdue=maybe", "overdue"), ("page=0", "page"), ("per_page=101", "per_page"),
                         ("per_page=x", "per_page")):
        answer = api("get", f"/api/v1/register?{query}")
        assert answer.status_code == 422 and set(answer.json["error"]["fields"]) == {field}, query


def test_the_register_pages(api, worker, make_client, put_on):
    for n in range(7):
        put_on(worker, make_client(worker.team, worker, full_name=f"Person {n}"), tier="orange", days=n * 0.1)
    first = api("get", "/api/v1/register?per_page=3").json
    assert (first["page"], first["pages"], first["total"], first["has_next"]) == (1, 3, 7, True)
    last = api("get", "/api/v1/register?per_page=3&page=3").json
    assert last["has_next"] is False and [e["client_name"] for e in last["entries"]] == ["Person 0"]
    seen = [e["id"] for page in (1, 2, 3) for e in api("get", f"/api/v1/register?per_page=3&page={page}").json[
        "entries"]]
    assert len(set(seen)) == 7  # each entry once across the pages


def test_emergency_mode_halves_the_interval_in_the_answer(api, worker, make_user, make_client, put_on, db):
    put_on(worker, make_client(worker.team, worker), tier="red")
    assert api("get", "/api/v1/register").json["entries"][0]["interval_days"] == 7
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Typhoon signal 8 for the district")
    db.session.commit()
    assert api("get", "/api/v1/register").json["entries"][0]["interval_days"] == 3.5


# Who sees what, roles ------------------------------------------------------------------------------

def test_another_teams_entries_do_not_exist_for_me(api, make_user, make_client, put_on, db):
    outsider = make_user("social_worker", team="elsewhere")
    theirs = put_on(outsider, make_client(outsider.team, outsider, full_name="Hidden Person"), tier="red", days=30)
    assert api("get", "/api/v1/register?overdue=1&tier=red").json["entries"] == []
    for method, path, body in (
            ("get", f"/api/v1/register/{theirs.id}", None),
            ("get", f"/api/v1/register/{theirs.id}/outreach", None),
            ("patch", f"/api/v1/register/{theirs.id}", {"version": 1, "tier": "green"}),
            ("post", f"/api/v1/register/{theirs.id}/remove", {"version": 1, "reason": "probe"}),
            ("post", f"/api/v1/register/{theirs.id}/outreach", {"outcome": "contacted", "concern": True,
                                                                "note": "probe"}),
            ("post", "/api/v1/register", {"client_id": str(theirs.client_id), "tier": "red", "flags": ["bereaved"]}),
            ("get", "/api/v1/register/not-a-uuid", None)):
        answer = api(method, path, body)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found", (method, path)
    assert count(db, RegisterOutreach) == 0 and count(db, Alert) == 0
    db.session.expire_all()
    assert db.session.get(RegisterEntry, theirs.id).tier == "red" and count(db, RegisterChange) == 1


def test_staff_on_a_clients_case_see_its_entry(client, make_user, make_client, make_case, put_on, db):
    me = make_user("counsellor")
    headers = bearer(me, db)
    other = make_user("social_worker", team="elsewhere")
    person = make_client(other.team, other, full_name="Shared Person")
    entry = put_on(other, person, tier="orange")
    assert client.get(f"/api/v1/register/{entry.id}", headers=headers).status_code == 404
    make_case(me, client=person)
    assert client.get(f"/api/v1/register/{entry.id}", headers=headers).status_code == 200
    assert [e["id"] for e in client.get("/api/v1/register", headers=headers).json["entries"]] == [str(entry.id)]


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_admin_and_resident_are_refused(client, make_user, make_client, put_on, db, role, worker):
    person = make_client(worker.team, worker)
    entry = put_on(worker, person)
    headers = bearer(make_user(role), db)
    for method, path, body in (("get", "/api/v1/register", None), ("get", f"/api/v1/register/{entry.id}", None),
                               ("get", f"/api/v1/register/{entry.id}/outreach", None),
                               ("post", f"/api/v1/register/{entry.id}/outreach", {"outcome": "contacted"}),
                               ("patch", f"/api/v1/register/{entry.id}", {"version": 1, "tier": "red"}),
                               ("post", f"/api/v1/register/{entry.id}/remove", {"version": 1, "reason": "x"}),
                               ("post", "/api/v1/register", {"client_id": str(person.id), "tier": "red",
                                                             "flags": ["bereaved"]})):
        answer = client.open(path, method=method.upper(), headers=headers, json=body)
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", (method, path)
    assert count(db, RegisterOutreach) == 0 and count(db, RegisterChange) == 1


def test_without_a_token_it_is_401(client, db):
    assert client.get("/api/v1/register").status_code == 401
    assert client.post("/api/v1/register", json={}).status_code == 401


@pytest.mark.parametrize("role", ["social_worker", "counsellor", "supervisor"])
def test_case_staff_use_the_register_end_to_end(client, make_user, make_client, db, role):
    me = make_user(role)
    headers = bearer(me, db)
    person = make_client(me.team, me, full_name="Tsang Hiu Tung")
    added = client.post("/api/v1/register", headers=headers,
                        json={"client_id": str(person.id), "tier": "yellow", "flags": ["frontline_worker"]})
    assert added.status_code == 201, added.json
    entry_id = added.json["id"]
    logged = client.post(f"/api/v1/register/{entry_id}/outreach", headers=headers, json={"outcome": "declined"})
    assert logged.status_code == 201 and logged.json["by"] == me.username
    assert client.get(f"/api/v1/register/{entry_id}/outreach", headers=headers).json["total"] == 1


# Reading an entry --------------------------------------------------------------------------------

def test_an_entry_with_its_history_and_the_view_is_audited(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker, full_name="Ho Tak Wah"), tier="orange",
                   note="Referred by the GP")
    service.update_entry(worker, entry, 1, {"tier": "red", "flags": ["bereaved"], "note": "Worse since May"})
    db.session.commit()
    answer = api("get", f"/api/v1/register/{entry.id}")
    assert answer.status_code == 200
    body = answer.json
    assert (body["client_name"], body["tier"], body["version"], body["interval_days"]) == ("Ho Tak Wah", "red", 2, 7)
    assert body["next_due"] is not None and body["removed_at"] is None
    assert [(c["kind"], c["previous_tier"], c["tier"], c["note"], c["by"]) for c in body["history"]] == [
        ("updated", "orange", "red", "Worse since May", worker.username),
        ("added", None, "orange", "Referred by the GP", worker.username)]
    db.session.expire_all()
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                        AuditEvent.actor_id == worker.id)).all()
    assert ("register_entry", str(entry.id)) in {(e.object_type, e.object_id) for e in views}
    api("get", "/api/v1/register")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.object_type == "register", AuditEvent.actor_id == worker.id)) == 1


# Adding -------------------------------------------------------------------------------------------

def test_adding_a_client_starts_the_clock(api, worker, make_client, db):
    person = make_client(worker.team, worker)
    answer = api("post", "/api/v1/register", {"client_id": str(person.id), "tier": "red",
                                              "flags": ["lives_alone_elderly"], "flag_other": "Hoarding",
                                              "note": "Neighbour worried"})
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert (body["client_id"], body["tier"], body["flags"], body["flag_other"], body["version"]) == (
        str(person.id), "red", ["lives_alone_elderly", "other"], "Hoarding", 1)
    assert [(c["kind"], c["note"]) for c in body["history"]] == [("added", "Neighbour worried")]
    entry = db.session.get(RegisterEntry, uuid.UUID(body["id"]))
    assert entry.created_by_id == worker.id and entry.team_id == worker.team_id
    assert service.next_due(entry) - entry.due_from == timedelta(days=7)


@pytest.mark.parametrize("body, field", [
    ({"tier": "", "flags": ["bereaved"]}, "tier"),
    ({"tier": "purple", "flags": ["bereaved"]}, "tier"),
    ({"tier": "red", "flags": []}, "flags"),
    ({"tier": "red", "flags": ["alien_abduction"]}, "flags"),
    ({"tier": "red", "flags": "bereaved,disability"}, "flags"),
    ({"tier": "red", "flags": ["other"]}, "flag_other"),
    ({"tier": "red", "flags": ["bereaved"], "flag_other": "x" * 201}, "flag_other"),
    ({"tier": "red", "flags": ["bereaved"], "note": 5}, "note"),
    ({"tier": "red", "flags": ["bereaved"], "surprise": 1}, "surprise"),
])
def test_adding_with_bad_input_answers_422_and_stores_nothing(api, worker, make_client, db, body, field):
    person = make_client(worker.team, worker)
    answer = api("post", "/api/v1/register", {"client_id": str(person.id), **body})
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["fields"]
    assert count(db, RegisterEntry) == 0 and count(db, RegisterChange) == 0


def test_adding_needs_a_client(api, db):
    for body in ({"tier": "red", "flags": ["bereaved"]}, {"client_id": 5, "tier": "red", "flags": ["bereaved"]}):
        answer = api("post", "/api/v1/register", body)
        assert answer.status_code == 422 and "client_id" in answer.json["error"]["fields"]
    unknown = api("post", "/api/v1/register", {"client_id": "not-a-client", "tier": "red", "flags": ["bereaved"]})
    assert unknown.status_code == 404
    assert count(db, RegisterEntry) == 0


def test_a_client_already_on_the_register_answers_409_with_the_entry(api, worker, make_client, put_on, db):
    person = make_client(worker.team, worker)
    entry = put_on(worker, person, tier="green")
    answer = api("post", "/api/v1/register", {"client_id": str(person.id), "tier": "red", "flags": ["bereaved"]})
    assert answer.status_code == 409
    error = answer.json["error"]
    assert error["code"] == "already_on_register" and error["fields"]["entry_id"] == str(entry.id)
    assert "already on the register" in error["message"]
    db.session.expire_all()
    assert count(db, RegisterEntry) == 1 and db.session.get(RegisterEntry, entry.id).tier == "green"


# Changing -------------------------------------------------------------------------------------------

def test_a_change_needs_the_version_and_a_stale_one_is_409(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="yellow")
    missing = api("patch", f"/api/v1/register/{entry.id}", {"tier": "red"})
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"version"}
    bad = api("patch", f"/api/v1/register/{entry.id}", {"version": "one", "tier": "red"})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"version"}
    service.update_entry(worker, entry, 1, {"tier": "orange", "flags": ["bereaved"]})
    db.session.commit()
    stale = api("patch", f"/api/v1/register/{entry.id}", {"version": 1, "tier": "green"})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "conflict" and stale.json["error"]["fields"] == {
        "version": "current version is 2"}
    db.session.expire_all()
    assert db.session.get(RegisterEntry, entry.id).tier == "orange"


def test_a_change_keeps_what_is_not_sent(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="green", days=20,
                   flags=["bereaved", "other"], flag_other="Caring for a dying parent")
    raised = api("patch", f"/api/v1/register/{entry.id}", {"version": 1, "tier": "red"})
    assert raised.status_code == 200, raised.json
    body = raised.json
    assert (body["tier"], body["flags"], body["flag_other"], body["version"]) == (
        "red", ["bereaved", "other"], "Caring for a dying parent", 2)
    assert body["overdue"] is True  # 20 days on a 7-day tier
    # a new list of reasons without `other` drops the other reason with it
    narrowed = api("patch", f"/api/v1/register/{entry.id}", {"version": 2, "flags": ["disability"]}).json
    assert (narrowed["flags"], narrowed["flag_other"], narrowed["tier"], narrowed["version"]) == (
        ["disability"], None, "red", 3)
    # the other reason alone ticks `other`
    other = api("patch", f"/api/v1/register/{entry.id}", {"version": 3, "flag_other": "Debts"}).json
    assert (other["flags"], other["flag_other"]) == (["disability", "other"], "Debts")
    # a note alone is a history line, no new version of tier and reasons
    noted = api("patch", f"/api/v1/register/{entry.id}", {"version": 4, "note": "Spoke with the daughter"}).json
    assert noted["version"] == 5 and noted["history"][0]["kind"] == "noted"
    assert noted["history"][0]["note"] == "Spoke with the daughter"
    # nothing at all: nothing changes
    same = api("patch", f"/api/v1/register/{entry.id}", {"version": 5})
    assert same.status_code == 200 and same.json["version"] == 5
    assert count(db, RegisterChange) == 5


def test_a_change_that_is_not_valid_changes_nothing(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="yellow")
    for body, field in (({"tier": "purple"}, "tier"), ({"tier": None}, "tier"), ({"flags": []}, "flags"),
                        ({"flags": ["other"]}, "flag_other"), ({"flag_other": "y" * 201}, "flag_other"),
                        ({"surprise": True}, "surprise")):
        answer = api("patch", f"/api/v1/register/{entry.id}", {"version": 1, **body})
        assert answer.status_code == 422 and field in answer.json["error"]["fields"], (body, answer.json)
    db.session.expire_all()
    entry = db.session.get(RegisterEntry, entry.id)
    assert (entry.tier, entry.flags, entry.version) == ("yellow", ["bereaved"], 1)
    assert count(db, RegisterChange) == 1


# Taking off and adding back -----------------------------------------------------------------------------

def test_taking_off_and_adding_back_keeps_the_entry_and_its_history(api, worker, make_client, put_on, db):
    person = make_client(worker.team, worker)
    entry = put_on(worker, person, tier="orange")
    no_reason = api("post", f"/api/v1/register/{entry.id}/remove", {"version": 1, "reason": "  "})
    assert no_reason.status_code == 422 and set(no_reason.json["error"]["fields"]) == {"reason"}
    no_version = api("post", f"/api/v1/register/{entry.id}/remove", {"reason": "Moved"})
    assert no_version.status_code == 422 and set(no_version.json["error"]["fields"]) == {"version"}
    stale = api("post", f"/api/v1/register/{entry.id}/remove", {"version": 7, "reason": "Moved"})
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(RegisterEntry, entry.id).on_register

    removed = api("post", f"/api/v1/register/{entry.id}/remove", {"version": 1, "reason": "Moved to another district"})
    assert removed.status_code == 200, removed.json
    body = removed.json
    assert body["on_register"] is False and body["removed_at"] and body["next_due"] is None and not body["overdue"]
    assert body["history"][0]["kind"] == "removed" and body["history"][0]["note"] == "Moved to another district"
    assert api("get", "/api/v1/register").json["entries"] == []
    assert api("get", f"/api/v1/register/{entry.id}").status_code == 200  # still readable, with its history
    again = api("post", f"/api/v1/register/{entry.id}/remove", {"version": 2, "reason": "Twice"})
    assert again.status_code == 409
    outreach = api("post", f"/api/v1/register/{entry.id}/outreach", {"outcome": "contacted"})
    assert outreach.status_code == 409 and count(db, RegisterOutreach) == 0
    change = api("patch", f"/api/v1/register/{entry.id}", {"version": 2, "tier": "red"})
    assert change.status_code == 409 and "add them back" in change.json["error"]["message"]

    back = api("post", "/api/v1/register", {"client_id": str(person.id), "tier": "red", "flags": ["bereaved"],
                                            "note": "Moved back"})
    assert back.status_code == 201, back.json
    assert back.json["id"] == str(entry.id) and back.json["on_register"] is True and back.json["version"] == 3
    assert [c["kind"] for c in back.json["history"]] == ["readded", "removed", "added"]
    assert count(db, RegisterEntry) == 1


# Outreach ------------------------------------------------------------------------------------------

def test_outreach_restarts_the_clock_when_the_person_is_reached(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=10)
    tried = api("post", f"/api/v1/register/{entry.id}/outreach", {"outcome": "no_answer", "note": "Tried at 10:00"})
    assert tried.status_code == 201, tried.json
    assert tried.json["entry"]["overdue"] is True and tried.json["entry"]["last_outcome"] == "no_answer"
    reached = api("post", f"/api/v1/register/{entry.id}/outreach", {"outcome": "visited", "note": "Flat warm"})
    assert reached.status_code == 201
    body = reached.json
    assert (body["outcome"], body["note"], body["concern"], body["tier"], body["by"], body["alert_id"]) == (
        "visited", "Flat warm", False, "red", worker.username, None)
    assert body["entry"]["overdue"] is False and body["entry"]["last_outreach_at"] == body["at"]
    assert body["entry"]["version"] == 1  # outreach does not make an open edit stale
    log = api("get", f"/api/v1/register/{entry.id}/outreach").json
    assert [o["outcome"] for o in log["outreach"]] == ["visited", "no_answer"]
    assert (log["page"], log["per_page"], log["pages"], log["total"]) == (1, 25, 1, 2)
    paged = api("get", f"/api/v1/register/{entry.id}/outreach?per_page=1&page=2").json
    assert [o["outcome"] for o in paged["outreach"]] == ["no_answer"] and paged["pages"] == 2
    assert count(db, Alert) == 0


def test_a_red_tier_concern_raises_exactly_one_urgent_alert(api, worker, make_client, put_on, db):
    person = make_client(worker.team, worker, full_name="Lam Suk Fan")
    entry = put_on(worker, person, tier="red", flags=["lives_alone_elderly"])
    answer = api("post", f"/api/v1/register/{entry.id}/outreach",
                 {"outcome": "visited", "note": "Not eating, says there is no point", "concern": True})
    assert answer.status_code == 201
    alerts = db.session.scalars(select(Alert)).all()
    assert len(alerts) == 1 and answer.json["alert_id"] == str(alerts[0].id)
    alert = alerts[0]
    assert (alert.kind, alert.urgency, alert.subject_type, alert.subject_id) == (
        "outreach_concern", Urgency.URGENT.value, "client", str(person.id))
    assert "Lam Suk Fan" not in alert.summary


def test_a_concern_on_another_tier_is_logged_without_an_alert(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="orange")
    answer = api("post", f"/api/v1/register/{entry.id}/outreach",
                 {"outcome": "contacted", "note": "Some worry about sleep", "concern": True})
    assert answer.status_code == 201 and answer.json["concern"] is True and answer.json["alert_id"] is None
    assert count(db, Alert) == 0


@pytest.mark.parametrize("body, field", [
    ({"outcome": "phoned"}, "outcome"),
    ({}, "outcome"),
    ({"outcome": "contacted", "concern": True}, "note"),
    ({"outcome": "contacted", "concern": "yes", "note": "x"}, "concern"),
    ({"outcome": "contacted", "note": "x" * 2001}, "note"),
    ({"outcome": "contacted", "at": "2026-01-01T10:00:00+00:00"}, "at"),
])
def test_outreach_with_bad_input_answers_422_and_stores_nothing(api, worker, make_client, put_on, db, body, field):
    entry = put_on(worker, make_client(worker.team, worker), tier="red", days=3)
    before = entry.due_from
    answer = api("post", f"/api/v1/register/{entry.id}/outreach", body)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["fields"]
    assert count(db, RegisterOutreach) == 0 and count(db, Alert) == 0
    assert db.session.get(RegisterEntry, entry.id).due_from == before


def test_a_retried_outreach_with_its_key_is_logged_once(api, worker, make_client, put_on, db):
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    body = {"outcome": "visited", "note": "Crying, alone", "concern": True}
    first = api("post", f"/api/v1/register/{entry.id}/outreach", body, **{"Idempotency-Key": "visit-1"})
    again = api("post", f"/api/v1/register/{entry.id}/outreach", body, **{"Idempotency-Key": "visit-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json
    assert count(db, RegisterOutreach) == 1 and count(db, Alert) == 1


# The document -----------------------------------------------------------------------------------------

def test_the_answers_match_the_document(client, api, worker, make_client, put_on, db):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert set(paths["/api/v1/register"]) == {"get", "post"}
    assert set(paths["/api/v1/register/{entry_id}"]) == {"get", "patch"}
    assert set(paths["/api/v1/register/{entry_id}/outreach"]) == {"get", "post"}
    assert set(paths["/api/v1/register/{entry_id}/remove"]) == {"post"}
    query = {p["name"] for p in paths["/api/v1/register"]["get"]["parameters"]}
    assert query == {"page", "per_page", "tier", "flag", "overdue"}

    person = make_client(worker.team, worker)
    other = put_on(worker, make_client(worker.team, worker), tier="red")
    steps = [
        ("post", "/api/v1/register", "/api/v1/register", {"client_id": str(person.id), "tier": "yellow",
                                                          "flags": ["disability"]}, 201),
        ("get", "/api/v1/register?overdue=1", "/api/v1/register", None, 200),
        ("patch", f"/api/v1/register/{other.id}", "/api/v1/register/{entry_id}", {"version": 1, "tier": "orange"},
         200),
        ("post", f"/api/v1/register/{other.id}/outreach", "/api/v1/register/{entry_id}/outreach",
         {"outcome": "contacted", "note": "Fine", "concern": False}, 201),
        ("get", f"/api/v1/register/{other.id}/outreach", "/api/v1/register/{entry_id}/outreach", None, 200),
        ("post", f"/api/v1/register/{other.id}/remove", "/api/v1/register/{entry_id}/remove",
         {"version": 2, "reason": "Moved"}, 200),
        ("get", f"/api/v1/register/{other.id}", "/api/v1/register/{entry_id}", None, 200),
        ("post", f"/api/v1/register/{other.id}/remove", "/api/v1/register/{entry_id}/remove",
         {"version": 3, "reason": "Again"}, 409),
        ("post", "/api/v1/register", "/api/v1/register", {"client_id": str(person.id), "tier": "red",
                                                          "flags": ["bereaved"]}, 409),
        ("get", "/api/v1/register?tier=purple", "/api/v1/register", None, 422),
    ]
    for method, url, path, body, expected in steps:
        answer = api(method, url, body)
        assert answer.status_code == expected, (method, url, answer.get_data(as_text=True))
        schema = paths[path][method]["responses"][str(expected)]["content"]["application/json"]["schema"]
        errors = sorted(e.message for e in _validator(document, schema).iter_errors(answer.get_json()))
        assert errors == [], (method, url, errors[:3])
