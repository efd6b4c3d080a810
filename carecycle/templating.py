"""Template helpers shared by every page: permissions, roles, the operating mode banner, the
unread-notifications count in the navigation."""
from __future__ import annotations

from flask import current_app, request
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from carecycle.accounts.models import User
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.mode import current_mode
from carecycle.notifications import UNREAD_CAP, unread_count
from carecycle.permissions import Permission, can
from carecycle.roles import Role


def register_template_helpers(app) -> None:
    @app.context_processor
    def shell_context():
        nav = [(endpoint, label) for permission, endpoint, label
               in current_app.extensions.get("carecycle_nav_links", []) if can(permission)]
        context = {"nav_links": nav, "can": can, "Permission": Permission, "Role": Role, "confirm_form": ConfirmForm,
                   "languages": current_app.config["LANGUAGES"], "current_locale": str(get_locale())}
        if current_user.is_authenticated and current_user.is_staff:
            context["operating_mode"] = mode = current_mode()
            if mode.emergency and mode.switched_by_id:
                switcher = db.session.get(User, mode.switched_by_id)
                context["operating_mode_by"] = switcher.name if switcher else None
            page = current_app.extensions.get("carecycle_notifications_page")
            if page and can(Permission.NOTIFICATIONS):
                context["notifications_nav"] = (page, unread_count(current_user))
        return context

    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt) if value else ""
    app.jinja_env.globals["unread_cap"] = UNREAD_CAP
    app.jinja_env.globals["request_path"] = lambda: request.full_path.rstrip("?")
