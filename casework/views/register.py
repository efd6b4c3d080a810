"""Vulnerable-person register pages: the register with filters and one-click outreach, an entry
with its history, adding and editing an entry from the client page, taking someone off it."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.localtime import format_day
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg, safe_next
from carecycle.validation import Conflict, Invalid
from casework.enums import OutreachOutcome, RegisterFlag, Tier
from casework.forms import OutreachForm, RegisterEntryForm, RegisterFilterForm, RemoveEntryForm
from casework.service import register as service
from casework.views import REGISTER_ENTRY_SECTIONS, bp, enum_label, register_client_section
from casework.views.common import conflict_page, place_errors, refused_back_to


def interval_text(interval) -> str:
    days = interval.total_seconds() / 86400
    if days == int(days):
        return ngettext("every %(num)d day", "every %(num)d days", int(days))
    return _("every %(days)s days", days=format_decimal(round(days, 1)))


@bp.context_processor
def register_helpers():
    return {"tier_label": enum_label(Tier), "flag_label": enum_label(RegisterFlag),
            "outcome_label": enum_label(OutreachOutcome),
            "outreach_outcomes": list(OutreachOutcome), "change_label": service.change_label,
            "interval_text": interval_text}


def _client_section(client):
    """The register's part of the client page: on it (tier, next outreach) or a link to add."""
    if not can(Permission.REGISTER_MANAGE):
        return {"register_entry": None, "register_due": None, "register_overdue": False}
    entry = service.entry_for_client(client)
    sched = service.schedule() if entry is not None and entry.on_register else None
    return {"register_entry": entry, "register_due": sched.due(entry) if sched else None,
            "register_overdue": sched.overdue(entry) if sched else False}


register_client_section("casework/register/_client_section.html", _client_section)


def _tier_legend():
    sched = service.schedule()
    return [(tier, tier.meaning, sched.interval(tier)) for tier in reversed(Tier)], sched.mode.emergency


@bp.route("/vulnerable-register")
@requires(Permission.REGISTER_MANAGE)
def vulnerable_register():
    form = RegisterFilterForm(request.args)
    listing, status = None, 200
    try:
        listing = service.list_entries(current_user, tier=form.tier.data, flag=form.flag.data,
                                       overdue=bool(form.overdue.data), page=page_arg())
    except Invalid as error:
        place_errors(form, error)
        status = 400
    legend, emergency = _tier_legend()
    filters = {"tier": form.tier.data or None, "flag": form.flag.data or None,
               "overdue": "y" if form.overdue.data else None}
    return render_template("casework/register/list.html", form=form, listing=listing, legend=legend,
                           emergency=emergency, filters=filters, here=request.full_path.rstrip("?")), status


def _entry_page(entry, filled_form=None, status=200):
    sched = service.schedule()
    legend, emergency = _tier_legend()
    here = url_for("casework.register_entry", entry_id=entry.id)
    sections: dict = {}
    for _template, context in REGISTER_ENTRY_SECTIONS:  # other areas' parts (household reserves)
        sections.update(context(entry, here))
    return render_template(
        "casework/register/entry.html", entry=entry, due=sched.due(entry), overdue=sched.overdue(entry),
        interval=sched.interval(entry.tier), emergency=emergency, legend=legend,
        log=service.outreach_log(entry, page_arg()), changes=service.entry_changes(entry),
        describe_change=service.describe_change, filled_form=filled_form, here=here,
        entry_sections=[t for t, _c in REGISTER_ENTRY_SECTIONS], **sections), status


@bp.route("/vulnerable-register/<entry_id>")
@requires(Permission.REGISTER_MANAGE)
def register_entry(entry_id):
    entry = load_visible("register_entry", entry_id, current_user)
    return _entry_page(entry)


@bp.route("/vulnerable-register/<entry_id>/outreach", methods=["POST"])
@requires(Permission.REGISTER_MANAGE)
def register_outreach(entry_id):
    entry = load_visible("register_entry", entry_id, current_user, audit=False)
    form = OutreachForm()
    back = safe_next(form.next.data) or url_for("casework.vulnerable_register")
    try:
        with undone_on_error():
            row = service.log_outreach(current_user, entry, form.outcome.data, form.note.data, bool(form.concern.data))
    except Invalid as error:
        entry = load_visible("register_entry", entry_id, current_user)
        keep_refusal()  # the entry shown again is a view, audited (the refused outreach was undone)
        place_errors(form, error)
        return _entry_page(entry, filled_form=form, status=400)
    except Conflict as error:
        return refused_back_to(error, back)
    due = service.next_due(entry)
    if row.alert_id:
        flash(_("Outreach logged for %(name)s. The concern was sent to the triage queue as an urgent alert.",
                name=entry.client.display_name), "warning")
    elif row.concern:
        flash(_("Outreach logged for %(name)s with a concern. Consider raising the tier: only a red-tier "
                "concern alerts the triage queue.", name=entry.client.display_name), "warning")
    else:
        flash(_("Outreach logged for %(name)s. Next outreach due %(date)s.", name=entry.client.display_name,
                date=format_day(due)), "success")
    return redirect(back)


def _edit_form(entry=None):
    form = RegisterEntryForm()
    if request.method == "GET" and entry is not None:
        form.version.data = entry.version
        form.tier.data = entry.tier
        form.flags.data = list(entry.flags or [])
        form.flag_other.data = entry.flag_other or ""
    return form


def _entry_data(form) -> dict:
    return {"tier": form.tier.data, "flags": form.flags.data, "flag_other": form.flag_other.data,
            "note": form.note.data}


def _edit_page(form, client, entry=None, returning=False):
    """The add / change form (400 when it shows errors)."""
    legend, emergency = _tier_legend()
    return render_template("casework/register/edit.html", form=form, client=client, entry=entry,
                           returning=returning, legend=legend, emergency=emergency), 400 if form.errors else 200


@bp.route("/clients/<client_id>/vulnerable-register", methods=["GET", "POST"])
@requires(Permission.REGISTER_MANAGE)
def register_add(client_id):
    client = load_visible("client", client_id, current_user, audit=request.method == "GET")
    entry = service.entry_for_client(client)
    if entry is not None and entry.on_register:
        return redirect(url_for("casework.register_edit", entry_id=entry.id))
    form = _edit_form(entry)  # an entry taken off the register comes back with its last tier and reasons
    if form.validate_on_submit():
        try:
            with undone_on_error():
                entry = service.add_to_register(current_user, client, _entry_data(form))
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("casework.register_add", client_id=client_id))
        else:
            flash(_("%(name)s is on the register. Next outreach due %(date)s.", name=client.display_name,
                    date=format_day(service.next_due(entry))), "success")
            return redirect(url_for("casework.register_entry", entry_id=entry.id))
    return _edit_page(form, client, returning=entry is not None)


@bp.route("/vulnerable-register/<entry_id>/edit", methods=["GET", "POST"])
@requires(Permission.REGISTER_MANAGE)
def register_edit(entry_id):
    entry = load_visible("register_entry", entry_id, current_user, audit=request.method == "GET")
    if not entry.on_register:
        return redirect(url_for("casework.register_add", client_id=entry.client_id))
    form = _edit_form(entry)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.update_entry(current_user, entry, form.version.data, _entry_data(form))
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("casework.register_entry", entry_id=entry_id))
        else:
            flash(_("Register entry saved."), "success")
            return redirect(url_for("casework.register_entry", entry_id=entry.id))
    return _edit_page(form, entry.client, entry)


@bp.route("/vulnerable-register/<entry_id>/remove", methods=["GET", "POST"])
@requires(Permission.REGISTER_MANAGE)
def register_remove(entry_id):
    entry = load_visible("register_entry", entry_id, current_user, audit=request.method == "GET")
    if not entry.on_register:
        flash(_("This client is no longer on the register."), "error")
        return redirect(url_for("casework.register_entry", entry_id=entry.id))
    form = RemoveEntryForm()
    if request.method == "GET":
        form.version.data = entry.version
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.remove_from_register(current_user, entry, form.version.data, form.reason.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("casework.register_entry", entry_id=entry_id))
        else:
            flash(_("%(name)s was taken off the register. The history is kept.",
                    name=entry.client.display_name), "success")
            return redirect(url_for("casework.register_entry", entry_id=entry.id))
    return render_template("casework/register/remove.html", form=form, entry=entry), 400 if form.errors else 200
