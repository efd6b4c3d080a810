"""Crisis response and recovery: clients, vulnerable-person register, triage queue, cases."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from carecycle.areas import (
    add_alert_subject,
    add_home_link,
    add_hook,
    add_labels,
    add_mode_switch_hook,
    add_nav_link,
    set_alert_page,
    set_staff_home,
)
from carecycle.breakglass import register_target
from carecycle.permissions import Permission
from casework.api import api  # noqa: F401 (nested under /api/v1 by create_app)


def init_app(app) -> None:
    from casework import demo, models  # noqa: F401 (tables)
    from casework.cli import bench_cli
    from casework.service import emergency, followup, triage
    from casework.service.access import case_team_of
    from casework.service.kinds import register_kinds
    from casework.views import EVENT_LABELS, TASK_LABELS, bp

    app.register_blueprint(bp)
    register_kinds(app)
    from casework.fhir import register as register_fhir
    register_fhir(app)  # its resources under /fhir/R4
    from casework.models.recovery import GoalStatus
    app.jinja_env.globals["GoalStatus"] = GoalStatus
    # A phone or ID number that matches a client tells the user the person is on record (and which team
    # holds them): each match is audited, and a user may meet at most this many per window.
    app.config.setdefault("CLIENT_MATCH_LIMIT", 20)
    app.config.setdefault("CLIENT_MATCH_WINDOW", 3600)  # seconds
    demo.register(app)
    register_target(app, "case", case_team_of, page=("casework.case_detail", "case_id"))
    set_alert_page(app, Permission.TRIAGE_WORK, "casework.triage_detail")
    add_alert_subject(app, "case", triage.case_subject)
    add_alert_subject(app, "client", triage.client_subject)
    add_mode_switch_hook(app, emergency.tighten_waiting)
    add_labels(app, "case_event", EVENT_LABELS)
    add_labels(app, "case_task", TASK_LABELS)
    # the words of the messages casework writes for later readers (alert summaries, timeline lines)
    from carecycle.messages import add_message_function
    from casework.enums import ClosureReason, OutreachOutcome, Phase
    from casework.models.recovery import FollowUpStatus
    from casework.service import outcomes
    add_labels(app, "closure_reason", {r.value: r.label for r in ClosureReason})
    add_labels(app, "case_phase", {p.value: p.label for p in Phase})
    add_labels(app, "follow_up_status", {s.value: s.label for s in FollowUpStatus})
    add_labels(app, "register_outreach_outcome", {o.value: o.label for o in OutreachOutcome})
    add_message_function(app, "outcome_statement", outcomes.outcome_statement)
    add_message_function(app, "goal_statement", followup.goal_statement)
    add_hook(app, "case_closed", followup.schedule_follow_ups)
    add_hook(app, "case_reopened", followup.cancel_follow_ups)
    from casework.service.tasks import count_overdue
    add_hook(app, "metrics_overdue", count_overdue)
    add_nav_link(app, Permission.CASES_VIEW, "casework.cases", _l("Cases"), "cases")
    add_nav_link(app, Permission.CLIENTS_VIEW, "casework.clients", _l("Clients"), "cases")
    add_nav_link(app, Permission.REGISTER_MANAGE, "casework.vulnerable_register", _l("Vulnerable-person register"),
                 "community")
    add_nav_link(app, Permission.TRIAGE_WORK, "casework.triage_queue", _l("Triage queue"), "triage", first=True)
    add_nav_link(app, Permission.PROCEDURES_VIEW, "casework.procedures", _l("Procedures"), "community")
    add_nav_link(app, Permission.OWN_SAFETY_PLAN, "casework.my_safety_plan", _l("My safety plan"), "mine")
    # "My household plan" is on the resident's home page and in "My records", not in the header: a
    # resident's header stays seven links side by side
    from casework.views.tasks import my_day_page
    set_staff_home(app, Permission.CASES_VIEW, my_day_page, _l("My day"))
    add_home_link(app, Permission.CASES_VIEW, "casework.my_day", _l("My day"),
                  _l("Your claimed alerts, overdue and due-today tasks, and your cases by risk."))
    add_home_link(app, Permission.TRIAGE_WORK, "casework.triage_queue", _l("Triage queue"),
                  _l("Crisis and contact requests, walk-ins and hotline calls by deadline: claim, open a case "
                     "or close with a reason."))
    add_home_link(app, Permission.CASES_VIEW, "casework.cases", _l("My cases"),
                  _l("Open cases by risk, with their tasks and timeline."))
    add_home_link(app, Permission.OWN_SAFETY_PLAN, "casework.my_safety_plan", _l("My safety plan"),
                  _l("The safety plan your counsellor shared with you. Link your account with the code they gave you."))
    add_home_link(app, Permission.OWN_HOUSEHOLD_PLAN, "casework.my_household_plan", _l("My household plan"),
                  _l("Your plan for an emergency at home: who checks on you, your medicines, where you would go. "
                     "Your worker shares it with you when you ask."))
    add_home_link(app, Permission.PROCEDURES_VIEW, "casework.procedures", _l("Operating procedures"),
                  _l("The service's checklists for first contacts, triage and emergency activations, "
                     "marked done step by step where they apply."))
    add_home_link(app, Permission.CLIENTS_VIEW, "casework.clients", _l("Clients"),
                  _l("Find a client by phone, ID number or full name, or register a new one."))
    app.cli.add_command(bench_cli)
    from casework import (
        demo_procedures,  # noqa: F401 (adds its demo loader)
        demo_recovery,  # noqa: F401 (adds its demo loader)
    )
    from casework.views.recovery import register_links
    register_links(app)
