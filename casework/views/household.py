"""Household emergency plan pages: a client's plan (the signed version, earlier ones, the draft form
and signing it) and the emergency outreach list of signed plans, those whose medicine runs out first
at the top."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.forms import ConfirmForm, place_errors_in_rows
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import format_day
from carecycle.localtime import today as local_today
from carecycle.mode import current_mode
from carecycle.pages import change_and_return
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from casework.forms import HouseholdPlanForm, SignHouseholdPlanForm
from casework.service import household as service
from casework.service.safety import resident_linked
from casework.views import bp, register_client_section
from casework.views.common import conflict_page


def _client_section(client):
    if not can(Permission.CLIENTS_VIEW):
        return {"household_signed": None, "household_draft": None}
    signed, draft = service.current(client)
    return {"household_signed": signed, "household_draft": draft}


register_client_section("casework/household/_client_section.html", _client_section)


def _fill(form: HouseholdPlanForm, content: dict) -> None:
    for name in service.TEXT_FIELDS:
        form[name].data = content.get(name) or ""
    for entry, row in zip(form.medicines.entries, content.get("medicines") or [], strict=False):
        entry.form.name.data, entry.form.days.data = row.get("name") or "", "" if row.get("days") is None \
            else str(row["days"])


def _page(client, form: HouseholdPlanForm | None = None, status: int = 200):
    rows = service.versions(client)
    signed, draft = service.current(client)
    shown = signed
    wanted = request.args.get("version")
    if wanted:
        shown = next((v for v in rows if str(v.number) == wanted), None)
        if shown is None:
            abort(404)
    editing = can(Permission.CLIENTS_EDIT)
    if editing and form is None:
        form = HouseholdPlanForm()
        base = draft or signed
        if base is not None:
            _fill(form, base.content or {})
        form.version.data = str(draft.version) if draft else "0"
    sign_form = SignHouseholdPlanForm()
    if draft is not None:
        sign_form.version.data = str(draft.version)
    return render_template("casework/household/plan.html", client=client, versions=rows, shown=shown, draft=draft,
                           form=form if editing else None, sign_form=sign_form, signed=signed,
                           shared=next((v for v in rows if v.shared), None), confirm=ConfirmForm()), status


@bp.route("/clients/<client_id>/household-plan")
@requires(Permission.CLIENTS_VIEW)
def household_plan(client_id):
    return _page(load_visible("client", client_id, current_user))


def _data(form: HouseholdPlanForm) -> dict:
    return {**{name: form[name].data for name in service.TEXT_FIELDS},
            "medicines": [{"name": e.form.name.data, "days": e.form.days.data} for e in form.medicines.entries]}


@bp.route("/clients/<client_id>/household-plan", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def household_plan_save(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    form = HouseholdPlanForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("casework.household_plan", client_id=client.id)
    try:
        with undone_on_error():
            service.save_draft(current_user, client, _data(form), form.version.data)
    except Invalid as error:
        place_errors_in_rows(form, error)
        return _page(client, form, 400)
    except Conflict as error:
        return conflict_page(error, back)
    flash(_("Draft saved. Sign it when it is agreed with the person."), "success")
    return redirect(back + "#household-draft")


@bp.route("/clients/<client_id>/household-plan/sign", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def household_plan_sign(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    form = SignHouseholdPlanForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("casework.household_plan", client_id=client.id)
    try:
        with undone_on_error():
            plan = service.sign(current_user, client, form.version.data)
    except Invalid as error:
        flash(next(iter(error.fields.values())), "error")
        return redirect(back)
    except Conflict as error:
        return conflict_page(error, back)
    flash(_("Household plan version %(n)d signed.", n=plan.number), "success")
    return redirect(back)


@bp.route("/clients/<client_id>/household-plan/share", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def household_plan_share(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    back = url_for("casework.household_plan", client_id=client.id) + "#household-sharing"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(back, lambda: service.share(current_user, client), lambda plan: _(
        "Version %(n)d is shared. The person reads it when signed in, under \"My household plan\".", n=plan.number))


@bp.route("/clients/<client_id>/household-plan/unshare", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def household_plan_unshare(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    back = url_for("casework.household_plan", client_id=client.id) + "#household-sharing"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(back, lambda: service.stop_sharing(current_user, client),
                             _("The household plan is no longer shared with the person."))


@bp.route("/my/household-plan")
@requires(Permission.OWN_HOUSEHOLD_PLAN)
def my_household_plan():
    plan = service.shared_plan_for(current_user)
    if plan is not None:
        record_event("view", "household_plan", plan.id, reason="resident")
    return render_template("casework/my/household_plan.html", plan=plan,
                           linked=plan is not None or resident_linked(current_user))


@bp.route("/household-plans")
@requires(Permission.REGISTER_MANAGE)
def household_plans():
    return render_template("casework/household/list.html", rows=service.emergency_list(current_user),
                           emergency=current_mode().emergency, today=local_today(), rlabels_day=format_day)
