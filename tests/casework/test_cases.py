"""Cases: who sees them, versioned edits, timeline, API."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle.accounts.service import create_token
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import Case, Task
from tests.conftest import csrf_from, form_post, sign_in
from tests.htmlform import submit
from tests.race import Contenders, needs_concurrent_transactions


def bearer(user, db):
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_opening_a_case_assigns_me_and_schedules_first_contact(client, login_as, make_client, db):
    worker = login_as("counsellor")
    person = make_client(worker.team, worker)
    response = form_post(client, f"/clients/{person.id}/cases", {"risk_level": "high", "source": "walk_in",
                                                                 "priority": "high"}, page=f"/clients/{person.id}")
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.assigned_counsellor_id == worker.id and case.phase == "crisis" and case.risk_level == "high"
    task = db.session.scalar(select(Task))
    assert task.kind == "first_contact"
    assert timedelta(hours=23) < task.due_at - utcnow() <= timedelta(hours=24)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "High risk" in page and "First contact" in page and "Case opened" in page


@pytest.mark.parametrize("risk, hours", [("imminent", 1), ("high", 24), ("moderate", 72), ("low", 168)])
def test_first_contact_deadline_by_risk_halved_in_emergency(db, make_user, make_client, make_case, risk, hours):
    from carecycle.mode import switch_mode
    worker = make_user("counsellor")
    normal = make_case(worker, risk_level=risk)
    due = db.session.scalar(select(Task).where(Task.case_id == normal.id)).due_at - normal.opened_at
    assert abs(due - timedelta(hours=hours)) < timedelta(minutes=1)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "flooding in the district")
    db.session.commit()
    urgent = make_case(worker, risk_level=risk)
    due = db.session.scalar(select(Task).where(Task.case_id == urgent.id)).due_at - urgent.opened_at
    assert abs(due - timedelta(hours=hours) / 2) < timedelta(minutes=1)


def test_case_visibility(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    teammate = make_user("counsellor", team=me.team)
    mine = make_case(me)
    theirs = make_case(teammate)
    outsider_case = make_case(make_user("counsellor", team="elsewhere"))
    assert client.get(f"/cases/{mine.id}").status_code == 200
    for case in (theirs, outsider_case):  # not assigned: does not exist for me
        assert client.get(f"/cases/{case.id}").status_code == 404
        assert client.get(f"/cases/{case.id}/edit").status_code == 404
    listing = client.get("/cases").get_data(as_text=True)
    assert f"/cases/{mine.id}" in listing and f"/cases/{theirs.id}" not in listing
    supervisor = make_user("supervisor", team=me.team)
    boss = app.test_client()
    sign_in(boss, supervisor.username)
    assert boss.get(f"/cases/{theirs.id}").status_code == 200
    assert boss.get(f"/cases/{outsider_case.id}").status_code == 404


def test_assigned_social_worker_sees_the_case(app, make_user, make_case):
    counsellor = make_user("counsellor")
    social = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=social)
    browser = app.test_client()
    sign_in(browser, social.username)
    assert browser.get(f"/cases/{case.id}").status_code == 200


def test_admin_and_resident_cannot_read_cases(app, make_user, make_case):
    case = make_case(make_user("counsellor"))
    for role in ("admin", "resident"):
        browser = app.test_client()
        sign_in(browser, make_user(role).username)
        assert browser.get(f"/cases/{case.id}").status_code == 403
        assert browser.get("/cases").status_code == 403


def test_break_glass_opens_a_case_for_an_hour_and_is_audited(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    case = make_case(make_user("counsellor", team=me.team))
    assert client.get(f"/cases/{case.id}").status_code == 404
    response = form_post(client, f"/break-glass/case/{case.id}",
                         {"reason": "Client is at the front desk in crisis; assigned counsellor is off sick."})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    assert client.get(f"/cases/{case.id}").status_code == 200
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(case.id)))]
    assert "break_glass" in actions and "view" in actions
    supervisor = make_user("supervisor", team=me.team)
    reviewer = app.test_client()
    assert sign_in(reviewer, supervisor.username).status_code == 302
    assert f'href="/cases/{case.id}"' in reviewer.get("/break-glass").get_data(as_text=True)  # the grant links its case


@pytest.fixture
def grant_clock(monkeypatch):
    """Moves the clock the break-glass window is measured by (the shell's, used by every area);
    sessions keep the real clock, so the worker stays signed in."""
    from carecycle import breakglass
    offset = [timedelta(0)]
    monkeypatch.setattr(breakglass, "utcnow", lambda: utcnow() + offset[0])

    def move_to(minutes: float) -> None:
        offset[0] = timedelta(minutes=minutes)
    return move_to


def test_break_glass_access_to_a_case_ends_after_sixty_minutes(client, login_as, make_user, make_case, db,
                                                               grant_clock):
    me = login_as("counsellor")
    case = make_case(make_user("counsellor", team=me.team))
    client_page = client.get(f"/clients/{case.client_id}")
    link = re.search(r'href="([^"]+)">Open with a reason \(break-glass\)', client_page.get_data(as_text=True))
    assert link and client.get(f"/cases/{case.id}").status_code == 404
    response = submit(client, link.group(1), "Open the record",
                      {"reason": "Client is at the front desk in crisis; assigned counsellor is off sick."})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    api = bearer(me, db)
    grant_clock(59)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "Alex Example" in page.get_data(as_text=True)
    assert client.get(f"/api/v1/cases/{case.id}", headers=api).status_code == 200
    assert f'href="/cases/{case.id}"' in client.get(f"/clients/{case.client_id}").get_data(as_text=True)
    grant_clock(61)
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert f'href="/cases/{case.id}"' not in client.get(f"/clients/{case.client_id}").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/notes").status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}", headers=api).status_code == 404
    assert str(case.id) not in client.get("/api/v1/cases", headers=api).get_data(as_text=True)


def test_every_case_view_is_audited(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    client.get(f"/cases/{case.id}")
    client.get(f"/cases/{case.id}")
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                        AuditEvent.object_id == str(case.id))).all()
    assert len(views) == 2


def test_stale_edit_gets_409_with_what_changed_and_no_overwrite(app, client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    case = make_case(me, risk_level="moderate")
    seen = str(case.version)
    page = client.get(f"/cases/{case.id}/edit")
    other = app.test_client()
    sign_in(other, me.username)
    first = form_post(other, f"/cases/{case.id}/edit", {"version": seen, "risk_level": "high", "priority": "normal",
                                                        "assigned_counsellor": me.username,
                                                        "assigned_social_worker": ""})
    assert first.status_code == 302
    stale = client.post(f"/cases/{case.id}/edit", data={
        "version": seen, "risk_level": "low", "priority": "urgent", "assigned_counsellor": me.username,
        "assigned_social_worker": "", "csrf_token": csrf_from(page)})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "Risk level: High risk" in body and "risk_level=high" not in body
    db.session.expire_all()
    current = db.session.get(Case, case.id)
    assert current.risk_level == "high" and current.priority == "normal"


def test_the_conflict_page_says_in_words_what_the_other_person_changed(app, make_user, make_case, db):
    """Two people edit the case through its form; the second is shown the first one's change in
    words and in their language ("Priority: Urgent"), never the stored "priority=urgent"."""
    me = make_user("counsellor", locale="zh_Hant")
    colleague = make_user("supervisor", team=me.team, display_name="Lee Ka Yan")  # the team supervisor
    case = make_case(me, risk_level="moderate")
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, me.username)
    sign_in(theirs, colleague.username)
    edit = f"/cases/{case.id}/edit"
    my_page = mine.get(edit)
    assert submit(theirs, edit, "Save", {"priority": "urgent", "assigned_social_worker": ""}).status_code == 302
    stale = submit(mine, my_page, "儲存", {"risk_level": "low"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "priority=urgent" not in html and "updated:" not in html
    assert "個案已更新" in html and "優先次序：緊急" in html
    db.session.expire_all()
    assert db.session.get(Case, case.id).risk_level == "moderate"
    # the case timeline says it in words too
    timeline = theirs.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Case updated · Lee Ka Yan: Priority: Urgent" in timeline


def test_assignment_only_to_staff_of_the_team(client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    stranger = make_user("social_worker", team="elsewhere")
    response = form_post(client, f"/cases/{case.id}/edit", {
        "version": str(case.version), "risk_level": "moderate", "priority": "normal",
        "assigned_counsellor": me.username, "assigned_social_worker": stranger.username})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Case, case.id).assigned_social_worker_id is None


# ------------------------------------------------------------------ API
def test_api_clients_and_cases_round_trip(client, make_user, db):
    me = make_user("counsellor")
    headers = bearer(me, db)
    created = client.post("/api/v1/clients", headers=headers, json={"full_name": "Api Person", "phone": "9444 5555"})
    assert created.status_code == 201
    client_id = created.json["id"]
    found = client.get("/api/v1/clients?phone=94445555", headers=headers)
    assert [c["id"] for c in found.json["clients"]] == [client_id]
    detail = client.get(f"/api/v1/clients/{client_id}", headers=headers)
    assert detail.json["full_name"] == "Api Person" and detail.json["phone"] == "9444 5555"
    consent = client.post(f"/api/v1/clients/{client_id}/consents", headers=headers, json={"scope": "contact"})
    assert consent.status_code == 201
    withdrawn = client.post(f"/api/v1/clients/{client_id}/consents/{consent.json['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json["withdrawn_at"]
    opened = client.post("/api/v1/cases", headers=headers,
                         json={"client_id": client_id, "risk_level": "moderate", "source": "hotline"})
    assert opened.status_code == 201 and opened.json["version"] == 1
    case_id = opened.json["id"]
    listed = client.get("/api/v1/cases", headers=headers)
    assert [c["id"] for c in listed.json["cases"]] == [case_id]
    patched = client.patch(f"/api/v1/cases/{case_id}", headers=headers, json={"version": 1, "risk_level": "high"})
    assert patched.status_code == 200 and patched.json["risk_level"] == "high" and patched.json["version"] == 2
    stale = client.patch(f"/api/v1/cases/{case_id}", headers=headers, json={"version": 1, "priority": "urgent"})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).json["priority"] == "normal"


def test_api_validation_and_visibility(client, make_user, make_case, db):
    me = make_user("counsellor")
    headers = bearer(me, db)
    invalid = client.post("/api/v1/clients", headers=headers, json={"phone": "12"})
    assert invalid.status_code == 422 and set(invalid.json["error"]["fields"]) == {"full_name", "phone"}
    bad_case = client.post("/api/v1/cases", headers=headers, json={"client_id": "x"})
    assert bad_case.status_code == 422
    other = make_case(make_user("counsellor", team="elsewhere"))
    assert client.get(f"/api/v1/cases/{other.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/clients/{other.client_id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/cases/{other.id}", headers=headers, json={"version": 1}).status_code == 404
    unknown = client.patch(f"/api/v1/cases/{make_case(me).id}", headers=headers, json={"version": 1, "phase": "x"})
    assert unknown.status_code == 422 and "phase" in unknown.json["error"]["fields"]
    admin_headers = bearer(make_user("admin"), db)
    assert client.get("/api/v1/cases", headers=admin_headers).status_code == 403


def test_api_duplicate_client_is_409_without_other_teams_details(client, make_user, make_client, db):
    outsider = make_user("counsellor", team="elsewhere")
    make_client(outsider.team, outsider, full_name="Hidden Name", phone="9555 6666")
    headers = bearer(make_user("counsellor"), db)
    response = client.post("/api/v1/clients", headers=headers, json={"full_name": "New", "phone": "95556666"})
    assert response.status_code == 409 and response.json["error"]["code"] == "duplicate"
    assert "Hidden Name" not in response.get_data(as_text=True)
    forced = client.post("/api/v1/clients", headers=headers,
                         json={"full_name": "New", "phone": "95556666", "confirm_duplicate": True})
    assert forced.status_code == 201


def test_concurrent_edits_one_wins(app, make_user, make_case, db):
    """Two writers that both read the same version, then save at once: one saves, the other is refused.
    PostgreSQL only (see tests/race.py): SQLite runs one transaction at a time; the serial stale edit
    is test_stale_edit_gets_409_with_what_changed_and_no_overwrite."""
    from sqlalchemy.orm.exc import StaleDataError

    from carecycle.extensions import db as _db
    from carecycle.validation import Conflict
    from casework.service import cases as service
    needs_concurrent_transactions(db)
    me = make_user("counsellor")
    case = make_case(me)
    case_id, user_id, version = case.id, me.id, case.version
    db.session.commit()  # end this test's transaction
    contenders = Contenders(2)
    outcomes, errors = [], []

    def edit(priority):
        with app.app_context():
            from carecycle.accounts.models import User
            try:
                user = _db.session.get(User, user_id)
                row = _db.session.get(Case, case_id)
                contenders.ready(row.version)  # both hold the same version before either saves
                service.update_case(user, row, row.version, {"priority": priority})
                _db.session.commit()
                outcomes.append("saved")
            except (Conflict, StaleDataError):
                _db.session.rollback()
                outcomes.append("refused")
            except Exception as error:  # surfaced below
                _db.session.rollback()
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=edit, args=(p,)) for p in ("high", "urgent")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    contenders.assert_overlapped(version)
    assert sorted(outcomes) == ["refused", "saved"]
    db.session.expire_all()
    assert db.session.get(Case, case_id).version == version + 1


def test_opening_a_case_for_a_client_i_may_not_see_is_404(client, login_as, make_user, make_client, db):
    me = login_as("counsellor")
    outsider = make_user("counsellor", team="elsewhere")
    theirs = make_client(outsider.team, outsider)
    response = form_post(client, f"/clients/{theirs.id}/cases", {"risk_level": "high", "source": "walk_in",
                                                                 "priority": "high"}, page="/clients")
    assert response.status_code == 404
    api = client.post("/api/v1/cases", headers=bearer(me, db),
                      json={"client_id": str(theirs.id), "risk_level": "high", "source": "walk_in"})
    assert api.status_code == 404
    assert db.session.scalar(select(Case)) is None


def test_api_caseload_lists_my_open_cases_only(client, make_user, make_case, db):
    from casework.service import phases
    me = make_user("counsellor")
    teammate = make_user("counsellor", team=me.team)
    mine = make_case(me, risk_level="low")
    closed = make_case(me, risk_level="low")
    phases.request_closure(me, closed, closed.version, "All goals reached, thanks.", "goals_achieved")
    make_case(teammate)
    db.session.commit()
    listed = client.get("/api/v1/cases", headers=bearer(me, db)).json["cases"]
    assert [c["id"] for c in listed] == [str(mine.id)]
    assert listed[0]["assigned_counsellor"] == me.username
    boss = make_user("supervisor", team=me.team)
    assert len(client.get("/api/v1/cases", headers=bearer(boss, db)).json["cases"]) == 2


def test_api_caseload_comes_a_page_at_a_time_and_refuses_bad_paging(client, make_user, make_case, db):
    me = make_user("counsellor")
    opened = [make_case(me, risk_level="low") for _ in range(3)]
    headers = bearer(me, db)
    first = client.get("/api/v1/cases?per_page=2", headers=headers).json
    second = client.get("/api/v1/cases?per_page=2&page=2", headers=headers).json
    assert (first["page"], first["per_page"], first["has_next"], second["has_next"]) == (1, 2, True, False)
    assert [c["id"] for c in first["cases"] + second["cases"]] == [str(c.id) for c in opened]
    for bad in ("per_page=0", "per_page=101", "page=x"):
        refused = client.get(f"/api/v1/cases?{bad}", headers=headers)
        assert refused.status_code == 422 and set(refused.json["error"]["fields"]) <= {"page", "per_page"}
