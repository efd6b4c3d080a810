"""Recovery: what the care-plan, outcome, group and follow-up pages share (the case page's recovery
section, labels, links and URL helpers). The pages themselves are in `careplans`, `outcomes`,
`groups` and `followups`."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.forms import ConfirmForm
from carecycle.permissions import Permission, can
from casework.forms_recovery import EnrolForm
from casework.models.recovery import Attendance, FollowUpStatus, GoalDomain, GoalOwner, GoalStatus, GroupKind
from casework.service import careplans, followup, outcomes
from casework.service import groups as group_service
from casework.views import EVENT_LABELS, TASK_LABELS, SummaryRow, bp, enum_label, register_case_section
from screening.service import get_instrument

EVENT_LABELS.update({
    "care_plan_created": _l("Care plan written"), "care_plan_saved": _l("Care plan changed"),
    "care_plan_reviewed": _l("Care plan reviewed"), "care_plan_review_scheduled": _l("Care-plan review scheduled"),
    "care_plan_shared": _l("Care plan shared with the client"), "care_plan_unshared": _l("Care plan no longer shared"),
    "screening_recorded": _l("Screening recorded with the client"),
    "screening_linked": _l("Client's own screening added to the case"),
    "rescreen_alert": _l("Re-screening raised a triage alert"), "rescreen_scheduled": _l("Re-screening scheduled"),
    "rescreen_stopped": _l("Re-screening stopped"), "group_joined": _l("Joined a group"),
    "group_left": _l("Left a group"),
    "follow_ups_scheduled": _l("Follow-ups scheduled (1, 3 and 6 months)"),
    "follow_up_recorded": _l("Follow-up recorded"), "follow_up_not_reached": _l("Follow-up: person not reached"),
    "follow_up_alert": _l("Follow-up raised a triage alert"),
    "follow_ups_cancelled": _l("Follow-ups still due cancelled (case reopened)"),
})
TASK_LABELS.update({outcomes.RESCREEN: _l("Re-screening due"), careplans.REVIEW: _l("Care-plan review"),
                    followup.FOLLOW_UP: _l("Follow-up after closure")})


def register_links(app) -> None:
    """Navigation: the team's groups for staff, the shared plan for residents."""
    from carecycle.areas import add_home_link, add_nav_link
    add_nav_link(app, Permission.CASES_VIEW, "casework.groups", _l("Groups"), "community")
    add_nav_link(app, Permission.OWN_CARE_PLAN, "casework.my_plan", _l("My plan"), "mine")
    add_home_link(app, Permission.CASES_VIEW, "casework.groups", _l("Community groups"),
                  _l("Bereavement, carers, peer-support and return-to-work groups: sessions and attendance."))
    add_home_link(app, Permission.OWN_CARE_PLAN, "casework.my_plan", _l("My plan"),
                  _l("The recovery plan you made with your worker, when they share it with you."))
    add_home_link(app, Permission.OWN_CARE_PLAN, "casework.my_records", _l("My records"),
                  _l("Everything the service has shared with you on one printable page: your safety plan, "
                     "your plan and your screenings."))


def _instrument_name(ident: str) -> str:
    definition = get_instrument(ident)
    return definition.name if definition else ident


@bp.context_processor
def recovery_labels():
    return {"domain_label": enum_label(GoalDomain), "goal_status_label": enum_label(GoalStatus),
            "owner_label": enum_label(GoalOwner), "group_kind_label": enum_label(GroupKind),
            "attendance_label": enum_label(Attendance), "follow_up_status_label": enum_label(FollowUpStatus),
            "marker_label": lambda code: outcomes.MARKER_LABELS.get(code, code), "instrument_name": _instrument_name,
            "leads_plans": careplans.leads(current_user) if current_user.is_authenticated and current_user.is_staff
            else False}


@bp.app_template_global("outcome_snapshot_lines")
def outcome_snapshot_lines(snapshot) -> list[str]:
    """A closure's outcome snapshot in words (instruments, then goals)."""
    if not snapshot:
        return []
    lines = followup.snapshot_statements(snapshot)
    goals = followup.goal_statement(snapshot)
    if snapshot.get("statement"):
        lines.append(snapshot["statement"])
    return lines + ([goals] if goals else [])


# ------------------------------------------------------------------ the case page section
def recovery_section(case):
    plan = careplans.plan_of(case)
    goals = careplans.goals_of(plan)
    follow_ups = followup.follow_ups_of(case)
    enrol = None
    if can(Permission.CASES_EDIT) and not case.is_closed:
        choices = [(str(g.id), g.name) for g in group_service.groups_for(current_user)]
        if choices:
            enrol = EnrolForm()
            enrol.group_id.choices = choices
    counts = careplans.status_counts(goals)
    if plan is None:
        plan_value = _("No care plan yet")
    else:
        plan_value = _("%(total)d goals: %(progress)d in progress, %(achieved)d achieved", total=len(goals),
                       progress=counts["in_progress"], achieved=counts["achieved"])
    return {
        "summary": [SummaryRow(60, _l("Care plan"), plan_value, anchor="case-recovery-heading")],
        "rc_plan": plan, "rc_goal_counts": counts, "rc_goal_total": len(goals),
        "rc_goal_statement": followup.goal_statement({"goals": counts}),
        "rc_next_review": careplans.next_review(case),
        "rc_outcomes": outcomes.outcomes_of(case), "rc_rescreens": outcomes.due_rescreens(case),
        "rc_groups": group_service.groups_of_client(case.client_id), "rc_enrol": enrol,
        "rc_follow_ups": follow_ups, "rc_confirm": ConfirmForm(),
        "rc_closure_lines": followup.snapshot_statements(case.outcome_snapshot) if case.outcome_snapshot else [],
        "rc_closure_goals": followup.goal_statement(case.outcome_snapshot),
    }


register_case_section("casework/recovery/_section.html", recovery_section, anchor="case-recovery-heading",
                      label=_l("Care plan, outcomes and groups"), order=50)


def case_url(case):
    return url_for("casework.case_detail", case_id=case.id)


def plan_url(case):
    return url_for("casework.care_plan", case_id=case.id)


def outcomes_url(case):
    return url_for("casework.case_outcomes", case_id=case.id)
