"""Group emergency plan pages: the team's plans, one plan (the clients it covers by name where the
reader may see them, the others counted), writing and changing one, archiving it, and linking a
client from their record (the client page's section)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from carecycle.forms import ConfirmForm
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import format_day
from carecycle.pages import change_and_return
from carecycle.permissions import Permission, can, requires
from carecycle.validation import Conflict, Invalid
from casework.enums import GroupPlanKind
from casework.forms import GroupPlanForm, GroupPlanMemberForm
from casework.service import groupplans as service
from casework.views import bp, enum_label, register_client_section
from casework.views.common import conflict_page, place_errors

FIELDS = ("name", "kind", "meeting_point", "leader", "checks", "others", "last_drill_id")


def _client_section(client):
    if not can(Permission.CLIENTS_VIEW):
        return {"group_plans_of": [], "group_plan_form": None}
    covering = service.plans_of(current_user, client)
    form = None
    if can(Permission.CLIENTS_EDIT):
        choices = [SelectChoice(str(p.id), p.name) for p in service.open_plans(current_user)
                   if p.id not in {c.id for c in covering}]
        if choices:
            form = GroupPlanMemberForm()
            form.plan_id.choices = choices
    return {"group_plans_of": covering, "group_plan_form": form}


register_client_section("casework/groupplans/_client_section.html", _client_section)


def _load(plan_id):
    plan = service.load(current_user, plan_id)
    if plan is None:
        abort(404)
    return plan


def _form(plan=None) -> GroupPlanForm:
    form = GroupPlanForm()
    form.last_drill_id.choices = [SelectChoice("", _("None yet"))] + [
        SelectChoice(str(d.id), f"{format_day(d.held_on)} · {d.scenario}") for d in service.drills(current_user)]
    if plan is not None and request.method == "GET":
        form.version.data = str(plan.version)
        roles = plan.roles or {}
        form.name.data, form.kind.data, form.meeting_point.data = plan.name, plan.kind, plan.meeting_point
        form.leader.data, form.checks.data = roles.get("leader", ""), roles.get("checks", "")
        form.others.data = str(plan.others)
        form.last_drill_id.data = str(plan.last_drill_id) if plan.last_drill_id else ""
    return form


def _data(form: GroupPlanForm) -> dict:
    return {name: form[name].data for name in FIELDS}


@bp.route("/group-plans")
@requires(Permission.CLIENTS_VIEW)
def group_plans():
    archived = request.args.get("archived") == "1"
    return render_template("casework/groupplans/list.html", rows=service.listing(current_user, archived),
                           archived=archived, kind_label=enum_label(GroupPlanKind),
                           drills={d.id: d for d in service.drills(current_user)})


@bp.route("/group-plans/new", methods=["GET", "POST"])
@requires(Permission.CLIENTS_EDIT)
def group_plan_new():
    form = _form()
    if form.validate_on_submit():
        try:
            with undone_on_error():
                plan = service.create(current_user, _data(form))
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Group plan saved. Link the clients it covers from their records."), "success")
            return redirect(url_for("casework.group_plan", plan_id=plan.id))
    return render_template("casework/groupplans/form.html", form=form, plan=None), 400 if form.errors else 200


@bp.route("/group-plans/<plan_id>")
@requires(Permission.CLIENTS_VIEW)
def group_plan(plan_id):
    plan = _load(plan_id)
    named, counted = service.coverage(current_user, plan)
    return render_template("casework/groupplans/detail.html", plan=plan, named=named, counted=counted,
                           drill=service.drill_of(current_user, plan), kind_label=enum_label(GroupPlanKind),
                           confirm=ConfirmForm())


@bp.route("/group-plans/<plan_id>/edit", methods=["GET", "POST"])
@requires(Permission.CLIENTS_EDIT)
def group_plan_edit(plan_id):
    plan = _load(plan_id)
    back = url_for("casework.group_plan", plan_id=plan.id)
    if plan.archived:
        flash(_("This group plan is archived."), "error")
        return redirect(back)
    form = _form(plan)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.update(current_user, plan, _data(form), form.version.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, back)
        else:
            flash(_("Group plan saved."), "success")
            return redirect(back)
    return render_template("casework/groupplans/form.html", form=form, plan=plan), 400 if form.errors else 200


@bp.route("/group-plans/<plan_id>/archive", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def group_plan_archive(plan_id):
    plan = _load(plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(url_for("casework.group_plan", plan_id=plan.id),
                             lambda: service.archive(current_user, plan, request.form.get("version")),
                             _("Group plan archived. Its record is kept."))


@bp.route("/clients/<client_id>/group-plans", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def group_plan_add_client(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    form = GroupPlanMemberForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("casework.client_detail", client_id=client.id) + "#group-plans-heading"
    plan = service.load(current_user, form.plan_id.data)
    if plan is None:
        flash(_("Choose one of your team's group plans."), "error")
        return redirect(back)
    return change_and_return(back, lambda: service.add_member(current_user, plan, client),
                             _("Added to the group plan \"%(name)s\".", name=plan.name))


@bp.route("/group-plans/<plan_id>/clients/<client_id>/remove", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def group_plan_remove_client(plan_id, client_id):
    plan = _load(plan_id)
    client = load_visible("client", client_id, current_user, audit=False)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return change_and_return(url_for("casework.group_plan", plan_id=plan.id),
                             lambda: service.remove_member(current_user, plan, client),
                             _("%(name)s is no longer covered by this plan.", name=client.display_name))
