"""Referrals: the partner directory (tiered responders), volunteer emergency teams, outbound
referrals with closed-loop status and partner links, and inbound referrals."""
from __future__ import annotations

import os

from flask_babel import lazy_gettext as _l

from carecycle.areas import add_alert_subject, add_home_link, add_hook, add_labels, add_mode_switch_hook, add_nav_link
from carecycle.demo import register_loader
from carecycle.permissions import PUBLIC, Permission
from referrals.api import api  # noqa: F401 (nested under /api/v1 by create_app)

DEFAULTS = {
    "REFERRALS_PARTNER_RATE_LIMIT": 60,      # partner-link requests per address per window
    "REFERRALS_PARTNER_TOKEN_LIMIT": 40,     # requests per link per window
    "REFERRALS_PARTNER_RATE_WINDOW": 600,    # seconds
    "REFERRALS_INBOUND_RATE_LIMIT": 5,       # public referrals per address per window
    "REFERRALS_INBOUND_RATE_WINDOW": 3600,
}


def configure(app) -> None:
    """Defaults, overridable in the app config or the environment (CARECYCLE_REFERRALS_INBOUND_RATE_LIMIT, ...)."""
    for key, default in DEFAULTS.items():
        env = os.environ.get("CARECYCLE_" + key)
        if key not in app.config:
            app.config[key] = int(env) if env and env.isdigit() else default


def init_app(app) -> None:
    from casework.views import register_case_section
    from referrals import demo, models  # noqa: F401 (tables)
    from referrals.service.kinds import register_kinds
    from referrals.views import Labels, bp
    from referrals.views.referrals import case_section

    configure(app)
    app.register_blueprint(bp)
    register_kinds(app)
    from referrals.fhir import register as register_fhir
    register_fhir(app)  # its resources under /fhir/R4
    app.jinja_env.globals["rlabels"] = Labels  # also inside imported macros and the case page's section
    from referrals.enums import ActivationStatus, ReferralStatus, ServiceStatus
    app.jinja_env.globals.update(ReferralStatus=ReferralStatus, ServiceStatus=ServiceStatus,
                                 ActivationStatus=ActivationStatus)
    register_case_section("referrals/_case_section.html", case_section, anchor="case-referrals-heading",
                          label=_l("Referrals"), order=60, permission=Permission.REFERRALS_MANAGE)
    from casework.views import register_entry_section
    from referrals.views.reserves import register_section
    register_entry_section("referrals/reserves/_register_section.html", register_section)
    from referrals.service import inbound
    add_alert_subject(app, "inbound_referral", inbound.alert_subject)
    from referrals.service.referrals import goal_links, tighten_unanswered
    add_mode_switch_hook(app, tighten_unanswered)
    add_hook(app, "goal_links", goal_links)  # the care plan lists the referrals serving each goal
    from referrals.service.referrals import count_overdue
    add_hook(app, "metrics_overdue", count_overdue)
    from referrals.enums import ReferrerRelation
    add_labels(app, "referrer_relation", {r.value: r.label for r in ReferrerRelation})
    add_labels(app, "case_event", {
        "referral_draft": _l("Referral drafted"), "referral_sent": _l("Referral sent"),
        "referral_acknowledged": _l("Referral acknowledged"), "referral_accepted": _l("Referral accepted"),
        "referral_declined": _l("Referral declined"), "referral_in_service": _l("Referral: service started"),
        "referral_completed": _l("Referral completed"), "referral_closed": _l("Referral closed"),
    })
    add_nav_link(app, PUBLIC, "referrals.find_help", _l("Find help"), "partners")
    add_nav_link(app, Permission.DIRECTORY_VIEW, "referrals.directory_search", _l("Directory"), "partners")
    add_nav_link(app, Permission.REFERRALS_MANAGE, "referrals.referral_list", _l("Referrals"), "partners")
    add_nav_link(app, Permission.TRIAGE_WORK, "referrals.inbound_list", _l("Inbound referrals"), "triage")
    add_nav_link(app, Permission.VOLUNTEERS_VIEW, "referrals.volunteer_teams", _l("Volunteers"), "community")
    add_nav_link(app, Permission.RESERVES_VIEW, "referrals.reserves", _l("Reserves"), "community")
    add_nav_link(app, Permission.ACTIVATIONS, "referrals.activation_board", _l("Activation board"), "community")
    add_home_link(app, PUBLIC, "referrals.find_help", _l("Find help"),
                  _l("Crisis lines and community services near you, with their hours and how to reach them. "
                     "No account needed."))
    add_home_link(app, PUBLIC, "referrals.inbound_form", _l("Refer someone to us"),
                  _l("Worried about someone? Partners and residents can ask us to contact a person who needs help."))
    add_home_link(app, Permission.REFERRALS_MANAGE, "referrals.referral_list", _l("Referrals"),
                  _l("Your referrals to partner services, with their status and overdue answers."))
    add_home_link(app, Permission.DIRECTORY_VIEW, "referrals.directory_search", _l("Partner directory"),
                  _l("Tiered responders and community services: search by tier, type, language, opening hours "
                     "and capacity."))
    add_home_link(app, Permission.DIRECTORY_EDIT, "referrals.agreements_expiring", _l("Agreements expiring soon"),
                  _l("Partner agreements (memoranda of cooperation) that end within 60 days: renew or replace them."))
    add_home_link(app, Permission.REFERRAL_OVERRIDE_REVIEW, "referrals.override_list", _l("Consent overrides"),
                  _l("Tier-1 referrals your team sent without consent, with the reason given."))
    add_home_link(app, Permission.VOLUNTEERS_VIEW, "referrals.volunteer_teams", _l("Volunteer teams"),
                  _l("Who is certified and current, whose certificates expire soon; mobilisation lists in an "
                     "emergency."))
    add_home_link(app, Permission.RESERVES_VIEW, "referrals.reserves", _l("Reserves"),
                  _l("What is kept ready for an emergency by the team, by partners and at home, with low stock and "
                     "near expiry marked."))
    add_home_link(app, Permission.TRIAGE_WORK, "referrals.inbound_list", _l("Inbound referrals"),
                  _l("Referrals sent to us by partners and residents through the public form."))
    register_loader(app, demo.load_demo)
