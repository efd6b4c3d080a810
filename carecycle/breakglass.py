"""Break-glass: a counsellor or social worker opens a record outside their assignment after
writing a reason. The grant lasts a limited time, is audited, and is listed for the supervisor
of the record's team.

Areas register the record types that may be opened this way with `register_target`, giving
a function that returns the record's team id and the URL to open (or None when the record
does not exist)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app, g, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, bindparam, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from carecycle.accounts.models import User
from carecycle.audit import AuditEvent, act_under_grant, record_event
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model, db
from carecycle.lifecycle import Conflict, Forbidden, Invalid, NotFound
from carecycle.permissions import Permission, role_has
from carecycle.urls import as_uuid

OBJECT_LABELS = {"case": _l("Case"), "client": _l("Client")}


class BreakGlassGrant(UUIDPrimaryKey, Model):
    __tablename__ = "break_glass_grant"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _reason: Mapped[str] = mapped_column("reason", Sealed)
    reason = Encrypted("_reason")

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def object_label(self):
        return OBJECT_LABELS.get(self.object_type, self.object_type)

    @hybrid_property
    def active(self):
        """The grant window, the one rule every area uses: a grant opens its record from
        `granted_at` until `expires_at` (BREAK_GLASS_DURATION later). On a row it is a bool; in a
        query (`BreakGlassGrant.active`) the same comparison as SQL."""
        return self.expires_at > utcnow()


@dataclass(frozen=True)
class Target:
    team_id: uuid.UUID | None
    url: str


TargetResolver = Callable[[str], "Target | None"]


def register_target(app, object_type: str, resolver: TargetResolver, page: tuple[str, str] | None = None) -> None:
    """`resolver(object_id)` gives the record's Target; `page` = (endpoint, id argument) of the
    record's page, which the supervisor's review list links to while a grant is active."""
    app.extensions.setdefault("carecycle_break_glass_targets", {})[object_type] = resolver
    if page is not None:
        app.extensions.setdefault("carecycle_break_glass_pages", {})[object_type] = page


def target_page(grant: BreakGlassGrant) -> str | None:
    """The URL of the record a grant opened, when its area registered one."""
    page = current_app.extensions.get("carecycle_break_glass_pages", {}).get(grant.object_type)
    if not page:
        return None
    values: dict[str, Any] = {page[1]: grant.object_id}
    return url_for(page[0], **values)


def resolve_target(object_type: str, object_id: str) -> Target | None:
    resolver = current_app.extensions.get("carecycle_break_glass_targets", {}).get(object_type)
    return resolver(object_id) if resolver else None


class BreakGlassRefused(Invalid):
    """The reason given does not say enough (shown on the reason field)."""

    def __init__(self, message: str):
        super().__init__({"reason": message}, message)


# Han, kana and Hangul are written without spaces: each such character counts as a word
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WORD = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")  # one CJK character, or a run of other letters/digits


def reason_words(reason: str) -> set[str]:
    """The different words of a reason: runs of letters or digits of two or more characters
    (case ignored), and single Chinese, Japanese or Korean characters. "help help help help"
    has one word, "a b c d e" none."""
    return {w.casefold() for w in _WORD.findall(reason or "") if len(w) >= 2 or _CJK_CHAR.fullmatch(w)}


def duration_minutes() -> int:
    return int(current_app.config["BREAK_GLASS_DURATION"].total_seconds() // 60)


def check_reason(reason: str) -> str:
    """The reason, whitespace collapsed, or BreakGlassRefused: at least BREAK_GLASS_MIN_REASON
    characters and BREAK_GLASS_MIN_WORDS different words, so a row of one letter is not a reason."""
    reason = " ".join((reason or "").split())
    minimum, words = current_app.config["BREAK_GLASS_MIN_REASON"], current_app.config["BREAK_GLASS_MIN_WORDS"]
    if len(reason) < minimum or len(reason_words(reason)) < words:
        raise BreakGlassRefused(_("Write a reason of at least %(n)d characters and %(w)d different words: "
                                  "what happened and why you must open this record now.", n=minimum, w=words))
    return reason


def grant(user: User, object_type: str, object_id, team_id, reason: str) -> BreakGlassGrant:
    """Open a record outside one's assignment; the caller commits."""
    if not role_has(user.role, Permission.BREAK_GLASS):
        raise Forbidden(_("Your role cannot open records outside your assignment."), object_type, object_id,
                        reason="break_glass by a role without it")
    reason = check_reason(reason)
    now = utcnow()
    row = BreakGlassGrant(user_id=user.id, object_type=object_type, object_id=str(object_id),
                          team_id=team_id, granted_at=now,
                          expires_at=now + current_app.config["BREAK_GLASS_DURATION"])
    row.reason = reason
    db.session.add(row)
    db.session.flush()
    if has_request_context():
        g.pop("_carecycle_grants", None)  # `granted_ids` asks again
        g.pop("_carecycle_no_grants", None)
    record_event("break_glass", object_type, object_id, reason=f"grant {row.id}", actor=user)
    return row


def granted_ids(user, object_type: str) -> list[str]:
    """The ids (as stored) of the records of `object_type` that `user` holds an active grant for:
    what an area's visibility rule adds to the records assigned to the user. Asked once per request
    (a page's visibility rules ask it several times); `grant` makes the next call ask again."""
    memo = g.setdefault("_carecycle_grants", {}) if has_request_context() else {}
    key = (user.id, object_type)
    if key not in memo:
        if has_request_context() and g.get("_carecycle_no_grants") == user.id:
            return []  # the sign-in statement found none (carecycle.accounts.service.user_for_session)
        memo[key] = list(db.session.scalars(_granted_statement(), {
            "grant_user": user.id, "grant_type": object_type, "grant_now": utcnow()}))
    return list(memo[key])


def holds_any_grant_column(user_id_column):
    """A boolean column: does the user in `user_id_column` hold any active grant now (bound `grant_now`)?
    The sign-in statement asks it, so a request of a user without grants asks no more."""
    return select(BreakGlassGrant.id).where(BreakGlassGrant.user_id == user_id_column,
                                            BreakGlassGrant.expires_at > bindparam("grant_now")).exists()


def known_without_grants(user_id) -> None:
    """This request's user holds no active grant (until `grant` makes one)."""
    g._carecycle_no_grants = user_id


@lru_cache(maxsize=1)
def _granted_statement():
    return select(BreakGlassGrant.object_id).where(
        BreakGlassGrant.user_id == bindparam("grant_user"), BreakGlassGrant.object_type == bindparam("grant_type"),
        BreakGlassGrant.expires_at > bindparam("grant_now"))  # BreakGlassGrant.active, with the time bound


def use_grant(user, object_type: str, object_id) -> BreakGlassGrant | None:
    """The record is open to `user` only through a grant: find the active one (the newest) and tag
    the request's events with it, so the supervisor's review lists what was written under it."""
    row = db.session.scalar(select(BreakGlassGrant).where(
        BreakGlassGrant.user_id == user.id, BreakGlassGrant.object_type == object_type,
        BreakGlassGrant.object_id == str(object_id), BreakGlassGrant.active)
        .order_by(BreakGlassGrant.granted_at.desc()).limit(1))
    if row is not None:
        act_under_grant(user, row.id)
    return row


def writes_under(grants) -> dict[uuid.UUID, list[AuditEvent]]:
    """For each grant, the events its holder recorded while using it, oldest first — every action
    but views (one query for a page of grants)."""
    by_id = {str(row.id): row for row in grants}
    found: dict[uuid.UUID, list[AuditEvent]] = {row.id: [] for row in grants}
    if not by_id:
        return found
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.grant_id.in_(list(by_id)), AuditEvent.action != "view").order_by(AuditEvent.seq))
    for event in events:
        row = by_id[str(event.grant_id)]
        # belt and braces: only the holder's own events inside the grant's window
        if event.actor_id == row.user_id and row.granted_at <= event.at <= row.expires_at:
            found[row.id].append(event)
    return found


def grants_for_review(supervisor: User, page: int = 1, per_page: int = 50):
    """Grants on the supervisor's team, unreviewed first (with who asked: the list names them)."""
    stmt = (select(BreakGlassGrant).options(selectinload(BreakGlassGrant.user))
            .where(BreakGlassGrant.team_id == supervisor.team_id)
            .order_by(BreakGlassGrant.reviewed_at.is_not(None), BreakGlassGrant.granted_at.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def mark_reviewed(supervisor: User, grant_id) -> BreakGlassGrant:
    """The one rule for reviewing a grant, from the review page and the approvals queue alike: a grant
    of another team is not found; one's own grant is reviewed by another supervisor (Forbidden); a
    grant already reviewed is a Conflict."""
    row = db.session.get(BreakGlassGrant, as_uuid(grant_id)) if as_uuid(grant_id) else None
    if row is None or row.team_id is None or row.team_id != supervisor.team_id:
        raise NotFound("break_glass_grant")
    if row.user_id == supervisor.id:
        raise Forbidden(_("This is your own request: another supervisor must decide it."), "break_glass_grant",
                        row.id, reason="own break_glass_grant")
    if row.reviewed_at is not None:
        raise Conflict(_("This access has already been reviewed."))
    row.reviewed_at, row.reviewed_by_id = utcnow(), supervisor.id
    record_event("update", "break_glass_grant", row.id, reason="reviewed", actor=supervisor)
    return row
