"""Activation board pages: in emergency operation, the agreements in force with whom to call, the
form to record a call and what was promised, an activation's page with the form to record what
arrived, the team's reserves with what was drawn; and the after-action review of each emergency
period (what was activated, what failed to arrive)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import undone_on_error
from carecycle.permissions import Permission, access_held, refuse_held, requires
from carecycle.validation import Conflict, Invalid
from casework.enums import ProcedureStep
from casework.service import procedures
from casework.views.procedures import checklist_context
from referrals.forms import CallForm, OutcomeForm
from referrals.service import activations as service
from referrals.views import bp, conflict_page, place_errors


def _not_held():
    if access_held(current_user):
        refuse_held()


@bp.route("/activation")
@requires(Permission.ACTIVATIONS)
def activation_board():
    _not_held()
    current = service.current_period()
    if current is None:
        return render_template("referrals/activation/board.html", period=None, agreements=[], activations=[],
                               reserves=[], latest=next(iter(service.periods()), None))
    agreements = [(a, service.commitments(a)) for a in service.agreements_in_force()]
    return render_template("referrals/activation/board.html", period=current, latest=None,
                           procedures=procedures.listing(step=ProcedureStep.ACTIVATION),
                           agreements=[(a, c) for a, c in agreements if c],
                           activations=service.activations(current_user, current.id),
                           reserves=service.reserves_drawn(current_user, current.started_at))


@bp.route("/activation/call", methods=["GET", "POST"])
@requires(Permission.ACTIVATIONS)
def activation_call():
    _not_held()
    form = CallForm()
    if request.method == "GET":
        form.agreement_id.data = request.args.get("agreement_id", "")
        form.commitment.data = request.args.get("commitment", "")
    try:
        service.emergency_period()
    except Invalid as error:
        flash(" ".join(error.fields.values()), "error")
        return redirect(url_for("referrals.activation_board"))
    agreement = service.agreement_in_force(form.agreement_id.data)
    commitment = next((c for c in service.commitments(agreement) if str(c.index) == form.commitment.data), None) \
        if agreement else None
    if agreement is None or commitment is None:
        abort(404)
    if request.method == "GET" and commitment.quantity is not None:
        form.promised.data = str(commitment.quantity)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                row = service.record_call(current_user, {
                    "agreement_id": form.agreement_id.data, "commitment": form.commitment.data,
                    "contact": form.contact.data, "promised": form.promised.data, "note": form.note.data})
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Activation recorded: %(what)s from %(org)s.", what=row.what, org=agreement.organisation.name),
                  "success")
            return redirect(url_for("referrals.activation_board"))
    return render_template("referrals/activation/call.html", form=form, agreement=agreement,
                           commitment=commitment), 400 if form.errors else 200


def _load(activation_id):
    row = service.load(current_user, activation_id)
    if row is None:
        abort(404)
    return row


def _detail(row, form: OutcomeForm, status: int = 200):
    here = url_for("referrals.activation_detail", activation_id=row.id)
    return render_template("referrals/activation/detail.html", row=row, form=form,
                           period=service.period(row.period_id),
                           **checklist_context(ProcedureStep.ACTIVATION, row, here)), status


@bp.route("/activation/<activation_id>")
@requires(Permission.ACTIVATIONS)
def activation_detail(activation_id):
    _not_held()
    row = _load(activation_id)
    form = OutcomeForm()
    form.version.data = row.version
    return _detail(row, form)


@bp.route("/activation/<activation_id>/outcome", methods=["POST"])
@requires(Permission.ACTIVATIONS)
def activation_outcome(activation_id):
    _not_held()
    row = _load(activation_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with undone_on_error():
            service.record_outcome(current_user, row, {"status": form.status.data, "arrived": form.arrived.data,
                                                       "note": form.note.data}, form.version.data)
    except Invalid as error:
        place_errors(form, error)
        return _detail(row, form, 400)
    except Conflict as error:
        return conflict_page(error, url_for("referrals.activation_detail", activation_id=row.id))
    flash(_("Outcome recorded."), "success")
    chosen = service.period(row.period_id)
    if chosen is not None and not chosen.current:
        return redirect(url_for("referrals.activation_review", period_id=chosen.id))
    return redirect(url_for("referrals.activation_board"))


@bp.route("/activation/reviews")
@requires(Permission.ACTIVATIONS)
def activation_reviews():
    _not_held()
    return render_template("referrals/activation/reviews.html", periods=service.periods(),
                           counts=service.period_counts(current_user))


@bp.route("/activation/reviews/<period_id>")
@requires(Permission.ACTIVATIONS)
def activation_review(period_id):
    _not_held()
    chosen = service.period(period_id)
    if chosen is None:
        abort(404)
    return render_template("referrals/activation/review.html", review=service.review(current_user, chosen))


