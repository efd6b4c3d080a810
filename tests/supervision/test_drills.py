"""Preparedness drills: "must change" items become actions with an owner, readiness shows the last
drill per volunteer team, and a team's drills are its own."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from carecycle.notifications import Notification
from referrals.service import volunteers
from supervision.models import Drill, DrillAction
from supervision.service import drills as service
from tests.conftest import form_post, sign_in
from tests.supervision.conftest import sign_out


def _team(db, name, kind="crisis_response"):
    row = volunteers.save_team(None, {"name": name, "kind": kind})
    db.session.commit()
    return row


def _form(volunteer_team, owner, **extra):
    data = {"scenario": "Evacuation of Hill Street school after a gas leak", "held_on": "2026-01-10",
            "volunteer_team_ids": [str(volunteer_team.id)], "schools": "Hill Street Primary\n  \nHill Street Primary",
            "businesses": "Corner Market", "went_well": "Everyone out in 9 minutes.",
            "actions-0-description": "Second exit sign is hidden behind the stage curtain.",
            "actions-0-owner_id": str(owner.id), "actions-0-due_on": "2026-02-01",
            "actions-1-description": "", "actions-1-owner_id": "", "actions-1-due_on": ""}
    data.update(extra)
    return data


def test_recording_a_drill_turns_each_must_change_into_an_owned_task(db, client, crew):
    c = crew()
    vt = _team(db, "Hill Street responders")
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = form_post(client, "/supervision/drills/new", _form(vt, c.counsellor), page="/supervision/drills/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    drill = db.session.scalar(select(Drill))
    assert drill.team_id == c.team.id and drill.held_on == date(2026, 1, 10)
    assert sorted((p.kind, p.name) for p in drill.participants) == [
        ("business", "Corner Market"), ("school", "Hill Street Primary"), ("volunteer_team", vt.name)]
    [action] = drill.actions
    assert action.owner_id == c.counsellor.id and action.due_on == date(2026, 2, 1) and action.done_at is None
    assert "stage curtain" not in action._description  # encrypted
    note = db.session.scalar(select(Notification).where(Notification.user_id == c.counsellor.id))
    assert note.kind == "drill_action" and note.link == "/supervision/drills/actions"
    page = client.get(f"/supervision/drills/{drill.id}").get_data(as_text=True)
    assert "stage curtain" in page and "Corner Market" in page

    # the owner sees it and marks it done, once
    sign_out(client)
    assert sign_in(client, c.counsellor.username).status_code == 302
    assert "stage curtain" in client.get("/supervision/drills/actions").get_data(as_text=True)
    done = form_post(client, f"/supervision/drills/actions/{action.id}/done", {}, page="/supervision/drills/actions")
    assert done.status_code == 302
    again = form_post(client, f"/supervision/drills/actions/{action.id}/done", {}, page="/supervision/drills/actions")
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(DrillAction, action.id).done_by_id == c.counsellor.id
    # counsellors read drills but do not record them
    assert client.get("/supervision/drills/new").status_code == 403


def test_drill_input_is_checked_and_nothing_is_saved(db, client, crew, make_user):
    c, other = crew("Ours"), crew("Theirs")
    vt = _team(db, "Riverside care team", "community_care")
    assert sign_in(client, c.supervisor.username).status_code == 302
    cases = [
        ({"scenario": ""}, "Describe the scenario"),
        ({"held_on": "2999-01-01"}, "once it has taken place"),
        ({"held_on": "10/01/2026"}, "Enter a real date"),
        ({"actions-0-owner_id": str(other.counsellor.id)}, "a member of your team"),
        ({"actions-0-owner_id": ""}, "a member of your team"),
        ({"actions-0-due_on": "2025-01-01"}, "cannot be before the drill"),
        ({"volunteer_team_ids": [], "schools": "", "businesses": ""}, "Say who took part"),
        ({"volunteer_team_ids": ["not-a-team"]}, "from the list"),
    ]
    for changes, message in cases:
        response = form_post(client, "/supervision/drills/new", _form(vt, c.counsellor, **changes),
                             page="/supervision/drills/new")
        assert response.status_code == 400, changes
        assert message in response.get_data(as_text=True), changes
    assert db.session.scalar(select(Drill)) is None and db.session.scalar(select(DrillAction)) is None


def test_readiness_shows_the_last_drill_per_volunteer_team(db, client, crew, app):
    c = crew()
    first, second = _team(db, "Alpha team"), _team(db, "Bravo team")
    _team(db, "Charlie team")  # never drilled
    with app.test_request_context():
        old = service.record_drill(
            c.supervisor,
            {
                "scenario": "Old drill",
                "held_on": date.today() - timedelta(days=400),
                "volunteer_team_ids": [str(first.id)],
            },
        )
        new = service.record_drill(c.supervisor, {"scenario": "New drill", "held_on": date.today() - timedelta(days=20),
                                                  "volunteer_team_ids": [str(first.id), str(second.id)],
                                                  "actions": [{"description": "Buy radios",
                                                               "owner_id": str(c.counsellor.id),
                                                               "due_on": date.today()}]})
    db.session.commit()
    rows = {r.team.name: r for r in service.readiness()}
    assert rows["Alpha team"].last_drill.id == new.id and rows["Alpha team"].drills_in_year == 1
    assert rows["Bravo team"].last_drill.id == new.id and rows["Bravo team"].open_actions == 1
    assert rows["Charlie team"].last_drill is None and rows["Charlie team"].stale
    assert not rows["Alpha team"].stale and old.id != new.id
    assert sign_in(client, c.counsellor.username).status_code == 302
    page = client.get("/supervision/readiness").get_data(as_text=True)
    assert "New drill" in page and "never drilled" in page


def test_another_teams_drill_does_not_exist(db, client, crew, app):
    ours, theirs = crew("Ours"), crew("Theirs")
    with app.test_request_context():
        drill = service.record_drill(theirs.supervisor, {"scenario": "Their drill", "held_on": date.today(),
                                                         "others": "Neighbourhood watch",
                                                         "actions": [{"description": "Fix the siren",
                                                                      "owner_id": str(theirs.counsellor.id),
                                                                      "due_on": date.today()}]})
    db.session.commit()
    assert sign_in(client, ours.supervisor.username).status_code == 302
    assert client.get(f"/supervision/drills/{drill.id}").status_code == 404
    assert "Their drill" not in client.get("/supervision/drills").get_data(as_text=True)
    action = drill.actions[0]
    assert form_post(client, f"/supervision/drills/actions/{action.id}/done", {},
                     page="/supervision/drills/actions").status_code == 404


def test_only_the_owner_or_the_teams_supervisor_marks_an_action_done(db, client, crew, app):
    c = crew()
    with app.test_request_context():
        drill = service.record_drill(c.supervisor, {"scenario": "Shelter drill", "held_on": date.today(),
                                                    "others": "Neighbourhood watch",
                                                    "actions": [{"description": "Buy a second radio",
                                                                 "owner_id": str(c.counsellor.id),
                                                                 "due_on": date.today()}]})
    db.session.commit()
    action = drill.actions[0]
    # a colleague of the same team who does not own the action: no button, and the action does not exist
    assert sign_in(client, c.counsellor2.username).status_code == 302
    page = client.get(f"/supervision/drills/{drill.id}").get_data(as_text=True)
    assert "Buy a second radio" in page and f"/supervision/drills/actions/{action.id}/done" not in page
    assert form_post(client, f"/supervision/drills/actions/{action.id}/done", {},
                     page="/supervision/drills/actions").status_code == 404
    db.session.expire_all()
    assert db.session.get(DrillAction, action.id).done_at is None
    # the team's supervisor may
    sign_out(client)
    assert sign_in(client, c.supervisor.username).status_code == 302
    assert f"/supervision/drills/actions/{action.id}/done" in client.get(f"/supervision/drills/{drill.id}").get_data(
        as_text=True)
    assert form_post(client, f"/supervision/drills/actions/{action.id}/done", {"back": "drill"},
                     page=f"/supervision/drills/{drill.id}").status_code == 302
    again = form_post(client, f"/supervision/drills/actions/{action.id}/done", {},
                      page="/supervision/drills/actions", follow_redirects=True)
    assert "already marked done" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DrillAction, action.id).done_by_id == c.supervisor.id
    # a form without its CSRF token is refused
    assert client.post(f"/supervision/drills/actions/{action.id}/done", data={}).status_code == 400
