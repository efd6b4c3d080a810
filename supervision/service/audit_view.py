"""The audit viewer: supervisors read the events of their team's members, administrators every
event; filter by user, record, action and date. Every filter and sort parameter is checked against
a whitelist (anything else is refused with a message, never passed to the database), and the page
says whether the hash chain verifies (carecycle.audit.verify_chain).

Verifying reads the whole chain, so the page checks it live while the chain is short
(`CARECYCLE_AUDIT_LIVE_VERIFY_MAX` events, 50,000 by default); above that it shows the last stored check
with its time and offers a button to run one now."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.audit import (
    ACTION_LABELS,
    AuditEvent,
    AuditHead,
    record_event,
    verify_chain,
)
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.notifications import setting
from carecycle.roles import Role
from carecycle.validation import Invalid
from supervision.models import AuditVerification
from supervision.service.common import Period, parse_day

# the words of the audit trail's codes are the shell's (carecycle.audit), shared with the break-glass review
ACTIONS = tuple(ACTION_LABELS)
SORTS = {
    "at": _l("Time"), "action": _l("Action"), "object": _l("Record type"), "role": _l("Role"),
}
OBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OBJECT_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
PER_PAGE = 50
LIVE_VERIFY_MAX = 50_000


@dataclass
class Filters:
    username: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    date_from: str = ""
    date_to: str = ""
    sort: str = "at"
    direction: str = "desc"

    def query(self) -> dict:
        """The filters as query-string arguments (for the pager links)."""
        names = {"username": "user", "date_from": "from", "date_to": "to"}
        return {names.get(k, k): v for k, v in self.__dict__.items()
                if v and not (k == "sort" and v == "at") and not (k == "direction" and v == "desc")}


def clean_filters(args) -> tuple[Filters, dict]:
    """Filters from the query string; a value outside its whitelist or pattern is an error message."""
    def get(name: str) -> str:
        return (args.get(name) or "").strip()

    f = Filters(get("user"), get("object_type"), get("object_id"), get("action"), get("from"), get("to"),
                get("sort") or "at", get("direction") or "desc")
    errors = {}
    if f.username and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", f.username):
        errors["user"] = _("Enter a username.")
    if f.object_type and not OBJECT_TYPE.match(f.object_type):
        errors["object_type"] = _("Enter a record type such as case or client.")
    if f.object_id and not OBJECT_ID.match(f.object_id):
        errors["object_id"] = _("Enter a record id (letters, digits and dashes).")
    if f.action and f.action not in ACTIONS:
        errors["action"] = _("Choose an action from the list.")
    if f.sort not in SORTS:
        errors["sort"] = _("Choose a sort order from the list.")
    if f.direction not in ("asc", "desc"):
        errors["direction"] = _("Choose ascending or descending.")
    for name, value in (("from", f.date_from), ("to", f.date_to)):
        try:
            parse_day(value, name)
        except Invalid as invalid:
            errors.update(invalid.fields)
    return f, errors


@dataclass
class EventPage:
    items: list
    page: int
    has_next: bool
    actors: dict

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def scope_clause(user):
    """Supervisors: events by members of their team; administrators: every event."""
    if Role(user.role) is Role.ADMIN:
        return None
    if user.team_id is None:
        return AuditEvent.seq < 0
    return AuditEvent.actor_id.in_(select(User.id).where(User.team_id == user.team_id))


def events(user, f: Filters, page: int = 1) -> EventPage:
    """A page of events in scope matching the (already cleaned) filters."""
    stmt = select(AuditEvent)
    scope = scope_clause(user)
    if scope is not None:
        stmt = stmt.where(scope)
    if f.username:
        target = db.session.scalar(select(User).where(User.username == f.username.lower()))
        if target is None or (scope is not None and target.team_id != user.team_id):
            raise Invalid({"user": _("No user with this username in what you may see.")})
        stmt = stmt.where(AuditEvent.actor_id == target.id)
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id.lower())
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    first, last = parse_day(f.date_from, "from"), parse_day(f.date_to, "to")
    if first:
        stmt = stmt.where(AuditEvent.at >= Period(first, first).start)
    if last:
        stmt = stmt.where(AuditEvent.at < Period(last, last).end)
    column = {"at": AuditEvent.seq, "action": AuditEvent.action, "object": AuditEvent.object_type,
              "role": AuditEvent.actor_role}[f.sort]
    order = column.desc() if f.direction == "desc" else column.asc()
    tie = AuditEvent.seq.desc() if f.direction == "desc" else AuditEvent.seq.asc()
    stmt = stmt.order_by(order, tie) if f.sort != "at" else stmt.order_by(order)
    page = max(1, page)
    rows = list(db.session.scalars(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    ids = {e.actor_id for e in rows if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    record_event("view", "audit_log", user.team_id, reason=_summary(f))
    return EventPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE, actors)


def _summary(f: Filters) -> str:
    """Which filters were used (codes only)."""
    used = [k for k, v in f.__dict__.items() if v and k not in ("sort", "direction")]
    return "filters:" + (",".join(used) or "none")


# ------------------------------------------------------------------ the chain
def chain_length() -> int:
    head = db.session.get(AuditHead, 1)
    return head.seq if head else 0


def verify_now(user, after: AuditVerification | None = None) -> AuditVerification:
    """Check the chain and keep the result (the caller commits): the whole chain, or with `after`
    (an earlier good check) only the events since, so that a visit costs the same at any length."""
    record_event("review", "audit_chain", None, reason="verify")  # before the check, so that it covers itself
    db.session.flush()
    start = (after.last_seq, after.last_hash) if after is not None and after.last_seq and after.last_hash else None
    report = verify_chain(after=start)
    row = AuditVerification(at=utcnow(), by_id=user.id if user else None, ok=report.ok, event_count=report.count,
                            first_bad=report.first_bad, problem=(report.problem or None) and report.problem[:300],
                            last_seq=report.last_seq if report.ok else None,
                            last_hash=report.last_hash if report.ok else None, incremental=start is not None)
    db.session.add(row)
    db.session.flush()
    return row


def chain_status(user) -> AuditVerification | None:
    """The chain's state for the page: the events since the last good check are checked now
    (incrementally); without one, the whole chain while it is short enough, else the last stored
    check (None when there is none yet). A failed check stays shown until a full check passes."""
    last = db.session.scalar(select(AuditVerification).order_by(AuditVerification.at.desc()).limit(1))
    if last is not None and last.ok and last.last_seq:
        return verify_now(user, after=last)
    limit = int(setting("AUDIT_LIVE_VERIFY_MAX", LIVE_VERIFY_MAX))
    if (last is None or last.ok) and chain_length() <= limit:
        return verify_now(user)
    return last
