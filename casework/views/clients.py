"""Client pages: search, register (with duplicate warning), view, edit, consents, open a case."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.permissions import Permission, requires
from carecycle.urls import page_arg, page_number
from carecycle.validation import Conflict, Invalid
from casework.forms import ConsentForm, EditClientForm, NewClientForm, OpenCaseForm, SearchForm
from casework.service import access
from casework.service import cases as case_service
from casework.service import clients as service
from casework.views import CLIENT_SECTIONS, bp
from casework.views.common import conflict_page, personal_data_in_url, place_errors, url_search_refused

FIELDS = service.CLIENT_FIELDS


def _posted_page() -> int:
    return page_number(request.form.get("page", 1))


@bp.route("/clients", methods=["GET", "POST"])
@requires(Permission.CLIENTS_VIEW)
def clients():
    """Recent clients (paged by GET), and the search by phone, ID number or full name: POSTed (CSRF-checked
    for every POST), its results shown on the POST response and paged by POST, so none is in a URL."""
    results, message, status = None, None, 200
    if request.method == "POST":
        search = SearchForm()
        results = service.search_clients_page(current_user, _posted_page(), phone=search.phone.data,
                                              id_number=search.id_number.data, name=search.name.data)
        if results is None:
            message, status = _("Enter a phone number, an ID number or a full name to search."), 400
        pagination = service.recent_clients(current_user, 1)
    else:
        search = SearchForm(formdata=None)
        if personal_data_in_url():  # not searched: the values would be in logs and history
            message, status = url_search_refused(), 400
        pagination = service.recent_clients(current_user, page_arg())
    return render_template("casework/clients/list.html", search=search, results=results, pagination=pagination,
                           message=message), status


@bp.route("/clients/new", methods=["GET", "POST"])
@requires(Permission.CLIENTS_EDIT)
def client_new():
    form = NewClientForm()
    duplicate = None
    if form.validate_on_submit():
        data = {name: form[name].data for name in FIELDS}
        try:
            with undone_on_error():
                client = service.register_client(current_user, data, confirm_duplicate=form.confirm_different.data)
        except Invalid as error:
            place_errors(form, error)
        except service.DuplicateFound as found:
            service.note_duplicate_matches(current_user, found)
            keep_refusal()  # the audit of the match stays
            duplicate = found
        else:
            flash(_("Client registered."), "success")
            return redirect(url_for("casework.client_detail", client_id=client.id))
    status = 400 if form.errors else (429 if duplicate and duplicate.refused else 409 if duplicate else 200)
    return render_template("casework/clients/new.html", form=form, duplicate=duplicate), status


@bp.route("/clients/<client_id>")
@requires(Permission.CLIENTS_VIEW)
def client_detail(client_id):
    client = load_visible("client", client_id, current_user)
    client_cases, visible = access.cases_of_client(current_user, client)
    sections = {}
    for _template, context in CLIENT_SECTIONS:
        sections.update(context(client))
    return render_template("casework/clients/detail.html", client=client, cases=client_cases, visible=visible,
                           consent_form=ConsentForm(), open_form=OpenCaseForm(),
                           client_sections=[t for t, _c in CLIENT_SECTIONS], **sections)


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@requires(Permission.CLIENTS_EDIT)
def client_edit(client_id):
    client = load_visible("client", client_id, current_user, audit=request.method == "GET")
    form = EditClientForm(obj=client if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = client.version
    if form.validate_on_submit():
        try:
            with undone_on_error():
                service.update_client(current_user, client, form.version.data,
                                      {name: form[name].data for name in FIELDS})
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("casework.client_edit", client_id=client_id))
        else:
            flash(_("Client saved."), "success")
            return redirect(url_for("casework.client_detail", client_id=client.id))
    return render_template("casework/clients/edit.html", form=form, client=client), 400 if form.errors else 200


@bp.route("/clients/<client_id>/consents", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def consent_record(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.record_consent(current_user, client, form.scope.data)
    except Invalid as error:
        flash(error.fields["scope"], "error")
        return redirect(url_for("casework.client_detail", client_id=client.id))
    flash(_("Consent recorded."), "success")
    return redirect(url_for("casework.client_detail", client_id=client.id))


@bp.route("/clients/<client_id>/consents/<consent_id>/withdraw", methods=["POST"])
@requires(Permission.CLIENTS_EDIT)
def consent_withdraw(client_id, consent_id):
    client = load_visible("client", client_id, current_user, audit=False)  # CSRF: checked for every POST
    service.withdraw_consent(current_user, client, consent_id)
    flash(_("Consent withdrawn."), "success")
    return redirect(url_for("casework.client_detail", client_id=client.id))


@bp.route("/clients/<client_id>/cases", methods=["POST"])
@requires(Permission.CASES_EDIT)
def case_open(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    form = OpenCaseForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        case = case_service.open_case(current_user, client, risk_level=form.risk_level.data,
                                      source=form.source.data, priority=form.priority.data)
    except Invalid as error:
        for message in error.fields.values():
            flash(message, "error")
        return redirect(url_for("casework.client_detail", client_id=client.id))
    flash(_("Case opened. A first-contact task is due."), "success")
    return redirect(url_for("casework.case_detail", case_id=case.id))
