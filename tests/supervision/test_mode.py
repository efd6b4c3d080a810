"""The operating-mode switch: a reason, audited, the banner (since when, who), deadlines halved,
the after-action review with the period's figures when going back, the API and the surge view."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.mode import ModeChange, current_mode
from casework.models import Task
from casework.service import register
from supervision.models import AfterActionReview
from tests.conftest import form_post, sign_in
from tests.supervision.conftest import sign_out

REVIEW = {"what_happened": "Typhoon night: flooding in the low estates.",
          "what_worked": "Volunteer call tree reached everyone in an hour.",
          "what_to_change": "Keep a printed red-tier list at the shelter."}


def _switch(client, mode, reason, **review):
    return form_post(client, "/supervision/mode", {"mode": mode, "reason": reason, **review}, page="/supervision/mode")


def test_switching_to_emergency_needs_a_reason_is_audited_and_shows_the_banner(db, client, crew):
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    refused = _switch(client, "emergency", "")
    assert refused.status_code == 400 and "Give a reason" in refused.get_data(as_text=True)
    assert not current_mode().emergency
    assert _switch(client, "emergency", "Typhoon signal 8 raised").status_code == 302
    db.session.expire_all()
    state = current_mode()
    assert state.emergency and state.switched_by_id == c.supervisor.id and state.reason == "Typhoon signal 8 raised"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "operating_mode"))
    assert event.actor_id == c.supervisor.id and event.reason == "emergency"
    page = client.get("/supervision/caseload").get_data(as_text=True)
    assert 'class="banner emergency"' in page and c.supervisor.display_name in page and "Typhoon signal 8" in page
    # every staff page carries it; the public start page does not
    assert 'class="banner emergency"' in client.get("/cases").get_data(as_text=True)
    sign_out(client)
    assert 'class="banner emergency"' not in client.get("/").get_data(as_text=True)


def test_emergency_mode_halves_deadlines(db, crew, make_case, make_client, app):
    from supervision.service import operating
    c = crew()
    entry_client = make_client(c.team)
    entry = register.add_to_register(c.counsellor, entry_client, {"tier": "red", "flags": ["bereaved"]})
    db.session.commit()
    normal_alert = raise_alert("walk_in", "crisis", team_id=c.team.id)
    normal_case = make_case(c.counsellor, risk_level="high")
    normal_due = register.next_due(entry)
    with app.test_request_context():
        operating.switch(c.supervisor, "emergency", "Flooding")
    db.session.commit()
    emergency_alert = raise_alert("walk_in", "crisis", team_id=c.team.id)
    emergency_case = make_case(c.counsellor, risk_level="high")
    db.session.commit()
    # raised before the switch and still open: brought forward to its emergency deadline too
    assert normal_alert.deadline - normal_alert.created_at == timedelta(hours=1)
    assert emergency_alert.deadline - emergency_alert.created_at == timedelta(hours=1)

    def first_contact(case):
        task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == "first_contact"))
        return task.due_at - case.opened_at

    assert abs(first_contact(normal_case) - timedelta(hours=12)) < timedelta(minutes=1)
    assert abs(first_contact(emergency_case) - timedelta(hours=12)) < timedelta(minutes=1)
    assert register.next_due(entry) - entry.due_from == timedelta(days=3.5)
    assert normal_due - entry.due_from == timedelta(days=7)
    with app.test_request_context():
        operating.switch(c.supervisor, "normal", "Signal lowered", REVIEW)
    db.session.commit()
    assert register.next_due(entry) - entry.due_from == timedelta(days=7)


def test_going_back_to_normal_asks_for_the_after_action_review_with_the_figures(db, client, crew):
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    _switch(client, "emergency", "Fire in Block C")
    for _ in range(6):
        alert = raise_alert("hotline", "crisis", team_id=c.team.id)
        alert.claimed_at = alert.created_at + timedelta(minutes=10)
    raise_alert("walk_in", "urgent", team_id=c.team.id)
    db.session.commit()
    refused = _switch(client, "normal", "Fire out", what_happened="Fire.")
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Say what worked." in body and "Say what to change next time." in body
    assert current_mode().emergency
    done = _switch(client, "normal", "Fire out, residents rehoused", **REVIEW)
    assert done.status_code == 302 and "/supervision/reviews/" in done.headers["Location"]
    db.session.expire_all()
    assert not current_mode().emergency
    review = db.session.scalar(select(AfterActionReview))
    assert review.what_to_change == REVIEW["what_to_change"] and REVIEW["what_to_change"] not in review._what_to_change
    assert review.written_by_id == c.supervisor.id and review.started_at < review.ended_at
    assert review.figures["alerts"] == {"crisis": 6, "urgent": 1}
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert REVIEW["what_worked"] in page
    assert ">6<" in page and ">&lt;5<" in page  # crisis alerts shown; the single urgent one under the rule
    assert "10 min" in page  # median time to claim
    listing = client.get("/supervision/reviews").get_data(as_text=True)
    assert str(review.id) in listing


def test_the_mode_api(db, client, crew, bearer, make_user):
    c = crew()
    headers = bearer(c.supervisor)
    assert client.get("/api/v1/mode", headers=headers).get_json()["mode"] == "normal"
    bad = client.post("/api/v1/mode", json={"mode": "panic", "reason": "x"}, headers=headers)
    assert bad.status_code == 422 and "mode" in bad.get_json()["error"]["fields"]
    assert client.post("/api/v1/mode", json={"mode": "emergency"}, headers=headers).status_code == 422
    assert client.post("/api/v1/mode", json={"mode": "emergency", "reason": "x", "extra": 1},
                       headers=headers).status_code == 422
    assert client.post("/api/v1/mode", data="nope", headers=headers).status_code == 400
    on = client.post("/api/v1/mode", json={"mode": "emergency", "reason": "Storm"}, headers=headers)
    assert on.status_code == 200
    assert on.get_json()["mode"] == "emergency" and on.get_json()["switched_by"]["username"] == c.supervisor.username
    again = client.post("/api/v1/mode", json={"mode": "emergency", "reason": "Storm"}, headers=headers)
    assert again.status_code == 422
    no_review = client.post("/api/v1/mode", json={"mode": "normal", "reason": "Calm"}, headers=headers)
    assert no_review.status_code == 422
    assert set(no_review.get_json()["error"]["fields"]) == {"review.what_happened", "review.what_worked",
                                                             "review.what_to_change"}
    off = client.post("/api/v1/mode", json={"mode": "normal", "reason": "Calm", "review": REVIEW}, headers=headers)
    assert off.status_code == 200 and off.get_json()["after_action_review"]
    worker = make_user("counsellor", team=c.team)
    assert client.post("/api/v1/mode", json={"mode": "emergency", "reason": "x"},
                       headers=bearer(worker)).status_code == 403
    assert db.session.scalar(select(ModeChange).where(ModeChange.switched_by_id == worker.id)) is None


def test_only_supervisors_switch(client, login_as):
    login_as("counsellor")
    assert client.get("/supervision/mode").status_code == 403
    assert form_post(client, "/supervision/mode", {"mode": "emergency", "reason": "x"}, page="/").status_code == 403


def test_the_surge_view(db, client, crew, make_client, make_referral, app):
    from supervision.service import operating
    c = crew()
    raise_alert("walk_in", "crisis", team_id=c.team.id, summary="Distressed man at the door")
    person = make_client(c.team, full_name="Red Tier Person")
    entry = register.add_to_register(c.counsellor, person, {"tier": "red", "flags": ["lives_alone_elderly"]})
    entry.due_from = utcnow() - timedelta(days=30)
    db.session.commit()
    waiting = make_referral(c.counsellor, "draft", tier=1, risk_level="moderate")
    from referrals.service import referrals as referral_service
    referral_service.send(c.counsellor, waiting)
    db.session.commit()
    assert sign_in(client, c.counsellor.username).status_code == 302
    page = client.get("/supervision/surge").get_data(as_text=True)
    assert "normal operation" in page  # a preview outside an emergency
    with app.test_request_context():
        operating.switch(c.supervisor, "emergency", "Flood")
    db.session.commit()
    page = client.get("/supervision/surge").get_data(as_text=True)
    assert "Walk-in" in page and "Red Tier Person" in page and f"/referrals/{waiting.id}" in page
    assert "normal operation" not in page


def test_the_mode_page_s_own_buttons_switch_to_emergency_and_back(db, client, crew):
    """Pressing the page's buttons as a browser sends the form (one `mode` input, with the target)."""
    from tests.htmlform import find_form, submit
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/mode")
    form = find_form(page.get_data(as_text=True), button="Switch to emergency operation")
    assert [ctl.attrs.get("value") for ctl in form.controls if ctl.name == "mode"] == ["emergency"]
    on = submit(client, page, "Switch to emergency operation", {"Reason": "Typhoon signal 8 raised"})
    assert on.status_code == 302, on.get_data(as_text=True)
    db.session.expire_all()
    assert current_mode().emergency and current_mode().reason == "Typhoon signal 8 raised"
    page = client.get("/supervision/mode")
    assert "Switch back to normal operation" in page.get_data(as_text=True)
    off = submit(client, page, "Switch back to normal operation",
                 {"Reason": "Signal lowered", "What happened": REVIEW["what_happened"],
                  "What worked": REVIEW["what_worked"], "What to change": REVIEW["what_to_change"]})
    assert off.status_code == 302 and "/supervision/reviews/" in off.headers["Location"]
    db.session.expire_all()
    assert not current_mode().emergency
    assert db.session.scalar(select(AfterActionReview)).what_worked == REVIEW["what_worked"]


def _emergency_fixtures(db, c, make_case, make_referral):
    """What waits when the switch comes: alerts, first contacts and referrals made under normal deadlines."""
    from carecycle.alerts import AlertState, alert_deadline
    now = utcnow()

    def alert(urgency, age, state="open"):
        row = raise_alert("walk_in", urgency, team_id=c.team.id, summary=f"{urgency} {age}")
        row.created_at = now - age
        row.deadline = alert_deadline(urgency, row.created_at)
        row.state = state
        if state == AlertState.CLAIMED.value:
            row.claimed_by_id, row.claimed_at = c.counsellor.id, now
        return row

    items = {
        "crisis_new": alert("crisis", timedelta(minutes=5)),                        # due in 1h55 -> 55 min
        "urgent_old": alert("urgent", timedelta(hours=20)),                         # due in 4 h -> 8 h overdue
        "claimed": alert("contact_request", timedelta(hours=2), "claimed"),         # 46 h -> 22 h
        "closed": alert("crisis", timedelta(hours=1), "closed"),                    # finished: stays
        "early": alert("routine", timedelta(hours=1)),
    }
    items["early"].deadline = now + timedelta(hours=1)                               # already earlier: stays
    case = make_case(c.counsellor, risk_level="high")
    task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == "first_contact"))
    task.created_at, task.due_at = now - timedelta(hours=10), now + timedelta(hours=14)   # 24 h -> 12 h
    done_case = make_case(c.counsellor, risk_level="high")
    done = db.session.scalar(select(Task).where(Task.case_id == done_case.id, Task.kind == "first_contact"))
    done.created_at, done.due_at, done.done_at = now - timedelta(hours=10), now + timedelta(hours=14), now
    waiting = make_referral(c.counsellor, "sent", tier=2)
    waiting.sent_at, waiting.respond_by = now - timedelta(hours=3), now + timedelta(hours=21)   # 24 h -> 12 h
    answered = make_referral(c.counsellor, "acknowledged", tier=2)
    answered.sent_at, answered.respond_by = now - timedelta(hours=3), now + timedelta(hours=21)
    db.session.commit()
    items.update(task=task, done=done, waiting=waiting, answered=answered)
    return items


def _queue_order(client, alerts):
    page = client.get("/triage").get_data(as_text=True)
    positions = {name: page.find(f"/triage/{row.id}") for name, row in alerts.items()}
    assert all(p >= 0 for p in positions.values()), positions
    return sorted(positions, key=positions.get)


def test_the_switch_to_emergency_brings_forward_what_already_waits_and_switching_back_moves_nothing_later(
        db, client, crew, make_case, make_referral):
    from referrals.models import Referral
    from tests.htmlform import submit
    c = crew()
    items = _emergency_fixtures(db, c, make_case, make_referral)
    before = {name: (row.deadline if hasattr(row, "deadline") else row.due_at if hasattr(row, "due_at")
                     else row.respond_by) for name, row in items.items()}
    versions = {name: items[name].version for name in ("crisis_new", "claimed")}
    assert sign_in(client, c.supervisor.username).status_code == 302
    active = {k: items[k] for k in ("crisis_new", "urgent_old", "claimed", "early")}
    assert _queue_order(client, active) == ["early", "crisis_new", "urgent_old", "claimed"]

    on = submit(client, "/supervision/mode", "Switch to emergency operation", {"Reason": "Typhoon signal 8"})
    assert on.status_code == 302
    db.session.expire_all()
    got = {name: (row.deadline if hasattr(row, "deadline") else row.due_at if hasattr(row, "due_at")
                  else row.respond_by) for name, row in items.items()}

    assert got["crisis_new"] == items["crisis_new"].created_at + timedelta(hours=1)
    assert got["urgent_old"] == items["urgent_old"].created_at + timedelta(hours=12)
    assert got["claimed"] == items["claimed"].created_at + timedelta(hours=24)
    assert got["task"] == items["task"].created_at + timedelta(hours=12)
    assert got["waiting"] == items["waiting"].sent_at + timedelta(hours=12)
    for unchanged in ("closed", "early", "done", "answered"):
        assert got[unchanged] == before[unchanged], unchanged
    for name in ("crisis_new", "urgent_old", "claimed", "task", "waiting"):
        assert got[name] < before[name], name
    # only the deadline moved: a worker's page opened before the switch still saves
    assert {name: items[name].version for name in versions} == versions
    assert items["claimed"].state == "claimed" and items["claimed"].claimed_by_id == c.counsellor.id
    audited = set(db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.reason == "emergency deadline")))
    assert audited >= {str(items[n].id) for n in ("crisis_new", "urgent_old", "claimed", "task", "waiting")}
    assert not audited & {str(items[n].id) for n in ("closed", "early", "done", "answered")}
    # the queue shows the new order at once: the old urgent call is now overdue and comes first
    assert _queue_order(client, active) == ["urgent_old", "crisis_new", "early", "claimed"]
    assert db.session.get(Referral, items["waiting"].id).overdue is False

    page = client.get("/supervision/mode")
    off = submit(client, page, "Switch back to normal operation",
                 {"Reason": "Signal lowered", "What happened": REVIEW["what_happened"],
                  "What worked": REVIEW["what_worked"], "What to change": REVIEW["what_to_change"]})
    assert off.status_code == 302
    db.session.expire_all()
    after = {name: (row.deadline if hasattr(row, "deadline") else row.due_at if hasattr(row, "due_at")
                    else row.respond_by) for name, row in items.items()}
    assert after == got  # going back never moves a deadline later
    assert _queue_order(client, active) == ["urgent_old", "crisis_new", "early", "claimed"]


def test_a_mode_switch_runs_the_hooks_the_areas_registered(app):
    """The shell knows no area: casework and referrals re-time their items through registered hooks."""
    from casework.service.emergency import tighten_waiting
    from referrals.service.referrals import tighten_unanswered
    hooks = app.extensions["carecycle_mode_switch_hooks"]
    assert tighten_waiting in hooks and tighten_unanswered in hooks
