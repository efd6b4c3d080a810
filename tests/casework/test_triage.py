"""Triage queue: visibility, deadlines, the claim race, convert and close rules, audit, API."""
import threading
from datetime import timedelta

from sqlalchemy import select, text

from carecycle.accounts.models import User
from carecycle.alerts import Alert, raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import switch_mode
from casework.models import Case, CaseEvent, Client, Task
from casework.service import triage
from screening.models import ContactRequest
from tests.conftest import form_post, sign_in
from tests.race import Contenders, needs_concurrent_transactions


def _alert(db, urgency="crisis", kind="screening", team=None, summary="Asks to be called today", **fields):
    alert = raise_alert(kind, urgency, team_id=team.id if team else None, summary=summary)
    for name, value in fields.items():
        setattr(alert, name, value)
    db.session.commit()
    return alert


def _fresh(db, model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def _claim(client, alert):
    return form_post(client, f"/triage/{alert.id}/claim", {}, page=f"/triage/{alert.id}")


def _actions(db, alert):
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == str(alert.id))
                                                 .order_by(AuditEvent.seq))]


# ------------------------------------------------------------------ the queue
def test_queue_lists_kind_urgency_age_deadline_sorted_with_overdue_marks(client, login_as, make_team, db):
    worker = login_as("counsellor")
    contact = _alert(db, "contact_request", summary="contact")
    crisis = _alert(db, "crisis", kind="walk_in", team=worker.team)
    late = _alert(db, "crisis", kind="hotline", team=worker.team,
                  created_at=utcnow() - timedelta(hours=3), deadline=utcnow() - timedelta(hours=1))
    other_team = _alert(db, "crisis", kind="walk_in", team=make_team())
    page = client.get("/triage").get_data(as_text=True)
    assert page.index(f"/triage/{late.id}") < page.index(f"/triage/{crisis.id}") < page.index(f"/triage/{contact.id}")
    assert f"/triage/{other_team.id}" not in page
    for label in ("Walk-in", "Hotline call", "Self-screening", "Crisis", "Contact request", "Overdue", "3 hours"):
        assert label in page
    assert page.count("tag danger") == 1
    filtered = client.get("/triage?overdue=1").get_data(as_text=True)
    assert f"/triage/{late.id}" in filtered and f"/triage/{crisis.id}" not in filtered
    by_kind = client.get("/triage?kind=screening").get_data(as_text=True)
    assert f"/triage/{contact.id}" in by_kind and f"/triage/{crisis.id}" not in by_kind


def test_queue_paginates(client, login_as, db):
    login_as("counsellor")
    for _ in range(27):
        _alert(db, "routine")
    first = client.get("/triage").get_data(as_text=True)
    assert "Page 1 of 2" in first and "27 alerts" in first
    assert "Page 2 of 2" in client.get("/triage?page=2").get_data(as_text=True)


def test_nav_links_to_triage_and_home_is_my_day(client, login_as):
    login_as("counsellor")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/triage"' in page and "<h1>My day</h1>" in page
    assert 'href="/alerts"' not in page  # the triage queue lists the open alerts: one entry, not two
    assert client.get("/alerts").status_code == 200  # the shell's list still works


def test_social_worker_and_admin_cannot_work_the_queue(client, login_as, db):
    login_as("social_worker")
    alert = _alert(db)
    assert client.get("/triage").status_code == 403
    assert client.get(f"/triage/{alert.id}").status_code == 403


def test_alert_of_another_team_does_not_exist_for_me(client, login_as, make_team, db):
    login_as("counsellor")
    theirs = _alert(db, team=make_team())
    assert client.get(f"/triage/{theirs.id}").status_code == 404
    for action in ("claim", "release", "close", "convert"):
        response = form_post(client, f"/triage/{theirs.id}/{action}", {"reason": "x"}, page="/triage")
        assert response.status_code == 404
    assert client.get(f"/triage/{theirs.id}/convert").status_code == 404
    assert client.get("/triage/not-a-uuid").status_code == 404
    assert _fresh(db, Alert, theirs.id).state == "open"


# ------------------------------------------------------------------ recording and deadlines
def test_record_walk_in_puts_an_encrypted_alert_on_my_teams_queue(client, login_as, db):
    worker = login_as("counsellor")
    response = form_post(client, "/triage/new", {"kind": "walk_in", "urgency": "crisis",
                                                 "summary": "Young man at reception, says he has a plan"})
    assert response.status_code == 302
    alert = db.session.scalar(select(Alert))
    assert alert.kind == "walk_in" and alert.team_id == worker.team_id and alert.state == "open"
    assert timedelta(minutes=119) < alert.deadline - alert.created_at <= timedelta(hours=2)
    raw = db.session.execute(text("SELECT summary FROM alert")).scalar_one()
    assert raw.startswith("ccv1:") and "plan" not in raw
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "says he has a plan" in page


def test_record_with_bad_input_shows_messages_and_stores_nothing(client, login_as, db):
    login_as("counsellor")
    response = form_post(client, "/triage/new", {"kind": "walk_in", "urgency": "crisis", "summary": "  "})
    assert response.status_code == 400 and "short summary" in response.get_data(as_text=True)
    response = form_post(client, "/triage/new", {"kind": "screening", "urgency": "crisis", "summary": "x"})
    assert response.status_code == 400
    assert db.session.scalar(select(Alert)) is None


def test_deadlines_halve_in_emergency_mode(client, login_as, make_user, db):
    worker = login_as("counsellor")
    normal_crisis, normal_contact = _alert(db, "crisis"), _alert(db, "contact_request")
    assert normal_crisis.deadline - normal_crisis.created_at == timedelta(hours=2)
    assert normal_contact.deadline - normal_contact.created_at == timedelta(days=2)
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Typhoon: surge staffing")
    db.session.commit()
    crisis, contact = _alert(db, "crisis"), _alert(db, "contact_request")
    assert crisis.deadline - crisis.created_at == timedelta(hours=1)
    assert contact.deadline - contact.created_at == timedelta(days=1)
    form_post(client, "/triage/new", {"kind": "hotline", "urgency": "crisis", "summary": "Caller in distress"})
    recorded = db.session.scalar(select(Alert).where(Alert.kind == "hotline"))
    assert recorded.deadline - recorded.created_at == timedelta(hours=1)


# ------------------------------------------------------------------ claiming
def test_claim_then_a_colleague_is_told_who_has_it(client, app, login_as, make_user, db):
    first = login_as("counsellor", display_name="Chris First")
    alert = _alert(db)
    assert _claim(client, alert).status_code == 302
    claimed = _fresh(db, Alert, alert.id)
    assert claimed.state == "claimed" and claimed.claimed_by_id == first.id and claimed.claimed_at
    other = app.test_client()
    second = make_user("counsellor", team=first.team)
    sign_in(other, second.username)
    response = form_post(other, f"/triage/{alert.id}/claim", {}, page=f"/triage/{alert.id}")
    assert response.status_code == 409
    assert "already claimed by Chris First" in response.get_data(as_text=True)
    assert _fresh(db, Alert, alert.id).claimed_by_id == first.id


def test_two_claims_at_the_same_moment_have_exactly_one_winner(app, make_user, db):
    """Each thread has its own app context and session; both read the alert as open, then claim at
    once, so the conditional UPDATE picks the winner. PostgreSQL only (see tests/race.py): SQLite
    runs one transaction at a time; the claim of an already claimed alert is tested above."""
    needs_concurrent_transactions(db)
    team_a = make_user("counsellor")
    team_b = make_user("counsellor", team=team_a.team)
    users = {team_a.id: team_a.username, team_b.id: team_b.username}
    for _round in range(5):
        alert = _alert(db)
        alert_id = alert.id
        db.session.commit()  # reading the id began a transaction; end it so the threads find no lock
        contenders = Contenders(2)
        results, errors = [], []

        def attempt(user_id, alert_id=alert_id, contenders=contenders, results=results, errors=errors):
            try:
                with app.app_context():
                    user = db.session.get(User, user_id)
                    target = db.session.get(Alert, alert_id)
                    contenders.ready(target.state)  # both read it open, in their own transactions
                    try:
                        triage.claim(user, target)
                        db.session.commit()
                        results.append(("won", user.username))
                    except triage.AlreadyClaimed as lost:
                        db.session.rollback()
                        results.append(("lost", lost.holder.username, lost.message))
                    finally:
                        db.session.remove()
            except Exception as error:  # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=attempt, args=(uid,)) for uid in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        contenders.assert_overlapped("open")
        winners = [r for r in results if r[0] == "won"]
        losers = [r for r in results if r[0] == "lost"]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0][1] == winners[0][1] and winners[0][1] in losers[0][2]
        stored = _fresh(db, Alert, alert_id)
        assert stored.state == "claimed" and users[stored.claimed_by_id] == winners[0][1]
        assert _actions(db, stored).count("claim") == 1


def test_release_puts_it_back_and_only_the_claimer_may(client, app, login_as, make_user, db):
    worker = login_as("counsellor")
    alert = _alert(db)
    _claim(client, alert)
    colleague = app.test_client()
    sign_in(colleague, make_user("counsellor", team=worker.team).username)
    assert form_post(colleague, f"/triage/{alert.id}/release", {}, page=f"/triage/{alert.id}").status_code == 403
    assert _fresh(db, Alert, alert.id).state == "claimed"
    assert form_post(client, f"/triage/{alert.id}/release", {}, page=f"/triage/{alert.id}").status_code == 302
    released = _fresh(db, Alert, alert.id)
    assert released.state == "open" and released.claimed_by_id is None
    assert _actions(db, alert)[-1] == "release"


# ------------------------------------------------------------------ leaving the queue
def test_convert_with_a_new_client_opens_a_crisis_case(client, login_as, db):
    worker = login_as("counsellor")
    alert = _alert(db, "crisis", kind="hotline", team=worker.team, summary="Caller says she cannot go on")
    _claim(client, alert)
    response = form_post(client, f"/triage/{alert.id}/convert", {
        "client_choice": "new", "full_name": "Lam Wing Yee", "phone": "9444 5555", "risk_level": "imminent",
        "priority": "urgent"})
    assert response.status_code == 302, response.get_data(as_text=True)
    case = db.session.scalar(select(Case).where(Case.alert_id == alert.id))
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.source == "hotline" and case.phase == "crisis" and case.risk_level == "imminent"
    assert case.assigned_counsellor_id == worker.id
    assert db.session.get(Client, case.client_id).full_name == "Lam Wing Yee"
    task = db.session.scalar(select(Task).where(Task.case_id == case.id))
    assert task.kind == "first_contact" and task.due_at - utcnow() <= timedelta(hours=1)
    stored = _fresh(db, Alert, alert.id)
    assert stored.state == "converted" and stored.closed_by_id == worker.id
    kinds = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "from_alert" in kinds
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Opened from a triage alert" in page and "cannot go on" in page
    assert "convert" in _actions(db, alert) and "claim" in _actions(db, alert)
    assert client.get("/triage").get_data(as_text=True).count(str(alert.id)) == 0  # left the queue


def test_convert_links_an_existing_client_i_may_see(client, login_as, make_client, make_user, db):
    worker = login_as("counsellor")
    mine = make_client(worker.team, worker, full_name="Existing Person", phone="9222 3333")
    outsider = make_user("counsellor", team="elsewhere")
    hidden = make_client(outsider.team, outsider, full_name="Hidden Person", phone="9888 7777")
    alert = _alert(db)
    _claim(client, alert)
    def found(phone):  # the search is POSTed, never in the URL
        return form_post(client, f"/triage/{alert.id}/convert", {"find": "1", "find-phone": phone}).get_data(
            as_text=True)
    assert "Existing Person" in found("92223333")
    assert "Hidden Person" not in found("98887777")
    refused = form_post(client, f"/triage/{alert.id}/convert", {"client_choice": str(hidden.id),
                                                                "risk_level": "high", "priority": "high"})
    assert refused.status_code == 200 and "No client you can see" in refused.get_data(as_text=True)
    assert _fresh(db, Alert, alert.id).state == "claimed" and db.session.scalar(select(Case)) is None
    ok = form_post(client, f"/triage/{alert.id}/convert", {"client_choice": str(mine.id), "risk_level": "high",
                                                           "priority": "high"})
    assert ok.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.client_id == mine.id and case.source == "screening" and case.alert_id == alert.id
    assert db.session.query(Client).count() == 2


def test_convert_warns_about_a_duplicate_phone(client, login_as, make_client, db):
    worker = login_as("counsellor")
    existing = make_client(worker.team, worker, full_name="Same Phone", phone="9111 0000")
    alert = _alert(db)
    _claim(client, alert)
    data = {"client_choice": "new", "full_name": "New Name", "phone": "91110000", "risk_level": "high",
            "priority": "high"}
    response = form_post(client, f"/triage/{alert.id}/convert", data)
    assert response.status_code == 409 and str(existing.id) in response.get_data(as_text=True)
    assert db.session.scalar(select(Case)) is None and _fresh(db, Alert, alert.id).state == "claimed"
    confirmed = form_post(client, f"/triage/{alert.id}/convert", {**data, "confirm_different": "y"})
    assert confirmed.status_code == 302 and db.session.query(Client).count() == 2


def test_convert_validates_and_changes_nothing(client, login_as, db):
    login_as("counsellor")
    alert = _alert(db)
    _claim(client, alert)
    response = form_post(client, f"/triage/{alert.id}/convert", {"client_choice": "new", "full_name": "",
                                                                 "risk_level": "high", "priority": "high"})
    assert response.status_code == 400 and "full name" in response.get_data(as_text=True)
    assert _fresh(db, Alert, alert.id).state == "claimed"
    assert db.session.scalar(select(Client)) is None and db.session.scalar(select(Case)) is None


def test_nobody_but_the_claimer_converts_or_closes(client, app, login_as, make_user, db):
    worker = login_as("counsellor")
    alert = _alert(db, team=worker.team)
    _claim(client, alert)
    colleague = app.test_client()
    sign_in(colleague, make_user("counsellor", team=worker.team).username)
    convert = form_post(colleague, f"/triage/{alert.id}/convert", {
        "client_choice": "new", "full_name": "Someone", "risk_level": "high", "priority": "high"},
        page=f"/triage/{alert.id}")
    assert convert.status_code == 403
    close = form_post(colleague, f"/triage/{alert.id}/close", {"reason": "Not mine to close"},
                      page=f"/triage/{alert.id}")
    assert close.status_code == 403
    assert _fresh(db, Alert, alert.id).state == "claimed"
    assert db.session.scalar(select(Case)) is None and db.session.scalar(select(Client)) is None
    assert _actions(db, alert).count("permission_denied") == 2


def test_the_teams_supervisor_may_close_a_claimed_alert(client, app, login_as, make_user, db):
    worker = login_as("counsellor")
    alert = _alert(db)  # shared queue: the claimer's team supervisor may act
    _claim(client, alert)
    boss = app.test_client()
    sign_in(boss, make_user("supervisor", team=worker.team).username)
    response = form_post(boss, f"/triage/{alert.id}/close", {"reason": "Duplicate of the caller's earlier alert"},
                         page=f"/triage/{alert.id}")
    assert response.status_code == 302
    assert _fresh(db, Alert, alert.id).state == "closed"
    other_boss = app.test_client()
    sign_in(other_boss, make_user("supervisor", team="elsewhere").username)
    second = _alert(db)
    _claim(client, second)
    refused = form_post(other_boss, f"/triage/{second.id}/close", {"reason": "Not my team"},
                        page=f"/triage/{second.id}")
    assert refused.status_code == 403


def test_close_needs_a_reason_which_is_stored_encrypted(client, login_as, db):
    login_as("counsellor")
    alert = _alert(db)
    _claim(client, alert)
    empty = form_post(client, f"/triage/{alert.id}/close", {"reason": "   "}, page=f"/triage/{alert.id}")
    assert empty.status_code == 400 and "Write why" in empty.get_data(as_text=True)
    assert _fresh(db, Alert, alert.id).state == "claimed"
    done = form_post(client, f"/triage/{alert.id}/close", {"reason": "Reached her; safe, follows up with GP"},
                     page=f"/triage/{alert.id}")
    assert done.status_code == 302
    closed = _fresh(db, Alert, alert.id)
    assert closed.state == "closed" and closed.close_reason == "Reached her; safe, follows up with GP"
    raw = db.session.execute(text("SELECT close_reason FROM alert")).scalar_one()
    assert raw.startswith("ccv1:") and "follows up with GP" not in raw
    assert _actions(db, alert)[-1] == "close"
    assert all("follows up" not in (e.reason or "") for e in db.session.scalars(select(AuditEvent)))


def test_nothing_leaves_the_queue_without_a_claim(client, login_as, db):
    login_as("counsellor")
    alert = _alert(db)
    close = form_post(client, f"/triage/{alert.id}/close", {"reason": "Trying to skip the claim"},
                      page=f"/triage/{alert.id}")
    assert close.status_code == 302
    assert "Claim this alert first" in client.get(close.headers["Location"]).get_data(as_text=True)
    convert = form_post(client, f"/triage/{alert.id}/convert", {"client_choice": "new", "full_name": "X Y",
                                                                "risk_level": "low", "priority": "low"},
                        page=f"/triage/{alert.id}")
    assert convert.status_code == 302
    assert _fresh(db, Alert, alert.id).state == "open"
    _claim(client, alert)
    form_post(client, f"/triage/{alert.id}/close", {"reason": "Spoke to them, no risk"}, page=f"/triage/{alert.id}")
    again = form_post(client, f"/triage/{alert.id}/convert", {"client_choice": "new", "full_name": "X Y",
                                                              "risk_level": "low", "priority": "low"},
                      page=f"/triage/{alert.id}")
    assert again.status_code == 302 and db.session.scalar(select(Case)) is None
    assert _fresh(db, Alert, alert.id).state == "closed"


def test_screening_contact_request_prefills_the_new_client(client, login_as, db):
    login_as("counsellor")
    request = ContactRequest(urgency="crisis", preferred_time="any", consent_version="2026-1",
                             consented_at=utcnow(), language="en")
    request.name, request.phone = "Wai Ming", "9555 1212"
    db.session.add(request)
    db.session.flush()
    alert = raise_alert("screening", "crisis", subject_type="contact_request", subject_id=request.id,
                        summary="Self-screening PHQ-9: band severe, crisis")
    db.session.commit()
    detail = client.get(f"/triage/{alert.id}").get_data(as_text=True)
    assert "Wai Ming" in detail and "9555 1212" in detail
    _claim(client, alert)
    page = client.get(f"/triage/{alert.id}/convert").get_data(as_text=True)
    assert 'value="Wai Ming"' in page and 'value="9555 1212"' in page
    assert "view" in [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(request.id)))]


def test_viewing_an_alert_is_audited(client, login_as, db):
    login_as("counsellor")
    alert = _alert(db)
    client.get(f"/triage/{alert.id}")
    assert "view" in _actions(db, alert)


# ------------------------------------------------------------------ API
def _token(runner, user):
    return runner.invoke(args=["tokens", "create", user.username]).output.strip()


def test_api_lists_visible_open_and_claimed_alerts(client, runner, make_user, make_team, db):
    worker = make_user("counsellor")
    headers = {"Authorization": f"Bearer {_token(runner, worker)}"}
    shared = _alert(db, "contact_request")
    mine = _alert(db, "crisis", team=worker.team)
    _alert(db, "crisis", team=make_team())
    finished = _alert(db, "crisis", state="closed")
    response = client.get("/api/v1/triage", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert [a["id"] for a in body["alerts"]] == [str(mine.id), str(shared.id)]
    assert str(finished.id) not in str(body)
    first = body["alerts"][0]
    assert set(first) == {
        "id",
        "kind",
        "urgency",
        "state",
        "created_at",
        "deadline",
        "overdue",
        "possible_flood",
        "claimed_by",
        "subject",
    }
    assert first["urgency"] == "crisis" and first["overdue"] is False
    assert first["possible_flood"] is False and first["claimed_by"] is None


def test_api_claim_answers_200_then_409_naming_the_holder(client, runner, make_user, make_team, db):
    first, second = make_user("counsellor"), make_user("counsellor")
    alert = _alert(db)
    one = client.post(f"/api/v1/triage/{alert.id}/claim", headers={"Authorization": f"Bearer {_token(runner, first)}"})
    assert one.status_code == 200
    assert one.get_json()["state"] == "claimed" and one.get_json()["claimed_by"] == first.username
    two = client.post(f"/api/v1/triage/{alert.id}/claim",
                      headers={"Authorization": f"Bearer {_token(runner, second)}"})
    assert two.status_code == 409
    error = two.get_json()["error"]
    assert error["code"] == "already_claimed" and first.username in error["message"]
    listed = client.get("/api/v1/triage", headers={"Authorization": f"Bearer {_token(runner, second)}"}).get_json()
    assert listed["alerts"][0]["claimed_by"] == first.username


def test_api_claim_of_an_invisible_alert_is_404_and_social_workers_get_403(client, runner, make_user, make_team, db):
    worker = make_user("counsellor")
    theirs = _alert(db, team=make_team())
    headers = {"Authorization": f"Bearer {_token(runner, worker)}"}
    assert client.post(f"/api/v1/triage/{theirs.id}/claim", headers=headers).status_code == 404
    assert client.post("/api/v1/triage/not-a-uuid/claim", headers=headers).status_code == 404
    assert _fresh(db, Alert, theirs.id).state == "open"
    social = {"Authorization": f"Bearer {_token(runner, make_user('social_worker'))}"}
    assert client.get("/api/v1/triage", headers=social).status_code == 403
    assert client.get("/api/v1/triage").status_code == 401
