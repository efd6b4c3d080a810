"""Community groups API: the team's groups, sessions and attendance, a client's enrolment from their case;
the pages' rules (casework.views.groups) over /api/v1, with the state checked in the database."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import CommunityGroup, GroupAttendance, GroupMember, GroupSession
from casework.service import cases as case_service
from casework.service import groups
from tests.casework.recovery_helpers import bearer, recovery_case

GROUP = {"name": "Peer support evening", "kind": "peer_support", "facilitator": "Two peer volunteers",
         "schedule": "Tuesdays 18:00, fortnightly", "location": "Community hall"}


def _group(worker, db, **fields):
    group = groups.create_group(worker, {**GROUP, **fields})
    db.session.commit()
    return group


def _held_session(worker, group, db, days_ago=2):
    session = groups.add_session(worker, group, day=(utcnow() - timedelta(days=days_ago)).date().isoformat(),
                                 at="18:00", topic="Sleep")
    db.session.commit()
    return session


def _member(worker, group, case, db, joined_days_ago=5):
    member = groups.enrol(worker, group, case)
    member.joined_at = utcnow() - timedelta(days=joined_days_ago)  # joined before the session
    db.session.commit()
    return member


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _unknown(response, name="surprise"):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {name: "Unknown field."}


# ------------------------------------------------------------------ groups
def test_listing_the_teams_groups(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    running = _group(social, db, name="B running")
    _member(social, running, case, db)
    upcoming = groups.add_session(social, running, day=(utcnow() + timedelta(days=3)).date().isoformat(), at="10:00")
    archived = groups.archive_group(social, _group(social, db, name="A archived"))
    stranger = make_user("social_worker", team="elsewhere")
    _group(stranger, db, name="Theirs")
    db.session.commit()
    headers = bearer(counsellor)
    listed = client.get("/api/v1/groups", headers=headers)
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 1 and [g["id"] for g in body["groups"]] == [str(running.id)]
    (item,) = body["groups"]
    assert item["member_count"] == 1 and item["next_session"]["id"] == str(upcoming.id)
    assert item["name"] == "B running" and item["active"] is True
    old = client.get("/api/v1/groups?archived=1", headers=headers).get_json()
    assert [g["id"] for g in old["groups"]] == [str(archived.id)] and old["groups"][0]["active"] is False
    paged = client.get("/api/v1/groups?per_page=1&page=2", headers=headers).get_json()
    assert paged["groups"] == [] and paged["total"] == 1
    bad = client.get("/api/v1/groups?per_page=500", headers=headers)
    assert bad.status_code == 422 and "per_page" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/groups").status_code == 401
    assert client.get("/api/v1/groups", headers=bearer(make_user("admin"))).status_code == 403


def test_creating_a_group(client, db, make_user):
    social = make_user("social_worker")
    headers = bearer(social)
    created = client.post("/api/v1/groups", headers=headers, json={**GROUP, "description": "Tea and talk."})
    assert created.status_code == 201, created.get_data(as_text=True)
    row = db.session.get(CommunityGroup, uuid.UUID(created.get_json()["id"]))
    assert (row.team_id, row.name, row.kind, row.description, row.version) == (
        social.team_id, GROUP["name"], "peer_support", "Tea and talk.", created.get_json()["version"])
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create",
                                                      AuditEvent.object_type == "community_group")) is not None
    _unknown(client.post("/api/v1/groups", headers=headers, json={**GROUP, "surprise": 1}))
    refused = client.post("/api/v1/groups", headers=headers, json={**GROUP, "name": "", "kind": "chess"})
    assert refused.status_code == 422 and {"name", "kind"} <= set(refused.get_json()["error"]["fields"])
    wrong_type = client.post("/api/v1/groups", headers=headers, json={**GROUP, "name": {"x": 1}})
    assert wrong_type.status_code == 422 and "name" in wrong_type.get_json()["error"]["fields"]
    assert _count(db, CommunityGroup) == 1
    assert client.post("/api/v1/groups", headers=bearer(make_user("admin")), json=GROUP).status_code == 403
    assert client.post("/api/v1/groups", json=GROUP).status_code == 401
    assert _count(db, CommunityGroup) == 1


def test_reading_a_group_names_only_clients_the_viewer_may_see(client, db, make_user, make_case, make_client):
    case, counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    mine = _member(social, group, case, db)
    session = _held_session(social, group, db)
    # a client registered by another team, on a case of this team's social worker: the colleague may not see them
    other_worker = make_user("counsellor", team="other")
    outsider = make_client(other_worker.team, other_worker, full_name="Outside Person")
    visiting = case_service.open_case(social, outsider, risk_level="low", source="walk_in")
    visiting.phase = "recovery"
    db.session.commit()
    theirs = _member(social, group, visiting, db)
    colleague = make_user("counsellor", team=social.team)
    answer = client.get(f"/api/v1/groups/{group.id}", headers=bearer(colleague))
    assert answer.status_code == 200
    body = answer.get_json()
    members = {m["id"]: m for m in body["members"]}
    assert members[str(mine.id)]["name"] == case.client.display_name
    assert members[str(mine.id)]["client_id"] == str(case.client_id)
    assert members[str(theirs.id)]["client_id"] is None and members[str(theirs.id)]["name"] is None
    assert "Outside Person" not in answer.get_data(as_text=True) and str(outsider.id) not in answer.get_data(
        as_text=True)
    assert [s["id"] for s in body["sessions"]] == [str(session.id)] and body["sessions"][0]["facilitator"] == \
        GROUP["facilitator"]
    viewed = {(e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.actor_id == colleague.id))}
    assert {("community_group", str(group.id)), ("group_members", str(group.id))} <= viewed
    # the worker who holds the visiting case sees both
    names = {m["name"] for m in client.get(f"/api/v1/groups/{group.id}", headers=bearer(social)).get_json()["members"]}
    assert names == {case.client.display_name, "Outside Person"}
    assert client.get(f"/api/v1/groups/{group.id}", headers=bearer(other_worker)).status_code == 404
    assert client.get("/api/v1/groups/not-an-id", headers=bearer(social)).status_code == 404
    assert client.get(f"/api/v1/groups/{group.id}", headers=bearer(make_user("admin"))).status_code == 403
    assert client.get(f"/api/v1/groups/{group.id}").status_code == 401


def test_editing_and_archiving_a_group(client, db, make_user):
    social = make_user("social_worker")
    group = _group(social, db)
    headers = bearer(social)
    url = f"/api/v1/groups/{group.id}"
    changed = client.patch(url, headers=headers, json={"version": group.version, "schedule": "Wednesdays 17:00"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    db.session.expire_all()
    assert (group.schedule, group.name, group.location) == ("Wednesdays 17:00", GROUP["name"], GROUP["location"])
    assert changed.get_json()["version"] == group.version == 2
    stale = client.patch(url, headers=headers, json={"version": 1, "name": "Renamed"})
    assert stale.status_code == 409
    refused = client.patch(url, headers=headers, json={"version": 2, "kind": "chess", "name": "Renamed"})
    assert refused.status_code == 422 and "kind" in refused.get_json()["error"]["fields"]
    missing = client.patch(url, headers=headers, json={"name": "Renamed"})
    assert missing.status_code == 422 and "version" in missing.get_json()["error"]["fields"]
    _unknown(client.patch(url, headers=headers, json={"version": 2, "surprise": "x"}))
    stranger = make_user("supervisor", team="elsewhere")
    assert client.patch(url, headers=bearer(stranger), json={"version": 2, "name": "Renamed"}).status_code == 404
    assert client.patch(url, headers=bearer(make_user("admin")), json={"version": 2, "name": "R"}).status_code == 403
    assert client.patch(url, json={"version": 2, "name": "Renamed"}).status_code == 401
    db.session.expire_all()
    assert (group.name, group.version) == (GROUP["name"], 2)
    # archive
    _unknown(client.post(f"{url}/archive", headers=headers, json={"surprise": True}))
    assert client.post(f"{url}/archive", headers=bearer(stranger)).status_code == 404
    assert client.post(f"{url}/archive", headers=bearer(make_user("admin"))).status_code == 403
    db.session.expire_all()
    assert group.archived_at is None
    archived = client.post(f"{url}/archive", headers=headers)
    assert archived.status_code == 200 and archived.get_json()["active"] is False
    db.session.expire_all()
    assert group.archived_at is not None
    later = client.post(f"{url}/sessions", headers=headers, json={"day": utcnow().date().isoformat()})
    assert later.status_code == 409 and _count(db, GroupSession) == 0  # an archived group takes no sessions


# ------------------------------------------------------------------ sessions
def test_planning_and_cancelling_a_session(client, db, make_user):
    social = make_user("social_worker")
    group = _group(social, db)
    headers = bearer(social)
    day = (utcnow() + timedelta(days=7)).date().isoformat()
    url = f"/api/v1/groups/{group.id}/sessions"
    created = client.post(url, headers=headers, json={"day": day, "at": "18:30", "duration_minutes": 60,
                                                      "topic": "Sleep", "facilitator": "Jo"})
    assert created.status_code == 201, created.get_data(as_text=True)
    row = db.session.scalar(select(GroupSession))
    assert (str(row.id), row.duration_minutes, row.topic, row.facilitator, row.group_id) == (
        created.get_json()["id"], 60, "Sleep", "Jo", group.id)
    refused = client.post(url, headers=headers, json={"day": "2026-02-30", "at": "25:00", "duration_minutes": 5})
    assert refused.status_code == 422
    assert {"day", "at", "duration_minutes"} <= set(refused.get_json()["error"]["fields"])
    assert client.post(url, headers=headers, json={"day": 20260101}).status_code == 422
    _unknown(client.post(url, headers=headers, json={"day": day, "surprise": 1}))
    assert client.post(url, headers=bearer(make_user("counsellor", team="elsewhere")), json={"day": day}) \
        .status_code == 404
    assert client.post(url, headers=bearer(make_user("admin")), json={"day": day}).status_code == 403
    assert client.post(url, json={"day": day}).status_code == 401
    assert _count(db, GroupSession) == 1
    # cancel
    cancel = f"{url}/{row.id}/cancel"
    _unknown(client.post(cancel, headers=headers, json={"surprise": 1}))
    assert client.post(cancel, headers=bearer(make_user("admin"))).status_code == 403
    other_group = _group(social, db, name="Other")
    assert client.post(f"/api/v1/groups/{other_group.id}/sessions/{row.id}/cancel", headers=headers) \
        .status_code == 404  # the session is not of that group
    db.session.expire_all()
    assert row.cancelled_at is None
    cancelled = client.post(cancel, headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["cancelled_at"] is not None
    db.session.expire_all()
    assert row.cancelled_at is not None


def test_reading_a_session_and_recording_attendance(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    member = _member(social, group, case, db)
    session = _held_session(social, group, db)
    headers = bearer(counsellor)
    url = f"/api/v1/groups/{group.id}/sessions/{session.id}"
    read = client.get(url, headers=headers)
    assert read.status_code == 200
    (row,) = read.get_json()["roster"]
    assert (row["id"], row["name"], row["status"], row["not_recordable"]) == (
        str(member.id), case.client.display_name, None, None)
    saved = client.post(f"{url}/attendance", headers=headers, json={"attendance": {str(member.id): "attended"}})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.get_json()["recorded"] == 1 and saved.get_json()["roster"][0]["status"] == "attended"
    assert db.session.scalar(select(GroupAttendance.status)) == "attended"
    # invalid: nothing stored, the field named by member id
    refused = client.post(f"{url}/attendance", headers=headers,
                          json={"attendance": {str(member.id): "excused", "not-a-member": "attended"}})
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"attendance.not-a-member"}
    asleep = client.post(f"{url}/attendance", headers=headers, json={"attendance": {str(member.id): "asleep"}})
    assert asleep.status_code == 422 and f"attendance.{member.id}" in asleep.get_json()["error"]["fields"]
    assert client.post(f"{url}/attendance", headers=headers, json={"attendance": ["x"]}).status_code == 422
    assert client.post(f"{url}/attendance", headers=headers, json={}).status_code == 422
    _unknown(client.post(f"{url}/attendance", headers=headers, json={"attendance": {}, "surprise": 1}))
    stranger = make_user("social_worker", team="elsewhere")
    assert client.get(url, headers=bearer(stranger)).status_code == 404
    assert client.post(f"{url}/attendance", headers=bearer(stranger),
                       json={"attendance": {str(member.id): "absent"}}).status_code == 404
    admin = bearer(make_user("admin"))
    assert client.get(url, headers=admin).status_code == 403
    assert client.post(f"{url}/attendance", headers=admin, json={"attendance": {str(member.id): "absent"}}) \
        .status_code == 403
    assert client.get(url).status_code == 401
    assert client.post(f"{url}/attendance", json={"attendance": {}}).status_code == 401
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(select(GroupAttendance))] == ["attended"]
    # a session not yet held: refused; a cancelled one: 409
    future = groups.add_session(social, group, day=(utcnow() + timedelta(days=3)).date().isoformat(), at="10:00")
    db.session.commit()
    early = client.post(f"/api/v1/groups/{group.id}/sessions/{future.id}/attendance", headers=headers,
                        json={"attendance": {str(member.id): "attended"}})
    assert early.status_code == 422 and "attendance" in early.get_json()["error"]["fields"]
    groups.cancel_session(social, session)
    db.session.commit()
    late = client.post(f"{url}/attendance", headers=headers, json={"attendance": {str(member.id): "absent"}})
    assert late.status_code == 409
    db.session.expire_all()
    assert [r.status for r in db.session.scalars(select(GroupAttendance))] == ["attended"]


def test_attendance_outside_membership_is_refused(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    session = _held_session(social, group, db, days_ago=10)
    member = _member(social, group, case, db, joined_days_ago=1)  # joined after the session
    url = f"/api/v1/groups/{group.id}/sessions/{session.id}"
    roster = client.get(url, headers=bearer(social)).get_json()["roster"]
    assert roster[0]["not_recordable"]
    refused = client.post(f"{url}/attendance", headers=bearer(social),
                          json={"attendance": {str(member.id): "attended"}})
    assert refused.status_code == 422 and f"attendance.{member.id}" in refused.get_json()["error"]["fields"]
    assert _count(db, GroupAttendance) == 0


# ------------------------------------------------------------------ a client's groups, from their case
def test_enrolling_and_leaving_from_the_case(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    headers = bearer(social)
    url = f"/api/v1/cases/{case.id}/groups"
    joined = client.post(url, headers=headers, json={"group_id": str(group.id)})
    assert joined.status_code == 201, joined.get_data(as_text=True)
    member = db.session.scalar(select(GroupMember))
    assert member.group_id == group.id and member.client_ref == str(case.client_id) and member.left_at is None
    assert joined.get_json()["id"] == str(member.id) and joined.get_json()["group_name"] == GROUP["name"]
    again = client.post(url, headers=headers, json={"group_id": str(group.id)})
    assert again.status_code == 422 and "group_id" in again.get_json()["error"]["fields"]
    theirs = _group(make_user("social_worker", team="elsewhere"), db, name="Theirs")
    archived = groups.archive_group(social, _group(social, db, name="Old"))
    db.session.commit()
    for refused_id in (str(theirs.id), str(archived.id), "not-an-id", 7):
        refused = client.post(url, headers=headers, json={"group_id": refused_id})
        assert refused.status_code == 422 and "group_id" in refused.get_json()["error"]["fields"], refused_id
    _unknown(client.post(url, headers=headers, json={"group_id": str(group.id), "surprise": 1}))
    assert client.post(url, headers=bearer(make_user("admin")), json={"group_id": str(group.id)}).status_code == 403
    assert client.post(url, json={"group_id": str(group.id)}).status_code == 401
    assert _count(db, GroupMember) == 1
    listed = client.get(url, headers=bearer(counsellor))
    assert listed.status_code == 200 and [g["id"] for g in listed.get_json()["groups"]] == [str(member.id)]
    assert client.get(url, headers=bearer(make_user("counsellor", team="elsewhere"))).status_code == 404
    assert client.get(url, headers=bearer(make_user("admin"))).status_code == 403
    assert client.get(url).status_code == 401
    # leave
    leave = f"{url}/{member.id}/leave"
    _unknown(client.post(leave, headers=headers, json={"surprise": 1}))
    assert client.post(f"{url}/{theirs.id}/leave", headers=headers).status_code == 404
    assert client.post(leave, headers=bearer(make_user("admin"))).status_code == 403
    assert client.post(leave, headers=bearer(make_user("social_worker", team="elsewhere"))).status_code == 404
    db.session.expire_all()
    assert member.left_at is None
    left = client.post(leave, headers=headers)
    assert left.status_code == 200 and left.get_json()["left_at"] is not None
    db.session.expire_all()
    assert member.left_at is not None and member.left_by_id == social.id


def test_a_closed_case_takes_no_enrolment_and_no_leaving(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    member = _member(social, group, case, db)
    other, _c, _s = recovery_case(make_user, make_case)
    other.phase = case.phase = "closed"
    db.session.commit()
    headers = bearer(social)
    refused = client.post(f"/api/v1/cases/{other.id}/groups", headers=bearer(_s), json={"group_id": str(group.id)})
    assert refused.status_code == 409
    assert client.post(f"/api/v1/cases/{case.id}/groups/{member.id}/leave", headers=headers).status_code == 409
    db.session.expire_all()
    assert member.left_at is None and _count(db, GroupMember) == 1
