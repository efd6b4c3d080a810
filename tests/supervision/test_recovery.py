"""Community recovery plans: started through the page's own form after an incident (an emergency
period that has ended, or one recorded), the needs assessment counted from the team's records of the
incident's days with the small-count rule, actions added and marked done, community groups linked as
its care sessions, the 1-, 3- and 6-month reviews (not before they are due, with the figures of the
time), the printable summary with counts only; who may see and do what; encryption, audit, demo."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from carecycle.localtime import today
from carecycle.mode import switch_mode
from carecycle.validation import Invalid
from supervision.models import RecoveryAction, RecoveryPlan, RecoveryReview
from supervision.service import recovery as service
from tests.htmlform import submit


def _plan(supervisor, days_ago=40, length=3, **changes):
    from carecycle.extensions import db
    data = {"title": "Recovery after the storm", "area": "Riverside Blocks 1 to 6", "incident": "Rainstorm",
            "started_on": (today() - timedelta(days=days_ago)).isoformat(),
            "ended_on": (today() - timedelta(days=days_ago - length)).isoformat(), **changes}
    plan = service.create(supervisor, data)
    db.session.commit()
    return plan


def test_a_supervisor_starts_a_plan_for_an_emergency_period_through_the_page(client, db, login_as, make_user):
    supervisor = login_as("supervisor")
    on = switch_mode("emergency", supervisor, "Black rainstorm warning", retime=False)
    on.switched_at = utcnow() - timedelta(days=10)
    off = switch_mode("normal", supervisor, "Warning cancelled", retime=False)
    off.switched_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert "No recovery plan yet." in client.get("/supervision/recovery").get_data(as_text=True)
    refused = submit(client, "/supervision/recovery/new", "Start the plan", {"Title": "After the storm"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Say which community it is for" in page and "Say what happened" in page and 'value="After the storm"' in page
    assert db.session.scalar(select(RecoveryPlan.id)) is None
    saved = submit(client, refused, "Start the plan", {"The community it is for": "Riverside",
                                                       "The emergency": str(on.id)})
    assert saved.status_code == 302
    plan = db.session.scalar(select(RecoveryPlan))
    assert (plan.period_id, plan.incident) == (on.id, "Black rainstorm warning")
    assert (today() - plan.started_on).days in (10, 11) and (today() - plan.ended_on).days in (8, 9)
    listing = client.get("/supervision/recovery").get_data(as_text=True)
    assert "After the storm" in listing and "0 / 0" in listing


def test_a_recorded_incident_needs_its_days_in_order_and_over(db, make_user):
    supervisor = make_user("supervisor")
    for changes, field in [({"ended_on": (today() - timedelta(days=50)).isoformat()}, "ended_on"),
                           ({"ended_on": (today() + timedelta(days=2)).isoformat()}, "ended_on"),
                           ({"started_on": "31/12/2026"}, "started_on"),
                           ({"period_id": "not-a-period"}, "period_id")]:
        with pytest.raises(Invalid) as refused:
            _plan(supervisor, **changes)
        assert field in refused.value.fields
    assert db.session.scalar(select(RecoveryPlan.id)) is None


def test_the_needs_assessment_counts_the_incidents_days_with_the_small_count_rule(db, make_user, make_case):
    supervisor = make_user("supervisor")
    counsellor = make_user("counsellor", team=supervisor.team)
    plan = _plan(supervisor)
    inside = utcnow() - timedelta(days=39)
    for _n in range(6):
        alert = raise_alert("hotline", "crisis", team_id=supervisor.team_id, summary="Flooded flat")
        alert.created_at = inside
    outside = raise_alert("hotline", "crisis", team_id=supervisor.team_id, summary="Later call")
    outside.created_at = utcnow() - timedelta(days=2)
    elsewhere = raise_alert("hotline", "crisis", team_id=make_user("supervisor", team="elsewhere").team_id,
                            summary="Other team")
    elsewhere.created_at = inside
    for _n in range(2):
        case = make_case(counsellor)
        case.opened_at = inside
    db.session.commit()
    needs = {n.code: n.count for n in service.needs(plan)}
    assert needs["alerts_hotline"] == 6  # neither the later call nor the other team's
    assert needs["cases_opened"] == "<5"
    assert "alerts_walk_in" not in needs  # kinds with nothing are left out


def test_actions_groups_reviews_and_the_summary_through_the_pages(client, db, login_as, make_user):
    from casework.service import groups
    supervisor = login_as("supervisor")
    worker = make_user("social_worker", team=supervisor.team, display_name="Wing Worker")
    group = groups.create_group(supervisor, {"name": "Bereavement circle", "kind": "bereavement",
                                             "facilitator": "Wing", "schedule": "Mondays 14:00"})
    plan = _plan(supervisor, days_ago=120, length=5)
    url = f"/supervision/recovery/{plan.id}"
    refused = submit(client, url, "Add the action", {"What will be done": "Outreach to every red-tier person"})
    assert refused.status_code == 400 and "Choose who owns it" in refused.get_data(as_text=True)
    added = submit(client, url, "Add the action", {"What will be done": "Outreach to every red-tier person",
                                                   "Owner": str(worker.id), "Due on": today().isoformat()})
    assert added.status_code == 302
    assert submit(client, url, "Link the group", {"Community group": str(group.id)}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Bereavement circle" in page and "Write the 1-month review" in page
    written = submit(client, url, "Save the review", {"How the community is doing": "Back to routines, mostly."})
    assert written.status_code == 302
    review = db.session.scalar(select(RecoveryReview))
    assert review.months == 1 and set(review.figures) >= {"measured", "improved", "sessions"}
    assert "Write the 3-month review" in client.get(url).get_data(as_text=True)  # 115 days on: due too
    assert submit(client, url, "Mark done").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(RecoveryAction)).done_at is not None
    summary = client.get(url + "/summary").get_data(as_text=True)
    assert "1 of 1 actions done." in summary and "Bereavement circle" in summary
    assert "Wing Worker" not in summary and "Back to routines" not in summary  # counts only
    stored = db.session.execute(text("SELECT summary FROM recovery_review")).scalar()
    assert "routines" not in str(stored)
    events = {e.object_type for e in db.session.scalars(select(AuditEvent))}
    assert {"recovery_plan", "recovery_action", "recovery_review"} <= events


def test_a_review_is_not_written_before_it_is_due_nor_twice(db, make_user):
    supervisor = make_user("supervisor")
    plan = _plan(supervisor, days_ago=20, length=2)
    with pytest.raises(Invalid) as early:
        service.write_review(supervisor, plan, 1, "Too early")
    assert "months" in early.value.fields
    old = _plan(supervisor, days_ago=60, length=2, title="Older")
    service.write_review(supervisor, old, 1, "Fine")
    from carecycle.validation import Conflict
    with pytest.raises(Conflict):
        service.write_review(supervisor, old, 1, "Again")
    with pytest.raises(Invalid):
        service.write_review(supervisor, old, 2, "No such review")


@pytest.mark.parametrize("role", ["counsellor", "social_worker"])
def test_staff_read_plans_and_mark_only_their_own_actions(app, client, db, login_as, make_user, role, monkeypatch):
    supervisor = make_user("supervisor")
    plan = _plan(supervisor)
    someone = make_user("social_worker", team=supervisor.team)
    theirs = service.add_action(supervisor, plan, {"description": "Hall meeting", "owner_id": str(someone.id),
                                                   "due_on": today().isoformat()})
    db.session.commit()
    login_as(role, team=supervisor.team)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.get(f"/supervision/recovery/{plan.id}").status_code == 200
    assert client.get("/supervision/recovery/new").status_code == 403
    assert client.post(f"/supervision/recovery/{plan.id}/actions", data={"description": "x"}).status_code == 403
    assert client.post(f"/supervision/recovery/{plan.id}/reviews", data={"months": "1"}).status_code == 403
    assert client.post(f"/supervision/recovery/{plan.id}/groups", data={"group_id": "x"}).status_code == 403
    assert not plan.groups and not plan.reviews
    assert client.post(f"/supervision/recovery/{plan.id}/actions/{theirs.id}/done").status_code == 403
    db.session.expire_all()
    assert db.session.get(RecoveryAction, theirs.id).done_at is None


@pytest.mark.parametrize("role", ["admin", "resident"])
def test_other_roles_cannot_reach_recovery_plans(client, db, login_as, make_user, role):
    plan = _plan(make_user("supervisor"))
    login_as(role)
    assert client.get("/supervision/recovery").status_code == 403
    assert client.get(f"/supervision/recovery/{plan.id}/summary").status_code == 403


def test_another_teams_plan_is_not_found(client, db, login_as, make_user):
    plan = _plan(make_user("supervisor", team="elsewhere"))
    login_as("supervisor")
    assert client.get(f"/supervision/recovery/{plan.id}").status_code == 404
    assert client.get(f"/supervision/recovery/{plan.id}/summary").status_code == 404
    assert "Recovery after the storm" not in client.get("/supervision/recovery").get_data(as_text=True)


def test_the_demo_has_a_recovery_plan_after_the_rainstorm_loaded_once(db):
    from carecycle.demo import load_demo
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("supervision demo: a community recovery plan after the rainstorm") == 1
    [plan] = db.session.scalars(select(RecoveryPlan)).all()
    assert plan.period_id is not None and len(plan.actions) == 3 and sum(a.done for a in plan.actions) == 2
    assert [r.months for r in plan.reviews] == [1] and len(plan.groups) == 1


# ------------------------------------------------------------------ API
def _api(client, tokens, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=tokens[user.id], **kwargs)


def test_the_api_starts_a_plan_adds_and_completes_an_action_and_writes_a_review(client, db, make_user, bearer):
    supervisor = make_user("supervisor")
    worker = make_user("social_worker", team=supervisor.team)
    other, admin = make_user("supervisor", team="elsewhere"), make_user("admin")
    bearer = {u.id: bearer(u) for u in (supervisor, worker, other, admin)}  # each token made once, up front
    body = {"title": "After the storm", "area": "Riverside", "incident": "Rainstorm",
            "started_on": (today() - timedelta(days=50)).isoformat(),
            "ended_on": (today() - timedelta(days=48)).isoformat()}
    assert _api(client, bearer, worker, "POST", "/recovery-plans", json=body).status_code == 403
    refused = _api(client, bearer, supervisor, "POST", "/recovery-plans", json={**body, "ended_on": "soon"})
    assert refused.status_code == 422 and "ended_on" in refused.get_json()["error"]["fields"]
    made = _api(client, bearer, supervisor, "POST", "/recovery-plans", json=body)
    assert made.status_code == 201
    plan = made.get_json()
    assert {n["code"] for n in plan["needs"]} >= {"cases_opened", "register_red", "screenings"}
    assert [r["months"] for r in plan["reviews"]] == [1, 3, 6]
    path = f"/recovery-plans/{plan['id']}"
    added = _api(client, bearer, supervisor, "POST", path + "/actions",
                 json={"description": "Hall meeting", "owner_id": str(worker.id), "due_on": today().isoformat()})
    assert added.status_code == 201
    [action] = added.get_json()["actions"]
    done = _api(client, bearer, worker, "POST", f"{path}/actions/{action['id']}/done")
    assert done.status_code == 200 and done.get_json()["actions"][0]["done_at"]
    early = _api(client, bearer, supervisor, "POST", path + "/reviews", json={"months": 3, "summary": "x"})
    assert early.status_code == 422
    review = _api(client, bearer, supervisor, "POST", path + "/reviews", json={"months": 1, "summary": "Calmer"})
    assert review.status_code == 201 and review.get_json()["reviews"][0]["summary"] == "Calmer"
    summary = _api(client, bearer, worker, "GET", path + "/summary").get_json()
    assert summary["actions_done"] == 1 and "Calmer" not in str(summary) and "Hall meeting" not in str(summary)
    assert [p["id"] for p in _api(client, bearer, worker, "GET", "/recovery-plans").get_json()["recovery_plans"]] \
        == [plan["id"]]
    assert _api(client, bearer, other, "GET", path).status_code == 404
    assert _api(client, bearer, admin, "GET", "/recovery-plans").status_code == 403


def test_the_needs_are_counted_over_the_services_local_days(app, db, make_user, monkeypatch):
    from carecycle.localtime import day_bounds
    supervisor = make_user("supervisor")
    plan = _plan(supervisor, days_ago=10, length=0)  # one local day
    start, end = day_bounds(plan.started_on)
    for moment in (start, end - timedelta(seconds=1), end, start - timedelta(seconds=1)):
        alert = raise_alert("walk_in", "urgent", team_id=supervisor.team_id, summary="Walk-in")
        alert.created_at = moment
    db.session.commit()
    assert service.window(plan) == (start, end)
    assert {n.code: n.count for n in service.needs(plan)}["alerts_walk_in"] == "<5"
    assert service._raw_needs(plan)["alerts_walk_in"] == 2  # the two inside the day, not the edges outside


def test_what_happened_is_encrypted_and_left_off_the_committee_summary(client, db, login_as):
    supervisor = login_as("supervisor")
    plan = _plan(supervisor, incident="Fire at Block 4; Mr Chan lost his flat")
    stored = db.session.execute(text("SELECT incident FROM recovery_plan")).scalar()
    assert "Chan" not in str(stored)
    assert "Mr Chan" in client.get(f"/supervision/recovery/{plan.id}").get_data(as_text=True)
    assert "Mr Chan" not in client.get(f"/supervision/recovery/{plan.id}/summary").get_data(as_text=True)
