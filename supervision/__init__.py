"""Supervision: caseload review, the approvals queue, reassignment, the operating-mode switch with
the surge view and after-action reviews, preparedness drills, statistics, notification pages and the
audit viewer. It reads every other area; no area imports it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from supervision.api import api  # noqa: F401 (nested under /api/v1 by create_app)


def init_app(app) -> None:
    from supervision.fhir import register as register_fhir
    register_fhir(app)  # its resources under /fhir/R4
    from carecycle.areas import add_home_link, add_labels, add_nav_link
    from carecycle.demo import register_loader
    from carecycle.notifications import notify_cli, register_page
    from carecycle.permissions import Permission
    from supervision import demo, models  # noqa: F401 (tables)
    from supervision.service import notifications, reassign
    from supervision.views import bp

    app.register_blueprint(bp)
    from supervision.service.kinds import register_kinds
    register_kinds(app)
    from supervision.service.common import HIDDEN_LABEL, marker_text
    app.jinja_env.globals.update(sv_hidden=HIDDEN_LABEL, sv_marker_text=marker_text)  # also in imported macros
    register_page(app, "supervision.notifications")
    from carecycle.accounts.separation import register_confirm_page
    register_confirm_page(app, "supervision.approvals")
    notifications.install()
    if "overdue" not in notify_cli.commands:
        notify_cli.add_command(notifications.notify_overdue)
    from datetime import timedelta

    from carecycle.jobs import add_job
    add_job(app, "notify-overdue", timedelta(minutes=5), notifications.overdue_job,
            "notify workers of overdue tasks, alerts and referrals, once per item")
    add_job(app, "due-reminders", timedelta(minutes=15), notifications.due_soon_job,
            "remind assignees of re-screenings and follow-ups due within a day, once per item")
    add_labels(app, "case_event", {reassign.EVENT: reassign.EVENT_LABEL})
    from carecycle.areas import add_hook
    from supervision.service.drills import drills_for_plans
    add_hook(app, "group_plan_drills", drills_for_plans)  # casework's group plans name the drill practised
    from casework.service.cases import staff_names_in_words
    add_labels(app, "case_event_detail", {reassign.EVENT: staff_names_in_words})
    register_loader(app, demo.load_demo)
    add_nav_link(app, Permission.CASELOAD_REVIEW, "supervision.caseload", _l("Team caseload"), "supervision")
    add_nav_link(app, Permission.RECOVERY_MANAGE, "supervision.recovery_plans", _l("Community recovery"),
                 "supervision")
    add_nav_link(app, Permission.APPROVALS, "supervision.approvals", _l("Approvals"), "supervision")
    add_nav_link(app, Permission.SURGE_VIEW, "supervision.surge", _l("Surge"), "triage")
    add_nav_link(app, Permission.STATS_VIEW, "supervision.stats", _l("Statistics"), "supervision")
    add_nav_link(app, Permission.MODE_SWITCH, "supervision.mode", _l("Operating mode"), "supervision")
    add_nav_link(app, Permission.AUDIT_VIEW, "supervision.audit", _l("Audit"), "supervision")
    add_nav_link(app, Permission.DRILLS_VIEW, "supervision.readiness", _l("Drills and readiness"), "community")
    add_home_link(app, Permission.CASELOAD_REVIEW, "supervision.caseload", _l("Team caseload"),
                  _l("Per worker: open cases by risk and phase, overdue first contacts, tasks and referrals; "
                     "drill down, reassign, export."))
    add_home_link(app, Permission.RECOVERY_VIEW, "supervision.recovery_plans", _l("Community recovery"),
                  _l("After an incident: the community's needs, the actions and their owners, the care sessions, "
                     "and reviews at 1, 3 and 6 months."))
    add_home_link(app, Permission.APPROVALS, "supervision.approvals", _l("Approvals and reviews"),
                  _l("Risk assessments to acknowledge, closures, break-glass accesses, articles and consent "
                     "overrides: one queue."))
    add_home_link(app, Permission.MODE_SWITCH, "supervision.mode", _l("Operating mode"),
                  _l("Switch between normal and emergency operation, with a reason; after-action reviews."))
    add_home_link(app, Permission.SURGE_VIEW, "supervision.surge", _l("Surge view"),
                  _l("In an emergency: triage queue, red and orange outreach due, referrals waiting for tier 1, "
                     "volunteer teams."))
    add_home_link(app, Permission.STATS_VIEW, "supervision.stats", _l("Statistics"),
                  _l("Screenings, alerts, cases, referrals and recovery outcomes for a period; monthly report."))
    add_home_link(app, Permission.DRILLS_VIEW, "supervision.readiness", _l("Drills and readiness"),
                  _l("Preparedness drills, the changes they asked for, and the last drill of each volunteer team."))
    add_home_link(app, Permission.AUDIT_VIEW, "supervision.audit", _l("Audit trail"),
                  _l("Who did what, when: filter by user, record, action and date; the chain check."))
