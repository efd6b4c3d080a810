"""The one permission table (role -> permissions) and the decorator every route declares.

Deny by default: a route without a declaration is refused at request time, and a test walks
`app.url_map` so that none is ever shipped."""
from __future__ import annotations

from enum import StrEnum
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user

from carecycle.roles import Role


class Permission(StrEnum):
    PUBLIC = "public"                      # anyone, signed in or not
    SIGNED_IN = "signed_in"                # any signed-in user: home, password, logout
    ACCOUNTS_MANAGE = "accounts_manage"    # users and teams
    ALERTS_VIEW = "alerts_view"            # open triage alerts
    BREAK_GLASS = "break_glass"            # open a record outside one's assignment, with a reason
    BREAK_GLASS_REVIEW = "break_glass_review"
    MODE_VIEW = "mode_view"                # see the operating mode
    # screening and psychoeducation
    SCREENING_HISTORY = "screening_history"  # a resident's own screenings
    ARTICLES_WRITE = "articles_write"        # draft and submit psychoeducation articles
    ARTICLES_REVIEW = "articles_review"      # review and publish them
    CRISIS_RESOURCES_EDIT = "crisis_resources_edit"


PUBLIC = Permission.PUBLIC

_STAFF = {Permission.SIGNED_IN, Permission.MODE_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESIDENT: frozenset({Permission.SIGNED_IN, Permission.SCREENING_HISTORY}),
    Role.COUNSELLOR: frozenset(_STAFF | {Permission.ALERTS_VIEW, Permission.BREAK_GLASS,
                                         Permission.ARTICLES_WRITE}),
    Role.SOCIAL_WORKER: frozenset(_STAFF | {Permission.ALERTS_VIEW, Permission.BREAK_GLASS,
                                             Permission.ARTICLES_WRITE}),
    Role.SUPERVISOR: frozenset(_STAFF | {Permission.ALERTS_VIEW, Permission.BREAK_GLASS_REVIEW,
                                          Permission.ARTICLES_WRITE, Permission.ARTICLES_REVIEW}),
    Role.ADMIN: frozenset(_STAFF | {Permission.ACCOUNTS_MANAGE, Permission.CRISIS_RESOURCES_EDIT}),
}


def role_has(role: Role | str, permission: Permission) -> bool:
    if permission is Permission.PUBLIC:
        return True
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


def can(permission: Permission) -> bool:
    """For templates and services: may the current user do this?"""
    if permission is Permission.PUBLIC:
        return True
    return bool(current_user.is_authenticated and role_has(current_user.role, permission))


def requires(permission: Permission):
    """Declare and enforce the permission a route needs."""
    permission = Permission(permission)

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            enforce(permission)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorate


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def enforce(permission: Permission) -> None:
    if permission is Permission.PUBLIC:
        return
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        login = current_app.login_manager
        g.login_required = True
        abort(login.unauthorized())
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if is_api_request():
            abort(403)
        from flask import redirect, url_for
        abort(redirect(url_for("auth.change_password")))
    if not role_has(current_user.role, permission):
        from carecycle.audit import record_event
        record_event("permission_denied", outcome="denied", reason=f"{request.endpoint} needs {permission}")
        from carecycle.extensions import db
        db.session.commit()
        abort(403)


PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "web.set_language", "static"}


def undeclared_endpoints(app) -> list[str]:
    """Endpoints whose view declares no permission (the url_map walk)."""
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "required_permission", None) is None:
            missing.append(rule.endpoint)
    return sorted(set(missing))
