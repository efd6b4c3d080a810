"""Template helpers shared by every page: permissions, roles, the operating mode banner, the
unread-notifications count in the navigation."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import bindparam, select

from carecycle.accounts.models import User
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.localtime import format_day, format_month, format_when
from carecycle.mode import mode_columns, mode_state
from carecycle.notifications import UNREAD_CAP, unread_column
from carecycle.permissions import CASE_PERMISSIONS, Permission, access_held, can, role_has
from carecycle.roles import Role
from carecycle.urls import url_maker


def _nav_links(role: str | None, held: bool = False) -> list:
    """The navigation of a role (None: signed out), made once per role and process; `held`: without
    the case pages (the account's access waits for a supervisor to confirm it)."""
    cache = current_app.extensions.setdefault("carecycle_nav_by_role", {})
    if (role, held) not in cache:
        cache[(role, held)] = [(endpoint, label) for permission, endpoint, label
                               in current_app.extensions.get("carecycle_nav_links", [])
                               if permission is Permission.PUBLIC or (
                                   role is not None and role_has(role, permission)
                                   and not (held and permission in CASE_PERMISSIONS))]
    return cache[(role, held)]


@lru_cache(maxsize=2)
def _header_statement(counts_unread: bool):
    """The page header's one statement: the operating mode and (for `header_user`) the unread count;
    built once per process."""
    from carecycle.notifications import Notification
    unread = [unread_column(bindparam("header_user", type_=Notification.user_id.type))] if counts_unread else []
    return select(*mode_columns(), *unread)


def register_template_helpers(app) -> None:
    @app.context_processor
    def shell_context():
        nav = (_nav_links(current_user.role, access_held(current_user)) if current_user.is_authenticated
               else _nav_links(None))
        context = {"nav_links": nav, "can": can, "Permission": Permission, "Role": Role, "confirm_form": ConfirmForm,
                   "languages": current_app.config["LANGUAGES"], "current_locale": str(get_locale())}
        if current_user.is_authenticated:
            current_user.team  # noqa: B018 (the header names it: loaded before the transaction ends to render)
        if current_user.is_authenticated and access_held(current_user):
            from carecycle.accounts.separation import waiting_message
            context["access_held_text"] = waiting_message(current_user)
        if current_user.is_authenticated and current_user.is_staff:
            # the header's operating mode and unread count: one statement
            page = current_app.extensions.get("carecycle_notifications_page")
            counts_unread = bool(page and can(Permission.NOTIFICATIONS))
            row = db.session.execute(_header_statement(counts_unread),
                                     {"header_user": current_user.id} if counts_unread else {}).one()
            context["operating_mode"] = mode = mode_state(*row[:4])
            if mode.emergency and mode.switched_by_id:
                switcher = db.session.get(User, mode.switched_by_id)
                context["operating_mode_by"] = switcher.name if switcher else None
            if counts_unread:
                context["notifications_nav"] = (page, row[4] or 0)
        return context

    app.jinja_env.filters["datetime"] = format_when
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["month"] = format_month
    from carecycle.alerts import AlertState
    app.jinja_env.globals["AlertState"] = AlertState  # templates compare states with the enum, never a literal
    app.jinja_env.globals["unread_cap"] = UNREAD_CAP
    app.jinja_env.globals["url_maker"] = url_maker
    app.jinja_env.globals["request_path"] = request_path


# Query arguments that can identify a person (an old search link): never echoed back into a page.
PERSONAL_ARGS = frozenset({"phone", "id_number", "name", "code", "token"})


def request_path() -> str:
    """This page's path and query, for a form that comes back here (the language switch); without
    the query when it carries personal data, so the page repeats none of it."""
    if PERSONAL_ARGS & set(request.args):
        return request.path
    return request.full_path.rstrip("?")
