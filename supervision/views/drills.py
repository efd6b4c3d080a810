"""Preparedness drills, their actions and the readiness view."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import attempt, load_visible
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from referrals.models import Organisation, VolunteerTeam
from supervision.forms import DrillForm
from supervision.service import drills as service
from supervision.views import bp


@bp.route("/supervision/drills")
@requires(Permission.DRILLS_VIEW)
def drills():
    return render_template("supervision/drills.html", pagination=service.drills(current_user.team_id, page_arg()),
                           may_manage=can(Permission.DRILLS_MANAGE))


def _drill_form() -> DrillForm:
    form = DrillForm()
    form.volunteer_team_ids.choices = [(str(t.id), t.name) for t in db.session.scalars(
        select(VolunteerTeam).where(VolunteerTeam.archived_at.is_(None)).order_by(VolunteerTeam.name))]
    form.organisation_ids.choices = [(str(o.id), o.name) for o in db.session.scalars(
        select(Organisation).where(Organisation.archived_at.is_(None)).order_by(Organisation.name))]
    owners = [("", _("Choose an owner"))] + [(str(u.id), u.name) for u in service.team_staff(current_user.team_id)]
    for entry in form.actions:
        entry.form.owner_id.choices = owners
    return form


def _form_data(form: DrillForm) -> dict:
    return {
        "scenario": form.scenario.data, "held_on": form.held_on.data or request.form.get("held_on"),
        "volunteer_team_ids": form.volunteer_team_ids.data or [], "organisation_ids": form.organisation_ids.data or [],
        "schools": form.schools.data, "businesses": form.businesses.data, "others": form.others.data,
        "went_well": form.went_well.data, "notes": form.notes.data,
        "actions": [{"description": entry.form.description.data, "owner_id": entry.form.owner_id.data,
                     "due_on": entry.form.due_on.data or request.form.get(f"actions-{index}-due_on")}
                    for index, entry in enumerate(form.actions)],
    }


def _place(form: DrillForm, error: Invalid) -> None:
    for name, message in error.fields.items():
        if name.startswith("actions-"):
            _prefix, index, field = name.split("-", 2)
            target = form.actions[int(index)][field] if int(index) < len(form.actions) else None
        else:
            target = form[name] if name in form else None
        if target is not None:
            target.errors = list(target.errors) + [message]
        else:
            flash(message, "error")


@bp.route("/supervision/drills/new", methods=["GET", "POST"])
@requires(Permission.DRILLS_MANAGE)
def drill_new():
    form = _drill_form()
    if request.method == "POST":
        if not form.validate_on_submit() and "csrf_token" in form.errors:
            abort(400)
        # date fields that failed to parse are checked again by the service with a clear message
        try:
            drill = service.record_drill(current_user, _form_data(form))
        except Invalid as error:
            form.held_on.errors, form.scenario.errors = [], []
            _place(form, error)
            return render_template("supervision/drill_new.html", form=form), 400
        flash(_("Drill recorded. The owners of the changes were notified."), "success")
        return redirect(url_for("supervision.drill", drill_id=drill.id))
    return render_template("supervision/drill_new.html", form=form)


@bp.route("/supervision/drills/<drill_id>")
@requires(Permission.DRILLS_VIEW)
def drill(drill_id):
    row = load_visible("drill", drill_id, current_user)
    return render_template("supervision/drill.html", drill=row, may_complete=service.may_complete)


@bp.route("/supervision/drills/actions")
@requires(Permission.DRILLS_VIEW)
def my_drill_actions():
    return render_template("supervision/drill_actions.html",
                           actions=service.my_actions(current_user, include_done=request.args.get("done") == "1"),
                           include_done=request.args.get("done") == "1")


@bp.route("/supervision/drills/actions/<action_id>/done", methods=["POST"])
@requires(Permission.DRILLS_VIEW)
def drill_action_done(action_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: service.complete_action(current_user, action_id), contain=(Conflict,))
    if not outcome.ok:
        flash(outcome.error.message, "warning")
        return redirect(url_for("supervision.my_drill_actions"))
    action = outcome.result
    flash(_("Marked done."), "success")
    back = request.form.get("back")
    if back == "drill":
        return redirect(url_for("supervision.drill", drill_id=action.drill_id))
    return redirect(url_for("supervision.my_drill_actions"))


@bp.route("/supervision/readiness")
@requires(Permission.DRILLS_VIEW)
def readiness():
    return render_template("supervision/readiness.html", rows=service.readiness(), stale_days=service.STALE_AFTER.days)
