"""Care-plan pages: goals, reviews, versions, the client's summary and sharing; the resident reads
their shared plan at /my/plan."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from casework.forms_recovery import (
    ClientNoteForm,
    GoalForm,
    NextReviewForm,
    ReviewForm,
)
from casework.models.recovery import GoalDomain, GoalStatus
from casework.service import careplans, safety
from casework.views import bp
from casework.views.common import change_and_return, conflict_page, place_errors, save_form
from casework.views.recovery import plan_url
from casework.views.safety import link_code_page


# ------------------------------------------------------------------ care plan
@bp.route("/cases/<case_id>/care-plan")
@requires(Permission.CASES_VIEW)
def care_plan(case_id):
    case = load_visible("case", case_id, current_user)
    plan = careplans.plan_of(case)
    goals = careplans.goals_of(plan)
    if plan is not None:
        record_event("view", "care_plan", plan.id)
    context = {"case": case, "plan": plan, "goals": goals, "links": careplans.goal_links(case, goals),
               "reviews": careplans.reviews_of(plan), "next_review": careplans.next_review(case),
               "goal_names": {str(g.id): g.title for g in goals}, "confirm": ConfirmForm(),
               "review_form": NextReviewForm(), "domains": list(GoalDomain),
               "may_give_link_code": safety.may_give_link_code(current_user, case)}
    return render_template("casework/recovery/plan.html", **context)


def _editable_or_refused(case):
    """The plan pages' guard: a plan is written in recovery; a closed case is read-only."""
    try:
        careplans.require_recovery(case)
    except Conflict as error:
        return conflict_page(error, plan_url(case))
    return None


def _goal_payload(form) -> dict:
    return {name: form[name].data for name in ("domain", "title", "success", "target_date", "status", "drop_reason",
                                               "owner", "owner_detail")}


@bp.route("/cases/<case_id>/care-plan/goals/new", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_goal_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    form = GoalForm()
    if request.method == "GET":
        form.version.data = plan.version if plan else 0
        form.domain.data = request.args.get("domain") if request.args.get("domain") in GoalDomain._value2member_map_ \
            else GoalDomain.HOUSING.value
    elif form.validate_on_submit():
        done = save_form(form, plan_url(case),
                          lambda: careplans.add_goal(current_user, case, form.version.data, _goal_payload(form)),
                          _("Goal added to the care plan."), place=_place_goal_errors)
        if done:
            return done
    return render_template("casework/recovery/goal_form.html", case=case, form=form, goal=None), \
        400 if form.errors else 200


def _place_goal_errors(form, error: Invalid) -> None:
    """Service messages name `goals[i].field`; the form shows them on its field."""
    fields = {}
    for key, message in error.fields.items():
        name = key.rsplit(".", 1)[-1] if key.startswith("goals[") else key
        fields[name] = message
    place_errors(form, Invalid(fields))


@bp.route("/cases/<case_id>/care-plan/goals/<goal_id>/edit", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_goal_edit(case_id, goal_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    plan = careplans.plan_of(case)
    goal = next((g for g in careplans.goals_of(plan) if str(g.id) == str(goal_id)), None)
    if goal is None:
        abort(404)
    refused = _editable_or_refused(case)
    if refused:
        return refused
    form = GoalForm()
    if request.method == "GET":
        form.version.data = plan.version
        for name, value in careplans.goal_json(goal).items():
            if name in form and name != "id":
                form[name].data = value or ""
    elif form.validate_on_submit():
        done = save_form(form, plan_url(case), lambda: careplans.update_goal(
            current_user, case, form.version.data, goal.id, _goal_payload(form)), _("Goal saved."),
            place=_place_goal_errors)
        if done:
            return done
    return render_template("casework/recovery/goal_form.html", case=case, form=form, goal=goal), \
        400 if form.errors else 200


@bp.route("/cases/<case_id>/care-plan/client-note", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_client_note(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    form = ClientNoteForm()
    if request.method == "GET":
        form.version.data = plan.version if plan else 0
        form.client_note.data = plan.client_note if plan else ""
    elif form.validate_on_submit():
        done = save_form(form, plan_url(case), lambda: careplans.set_client_note(
            current_user, case, form.version.data, form.client_note.data), _("Note for the client saved."))
        if done:
            return done
    return render_template("casework/recovery/client_note.html", case=case, form=form), 400 if form.errors else 200


@bp.route("/cases/<case_id>/care-plan/reviews/new", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def care_plan_review_new(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    refused = _editable_or_refused(case)
    if refused:
        return refused
    plan = careplans.plan_of(case)
    if plan is None:
        flash(_("Write the care plan before reviewing it."), "error")
        return redirect(plan_url(case))
    goals = careplans.goals_of(plan)
    form = ReviewForm()
    goal_errors: dict = {}
    chosen = {str(g.id): {"status": request.form.get(f"goal-{g.id}-status", g.status),
                          "reason": request.form.get(f"goal-{g.id}-reason", "")} for g in goals}
    if request.method == "GET":
        form.version.data = plan.version
        form.reviewed_on.data = careplans.local_today().isoformat()
    elif form.validate_on_submit():
        try:
            with undone_on_error():
                careplans.record_review(current_user, case, form.version.data, reviewed_on=form.reviewed_on.data,
                                        summary=form.summary.data, changes=chosen,
                                        next_review_on=form.next_review_on.data)
        except Invalid as error:
            goal_errors = {k: v for k, v in error.fields.items() if k.startswith("goal-")}
            place_errors(form, Invalid({k: v for k, v in error.fields.items() if not k.startswith("goal-")}))
        except Conflict as error:
            return conflict_page(error, plan_url(case))
        else:
            flash(_("Review recorded."), "success")
            return redirect(plan_url(case))
    failed = bool(form.errors or goal_errors)
    return render_template("casework/recovery/review_form.html", case=case, form=form, goals=goals, chosen=chosen,
                           goal_errors=goal_errors, statuses=list(GoalStatus)), 400 if failed else 200


@bp.route("/cases/<case_id>/care-plan/next-review", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_next_review(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = NextReviewForm()
    if not form.validate_on_submit():
        flash(_("Give the date of the next review."), "error")
        return redirect(plan_url(case))
    return change_and_return(plan_url(case), lambda: careplans.schedule_review(
        current_user, case, form.next_review_on.data), _("Next review scheduled."))


@bp.route("/cases/<case_id>/care-plan/versions")
@requires(Permission.CASES_VIEW)
def care_plan_versions(case_id):
    case = load_visible("case", case_id, current_user)
    plan = careplans.plan_of(case)
    versions = careplans.versions_of(plan)
    return render_template("casework/recovery/versions.html", case=case, plan=plan, versions=versions)


@bp.route("/cases/<case_id>/care-plan/versions/<int:number>")
@requires(Permission.CASES_VIEW)
def care_plan_version(case_id, number):
    case = load_visible("case", case_id, current_user, audit=False)
    kept = careplans.load_version(careplans.plan_of(case), number)
    if kept is None:
        abort(404)
    record_event("view", "care_plan_version", kept.id)
    return render_template("casework/recovery/version.html", case=case, kept=kept,
                           goals=(kept.content or {}).get("goals", []), note=(kept.content or {}).get("client_note"))


@bp.route("/cases/<case_id>/care-plan/summary")
@requires(Permission.CASES_VIEW)
def care_plan_summary(case_id):
    """The client-facing summary in a print layout (what /my/plan shows the client)."""
    case = load_visible("case", case_id, current_user, audit=False)
    plan = careplans.plan_of(case)
    if plan is None:
        abort(404)
    record_event("export", "care_plan", plan.id, reason="client summary")
    summary = careplans.client_summary(plan, case)
    return render_template("casework/recovery/summary_print.html", case=case, summary=summary,
                           lang=str(get_locale() or "en"))


@bp.route("/cases/<case_id>/care-plan/share", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_share(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(plan_url(case))
    return change_and_return(plan_url(case), lambda: careplans.share(current_user, case),
                              _("The plan is shared. The client sees its summary when signed in, under \"My plan\"."))


@bp.route("/cases/<case_id>/care-plan/link-code", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_link_code(case_id):
    """The social worker (or the team's supervisor) gives the client a link code from the care plan."""
    case = load_visible("case", case_id, current_user, audit=False)
    return link_code_page(case, plan_url(case), "care")


@bp.route("/cases/<case_id>/care-plan/unshare", methods=["POST"])
@requires(Permission.CASES_EDIT)
def care_plan_unshare(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        return redirect(plan_url(case))
    return change_and_return(plan_url(case), lambda: careplans.stop_sharing(current_user, case),
                              _("The plan is no longer shared with the client."))


@bp.route("/my/plan")
@requires(Permission.OWN_CARE_PLAN)
def my_plan():
    plan = careplans.shared_plan_for(current_user)
    summary = careplans.client_summary(plan, plan.case) if plan else None
    linked = plan is not None or safety.resident_linked(current_user)
    if plan is not None:
        record_event("view", "care_plan", plan.id, reason="resident")
    return render_template("casework/recovery/my_plan.html", plan=plan, summary=summary, linked=linked)
