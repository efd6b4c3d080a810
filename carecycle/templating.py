"""Template helpers shared by every page: permissions, roles, the operating mode banner, the
unread-notifications count in the navigation."""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal, cast

from babel import Locale, dates
from flask import current_app, g, request
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from sqlalchemy import bindparam, select

from carecycle.accounts.models import User
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
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

    app.jinja_env.filters["datetime"] = format_datetime
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


STANDARD_FORMATS = ("short", "medium", "long", "full")


@lru_cache(maxsize=256)
def _datetime_pattern(locale: str, fmt: str):
    """The parsed patterns for a locale and format, made once: for a standard format the locale's
    glue ("{1}, {0}") with its date and time patterns, else the pattern itself."""
    parsed = Locale.parse(locale)
    if fmt in STANDARD_FORMATS:
        standard = cast(Literal["full", "long", "medium", "short"], fmt)
        glue = str(dates.get_datetime_format(standard, locale=parsed)).replace("'", "")
        return (parsed, glue, dates.get_date_format(standard, locale=parsed),
                dates.get_time_format(standard, locale=parsed))
    return parsed, None, None, dates.parse_pattern(fmt)


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """The `datetime` filter: as Flask-Babel's format_datetime (the page's locale and time zone;
    a naive value is UTC), with the patterns parsed once instead of on every call, and recent
    results remembered — long lists format the same times on every view."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        zone = g._carecycle_timezone  # one per request; the locale may change (force_locale), so it is asked each time
    except AttributeError:
        zone = g._carecycle_timezone = get_timezone()
    return _formatted(str(get_locale()), zone, fmt, value)


@lru_cache(maxsize=8192)
def _formatted(language: str, zone, fmt: str, value: datetime) -> str:
    value = value.astimezone(zone)
    if hasattr(zone, "normalize"):  # pytz zones
        value = zone.normalize(value)
    locale, glue, date_pattern, time_pattern = _datetime_pattern(language, fmt)
    if glue is None:
        return time_pattern.apply(value, locale)
    time_text, date_text = time_pattern.apply(value, locale), date_pattern.apply(value.date(), locale)
    return glue.replace("{0}", time_text).replace("{1}", date_text)
