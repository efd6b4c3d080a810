"""Phase moves on a case, and the supervisor's closure approvals."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from casework.forms import CloseCaseForm, ClosureDecisionForm, PhaseMoveForm, ReopenForm
from casework.service import phases
from casework.views import EVENT_LABELS, bp, register_case_section
from casework.views.cases import case_page
from casework.views.common import conflict_page, place_errors

EVENT_LABELS.update({"closure_rejected": _l("Closure not approved")})


def _phase_context(case):
    return {"phase_forms": {"move": PhaseMoveForm(version=case.version),
                            "close": CloseCaseForm(version=case.version),
                            "reopen": ReopenForm(version=case.version)},
            "pending_closure": phases.pending_closure(case),
            "closure_needs_approval": phases.needs_approval(case)}


register_case_section("casework/cases/_phase.html", _phase_context, anchor="case-phase-heading",
                      label=_l("Phase and closure"), order=70)


def _after(case, message):
    flash(message, "success")
    return redirect(url_for("casework.case_detail", case_id=case.id))


def _refused(case, error, form=None, name=None):
    """A stale or disallowed move: the conflict page. Bad input: the case page again (400), with the
    form `name` of the phase section re-shown as entered and its messages; without one, flashes.
    The refused move's work was undone by the handler's `undone_on_error`."""
    if isinstance(error, Conflict):
        return conflict_page(error, url_for("casework.case_detail", case_id=case.id))
    if form is None:
        for message in error.fields.values():
            flash(message, "error")
        return redirect(url_for("casework.case_detail", case_id=case.id))
    case = load_visible("case", case.id, current_user)  # the page is shown again: a view of the case
    place_errors(form, error)
    forms = _phase_context(case)["phase_forms"]
    forms[name] = form
    return case_page(case, 400, phase_forms=forms)


@bp.route("/cases/<case_id>/phase/<target>", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_phase(case_id, target):
    case = load_visible("case", case_id, current_user, audit=False)
    form = PhaseMoveForm()
    moves = {"crisis": (phases.start_crisis_work, _("Case moved to crisis intervention.")),
             "recovery": (phases.move_to_recovery, _("Case moved to recovery."))}
    if target not in moves:
        abort(404)
    move, message = moves[target]
    try:
        with undone_on_error():
            move(current_user, case, form.version.data)
    except (Invalid, Conflict) as error:
        return _refused(case, error)
    return _after(case, message)


@bp.route("/cases/<case_id>/close", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_close(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = CloseCaseForm()
    try:
        with undone_on_error():
            pending = phases.request_closure(current_user, case, form.version.data, form.summary.data, form.reason.data)
    except (Invalid, Conflict) as error:
        return _refused(case, error, form, "close")
    return _after(case, _("Closure requested: the team supervisor must approve it, because the risk was moderate "
                          "or higher in the last 30 days.") if pending else _("Case closed."))


@bp.route("/cases/<case_id>/reopen", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_reopen(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = ReopenForm()
    try:
        with undone_on_error():
            phases.reopen(current_user, case, form.version.data, form.reason.data)
    except (Invalid, Conflict) as error:
        return _refused(case, error, form, "reopen")
    return _after(case, _("Case reopened."))


@bp.route("/cases/closure-approvals")
@requires(Permission.CLOSURE_APPROVE)
def closure_approvals():
    return render_template("casework/cases/closure_approvals.html",
                           requests=phases.closure_requests_for(current_user), form=ClosureDecisionForm())


@bp.route("/cases/closure-approvals/<request_id>", methods=["POST"])
@requires(Permission.CLOSURE_APPROVE)
def closure_decide(request_id):
    closure = load_visible("closure_request", request_id, current_user)
    form = ClosureDecisionForm()
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        with undone_on_error():
            phases.decide_closure(current_user, closure, decision == "approve", form.comment.data)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("casework.closure_approvals"))
    flash(_("Closure approved; the case is closed.") if decision == "approve" else _("Closure not approved."),
          "success")
    return redirect(url_for("casework.closure_approvals"))
