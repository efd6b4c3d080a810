"""Operating procedure pages: the service's procedures by where they apply, one procedure with its
versions, writing and revising one (supervisors), archiving it; and marking a checklist's items done
on the register entry, alert or activation it is shown on (`POST /checklists/mark`)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from carecycle.alerts import KIND_LABELS
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.pages import change_and_return
from carecycle.permissions import Permission, can, requires
from carecycle.urls import safe_next
from carecycle.validation import Conflict, Invalid
from casework.enums import ProcedureStep, Tier
from casework.forms import ProcedureForm
from casework.service import procedures as service
from casework.views import bp, register_entry_section
from casework.views.common import conflict_page, place_errors


def applies_choices() -> list[SelectChoice]:
    """The options of "Where it applies" (`step:value`), grouped by step."""
    tiers, triage = _("Register tier"), _("Triage")
    return [SelectChoice("", _("Choose where it applies")),
            *[SelectChoice(f"{ProcedureStep.REGISTER_TIER.value}:{v}", _("Register tier: %(tier)s", tier=Tier(v).label),
                           optgroup=tiers) for v in service.step_values(ProcedureStep.REGISTER_TIER)],
            *[SelectChoice(f"{ProcedureStep.TRIAGE_KIND.value}:{v}", _("Triage: %(kind)s", kind=KIND_LABELS[v]),
                           optgroup=triage) for v in service.step_values(ProcedureStep.TRIAGE_KIND)],
            SelectChoice(f"{ProcedureStep.ACTIVATION.value}:", _("Every emergency activation"),
                         optgroup=_("Emergency"))]


def _data(form: ProcedureForm) -> dict:
    step, _sep, value = (form.applies.data or "").partition(":")
    return {"applies_to": step, "applies_value": value, "title": form.title.data, "purpose": form.purpose.data,
            "items": form.items.data or ""}


def _errors(form: ProcedureForm, error: Invalid) -> None:
    fields = dict(error.fields)
    for name in ("applies_to", "applies_value"):
        if name in fields:
            fields["applies"] = fields.pop(name)
    place_errors(form, Invalid(fields))


def _load(procedure_id):
    procedure = service.load(procedure_id)
    if procedure is None:
        abort(404)
    return procedure


@bp.route("/procedures")
@requires(Permission.PROCEDURES_VIEW)
def procedures():
    archived = request.args.get("archived") == "1"
    return render_template("casework/procedures/list.html", rows=service.listing(archived=archived),
                           archived=archived, where_label=service.where_label)


@bp.route("/procedures/new", methods=["GET", "POST"])
@requires(Permission.PROCEDURES_WRITE)
def procedure_new():
    form = ProcedureForm()
    form.applies.choices = applies_choices()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                procedure = service.create(current_user, _data(form))
        except Invalid as error:
            _errors(form, error)
        else:
            flash(_("Procedure written. It is shown at its step from now on."), "success")
            return redirect(url_for("casework.procedure_detail", procedure_id=procedure.id))
    return render_template("casework/procedures/form.html", form=form, procedure=None), 400 if form.errors else 200


@bp.route("/procedures/<procedure_id>")
@requires(Permission.PROCEDURES_VIEW)
def procedure_detail(procedure_id):
    procedure = _load(procedure_id)
    shown = procedure.current
    wanted = request.args.get("version")
    if wanted:
        shown = next((v for v in procedure.versions if str(v.number) == wanted), None)
        if shown is None:
            abort(404)
    confirm = ConfirmForm()
    return render_template("casework/procedures/detail.html", procedure=procedure, shown=shown,
                           where=service.where_label(procedure), confirm=confirm)


@bp.route("/procedures/<procedure_id>/edit", methods=["GET", "POST"])
@requires(Permission.PROCEDURES_WRITE)
def procedure_edit(procedure_id):
    procedure = _load(procedure_id)
    back = url_for("casework.procedure_detail", procedure_id=procedure.id)
    if procedure.archived:
        flash(_("This procedure is archived: write a new one instead."), "error")
        return redirect(back)
    form = ProcedureForm()
    form.applies.choices = applies_choices()
    form.applies.render_kw = {"disabled": True}  # a revision keeps where it applies
    if request.method == "GET":
        current = procedure.current
        form.version.data = str(procedure.version)
        form.title.data, form.purpose.data = current.title, current.purpose
        form.items.data = "\n".join(current.items)
    form.applies.data = f"{procedure.applies_to}:{procedure.applies_value}"
    if form.validate_on_submit():
        try:
            with undone_on_error():
                row = service.revise(current_user, procedure, _data(form), form.version.data)
        except Invalid as error:
            _errors(form, error)
        except Conflict as error:
            return conflict_page(error, back)
        else:
            flash(_("Version %(n)d saved. Checklists already started keep the version they began on.",
                    n=row.number), "success")
            return redirect(back)
    return render_template("casework/procedures/form.html", form=form, procedure=procedure), \
        400 if form.errors else 200


@bp.route("/procedures/<procedure_id>/archive", methods=["POST"])
@requires(Permission.PROCEDURES_WRITE)
def procedure_archive(procedure_id):
    procedure = _load(procedure_id)
    back = url_for("casework.procedure_detail", procedure_id=procedure.id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(back, lambda: service.archive(current_user, procedure, request.form.get("version")),
                             _("Procedure archived. It is no longer shown at its step; checklists already "
                               "started on a record stay there."))


@bp.route("/checklists/mark", methods=["POST"])
@requires(Permission.PROCEDURES_VIEW)
def checklist_mark():
    version = service.load_version(request.form.get("version_id"))
    if version is None or not ConfirmForm().validate_on_submit():
        abort(400)
    step = ProcedureStep(version.procedure.applies_to)
    record = load_visible(step.subject, request.form.get("subject_id"), current_user, audit=False)
    back = safe_next(request.form.get("next")) or url_for("casework.procedure_detail",
                                                          procedure_id=version.procedure_id)
    done = request.form.get("done") == "1"
    return change_and_return(back, lambda: service.mark(current_user, version, record, request.form.get("item"),
                                                        done),
                             _("Step marked done.") if done else _("Mark taken back."))


def checklist_context(step: ProcedureStep, record, here: str) -> dict:
    """What the checklist fragment needs on a record's page (other areas' pages call it too)."""
    if not can(Permission.PROCEDURES_VIEW):
        return {"checklists": [], "checklist_subject": None}
    return {"checklists": service.checklists(step, service.subject_value(step, record), record.id),
            "checklist_subject": record.id, "checklist_here": here, "checklist_form": ConfirmForm()}


register_entry_section("casework/procedures/_checklists.html",
                       lambda entry, here: checklist_context(ProcedureStep.REGISTER_TIER, entry, here))
