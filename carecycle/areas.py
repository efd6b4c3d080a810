"""How an area package plugs into the shell without the shell importing it.

An area's `__init__.py` defines `init_app(app)` that registers its page blueprints and calls
these helpers; its `api.py` defines a blueprint made with `carecycle.api.area_api(name)`,
which `create_app` nests under /api/v1. `create_app` is the only place that lists the areas."""
from __future__ import annotations

from carecycle.permissions import Permission


def add_nav_link(app, permission: Permission, endpoint: str, label) -> None:
    """A link in the top navigation, shown to users who hold `permission`."""
    app.extensions.setdefault("carecycle_nav_links", []).append((permission, endpoint, label))


def add_home_link(app, permission: Permission, endpoint: str, label, description) -> None:
    """A card on the home page of users who hold `permission` (PUBLIC: the public start page too)."""
    app.extensions.setdefault("carecycle_home_links", []).append((permission, endpoint, label, description))


def add_alert_subject(app, subject_type: str, describe) -> None:
    """How alerts with this `subject_type` are shown on the triage queue: `describe(alert)`
    returns a carecycle.alerts.AlertSubject for the current user, or None."""
    app.extensions.setdefault("carecycle_alert_subjects", {})[subject_type] = describe


def set_alert_page(app, permission: Permission, endpoint: str) -> None:
    """Where one alert is worked on (`endpoint` takes `alert_id`); the shell's alert lists link
    each alert there for users who hold `permission`."""
    app.extensions["carecycle_alert_page"] = (permission, endpoint)


def add_mode_switch_hook(app, hook) -> None:
    """Run `hook(state, change)` whenever the operating mode is switched, in the switch's own
    transaction: `state` is the new carecycle.mode.ModeState, `change` the ModeChange row. An area
    re-times what is already waiting here (emergency deadlines), so the shell never imports it."""
    app.extensions.setdefault("carecycle_mode_switch_hooks", []).append(hook)
