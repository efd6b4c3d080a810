"""The team dashboard, its CSV export, the drill-down to a worker and reassignment."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from carecycle.lifecycle import attempt, load_visible
from carecycle.pages import flash_errors
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg
from supervision.forms import ReassignForm
from supervision.service import caseload
from supervision.service import reassign as reassign_service
from supervision.views import bp


def _view_args() -> dict:
    return {name: request.args.get(name) for name in ("sort", "direction", "role", "attention")}


@bp.route("/supervision/")
@requires(Permission.CASELOAD_REVIEW)
def index():
    return redirect(url_for("supervision.caseload"))


@bp.route("/supervision/caseload", endpoint="caseload")
@requires(Permission.CASELOAD_REVIEW)
def caseload_view():
    dashboard = caseload.team_dashboard(current_user, **_view_args())
    return render_template("supervision/caseload.html", dashboard=dashboard, sorts=caseload.SORT_LABELS,
                           roles=caseload.ROLES, caps=(caseload.CELL_CAP, caseload.TEAM_CAP, caseload.TASK_CAP))


@bp.route("/supervision/caseload.csv")
@requires(Permission.CASELOAD_REVIEW)
def caseload_csv():
    dashboard = caseload.team_dashboard(current_user, audit=False, **_view_args())
    body = caseload.dashboard_csv(current_user, dashboard)
    stamp = dashboard.generated_at.strftime("%Y%m%d-%H%M")
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="team-caseload-{stamp}.csv"'})


@bp.route("/supervision/caseload/workers/<worker_id>")
@requires(Permission.CASELOAD_REVIEW)
def worker(worker_id):
    person = load_visible("worker", worker_id, current_user)
    phase, risk = request.args.get("phase") or None, request.args.get("risk") or None
    phase = phase if phase in caseload.OPEN_PHASES else None
    risk = risk if risk in caseload.RISKS else None
    row = caseload.worker_row(current_user, person)
    pagination, lines = caseload.worker_cases(current_user, person, page=page_arg(), phase=phase, risk=risk)
    form = ReassignForm()
    form.to_worker.choices = [("", _("Choose a colleague"))] + [
        (str(u.id), u.name) for u in reassign_service.candidates(current_user, person)]
    return render_template("supervision/worker.html", worker=person, row=row, pagination=pagination, lines=lines,
                           form=form, phase=phase, risk=risk, may_reassign=can(Permission.CASES_REASSIGN))


@bp.route("/supervision/caseload/workers/<worker_id>/reassign", methods=["POST"])
@requires(Permission.CASES_REASSIGN)
def reassign(worker_id):
    person = load_visible("worker", worker_id, current_user)
    form = ReassignForm()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)  # a reason too long is the service's to refuse, with its message
    if form.everything.data:
        case_ids = caseload.open_case_ids(current_user, person, reassign_service.BATCH)
    else:
        case_ids = request.form.getlist("case_ids")
    outcome = attempt(lambda: reassign_service.reassign(current_user, person, case_ids, form.to_worker.data,
                                                        form.reason.data))
    if not outcome.ok:
        flash_errors((outcome.errors or {}).values())
        return redirect(url_for("supervision.worker", worker_id=person.id))
    result = outcome.result
    if result.moved:
        flash(ngettext("%(num)d case moved to %(name)s. Both workers were notified.",
                       "%(num)d cases moved to %(name)s. Both workers were notified.",
                       len(result.moved), name=result.to_worker.name), "success")
    if result.skipped:
        flash(ngettext("%(num)d case was skipped: it is closed or no longer with this worker.",
                       "%(num)d cases were skipped: they are closed or no longer with this worker.",
                       result.skipped), "warning")
    return redirect(url_for("supervision.worker", worker_id=person.id))
