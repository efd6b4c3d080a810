"""Separation of duties: an administrator manages accounts but never reads cases, so a change of
theirs that would let an account read cases (a new counsellor, social worker or supervisor; a role
or team change, or a re-enabled account, that grants more case access; a password reset of such an
account) is held until a supervisor of the account's team confirms it. Until then the account is
`access_pending`: `enforce()` refuses every case-reading permission and the visibility rules return
nothing. The team's supervisors and the account's owner are notified.

Who confirms: an active supervisor of the change's team whose own access is not held, never the
account itself and never the administrator who asked. When the team has no such supervisor, a
supervisor of another team may confirm (someone must; the audit log and the owner's notification
say who did). Accounts made at the machine (`carecycle users create`, demo data) are not held: the
operator there holds the keys anyway."""
from __future__ import annotations

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from carecycle.accounts.models import AccountChange, Team, User, UserSession
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.notifications import KIND_LABELS, notify
from carecycle.permissions import CASE_PERMISSIONS, ROLE_PERMISSIONS
from carecycle.roles import Role

CASE_ROLES = frozenset({Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.SUPERVISOR})

NEW_ACCOUNT, ACCESS_CHANGE, PASSWORD_RESET = "new_account", "access_change", "password_reset"
KINDS = {
    NEW_ACCOUNT: _l("New account"),
    ACCESS_CHANGE: _l("Role, team or enabling changed"),
    PASSWORD_RESET: _l("Password reset by an administrator"),
}
_PRIORITY = {ACCESS_CHANGE: 0, PASSWORD_RESET: 1, NEW_ACCOUNT: 2}  # a merged change keeps the strongest kind

KIND_LABELS.update({
    "account_change_pending": _l("An account change waits for a supervisor to confirm it"),
    "account_change_confirmed": _l("An account change was confirmed"),
    "account_change_declined": _l("An account change was declined"),
})


class ConfirmationRefused(Exception):
    """A refused confirm or decline; `status` 403 (not yours to decide) or 409 (already decided)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


def _case_access(role: Role, team_id, active: bool) -> frozenset:
    if not active or role not in CASE_ROLES:
        return frozenset()
    return frozenset((p, team_id) for p in ROLE_PERMISSIONS[role] & CASE_PERMISSIONS)


def grants_case_access(old_role: Role, old_team_id, old_active: bool, new_role: Role, new_team_id,
                       new_active: bool) -> bool:
    """Does the new state let the account read cases it could not read before? (A case permission
    it did not hold, or the same permissions in another team, or an account enabled again.)"""
    return not _case_access(new_role, new_team_id, new_active) <= _case_access(old_role, old_team_id, old_active)


def pending_change(user: User) -> AccountChange | None:
    return db.session.scalar(select(AccountChange).where(
        AccountChange.user_id == user.id, AccountChange.confirmed_at.is_(None), AccountChange.declined_at.is_(None))
        .order_by(AccountChange.requested_at.desc()).limit(1))


def confirmers(change: AccountChange) -> list[User]:
    """Who may confirm: the team's active, not-held supervisors (not the account, not the requester);
    if there are none, those of every other team."""
    def supervisors(where):
        return list(db.session.scalars(select(User).where(
            User.role == Role.SUPERVISOR, User.active.is_(True), User.access_pending.is_(False),
            User.id != change.user_id, *((User.id != change.requested_by_id,) if change.requested_by_id else ()),
            where).order_by(User.username)))
    own = supervisors(User.team_id == change.team_id) if change.team_id else []
    return own or supervisors(User.team_id.is_not(None))


def register_confirm_page(app, endpoint: str) -> None:
    """The area that shows the confirmations (supervision's approvals queue) names its page."""
    app.extensions["carecycle_account_confirm_page"] = endpoint


def _path(endpoint: str, **values) -> str:
    """A local path for a notification, inside or outside a request (a service called from a command)."""
    return current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
                                    ).build(endpoint, values)


def _link_for_supervisors() -> str:
    endpoint = current_app.extensions.get("carecycle_account_confirm_page") if has_app_context() else None
    return _path(endpoint or "web.home")


def hold(user: User, kind: str, by: User, *, previous_role: Role | None = None, previous_team_id=None,
         previous_active: bool | None = None) -> AccountChange:
    """Hold `user`'s case access until a supervisor confirms `kind` (asked by `by`). A change still
    waiting is merged into: it keeps the state from before the first unconfirmed change, so a decline
    restores that. The team's supervisors and the owner are notified; the caller commits."""
    change = pending_change(user)
    if change is None:
        change = AccountChange(user_id=user.id, kind=kind, requested_at=utcnow())
        if kind == ACCESS_CHANGE:
            change.previous_role, change.previous_team_id = previous_role, previous_team_id
            change.previous_active = previous_active
        db.session.add(change)
    else:
        if _PRIORITY[kind] > _PRIORITY[change.kind]:
            change.kind = kind
        if change.previous_role is None and previous_role is not None and kind == ACCESS_CHANGE:
            change.previous_role, change.previous_team_id = previous_role, previous_team_id
            change.previous_active = previous_active
        change.requested_at = utcnow()
    change.team_id, change.requested_by_id = (user.team.id if user.team else user.team_id), by.id
    user.access_pending = True
    db.session.flush()
    record_event("update", "account_change", change.id, reason=f"held:{change.kind}")
    for supervisor in confirmers(change):
        notify(supervisor, "account_change_pending", _link_for_supervisors(), object_type="account_change",
               object_id=change.id)
    notify(user, "account_change_pending", _path("web.home"), object_type="account_change", object_id=change.id)
    return change


def end_sessions(user: User, reason: str) -> None:
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), end_reason=reason))


def _check_decider(change: AccountChange, by: User) -> None:
    if not change.pending:
        raise ConfirmationRefused(_("This account change has already been decided."), 409)
    if by.id == change.user_id:
        raise ConfirmationRefused(_("Nobody confirms a change of their own account."))
    if change.requested_by_id == by.id:
        raise ConfirmationRefused(_("You asked for this change: a supervisor of the team must confirm it."))
    if by.id not in {u.id for u in confirmers(change)}:
        raise ConfirmationRefused(_("Only a supervisor of %(team)s confirms this change.", team=team_label(change)))


def confirm(change: AccountChange, by: User) -> None:
    """`by` confirms: the account reads cases again. The owner and the requester are told."""
    _check_decider(change, by)
    change.confirmed_by_id, change.confirmed_at = by.id, utcnow()
    change.user.access_pending = False
    record_event("update", "account_change", change.id, actor=by, reason=f"confirmed:{change.kind}")
    record_event("update", "user", change.user_id, actor=by, reason="access_confirmed")
    _tell(change, "account_change_confirmed")


def decline(change: AccountChange, by: User) -> None:
    """`by` declines: an access change is undone (role, team, enabled as before); a new account or a
    reset account is disabled. Either way its sessions and tokens end. Owner and requester are told."""
    from carecycle.accounts.models import ApiToken
    _check_decider(change, by)
    change.declined_by_id, change.declined_at = by.id, utcnow()
    user = change.user
    if change.previous_role is not None:
        user.role, user.team_id = change.previous_role, change.previous_team_id
        if change.previous_active is not None:
            user.active = change.previous_active
    if change.kind in (NEW_ACCOUNT, PASSWORD_RESET):
        user.active = False
    user.access_pending = False  # restored, or disabled: enabling it again is a change to confirm
    end_sessions(user, "access_declined")
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    record_event("update", "account_change", change.id, actor=by, reason=f"declined:{change.kind}")
    record_event("update", "user", user.id, actor=by,
                 reason="access_declined_disabled" if not user.active else "access_declined_restored")
    _tell(change, "account_change_declined")


def _tell(change: AccountChange, kind: str) -> None:
    link = _path("web.home")
    notify(change.user_id, kind, link, object_type="account_change", object_id=change.id)
    if change.requested_by_id and change.requested_by_id != change.user_id:
        notify(change.requested_by_id, kind, _path("admin.user_edit", user_id=change.user_id),
               object_type="account_change", object_id=change.id)


def team_label(change: AccountChange | None) -> str:
    if change is not None and change.team_id is not None:
        team = db.session.get(Team, change.team_id)
        if team is not None:
            return team.name
    return _("the team")


def waiting_message(user: User) -> str:
    """What a held account is told instead of a client or case."""
    return _("Your access to clients and cases is waiting for a supervisor of %(team)s to confirm a change an "
             "administrator made to your account. Until then you cannot open any client or case.",
             team=team_label(pending_change(user)))


def to_decide(supervisor: User, limit: int = 200) -> list[AccountChange]:
    """The waiting changes `supervisor` may see in the approvals queue: their team's, and those of a
    team without a supervisor who may confirm. The supervisor's own (as requester) are included and
    refused at decision time."""
    rows = db.session.scalars(select(AccountChange).where(
        AccountChange.confirmed_at.is_(None), AccountChange.declined_at.is_(None))
        .order_by(AccountChange.requested_at).limit(limit)).all()
    return [c for c in rows if c.user_id != supervisor.id
            and (c.team_id == supervisor.team_id or supervisor.id in {u.id for u in confirmers(c)})]


def load(change_id) -> AccountChange | None:
    return db.session.get(AccountChange, change_id)
