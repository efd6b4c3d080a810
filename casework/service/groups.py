"""Community groups: bereavement support, carers, peer support, return to work. A team runs its
groups (facilitator, schedule, sessions); a worker enrols a client from the client's case, and
records who came to each session.

Who sees a group: staff of its team (404 for anyone else). Members and attendance name a client
only to a viewer who may see that client (casework.service.access.visible_clients); the rows
themselves hold the client id sealed, with a blind index for lookup."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import NotFound
from carecycle.localtime import service_zone
from carecycle.urls import as_uuid
from carecycle.validation import Conflict, Invalid
from casework.models import Case, Client, CommunityGroup, GroupAttendance, GroupMember, GroupSession
from casework.models.recovery import Attendance, GroupKind
from casework.service.access import visible_clients
from casework.service.careplans import require_open
from casework.service.cases import add_event

NAME_MAX, FACILITATOR_MAX, SCHEDULE_MAX, LOCATION_MAX, DESCRIPTION_MAX, TOPIC_MAX = 120, 120, 200, 200, 2000, 200


def member_index(client_id) -> str:
    return GroupMember.client_ref.index_for(str(client_id))


def attendance_index(client_id) -> str:
    return GroupAttendance.client_ref.index_for(str(client_id))


# ------------------------------------------------------------------ groups
def groups_for(user, *, archived: bool = False) -> list[CommunityGroup]:
    if user.team_id is None:
        return []
    stmt = select(CommunityGroup).where(CommunityGroup.team_id == user.team_id)
    stmt = stmt.where(CommunityGroup.archived_at.is_not(None) if archived else CommunityGroup.archived_at.is_(None))
    return list(db.session.scalars(stmt.order_by(CommunityGroup.name)))


def _clean_group(data: dict) -> dict:
    errors: dict = {}
    clean = {}
    for name, limit, required in (("name", NAME_MAX, True), ("facilitator", FACILITATOR_MAX, True),
                                  ("schedule", SCHEDULE_MAX, True), ("location", LOCATION_MAX, False),
                                  ("description", DESCRIPTION_MAX, False)):
        value = " ".join(str(data.get(name) or "").split()) if name != "description" \
            else str(data.get(name) or "").strip()
        if required and not value:
            errors[name] = _("This is needed.")
        elif len(value) > limit:
            errors[name] = _("Use at most %(n)d characters.", n=limit)
        clean[name] = value or None
    try:
        clean["kind"] = GroupKind(str(data.get("kind") or "")).value
    except ValueError:
        errors["kind"] = _("Choose the kind of group.")
    if errors:
        raise Invalid(errors)
    return clean


def create_group(user, data: dict) -> CommunityGroup:
    if user.team_id is None:
        raise Invalid({"name": _("Only staff of a team run groups.")})
    clean = _clean_group(data)
    group = CommunityGroup(team_id=user.team_id, created_by_id=user.id, created_at=utcnow(), **clean)
    db.session.add(group)
    db.session.flush()
    record_event("create", "community_group", group.id)
    return group


def update_group(user, group: CommunityGroup, version, data: dict) -> CommunityGroup:
    try:
        version = int(version)
    except (TypeError, ValueError, OverflowError):  # 1e400 is infinity
        raise Invalid({"version": _("Send the version you edited.")}) from None
    if version != group.version:
        raise Conflict(_("Someone else changed this group since you opened it."), current_version=group.version)
    clean = _clean_group(data)
    for name, value in clean.items():
        setattr(group, name, value)
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(_("Someone else changed this group since you opened it.")) from None
    record_event("update", "community_group", group.id)
    return group


def archive_group(user, group: CommunityGroup) -> CommunityGroup:
    if group.archived_at is None:
        group.archived_at = utcnow()
        db.session.flush()
        record_event("update", "community_group", group.id, reason="archived")
    return group


# ------------------------------------------------------------------ sessions
def add_session(user, group: CommunityGroup, *, day, at, duration_minutes=90, topic=None,
                facilitator=None) -> GroupSession:
    if not group.active:
        raise Conflict(_("This group is archived."))
    from casework.service.tasks import local_to_utc
    errors: dict = {}
    try:
        starts_at = local_to_utc(day, at)
    except Invalid as error:
        starts_at = None
        errors.update({{"due_date": "day", "due_time": "at"}.get(k, k): v for k, v in error.fields.items()})
    try:
        duration = int(duration_minutes or 90)
        if not 15 <= duration <= 480:
            raise ValueError
    except (TypeError, ValueError):
        errors["duration_minutes"] = _("Give the length in minutes, from 15 to 480.")
        duration = None
    topic = " ".join(str(topic or "").split()) or None
    facilitator = " ".join(str(facilitator or "").split()) or None
    if topic and len(topic) > TOPIC_MAX:
        errors["topic"] = _("Use at most %(n)d characters.", n=TOPIC_MAX)
    if facilitator and len(facilitator) > FACILITATOR_MAX:
        errors["facilitator"] = _("Use at most %(n)d characters.", n=FACILITATOR_MAX)
    if starts_at is not None and abs(starts_at - utcnow()) > timedelta(days=366):
        errors["day"] = _("Choose a date within a year from today.")
    if errors:
        raise Invalid(errors)
    session = GroupSession(group_id=group.id, starts_at=starts_at, duration_minutes=duration, topic=topic,
                           facilitator=facilitator, created_by_id=user.id, created_at=utcnow())
    db.session.add(session)
    db.session.flush()
    record_event("create", "group_session", session.id)
    return session


def cancel_session(user, session: GroupSession) -> GroupSession:
    if session.cancelled_at is None:
        session.cancelled_at = utcnow()
        db.session.flush()
        record_event("update", "group_session", session.id, reason="cancelled")
    return session


def sessions_of(group: CommunityGroup, limit: int = 50) -> list[GroupSession]:
    return list(db.session.scalars(select(GroupSession).where(GroupSession.group_id == group.id)
                                   .order_by(GroupSession.starts_at.desc()).limit(limit)))


# ------------------------------------------------------------------ members
@dataclass
class Member:
    row: GroupMember
    client: Client | None  # None: a client the viewer may not see


def active_members(group: CommunityGroup) -> list[GroupMember]:
    return list(db.session.scalars(select(GroupMember).where(GroupMember.group_id == group.id,
                                                             GroupMember.left_at.is_(None))
                                   .order_by(GroupMember.joined_at)))


def members_of(group: CommunityGroup, viewer) -> list[Member]:
    rows = active_members(group)
    ids = {row.id: as_uuid(row.client_ref) for row in rows}
    wanted = [cid for cid in ids.values() if cid]
    seen = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(wanted),
                                                                     visible_clients(viewer)))} if wanted else {}
    if rows:
        record_event("view", "group_members", group.id)
    return [Member(row, seen.get(cid) if (cid := ids[row.id]) else None) for row in rows]


def enrol(user, group: CommunityGroup, case: Case) -> GroupMember:
    """Add the case's client to a group of the worker's team (from the case page)."""
    require_open(case)
    if not group.active:
        raise Invalid({"group_id": _("This group is archived.")})
    index = member_index(case.client_id)
    existing = db.session.scalar(select(GroupMember.id).where(GroupMember.group_id == group.id,
                                                              GroupMember.client_index == index,
                                                              GroupMember.left_at.is_(None)))
    if existing:
        raise Invalid({"group_id": _("The client is already in this group.")})
    member = GroupMember(group_id=group.id, joined_by_id=user.id, joined_at=utcnow())
    member.client_ref = str(case.client_id)
    db.session.add(member)
    db.session.flush()
    add_event(case, "group_joined", user, group.name)
    record_event("create", "group_member", member.id)
    return member


def leave(user, group: CommunityGroup, member_id, case: Case | None = None) -> GroupMember:
    mid = as_uuid(member_id)
    member = db.session.get(GroupMember, mid) if mid else None
    if member is None or member.group_id != group.id:
        raise NotFound("group member")
    if member.left_at is None:
        member.left_at, member.left_by_id = utcnow(), user.id
        db.session.flush()
        if case is not None:
            add_event(case, "group_left", user, group.name)
        record_event("update", "group_member", member.id, reason="left")
    return member


# ------------------------------------------------------------------ attendance
def attendance_of(session: GroupSession) -> dict[str, str]:
    """client index (member table) -> status, for the session's roster."""
    rows = db.session.scalars(select(GroupAttendance).where(GroupAttendance.session_id == session.id)).all()
    return {member_index(row.client_ref): row.status for row in rows}


def joined_after(member: GroupMember, session: GroupSession) -> bool:
    """The session was held on a day before the member joined (days in the page's zone, so that a
    person enrolled the evening after the first session they came to can still be marked for it)."""
    zone = service_zone()
    return session.starts_at.astimezone(zone).date() < member.joined_at.astimezone(zone).date()


def left_before(member: GroupMember, session: GroupSession) -> bool:
    """The session was held on a day after the member left the group (the day they left still counts)."""
    if member.left_at is None:
        return False
    zone = service_zone()
    return session.starts_at.astimezone(zone).date() > member.left_at.astimezone(zone).date()


def outside_membership(member: GroupMember, session: GroupSession) -> str | None:
    """Why attendance cannot be recorded for this member at this session, or None: it is recorded
    only for sessions held while the person was a member."""
    if joined_after(member, session):
        return _("This person joined the group after this session; attendance can be recorded only for "
                 "sessions held while they were a member.")
    if left_before(member, session):
        return _("This person had left the group before this session; attendance can be recorded only for "
                 "sessions held while they were a member.")
    return None


def record_attendance(user, session: GroupSession, statuses: dict) -> int:
    """`{member id: attended | absent | excused}` for members of the session's group; others refused,
    and so is attendance at a session held before the member joined or after they left. Nothing is
    stored on a refusal."""
    if session.cancelled_at is not None:
        raise Conflict(_("This session was cancelled."))
    if session.starts_at > utcnow() + timedelta(hours=1):
        raise Invalid({"attendance": _("Attendance is recorded once the session has taken place.")})
    members = {str(m.id): m for m in db.session.scalars(select(GroupMember).where(
        GroupMember.group_id == session.group_id))}
    errors = {}
    clean = {}
    for member_id, status in statuses.items():
        member = members.get(str(member_id))
        if member is None:
            errors[f"member-{member_id}"] = _("Not a member of this group.")
            continue
        if status in (None, ""):
            continue
        outside = outside_membership(member, session)
        if outside:
            errors[f"member-{member_id}"] = outside
            continue
        try:
            clean[member] = Attendance(status).value
        except ValueError:
            errors[f"member-{member_id}"] = _("Choose attended, absent or excused.")
    if errors:
        raise Invalid(errors)
    existing = {row.client_index: row for row in db.session.scalars(
        select(GroupAttendance).where(GroupAttendance.session_id == session.id))}
    now = utcnow()
    for member, status in clean.items():
        client_id = member.client_ref
        index = attendance_index(client_id)
        row = existing.get(index)
        if row is None:
            row = GroupAttendance(session_id=session.id, recorded_by_id=user.id, recorded_at=now, status=status)
            row.client_ref = client_id
            db.session.add(row)
        elif row.status != status:
            row.status, row.recorded_by_id, row.recorded_at = status, user.id, now
    db.session.flush()
    record_event("update", "group_attendance", session.id, reason=f"{len(clean)} recorded")
    return len(clean)


# ------------------------------------------------------------------ a client's groups (on their case)
@dataclass
class ClientGroup:
    group: CommunityGroup
    member: GroupMember
    sessions: int    # held while the client was a member (or with their attendance recorded)
    attended: int


def groups_of_client(client_id) -> list[ClientGroup]:
    members = list(db.session.scalars(select(GroupMember).where(GroupMember.client_index == member_index(client_id))
                                      .order_by(GroupMember.left_at.is_not(None), GroupMember.joined_at.desc())))
    if not members:
        return []
    attended_index = attendance_index(client_id)
    now = utcnow()
    out = []
    for member in members:
        until = member.left_at or now
        recorded = select(GroupAttendance.session_id).where(GroupAttendance.client_index == attended_index)
        held = db.session.scalar(select(func.count()).select_from(GroupSession).where(
            GroupSession.group_id == member.group_id, GroupSession.cancelled_at.is_(None),
            or_(and_(GroupSession.starts_at >= member.joined_at - timedelta(days=1), GroupSession.starts_at <= until),
                GroupSession.id.in_(recorded)))) or 0
        came = db.session.scalar(select(func.count()).select_from(GroupAttendance).join(
            GroupSession, GroupSession.id == GroupAttendance.session_id).where(
            GroupSession.group_id == member.group_id, GroupAttendance.client_index == attended_index,
            GroupAttendance.status == Attendance.ATTENDED.value)) or 0
        out.append(ClientGroup(member.group, member, held, came))
    return out


# ------------------------------------------------------------------ the groups list (one query each, not one per group)
def upcoming_sessions(groups: list[CommunityGroup]) -> dict:
    """{group id: its next session not cancelled}, for groups that have one."""
    ids = [g.id for g in groups]
    if not ids:
        return {}
    upcoming = (GroupSession.group_id.in_(ids), GroupSession.cancelled_at.is_(None),
                GroupSession.starts_at >= utcnow())
    first = (select(GroupSession.group_id, func.min(GroupSession.starts_at).label("starts_at"))
             .where(*upcoming).group_by(GroupSession.group_id).subquery())
    rows = db.session.scalars(select(GroupSession).join(first, and_(
        GroupSession.group_id == first.c.group_id, GroupSession.starts_at == first.c.starts_at)).where(*upcoming))
    return {row.group_id: row for row in rows}


def member_counts(groups: list[CommunityGroup]) -> dict:
    """{group id: how many current members}."""
    ids = [g.id for g in groups]
    counts = dict(db.session.execute(select(GroupMember.group_id, func.count()).where(
        GroupMember.group_id.in_(ids), GroupMember.left_at.is_(None)).group_by(GroupMember.group_id)).all()) \
        if ids else {}
    return {gid: counts.get(gid, 0) for gid in ids}
