"""Template helpers shared by every page: permissions, roles, the operating mode banner, the
unread-notifications count in the navigation."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, select

from carecycle.accounts.models import User
from carecycle.areas import NAV_GROUPS
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.i18n import language_name
from carecycle.localtime import format_day, format_month, format_when
from carecycle.mode import mode_columns, mode_state
from carecycle.notifications import UNREAD_CAP, unread_column
from carecycle.permissions import CASE_PERMISSIONS, Permission, access_held, can, role_has
from carecycle.roles import Role
from carecycle.urls import url_maker


@dataclass(frozen=True)
class NavEntry:
    """One top-level entry of the header: a link (`endpoint`) or a group of `links`
    ((endpoint, label) pairs) that opens as a short menu."""
    label: object
    endpoint: str | None = None
    links: tuple = ()

    @property
    def endpoints(self) -> set:
        return {self.endpoint} if self.endpoint else {endpoint for endpoint, _ in self.links}


MAX_TOP_LEVEL = 7


def _nav_links(role: str | None, held: bool = False) -> list[NavEntry]:
    """The header of a role (None: signed out), made once per role and process; `held`: without
    the case pages (the account's access waits for a supervisor to confirm it). Seven links or
    fewer stand side by side; more are grouped (carecycle.areas.NAV_GROUPS)."""
    cache = current_app.extensions.setdefault("carecycle_nav_by_role", {})
    if (role, held) not in cache:
        def holds(permission):
            return permission is Permission.PUBLIC or (
                role is not None and role_has(role, permission) and not (held and permission in CASE_PERMISSIONS))

        home_permission, _, home_label = current_app.extensions.get("carecycle_staff_home", (None, None, None))
        staff_home = home_permission is not None and role is not None and Role(role).is_staff and holds(home_permission)
        home = NavEntry(home_label if staff_home else _l("Home"), "web.home")
        grouped: dict[str, list] = {group: [] for group in NAV_GROUPS}
        links = []  # in the order the areas added them: side by side, the resident's pages come as written
        for permission, endpoint, label, group, unless in current_app.extensions.get("carecycle_nav_links", []):
            if holds(permission) and not (unless is not None and holds(unless)):
                grouped[group].append((endpoint, label))
                links.append((endpoint, label))
        if len(links) + 1 <= MAX_TOP_LEVEL:
            entries = [home] + [NavEntry(label, endpoint) for endpoint, label in links]
        else:
            entries = [home] + [NavEntry(group_links[0][1], group_links[0][0]) if len(group_links) == 1
                                else NavEntry(NAV_GROUPS[group], links=tuple(group_links))
                                for group, group_links in grouped.items() if group_links]
        if len(entries) > MAX_TOP_LEVEL:
            raise RuntimeError(f"the header of {role} has {len(entries)} entries (at most {MAX_TOP_LEVEL})")
        cache[(role, held)] = entries
    return cache[(role, held)]


NAV_HTML_CACHE = 4096  # (role header, language, page) combinations kept; past it the cache starts again


def header_nav(entries) -> Markup:
    """The header's links as HTML (templates/_header_nav.html), rendered once per role's header,
    language and page (the current page is marked) and kept for the process: the labels are
    translated and the URLs built once, not on every page."""
    if not entries:
        return Markup("")
    cache = current_app.extensions.setdefault("carecycle_nav_html", {})
    key = (id(entries), str(get_locale()), request.endpoint, request.script_root)
    html = cache.get(key)
    if html is None:
        if len(cache) >= NAV_HTML_CACHE:
            cache.clear()
        template = current_app.jinja_env.get_template("_header_nav.html")
        html = cache[key] = Markup(template.render(nav_links=entries, request=request))
    return html


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
    app.jinja_env.globals["language_name"] = language_name
    app.jinja_env.globals["header_nav"] = header_nav


# Query arguments that can identify a person (an old search link): never echoed back into a page.
PERSONAL_ARGS = frozenset({"phone", "id_number", "name", "code", "token"})


def request_path() -> str:
    """This page's path and query, for a form that comes back here (the language switch); without
    the query when it carries personal data, so the page repeats none of it."""
    if PERSONAL_ARGS & set(request.args):
        return request.path
    return request.full_path.rstrip("?")
