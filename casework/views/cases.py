"""Case pages: my caseload, a case with its timeline and tasks, versioned edits."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.permissions import Permission, can, requires
from carecycle.roles import Role
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from casework.forms import CaseEditForm
from casework.models import Case
from casework.service import caseload
from casework.service import cases as service
from casework.views import CASE_SECTIONS, EVENT_LABELS, TASK_LABELS, bp
from casework.views.common import conflict_page, place_errors

EVENT_LABELS.update({
    "opened": _l("Case opened"), "updated": _l("Case updated"), "phase_changed": _l("Phase changed"),
    "closure_requested": _l("Closure requested"), "closed": _l("Case closed"), "reopened": _l("Case reopened"),
})
TASK_LABELS.update({"first_contact": _l("First contact"), "next_contact": _l("Next contact")})

@bp.route("/cases")
@requires(Permission.CASES_VIEW)
def cases():
    show_closed = request.args.get("closed") == "1"
    # a page read in index order with the clients, and a total counted up to a cap: bounded at any size
    pagination = caseload.caseload_page(current_user, page_arg(), 50, closed=show_closed)
    return render_template("casework/cases/list.html", pagination=pagination, show_closed=show_closed)


def case_page(case: Case, status: int = 200, **shown):
    """The case page with every registered section; `shown` replaces parts of the sections' context
    (a form re-shown with the user's input and its errors)."""
    sections: dict = {}
    summary: list = []
    for section in CASE_SECTIONS:
        context = section.context(case)
        summary.extend(context.pop("summary", []))
        sections.update(context)
    sections.update(shown)
    listed = [s for s in CASE_SECTIONS if s.permission is None or can(s.permission)]
    return render_template("casework/cases/detail.html", case=case, case_sections=[s.template for s in CASE_SECTIONS],
                           section_links=[(s.anchor, s.label) for s in listed],
                           summary=sorted(summary, key=lambda row: row.order), **sections), status


@bp.route("/cases/<case_id>")
@requires(Permission.CASES_VIEW)
def case_detail(case_id):
    return case_page(load_visible("case", case_id, current_user))


def _team_choices(case: Case, role: Role):
    return [("", _("Nobody"))] + [(u.username, u.name) for u in service.team_staff(case.team_id, role)]


@bp.route("/cases/<case_id>/edit", methods=["GET", "POST"])
@requires(Permission.CASES_EDIT)
def case_edit(case_id):
    case = load_visible("case", case_id, current_user, audit=request.method == "GET")
    form = CaseEditForm()
    form.assigned_counsellor.choices = _team_choices(case, Role.COUNSELLOR)
    form.assigned_social_worker.choices = _team_choices(case, Role.SOCIAL_WORKER)
    if request.method == "GET":
        form.version.data = case.version
        form.risk_level.data, form.priority.data = case.risk_level, case.priority
        form.assigned_counsellor.data = case.counsellor.username if case.counsellor else ""
        form.assigned_social_worker.data = case.social_worker.username if case.social_worker else ""
    if form.validate_on_submit():
        changes = {name: form[name].data for name in service.EDITABLE}
        try:
            with undone_on_error():
                service.update_case(current_user, case, form.version.data, changes)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("casework.case_detail", case_id=case_id))
        else:
            flash(_("Case saved."), "success")
            return redirect(url_for("casework.case_detail", case_id=case.id))
    return render_template("casework/cases/edit.html", form=form, case=case), 400 if form.errors else 200
