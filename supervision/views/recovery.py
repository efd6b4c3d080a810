"""Community recovery pages: the team's recovery plans, starting one after an incident, a plan (its
needs assessment, actions, community care groups and 1-, 3- and 6-month reviews) and its printable
summary for the residents' committee (counts only)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from carecycle.forms import ConfirmForm, place_errors
from carecycle.lifecycle import undone_on_error
from carecycle.localtime import format_day, local
from carecycle.localtime import today as local_today
from carecycle.pages import change_and_return
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from supervision.forms import RecoveryActionForm, RecoveryGroupForm, RecoveryPlanForm, RecoveryReviewForm
from supervision.service import recovery as service
from supervision.service.drills import team_staff
from supervision.views import bp


def _load(recovery_id):
    plan = service.load(current_user, recovery_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/supervision/recovery")
@requires(Permission.RECOVERY_VIEW)
def recovery_plans():
    return render_template("supervision/recovery/list.html", plans=service.listing(current_user),
                           next_review=service.next_review)


@bp.route("/supervision/recovery/new", methods=["GET", "POST"])
@requires(Permission.RECOVERY_MANAGE)
def recovery_new():
    form = RecoveryPlanForm()
    form.period_id.choices = [SelectChoice("", _("None: I record the incident below"))] + [
        SelectChoice(str(p.id), f"{format_day(local(p.started_at).date())} · {p.reason}")
        for p in service.finished_periods()]
    if form.validate_on_submit():
        try:
            with undone_on_error():
                plan = service.create(current_user, {name: form[name].data for name in (
                    "title", "area", "period_id", "incident", "started_on", "ended_on")})
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Recovery plan started. Its needs assessment is counted from the incident's days."), "success")
            return redirect(url_for("supervision.recovery_plan", recovery_id=plan.id))
    return render_template("supervision/recovery/new.html", form=form), 400 if form.errors else 200


def _page(plan, action_form=None, review_form=None, status=200):
    managing = can(Permission.RECOVERY_MANAGE)
    if action_form is None and managing:
        action_form = RecoveryActionForm()
    if action_form is not None:
        action_form.owner_id.choices = [SelectChoice("", _("Choose an owner"))] + [
            SelectChoice(str(u.id), u.name) for u in team_staff(plan.team_id)]
    group_form = None
    if managing:
        linked = {link.group_id for link in plan.groups}
        choices = [SelectChoice(str(g.id), g.name) for g in service.team_groups(plan) if g.id not in linked]
        if choices:
            group_form = RecoveryGroupForm()
            group_form.group_id.choices = choices
    due = service.next_review(plan)
    if review_form is None and managing and due is not None and due[1] <= local_today():
        review_form = RecoveryReviewForm()
        review_form.months.data = str(due[0])
    return render_template("supervision/recovery/plan.html", plan=plan, needs=service.needs(plan),
                           care=service.care(plan), reviews=service.reviews(plan), due=due,
                           action_form=action_form if managing else None, group_form=group_form,
                           review_form=review_form if managing else None, confirm=ConfirmForm(),
                           figure_labels=service.FIGURE_LABELS, now=service.outcome_figures(plan)), status


@bp.route("/supervision/recovery/<recovery_id>")
@requires(Permission.RECOVERY_VIEW)
def recovery_plan(recovery_id):
    return _page(_load(recovery_id))


@bp.route("/supervision/recovery/<recovery_id>/actions", methods=["POST"])
@requires(Permission.RECOVERY_MANAGE)
def recovery_action_add(recovery_id):
    plan = _load(recovery_id)
    form = RecoveryActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with undone_on_error():
            service.add_action(current_user, plan, {"description": form.description.data,
                                                    "owner_id": form.owner_id.data, "due_on": form.due_on.data})
    except Invalid as error:
        place_errors(form, error)
        return _page(plan, action_form=form, status=400)
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("Action added."), "success")
    return redirect(url_for("supervision.recovery_plan", recovery_id=plan.id) + "#recovery-actions")


@bp.route("/supervision/recovery/<recovery_id>/actions/<action_id>/done", methods=["POST"])
@requires(Permission.RECOVERY_VIEW)
def recovery_action_done(recovery_id, action_id):
    plan = _load(recovery_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(url_for("supervision.recovery_plan", recovery_id=plan.id) + "#recovery-actions",
                             lambda: service.complete_action(current_user, plan, action_id), _("Marked done."))


@bp.route("/supervision/recovery/<recovery_id>/groups", methods=["POST"])
@requires(Permission.RECOVERY_MANAGE)
def recovery_group_link(recovery_id):
    plan = _load(recovery_id)
    form = RecoveryGroupForm()
    if not form.validate_on_submit():
        abort(400)
    return change_and_return(url_for("supervision.recovery_plan", recovery_id=plan.id) + "#recovery-care",
                             lambda: service.link_group(current_user, plan, form.group_id.data),
                             _("Group linked: its sessions count as the plan's community care."))


@bp.route("/supervision/recovery/<recovery_id>/reviews", methods=["POST"])
@requires(Permission.RECOVERY_MANAGE)
def recovery_review(recovery_id):
    plan = _load(recovery_id)
    form = RecoveryReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with undone_on_error():
            review = service.write_review(current_user, plan, form.months.data, form.summary.data)
    except Invalid as error:
        place_errors(form, error)
        return _page(plan, review_form=form, status=400)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("supervision.recovery_plan", recovery_id=plan.id))
    flash(_("The %(n)d-month review is written, with the figures of today.", n=review.months), "success")
    return redirect(url_for("supervision.recovery_plan", recovery_id=plan.id) + "#recovery-reviews")


@bp.route("/supervision/recovery/<recovery_id>/summary")
@requires(Permission.RECOVERY_VIEW)
def recovery_summary(recovery_id):
    plan = _load(recovery_id)
    return render_template("supervision/recovery/summary.html", plan=plan, summary=service.summary(plan),
                           figure_labels=service.FIGURE_LABELS, printed_on=local_today())
