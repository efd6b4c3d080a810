"""Community groups API: the team's groups, their sessions and attendance, and a client's enrolment
from their case. The same service functions and rules as the pages (casework.views.groups).

A group of another team answers 404, like a missing one. A member is named only to a viewer who
may see that client (otherwise `client_id` and `name` are null, as the page says "a client of another
team"). Invalid -> 422 with fields, an archived group or a cancelled session -> 409, a stale
`version` -> 409, a closed case -> 409."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import Field

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import NotFound, load_visible
from carecycle.openapi import Closed, Empty, Open, Paging, described
from carecycle.permissions import Permission, requires
from carecycle.urls import as_uuid
from carecycle.validation import Invalid
from casework.api import api
from casework.api.common import iso, page_args
from casework.models import GroupSession
from casework.service import careplans
from casework.service import groups as service

GROUP_FIELDS = ("name", "kind", "facilitator", "schedule", "location", "description")


# ------------------------------------------------------------------ what the endpoints take and answer
class GroupFilter(Paging):
    archived: str | None = Field(None, description="1: the archived groups instead of the running ones")


class GroupNew(Closed):
    name: str
    kind: str = Field(description="bereavement, carers, peer_support, return_to_work or other")
    facilitator: str
    schedule: str = Field(description='e.g. "Tuesdays 18:00-19:30, fortnightly"')
    location: str | None = None
    description: str | None = None


class GroupChange(Closed):
    version: int = Field(description="the version you edited (409 if the group changed since)")
    name: str | None = None
    kind: str | None = None
    facilitator: str | None = None
    schedule: str | None = None
    location: str | None = None
    description: str | None = None


class GroupSessionNew(Closed):
    day: str = Field(description="ISO date in the service's time zone, 2026-12-02")
    at: str | None = Field(None, description="HH:MM in the service's time zone (default 09:00)")
    duration_minutes: int | None = Field(None, description="15 to 480 (default 90)")
    topic: str | None = None
    facilitator: str | None = Field(None, description="when someone stands in for the usual facilitator")


class GroupAttendanceNew(Closed):
    attendance: dict[str, str | None] = Field(
        description="{member id: attended | absent | excused}; a member left out or null is left as it is")


class GroupEnrol(Closed):
    group_id: str = Field(description="a running group of your team")


class GroupSessionItem(Open):
    id: str
    group_id: str
    starts_at: str
    duration_minutes: int
    topic: str | None
    facilitator: str = Field(description="the stand-in, else the group's facilitator")
    cancelled_at: str | None


class GroupFacts(Open):
    id: str
    name: str
    kind: str
    facilitator: str
    schedule: str
    location: str | None
    description: str | None
    active: bool
    archived_at: str | None
    created_at: str | None
    version: int


class GroupItem(GroupFacts):
    next_session: GroupSessionItem | None
    member_count: int


class GroupList(Open):
    groups: list[GroupItem]
    page: int
    per_page: int
    total: int


class GroupMemberItem(Open):
    id: str
    client_id: str | None = Field(description="null: a client you may not see")
    name: str | None = Field(description="null: a client you may not see")
    joined_at: str | None


class GroupDetail(GroupFacts):
    members: list[GroupMemberItem]
    sessions: list[GroupSessionItem]


class GroupRosterRow(GroupMemberItem):
    status: str | None = Field(description="attended, absent, excused, or null: not recorded")
    not_recordable: str | None = Field(description="why attendance cannot be recorded for this member here")


class GroupSessionDetail(GroupSessionItem):
    roster: list[GroupRosterRow]


class GroupAttendanceSaved(GroupSessionDetail):
    recorded: int


class GroupMembership(Open):
    id: str
    group_id: str
    group_name: str
    kind: str
    joined_at: str | None
    left_at: str | None
    sessions: int = Field(description="sessions held while the client was a member")
    attended: int


class GroupMembershipList(Open):
    groups: list[GroupMembership]


# ------------------------------------------------------------------ answers
def _facts(group) -> dict:
    return {"id": str(group.id), **{name: getattr(group, name) for name in GROUP_FIELDS},
            "active": group.active, "archived_at": iso(group.archived_at), "created_at": iso(group.created_at),
            "version": group.version}


def _session(session, group) -> dict:
    return {"id": str(session.id), "group_id": str(session.group_id), "starts_at": iso(session.starts_at),
            "duration_minutes": session.duration_minutes, "topic": session.topic,
            "facilitator": session.facilitator or group.facilitator, "cancelled_at": iso(session.cancelled_at)}


def _member(member) -> dict:
    client = member.client
    return {"id": str(member.row.id), "client_id": str(client.id) if client else None,
            "name": client.display_name if client else None, "joined_at": iso(member.row.joined_at)}


def _session_detail(group, session) -> dict:
    members = service.members_of(group, current_user)
    attendance = service.attendance_of(session)
    roster = [{**_member(m), "status": attendance.get(m.row.client_index),
               "not_recordable": service.outside_membership(m.row, session)} for m in members]
    return {**_session(session, group), "roster": roster}


def _texts(body: dict, names: tuple[str, ...]) -> None:
    """422 naming each field that is there but not a string (or null)."""
    wrong = {name: "Send text." for name in names if body.get(name) is not None and not isinstance(body[name], str)}
    if wrong:
        raise ApiError(422, "Some fields are not valid.", wrong)


def _load_session(group_id, session_id):
    group = load_visible("community_group", group_id, current_user, audit=False)
    session = load_visible("group_session", session_id, current_user, where=(GroupSession.group_id == group.id,))
    return group, session


# ------------------------------------------------------------------ groups
@api.route("/groups", methods=["GET"])
@described(query=GroupFilter, responses={200: GroupList})
@requires(Permission.CASES_VIEW)
def api_groups():
    """The groups your team runs (`?archived=1`: the archived ones), by name, with the next session and member count."""
    page, per_page = page_args()
    found = service.groups_for(current_user, archived=request.args.get("archived") == "1")
    shown = found[(page - 1) * per_page:page * per_page]
    upcoming = service.upcoming_sessions(shown)
    counts = service.member_counts(shown)
    items = [{**_facts(g), "next_session": _session(upcoming[g.id], g) if g.id in upcoming else None,
              "member_count": counts[g.id]} for g in shown]
    return {"groups": items, "page": page, "per_page": per_page, "total": len(found)}


@api.route("/groups", methods=["POST"])
@described(body=GroupNew, responses={201: GroupFacts})
@requires(Permission.CASES_EDIT)
def api_group_create():
    """Start a group of your team: name, kind, facilitator, schedule, and optionally location and description."""
    body = json_body()
    _texts(body, GROUP_FIELDS)
    group = service.create_group(current_user, body)
    return _facts(group), 201


@api.route("/groups/<group_id>", methods=["GET"])
@described(responses={200: GroupDetail})
@requires(Permission.CASES_VIEW)
def api_group_get(group_id):
    """One group: its facts, current members (named where you may see the client) and latest sessions."""
    group = load_visible("community_group", group_id, current_user)
    members = service.members_of(group, current_user)
    sessions = service.sessions_of(group)
    return {**_facts(group), "members": [_member(m) for m in members],
            "sessions": [_session(s, group) for s in sessions]}


@api.route("/groups/<group_id>", methods=["PATCH"])
@described(body=GroupChange, responses={200: GroupFacts}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_group_patch(group_id):
    """Change a group's facts: `version` and the fields to change (the others stay as they are)."""
    group = load_visible("community_group", group_id, current_user, audit=False)
    body = json_body()
    _texts(body, GROUP_FIELDS)
    version = body.pop("version", None)
    data = {name: getattr(group, name) for name in GROUP_FIELDS} | body
    service.update_group(current_user, group, version, data)
    return _facts(group)


@api.route("/groups/<group_id>/archive", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: GroupFacts})
@requires(Permission.CASES_EDIT)
def api_group_archive(group_id):
    """Archive a group: it takes no new members or sessions; its members and attendance are kept."""
    json_body(optional=True)
    group = load_visible("community_group", group_id, current_user, audit=False)
    service.archive_group(current_user, group)
    return _facts(group)


# ------------------------------------------------------------------ sessions and attendance
@api.route("/groups/<group_id>/sessions", methods=["POST"])
@described(body=GroupSessionNew, responses={201: GroupSessionItem}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_group_session_create(group_id):
    """Plan a session of a running group: `day`, `at`, `duration_minutes`, `topic`, a stand-in `facilitator`."""
    group = load_visible("community_group", group_id, current_user, audit=False)
    body = json_body()
    _texts(body, ("day", "at", "topic", "facilitator"))
    session = service.add_session(current_user, group, day=body.get("day"), at=body.get("at"),
                                  duration_minutes=body.get("duration_minutes"), topic=body.get("topic"),
                                  facilitator=body.get("facilitator"))
    return _session(session, group), 201


@api.route("/groups/<group_id>/sessions/<session_id>", methods=["GET"])
@described(responses={200: GroupSessionDetail})
@requires(Permission.CASES_VIEW)
def api_group_session_get(group_id, session_id):
    """One session with its roster: each current member, their attendance, and whether it can be recorded."""
    group, session = _load_session(group_id, session_id)
    return _session_detail(group, session)


@api.route("/groups/<group_id>/sessions/<session_id>/attendance", methods=["POST"])
@described(body=GroupAttendanceNew, responses={200: GroupAttendanceSaved}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_group_attendance(group_id, session_id):
    """Record who came to a session that has taken place: `attendance` maps member ids to a status."""
    group, session = _load_session(group_id, session_id)
    body = json_body()
    statuses = body.get("attendance")
    if not isinstance(statuses, dict):
        raise ApiError(422, "Some fields are not valid.", {"attendance": "Send {member id: status}."})
    try:
        count = service.record_attendance(current_user, session, statuses)
    except Invalid as error:  # the service names the page's fields "member-<id>"
        raise Invalid({f"attendance.{key[len('member-'):]}" if key.startswith("member-") else key: message
                       for key, message in error.fields.items()}, error.message) from error
    return {**_session_detail(group, session), "recorded": count}


@api.route("/groups/<group_id>/sessions/<session_id>/cancel", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: GroupSessionItem})
@requires(Permission.CASES_EDIT)
def api_group_session_cancel(group_id, session_id):
    """Cancel a session (its attendance, if any, is kept)."""
    json_body(optional=True)
    group, session = _load_session(group_id, session_id)
    service.cancel_session(current_user, session)
    return _session(session, group)


# ------------------------------------------------------------------ a client's groups, from their case
def _membership(found) -> dict:
    return {"id": str(found.member.id), "group_id": str(found.group.id), "group_name": found.group.name,
            "kind": found.group.kind, "joined_at": iso(found.member.joined_at), "left_at": iso(found.member.left_at),
            "sessions": found.sessions, "attended": found.attended}


@api.route("/cases/<case_id>/groups", methods=["GET"])
@described(responses={200: GroupMembershipList})
@requires(Permission.CASES_VIEW)
def api_case_groups(case_id):
    """The groups the case's client is or was in, with the sessions held and attended, as on the case page."""
    case = load_visible("case", case_id, current_user)
    return {"groups": [_membership(m) for m in service.groups_of_client(case.client_id)]}


@api.route("/cases/<case_id>/groups", methods=["POST"])
@described(body=GroupEnrol, responses={201: GroupMembership}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_case_group_enrol(case_id):
    """Add the case's client to a running group of your team (`group_id`)."""
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    wanted = as_uuid(body.get("group_id")) if isinstance(body.get("group_id"), str) else None
    if wanted is None or wanted not in {g.id for g in service.groups_for(current_user)}:
        raise ApiError(422, "Some fields are not valid.", {"group_id": "Choose a running group of your team."})
    group = load_visible("community_group", wanted, current_user, audit=False)
    member = service.enrol(current_user, group, case)
    found = next(m for m in service.groups_of_client(case.client_id) if m.member.id == member.id)
    return _membership(found), 201


@api.route("/cases/<case_id>/groups/<member_id>/leave", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: GroupMembership}, errors=(409,))
@requires(Permission.CASES_EDIT)
def api_case_group_leave(case_id, member_id):
    """The case's client leaves a group (`member_id` from the case's groups); attendance is kept."""
    json_body(optional=True)
    case = load_visible("case", case_id, current_user, audit=False)
    membership = next((m for m in service.groups_of_client(case.client_id) if str(m.member.id) == member_id), None)
    if membership is None:
        raise NotFound("group member")
    careplans.require_open(case)
    group = load_visible("community_group", membership.group.id, current_user, audit=False)
    service.leave(current_user, group, membership.member.id, case)
    found = next(m for m in service.groups_of_client(case.client_id) if m.member.id == membership.member.id)
    return _membership(found)
