"""Account rules: password policy and hashing, sign-in with lockout, server-side sessions,
and the admin operations that must end a user's sessions."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, session
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from carecycle import ratelimit, sqlite_writer
from carecycle.accounts import separation
from carecycle.accounts.models import ApiToken, Team, User, UserSession, UsualAddress
from carecycle.audit import record_event
from carecycle.config import API_TOKEN_MAX_DAYS
from carecycle.crypto import blind_index
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import keep_refusal
from carecycle.roles import Role
from carecycle.validation import Invalid

# argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's minimum recommendation)
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(Invalid):
    """A refused account operation; `fields` maps form fields to messages."""

    message: str

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(fields or {}, message)


# ---------------------------------------------------------------- passwords
@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("carecycle").joinpath("data/common_passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length and common-list only: no composition rules."""
    low, high = current_app.config["PASSWORD_MIN_LENGTH"], current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) < low:
        return _("Use at least %(n)d characters.", n=low)
    if len(password) > high:
        return _("Use at most %(n)d characters.", n=high)
    lowered = password.casefold()
    if lowered in common_passwords() or (username and lowered == username.casefold()):
        return _("This password is too common or too easy to guess. Choose another.")
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- sign-in
class SignInRefused(Exception):
    """Sign-in failed; `rate_limited` means too many attempts from this address."""

    def __init__(self, rate_limited: bool = False):
        super().__init__("sign-in refused")
        self.rate_limited = rate_limited


def authenticate(username: str, password: str, address: str) -> User:
    """Check credentials. Unknown user, wrong password, disabled, locked and slowed accounts fail
    alike, with the same work (the limits are kept per username, whether or not it exists).

    The per-address limit counts failed attempts only: each attempt takes a slot before the check
    (so attempts running at once cannot pass the limit together) and a successful one gives it back.
    The password is hashed before any of this writes (on SQLite, not under the writer lock).
    Failures lock one (account, address) pair, never the account: someone who knows a username
    locks only their own address out. Past a higher number of failures for the account from
    anywhere, addresses it has not signed in from get one attempt per interval; its usual
    addresses are never slowed. Nothing sleeps: a refused attempt is answered at once."""
    cfg = current_app.config
    name = normalise_username(username)
    user = db.session.scalar(select(User).where(User.username == name))
    # The password is checked before anything is written: on SQLite a write transaction holds the one
    # writer lock, and a slow hash under it would stall every other write (failed sign-ins included).
    # Every attempt does this one hash, whatever comes of it, so all answers take the same work.
    sqlite_writer.release_reads(db.session())
    verified = _verify(user.password_hash if user is not None else _dummy_hash(), password)
    attempt = ratelimit.take("login", address or "-", cfg["LOGIN_ADDRESS_LIMIT"], cfg["LOGIN_ADDRESS_WINDOW"])
    if attempt is None:
        record_event("login_failed", outcome="rate_limited")
        keep_refusal()
        raise SignInRefused(rate_limited=True)
    now = utcnow()
    address_key = _address_key(address)
    usual = _is_usual(name, address_key, now)
    cleared = user.sign_in_cleared_at if user is not None else None
    pair_key = f"{name}\n{address_key}"
    pair = ratelimit.take("login_pair", pair_key, cfg["LOGIN_MAX_FAILURES"],
                          _since_cleared(cfg["LOGIN_LOCK_DURATION"], cleared, now))
    if pair is None:
        _refuse(user, "locked")
    if not usual and _slowed(name, cleared, now):
        ratelimit.give_back(pair)  # not checked, so not a failure of this pair
        _refuse(user, "slowed")
    if user is None or not verified or not user.active:
        ratelimit.count("login_account", name)
        outcome = "unknown_user" if user is None else "disabled" if not user.active else "bad_password"
        if ratelimit.recent("login_pair", pair_key, _since_cleared(cfg["LOGIN_LOCK_DURATION"], cleared, now)) \
                >= cfg["LOGIN_MAX_FAILURES"]:
            outcome = "locked_now"  # this address, for this account only
        _refuse(user, outcome)
    ratelimit.give_back(pair)
    ratelimit.forget("login_pair", pair_key)
    ratelimit.give_back(attempt)
    _remember_address(user, address_key, now)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _refuse(user: User | None, outcome: str) -> NoReturn:
    """Audit a refused sign-in, commit the counts and refuse (the password was hashed already)."""
    if user is None:
        record_event("login_failed", outcome=outcome)
    else:
        record_event("login_failed", "user", user.id, outcome=outcome, actor=user)
    keep_refusal()
    raise SignInRefused()


def _address_key(address: str | None) -> str:
    """A keyed hash of a client address: the database never holds the address of a sign-in."""
    return blind_index("user_usual_address.address", address or "-", normalise=str.strip) or "-"


def _since_cleared(window: timedelta, cleared: datetime | None, now: datetime) -> timedelta:
    """The window to count failures in, cut at an administrator's reset."""
    if cleared is None:
        return window
    return max(timedelta(0), min(window, now - cleared))


def _is_usual(name: str, address_key: str, now: datetime) -> bool:
    since = now - current_app.config["LOGIN_USUAL_ADDRESS_LIFETIME"]
    return db.session.scalar(
        select(UsualAddress.id).join(User, User.id == UsualAddress.user_id)
        .where(User.username == name, UsualAddress.address_key == address_key, UsualAddress.last_seen_at >= since)
        .limit(1)) is not None


def _slowed(name: str, cleared: datetime | None, now: datetime) -> bool:
    """True when the account is past its failure threshold and its one attempt of this interval is taken."""
    cfg = current_app.config
    failures = ratelimit.recent("login_account", name, _since_cleared(cfg["LOGIN_ACCOUNT_WINDOW"], cleared, now))
    if failures < cfg["LOGIN_ACCOUNT_SLOW_AFTER"]:
        return False
    return ratelimit.take("login_slow", name, 1, cfg["LOGIN_ACCOUNT_SLOW_INTERVAL"]) is None


def _remember_address(user: User, address_key: str, now: datetime) -> None:
    """A successful sign-in makes its address one of the user's usual ones."""
    row = db.session.scalar(select(UsualAddress).where(UsualAddress.user_id == user.id,
                                                       UsualAddress.address_key == address_key).limit(1))
    if row is None:
        db.session.add(UsualAddress(user_id=user.id, address_key=address_key, first_seen_at=now, last_seen_at=now))
    else:
        row.last_seen_at = now


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new server-side session; returns the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_token_hash(token), user_id=user.id))
    return token


def sign_in(user: User) -> None:
    """Sign `user` in on this browser: a new session (nothing of the old cookie survives; a
    language chosen before becomes the user's if they have none) and a `login` event. The
    caller commits."""
    language = session.get("locale")
    session.clear()
    session["sid"] = start_session(user)
    if user.locale is None and language:
        user.locale = language
    login_user(user)
    record_event("login", "user", user.id, actor=user)


def end_session(token: str | None, reason: str = "logout") -> None:
    if token:
        db.session.execute(update(UserSession).where(
            UserSession.id == _token_hash(token), UserSession.ended_at.is_(None)
        ).values(ended_at=utcnow(), end_reason=reason))


def end_all_sessions(user: User, reason: str) -> None:
    db.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    ).values(ended_at=utcnow(), end_reason=reason))


@lru_cache(maxsize=1)
def _session_statement():
    """Built once per process; bound `session_id` and `grant_now`."""
    from carecycle.breakglass import holds_any_grant_column
    return (select(UserSession, User, holds_any_grant_column(User.id).label("holds_grants"))
            .join(User, User.id == UserSession.user_id).options(joinedload(User.team))
            .where(UserSession.id == bindparam("session_id")))


def user_for_session(user_id: str, token: str | None) -> User | None:
    """The user of a live session, or None (ended, idle too long, too old, or user disabled)."""
    if not token:
        return None
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        return None
    # the session, its user, the user's team (the header names it) and whether the user holds a
    # break-glass grant (most hold none: then no page asks again) in one statement
    now, cfg = utcnow(), current_app.config
    found = db.session.execute(_session_statement(), {"session_id": _token_hash(token), "grant_now": now}).first()
    row, user, holds_grants = found if found is not None else (None, None, None)
    if row is None or row.user_id != uid or row.ended_at is not None:
        return None
    if user is not None and not holds_grants:
        from carecycle.breakglass import known_without_grants
        known_without_grants(user.id)
    reason = None
    if now - row.created_at > cfg["SESSION_ABSOLUTE_LIFETIME"]:
        reason = "expired"
    elif now - row.last_seen_at > cfg["SESSION_IDLE_TIMEOUT"]:
        reason = "idle"
    if user is None or not user.active:
        reason = reason or "disabled"
    if reason:
        row.ended_at, row.end_reason = now, reason
        db.session.commit()
        return None
    if (now - row.last_seen_at).total_seconds() > 30:
        row.last_seen_at = now
        db.session.commit()
    return user


# ---------------------------------------------------------------- passwords and admin
def change_password(user: User, current: str, new: str) -> None:
    if not _verify(user.password_hash, current):
        message = _("The current password is not correct.")
        raise AccountError(message, {"current_password": message})
    set_password(user, new, field="new_password")
    user.must_change_password = False
    end_all_sessions(user, "password_changed")
    revoke_tokens(user, "password_changed")
    record_event("update", "user", user.id, reason="password_changed")


def set_password(user: User, new: str, field: str = "password") -> None:
    """`field`: the form field a refusal names."""
    problem = password_problem(new, user.username)
    if problem:
        raise AccountError(problem, {field: problem})
    user.password_hash = hash_password(new)


def find_team(name: str | None) -> Team | None:
    if not name:
        return None
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        message = _("There is no team called %(name)s.", name=name)
        raise AccountError(message, {"team": message})
    return team


def _check_role_team(role: Role, team: Team | None) -> None:
    if role in (Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.SUPERVISOR) and team is None:
        message = _("Counsellors, social workers and supervisors belong to a team.")
        raise AccountError(message, {"team_id": message})
    if role is Role.ADMIN and team is not None:  # separation of duties: no second role, no case access
        message = _("An administrator belongs to no team: an administrator account never has case access.")
        raise AccountError(message, {"team_id": message})


def normalise_username(username: str) -> str:
    return username.strip().lower()


def username_problem(username: str) -> str | None:
    name = normalise_username(username)
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        return _("Use 3 to 64 letters, digits, dots, dashes or underscores.")
    if db.session.scalar(select(User.id).where(User.username == name)):
        return _("This username is taken.")
    return None


def create_user(username: str, password: str, role: Role | str, team: Team | None = None,
                display_name: str | None = None, phone: str | None = None,
                must_change_password: bool = False, requested_by: User | None = None) -> User:
    """`requested_by`: the administrator making it on the admin pages; an account that reads cases
    then waits for a supervisor's confirmation (separation.hold). None: the operator at the machine."""
    role = Role(role)
    problem = username_problem(username)
    if problem:
        raise AccountError(problem, {"username": problem})
    _check_role_team(role, team)
    user = User(username=normalise_username(username), role=role, team=team,
                display_name=display_name or None, must_change_password=must_change_password,
                password_hash="")
    set_password(user, password)
    user.phone = phone or None
    db.session.add(user)
    db.session.flush()
    record_event("create", "user", user.id)
    if requested_by is not None and role in separation.CASE_ROLES:
        separation.hold(user, separation.NEW_ACCOUNT, requested_by)
    return user


def update_user(user: User, *, role: Role | str, team: Team | None, display_name: str | None,
                active: bool, by: User | None = None) -> None:
    """Admin edit by `by`; a role or team change or a disable ends every session and token of the user.
    Nobody changes their own role or disables their own account. A change that grants case access
    waits for a supervisor's confirmation (separation.hold)."""
    role = Role(role)
    if by is not None and by.id == user.id and (role != user.role or not active):
        raise AccountError(_("You cannot change your own role or disable your own account."))
    _check_role_team(role, team)
    before = (Role(user.role), user.team_id, user.active)
    role_changed, disabled = role != user.role, user.active and not active
    team_changed = (team.id if team is not None else None) != user.team_id
    user.role, user.team, user.display_name, user.active = role, team, display_name or None, active
    if role_changed or team_changed or disabled:
        end_all_sessions(user, "role_changed" if role_changed else "disabled" if disabled else "team_changed")
        revoke_tokens(user, ",".join(r for r, on in (("role_changed", role_changed), ("team_changed", team_changed),
                                                     ("disabled", disabled)) if on))
    record_event("update", "user", user.id, reason=",".join(
        r for r, on in (("role", role_changed), ("team", team_changed), ("disabled", disabled)) if on) or None)
    if by is not None and separation.grants_case_access(*before, role, team.id if team else None, active):
        separation.hold(user, separation.ACCESS_CHANGE, by, previous_role=before[0], previous_team_id=before[1],
                        previous_active=before[2])


def reset_password(user: User, temporary: str, by: User | None = None) -> None:
    """Admin reset (by `by`): the user must choose a new password at next sign-in; an account that
    reads cases then waits for a supervisor's confirmation (the admin knows the password)."""
    set_password(user, temporary)
    user.must_change_password = True
    user.sign_in_cleared_at = utcnow()  # lifts every lock on the account's sign-in
    end_all_sessions(user, "password_reset")
    revoke_tokens(user, "password_reset")
    record_event("update", "user", user.id, reason="password_reset")
    if by is not None and Role(user.role) in separation.CASE_ROLES and user.active:
        separation.hold(user, separation.PASSWORD_RESET, by)


def create_team(name: str) -> Team:
    name = " ".join(name.split())
    if not name or len(name) > 80:
        message = _("Give the team a name of up to 80 characters.")
        raise AccountError(message, {"name": message})
    if db.session.scalar(select(Team.id).where(Team.name == name)):
        message = _("A team with this name exists.")
        raise AccountError(message, {"name": message})
    team = Team(name=name)
    db.session.add(team)
    db.session.flush()
    record_event("create", "team", team.id)
    return team


def rename_team(team: Team, name: str) -> None:
    name = " ".join(name.split())
    if not name or len(name) > 80:
        message = _("Give the team a name of up to 80 characters.")
        raise AccountError(message, {"name": message})
    other = db.session.scalar(select(Team.id).where(Team.name == name, Team.id != team.id))
    if other:
        message = _("A team with this name exists.")
        raise AccountError(message, {"name": message})
    team.name = name
    record_event("update", "team", team.id)


# ---------------------------------------------------------------- API tokens
TOKEN_PREFIX = "cct_"


def create_token(user: User, days: int | None = None) -> str:
    """A new bearer token lasting `days` (default API_TOKEN_DAYS); shown once, stored hashed."""
    days = current_app.config["API_TOKEN_DAYS"] if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise AccountError(_("A token lasts from 1 to %(most)d days; %(days)s is outside that.",
                             most=API_TOKEN_MAX_DAYS, days=days))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), prefix=token[:12],
                            created_at=now, expires_at=now + timedelta(days=days)))
    record_event("create", "api_token", None, actor=user, reason="token_created")
    return token


TOKEN_USE_RECORDED_EVERY = timedelta(minutes=1)


@lru_cache(maxsize=1)
def _token_statement():
    """The token, its user and team, and whether the user holds a break-glass grant: one statement,
    built once per process; bound `token_hash` and `grant_now`."""
    from carecycle.breakglass import holds_any_grant_column
    return (select(ApiToken, User, holds_any_grant_column(User.id).label("holds_grants"))
            .join(User, User.id == ApiToken.user_id).options(joinedload(User.team))
            .where(ApiToken.token_hash == bindparam("token_hash")))


def user_for_token(token: str) -> User | None:
    """The user of a live token: not revoked, not expired, its owner not disabled."""
    now = utcnow()
    found = db.session.execute(_token_statement(), {"token_hash": _token_hash(token), "grant_now": now}).first()
    row, user, holds_grants = found if found is not None else (None, None, None)
    if row is None or user is None or row.state(now) != "active" or not user.active:
        return None
    if not holds_grants:
        from carecycle.breakglass import known_without_grants
        known_without_grants(user.id)
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RECORDED_EVERY:
        row.last_used_at = now  # at most once a minute: a read through the API does not write each time
    return user


def list_tokens(user: User) -> list[ApiToken]:
    """Every token of `user`, live or not, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))


def revoke_tokens(user: User, why: str | None = None) -> int:
    """Revoke every live token of `user`, auditing each with `why` (a password change, a reset, a
    role or team change, disabling); returns how many."""
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        _revoke(row, user, why)
    return len(rows)


TOKEN_MATCH_MIN = 8


def revoke_token(user: User, given: str) -> ApiToken:
    """Revoke the one live token of `user` that `given` is (the whole token) or begins (at least
    TOKEN_MATCH_MIN characters; only the first 12 are stored, so a longer part is compared on those).
    Too short, no match and more than one match are refused and change nothing."""
    given = given.strip()
    live = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    row = db.session.scalar(live.where(ApiToken.token_hash == _token_hash(given)))
    if row is None:
        if len(given) < TOKEN_MATCH_MIN:
            raise AccountError(_("Give the whole token or at least its first %(n)d characters.", n=TOKEN_MATCH_MIN))
        matches = [r for r in db.session.scalars(live) if r.prefix.startswith(given[:len(r.prefix)])]
        if not matches:
            raise AccountError(_("No active token of %(user)s begins with these characters; nothing was revoked.",
                                 user=user.username))
        if len(matches) > 1:
            raise AccountError(_("%(n)d active tokens of %(user)s begin with these characters; give more of "
                                 "the token. Nothing was revoked.", n=len(matches), user=user.username))
        row = matches[0]
    _revoke(row, user)
    return row


def _revoke(row: ApiToken, user: User, why: str | None = None) -> None:
    row.revoked_at = utcnow()
    if why:  # revoked by what someone did to the account: the one who did it is the actor
        record_event("update", "api_token", row.id, reason=f"token_revoked:{why}")
    else:
        record_event("update", "api_token", row.id, actor=user, reason="token_revoked")


def register_account_kinds(app) -> None:
    """Accounts and teams, loaded for the administrator's pages (which need ACCOUNTS_MANAGE): any one
    may be opened there; opening one is not a read of a person's record, so it is not audited. And
    each user's own notifications."""
    from sqlalchemy import true

    from carecycle.lifecycle import register_kind
    register_kind(app, "user", User, lambda _user: true(), audited=False)
    register_kind(app, "team", Team, lambda _user: true(), audited=False)
    from carecycle.notifications import Notification
    # A notification is its recipient's alone.
    register_kind(app, "notification", Notification, lambda user: Notification.user_id == user.id, audited=False)
