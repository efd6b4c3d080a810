"""How an area package plugs into the shell without the shell importing it.

An area's `__init__.py` defines `init_app(app)` that registers its page blueprints and calls
these helpers; its `api.py` defines a blueprint made with `carecycle.api.area_api(name)`,
which `create_app` nests under /api/v1. `create_app` is the only place that lists the areas."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from carecycle.permissions import Permission

# The header's groups, in header order: what each role does, not which area holds the page. A role
# that sees seven links or fewer (the home link included) sees them side by side; more are shown
# as these groups (a group of one as its link), so no role has more than seven top-level entries.
NAV_GROUPS = {
    "triage": _l("Triage"),
    "cases": _l("Cases"),
    "community": _l("Community"),
    "partners": _l("Directory & referrals"),
    "library": _l("Library"),
    "mine": _l("My care"),
    "supervision": _l("Supervision"),
    "admin": _l("Administration"),
}


def add_nav_link(app, permission: Permission, endpoint: str, label, group: str,
                 unless: Permission | None = None, first: bool = False) -> None:
    """A link in the header's `group` (a key of NAV_GROUPS), shown to users who hold `permission`
    (and, with `unless`, do not hold that one: the page they have instead covers this one).
    Links come in the order they are added; `first`: at the head of its group (its main page)."""
    if group not in NAV_GROUPS:
        raise ValueError(f"unknown navigation group {group!r}")
    links = app.extensions.setdefault("carecycle_nav_links", [])
    entry = (permission, endpoint, label, group, unless)
    links.insert(0, entry) if first else links.append(entry)


def set_staff_home(app, permission: Permission, page, label) -> None:
    """The page staff who hold `permission` open on: the home page answers `page()` (a function that
    renders it with all the context it needs, whichever blueprint serves the request) and the
    header's first link is called `label`; the shell's own home page stays for everyone else."""
    app.extensions["carecycle_staff_home"] = (permission, page, label)


def add_home_link(app, permission: Permission, endpoint: str, label, description) -> None:
    """A card on the home page of users who hold `permission` (PUBLIC: the public start page too)."""
    app.extensions.setdefault("carecycle_home_links", []).append((permission, endpoint, label, description))


def add_alert_subject(app, subject_type: str, describe, kind: str | None = None) -> None:
    """How alerts with this `subject_type` are shown on the triage queue: `describe(alert)`
    returns a carecycle.alerts.AlertSubject for the current user, or None. `kind` (default: the
    subject type) is the `carecycle.lifecycle.register_kind` kind whose rule decides who may learn
    what the alert is about (the API's `subject`)."""
    app.extensions.setdefault("carecycle_alert_subjects", {})[subject_type] = describe
    app.extensions.setdefault("carecycle_alert_subject_kinds", {})[subject_type] = kind or subject_type


def set_alert_page(app, permission: Permission, endpoint: str) -> None:
    """Where one alert is worked on (`endpoint` takes `alert_id`); the shell's alert lists link
    each alert there for users who hold `permission`."""
    app.extensions["carecycle_alert_page"] = (permission, endpoint)


def add_mode_switch_hook(app, hook) -> None:
    """Run `hook(state, change)` whenever the operating mode is switched, in the switch's own
    transaction: `state` is the new carecycle.mode.ModeState, `change` the ModeChange row. An area
    re-times what is already waiting here (emergency deadlines), so the shell never imports it."""
    app.extensions.setdefault("carecycle_mode_switch_hooks", []).append(hook)


def add_hook(app, name: str, hook) -> None:
    """Register `hook` to run where an area calls `run_hooks(name, ...)` (or asks `hooks(name)`).
    A right-hand area changes what a left-hand one does this way, and an area's modules reach each
    other's rules without assigning to one another's attributes. The names in use:
    `case_closed(user, case)` and `case_reopened(user, case)` (casework: follow-ups are scheduled and
    cancelled), `goal_links(case, goals) -> {goal id: [(label, url)]}` (referrals, on the care plan),
    `metrics_overdue(now) -> {kind: count}` (casework and referrals: the overdue counts /metrics shows),
    `group_plan_drills(user) -> [(id, day, scenario, url)]` (supervision: the drills a group plan names)."""
    hooks_of = app.extensions.setdefault("carecycle_hooks", {}).setdefault(name, [])
    if hook not in hooks_of:
        hooks_of.append(hook)


def hooks(name: str) -> list:
    return current_app.extensions.get("carecycle_hooks", {}).get(name, [])


def run_hooks(name: str, *args) -> None:
    for hook in hooks(name):
        hook(*args)


def add_labels(app, group: str, labels: dict) -> None:
    """Words for codes another area writes (`case_event`: the case timeline, `case_task`: task kinds)."""
    app.extensions.setdefault("carecycle_labels", {}).setdefault(group, {}).update(labels)


def labels(group: str) -> dict:
    return current_app.extensions.get("carecycle_labels", {}).get(group, {})
