"""Community groups: groups of a team with sessions, a client enrolled from their case (the link held
sealed with a blind index), attendance per client, the client's groups on their case, team rules."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from carecycle.database import utcnow
from carecycle.validation import Conflict, Invalid
from casework.models import GroupAttendance, GroupMember
from casework.service import groups
from tests.casework.recovery_helpers import recovery_case
from tests.conftest import form_post, sign_in
from tests.htmlform import find_form, submit


def _group(worker, db, **fields):
    data = {"name": "Peer support evening", "kind": "peer_support", "facilitator": "Two peer volunteers",
            "schedule": "Tuesdays 18:00, fortnightly", "location": "Community hall"}
    data.update(fields)
    group = groups.create_group(worker, data)
    db.session.commit()
    return group


def test_enrolment_and_attendance_are_sealed_and_found_by_blind_index(db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    member = groups.enrol(social, group, case)
    member.joined_at = utcnow() - timedelta(days=3)  # joined before the session
    day = (utcnow() - timedelta(days=2)).date().isoformat()
    session = groups.add_session(social, group, day=day, at="18:00", topic="Sleep")
    groups.record_attendance(social, session, {str(member.id): "attended"})
    db.session.commit()
    for table in ("group_member", "group_attendance"):
        stored = db.session.execute(text(f"SELECT client, client_index FROM {table}")).one()
        assert str(case.client_id) not in stored[0] and stored[0].startswith("ccv1:")
        assert str(case.client_id) not in stored[1]
    (mine,) = groups.groups_of_client(case.client_id)
    assert (mine.group.id, mine.sessions, mine.attended) == (group.id, 1, 1)
    with pytest.raises(Invalid):
        groups.enrol(social, group, case)  # already a member
    groups.record_attendance(social, session, {str(member.id): "excused"})
    db.session.commit()
    assert db.session.scalar(select(GroupAttendance.status)) == "excused"
    assert len(db.session.scalars(select(GroupAttendance)).all()) == 1
    with pytest.raises(Invalid):
        groups.record_attendance(social, session, {"not-a-member": "attended"})
    with pytest.raises(Invalid):
        groups.record_attendance(social, session, {str(member.id): "asleep"})


def test_group_validation_and_closed_cases(db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    with pytest.raises(Invalid) as refused:
        groups.create_group(social, {"name": "", "kind": "chess", "facilitator": "", "schedule": ""})
    assert {"name", "kind", "facilitator", "schedule"} <= set(refused.value.fields)
    group = _group(social, db)
    future = groups.add_session(social, group, day=(utcnow() + timedelta(days=3)).date().isoformat(), at="10:00")
    member = groups.enrol(social, group, case)
    with pytest.raises(Invalid):
        groups.record_attendance(social, future, {str(member.id): "attended"})  # not yet held
    case.phase = "closed"
    db.session.commit()
    other, _c, _s = recovery_case(make_user, make_case)
    other.phase = "closed"
    with pytest.raises(Conflict):
        groups.enrol(social, group, other)


def test_group_pages_and_team_rules(client, db, make_user, make_case):
    case, counsellor, social = recovery_case(make_user, make_case)
    sign_in(client, social.username)
    assert form_post(client, "/groups/new", {"name": "Carers' café", "kind": "carers", "facilitator": "Sam",
                                             "schedule": "First Saturday, 10:00"}).status_code == 302
    group = groups.groups_for(social)[0]
    assert form_post(client, f"/cases/{case.id}/groups", {"group_id": str(group.id)},
                     page=f"/cases/{case.id}").status_code == 302
    day = (utcnow() - timedelta(days=1)).date().isoformat()
    assert form_post(client, f"/groups/{group.id}/sessions/new", {"day": day, "at": "10:00", "duration_minutes": 90},
                     page=f"/groups/{group.id}").status_code == 302
    session = groups.sessions_of(group)[0]
    member = db.session.scalar(select(GroupMember))
    member.joined_at = utcnow() - timedelta(days=2)  # joined before the session
    db.session.commit()
    path = f"/groups/{group.id}/sessions/{session.id}"
    assert form_post(client, path, {f"member-{member.id}": "attended"}).status_code == 302
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Carers&#39; café" in case_page and "attended 1 of 1 sessions" in case_page
    group_page = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert case.client.display_name in group_page and "style=" not in group_page
    # staff of another team: the group does not exist for them
    stranger = client.application.test_client()
    sign_in(stranger, make_user("social_worker", team="elsewhere").username)
    assert stranger.get(f"/groups/{group.id}").status_code == 404
    assert stranger.get(path).status_code == 404
    # a resident has no group pages
    resident = client.application.test_client()
    sign_in(resident, make_user("resident").username)
    assert resident.get("/groups").status_code == 403


def test_members_the_viewer_may_not_see_stay_anonymous(db, make_user, make_case, make_client):
    case, _counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    groups.enrol(social, group, case)
    db.session.commit()
    colleague = make_user("counsellor")  # same team: sees the team's clients
    assert groups.members_of(group, colleague)[0].client is not None
    # a client registered by another team, on a case of this team's worker: visible to the worker only
    other_team_worker = make_user("counsellor", team="other")
    outsider = make_client(other_team_worker.team, other_team_worker, full_name="Outside Person")
    from casework.service import cases as case_service
    visiting = case_service.open_case(social, outsider, risk_level="low", source="walk_in")
    visiting.phase = "recovery"
    groups.enrol(social, group, visiting)
    db.session.commit()
    names = {m.client.full_name if m.client else None for m in groups.members_of(group, colleague)}
    assert names == {case.client.full_name, None}
    assert {m.client.full_name for m in groups.members_of(group, social)} == {case.client.full_name, "Outside Person"}


def test_the_groups_list_shows_next_session_and_members_with_a_fixed_number_of_queries(client, db, make_user,
                                                                                       make_case):
    from tests.screening_helpers import statements_run
    case, _counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    groups.enrol(social, group, case)
    soon = utcnow() + timedelta(days=3)
    groups.add_session(social, group, day=soon.date().isoformat(), at="18:00", topic="Planning")
    later = groups.add_session(social, group, day=(soon + timedelta(days=7)).date().isoformat(), at="18:00")
    cancelled = groups.add_session(social, group, day=(soon - timedelta(days=1)).date().isoformat(), at="18:00")
    groups.cancel_session(social, cancelled)
    db.session.commit()
    sign_in(client, social.username)
    with statements_run(db) as one_group:
        page = client.get("/groups")
    assert page.status_code == 200
    row = page.get_data(as_text=True).split(group.name, 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row  # one member
    upcoming = groups.upcoming_sessions([group])  # the next one held: not the cancelled, not the later
    assert upcoming[group.id].topic == "Planning" and upcoming[group.id].id != later.id
    assert groups.member_counts([group]) == {group.id: 1}
    for name in ("Carers' café", "Back to work club"):
        _group(social, db, name=name)
    with statements_run(db) as three_groups:
        assert client.get("/groups").status_code == 200
    assert len(three_groups) == len(one_group)


def test_attendance_before_the_member_joined_is_refused_and_nothing_is_stored(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    early, _c, _s = recovery_case(make_user, make_case)
    group = _group(social, db)
    before = groups.add_session(social, group, day=(utcnow() - timedelta(days=7)).date().isoformat(), at="18:00")
    since = groups.add_session(social, group, day=(utcnow() - timedelta(days=1)).date().isoformat(), at="18:00")
    newcomer = groups.enrol(social, group, case)
    newcomer.joined_at = utcnow() - timedelta(days=3)  # after the first session, before the second
    regular = groups.enrol(social, group, early)
    regular.joined_at = utcnow() - timedelta(days=30)
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        groups.record_attendance(social, before, {str(newcomer.id): "attended"})
    assert f"member-{newcomer.id}" in refused.value.fields
    db.session.rollback()

    sign_in(client, social.username)
    path = f"/groups/{group.id}/sessions/{before.id}"
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert "joined after this session" in html
    # the page offers no choice for the newcomer; a post that sends one anyway is refused whole
    assert all(c.disabled for c in find_form(html, button="Save attendance").controls
               if c.name == f"member-{newcomer.id}")
    answer = form_post(client, path, {f"member-{newcomer.id}": "attended", f"member-{regular.id}": "attended"})
    assert answer.status_code == 400
    assert "joined the group after this session" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(GroupAttendance)) == 0
    # the regular member is recorded through the page's own form; the session after joining is fine
    assert submit(client, path, "Save attendance", {f"member-{regular.id}": "attended"}).status_code == 302
    later = f"/groups/{group.id}/sessions/{since.id}"
    assert submit(client, later, "Save attendance", {f"member-{newcomer.id}": "attended"}).status_code == 302
    stored = db.session.scalars(select(GroupAttendance)).all()
    assert sorted(str(row.session_id) for row in stored) == sorted([str(before.id), str(since.id)])


def test_attendance_after_the_member_left_is_refused_but_sessions_before_still_count(client, db, make_user, make_case):
    case, _counsellor, social = recovery_case(make_user, make_case)
    group = _group(social, db)
    while_member = groups.add_session(social, group, day=(utcnow() - timedelta(days=7)).date().isoformat(), at="18:00")
    after_leaving = groups.add_session(social, group, day=(utcnow() - timedelta(days=1)).date().isoformat(), at="18:00")
    member = groups.enrol(social, group, case)
    member.joined_at = utcnow() - timedelta(days=30)
    db.session.commit()
    groups.leave(social, group, member.id, case)
    member.left_at = utcnow() - timedelta(days=3)  # after the first session, before the second
    db.session.commit()

    with pytest.raises(Invalid) as refused:
        groups.record_attendance(social, after_leaving, {str(member.id): "attended"})
    assert "had left the group before this session" in refused.value.fields[f"member-{member.id}"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(GroupAttendance)) == 0

    sign_in(client, social.username)
    answer = form_post(client, f"/groups/{group.id}/sessions/{after_leaving.id}", {f"member-{member.id}": "absent"})
    assert answer.status_code == 400
    assert "had left the group before this session" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(GroupAttendance)) == 0
    # the session held while they were a member is still recorded
    assert groups.record_attendance(social, while_member, {str(member.id): "attended"}) == 1
    db.session.commit()
    assert db.session.scalar(select(GroupAttendance.status)) == "attended"
