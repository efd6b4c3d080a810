"""Partner directory pages: search and filters for staff; organisations, places and services edited
by admins and supervisors; capacity updates; HSDS 3.0 export and import."""
from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.forms import ConfirmForm, chosen_file
from carecycle.i18n import language_name
from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.pagination import CappedPage
from carecycle.permissions import Permission, requires
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from referrals.enums import LANGUAGE_NAMES, Capacity, ServiceType, Tier
from referrals.forms import CapacityForm, ImportForm, LocationForm, OrganisationForm, ServiceForm
from referrals.models import Organisation
from referrals.service import agreements, directory, hsds
from referrals.views import bp, conflict_page, place_errors

PER_PAGE = 25


def _page_of(rows: list, page: int, per_page: int = PER_PAGE) -> CappedPage:
    """One page of an already filtered list (the page number kept within the pages there are)."""
    page = min(max(1, page), max(1, -(-len(rows) // per_page)))
    start = (page - 1) * per_page
    return CappedPage.from_rows(rows[start:start + per_page + 1], page, per_page, total=len(rows))


def _current_organisation(org_id):
    """An organisation that is not archived, for the pages that change it (an archived one answers 404)."""
    return load_visible("organisation", org_id, current_user, where=(Organisation.archived_at.is_(None),))


@bp.route("/directory")
@requires(Permission.DIRECTORY_VIEW)
def directory_search():
    filters = directory.DirectoryFilters.from_args(request.args)
    services = directory.search_services(filters)
    page = _page_of(services, page_arg())
    return render_template("referrals/directory/search.html", page=page, flt=filters, tiers=list(Tier),
                           without_services=directory.organisations_without_services(filters),
                           types=list(ServiceType), capacities=list(Capacity),
                           language_choices=directory.language_options(), is_open=directory.is_open,
                           now=directory.local_now())


@bp.route("/directory/organisations/<org_id>")
@requires(Permission.DIRECTORY_VIEW)
def organisation_detail(org_id):
    org = load_visible("organisation", org_id, current_user)
    return render_template("referrals/directory/organisation.html", org=org, is_open=directory.is_open,
                           now=directory.local_now(), capacity_form=CapacityForm(),
                           agreements=agreements.agreements_of(org), agreement_state=agreements.state,
                           agreement_review_due=agreements.review_due)


def _org_data(form: OrganisationForm) -> dict:
    return {name: form[name].data for name in ("name", "alternate_name", "tier", "description", "phone", "email",
                                               "website", "has_agreement", "agreement_start", "agreement_end",
                                               "agreement_note", "is_example")}


@bp.route("/directory/organisations/new", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def organisation_new():
    return _organisation_form(None)


@bp.route("/directory/organisations/<org_id>/edit", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def organisation_edit(org_id):
    return _organisation_form(_current_organisation(org_id))


def _organisation_form(org):
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    if request.method == "GET" and org is not None:
        form.tier.data = str(org.tier)
        form.version.data = org.version
    if form.validate_on_submit():
        try:
            with undone_on_error():
                if org is None:
                    saved = directory.create_organisation(current_user, _org_data(form))
                else:
                    saved = directory.update_organisation(current_user, org, _org_data(form), form.version.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("referrals.organisation_edit", org_id=org.id))
        else:
            flash(_("Organisation saved.") if org else _("Organisation added. Now add its services."), "success")
            return redirect(url_for("referrals.organisation_detail", org_id=saved.id))
    return render_template("referrals/directory/organisation_form.html", form=form, org=org), \
        400 if form.errors else 200


@bp.route("/directory/organisations/<org_id>/archive", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def organisation_archive(org_id):
    org = _current_organisation(org_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        directory.archive_organisation(current_user, org)
        flash(_("%(name)s is archived: it no longer appears in the directory or on Find help.", name=org.name),
              "success")
        return redirect(url_for("referrals.directory_search"))
    return render_template("referrals/directory/archive.html", form=form, what=org.name,
                           back=url_for("referrals.organisation_detail", org_id=org.id))


@bp.route("/directory/organisations/<org_id>/locations/new", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def location_new(org_id):
    return _location_form(_current_organisation(org_id), None)


@bp.route("/directory/locations/<location_id>/edit", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def location_edit(location_id):
    location = load_visible("location", location_id, current_user)
    return _location_form(location.organisation, location)


def _location_form(org, location):
    form = LocationForm(obj=location if request.method == "GET" else None)
    if form.validate_on_submit():
        data = {name: form[name].data for name in ("name", "address_1", "address_2", "city", "region",
                                                   "state_province", "postal_code", "country", "transportation",
                                                   "description", "latitude", "longitude")}
        try:
            with undone_on_error():
                directory.save_location(current_user, org, data, location)
        except Invalid as error:
            place_errors(form, error)
        else:
            flash(_("Place saved."), "success")
            return redirect(url_for("referrals.organisation_detail", org_id=org.id))
    return render_template("referrals/directory/location_form.html", form=form, org=org, location=location), \
        400 if form.errors else 200


# ------------------------------------------------------------------ services
def _service_form(org, service=None) -> ServiceForm:
    form = ServiceForm()
    codes = {code: language_name(code, name) for code, name in LANGUAGE_NAMES.items()}
    if service is not None:
        codes.update({lang.code: language_name(lang.code, lang.name) for lang in service.languages})
    form.languages.choices = sorted(codes.items(), key=lambda item: (item[0] != "en", item[1]))
    form.locations.choices = [(str(loc.id), f"{loc.name} — {loc.address_line}" if loc.address_line else loc.name)
                              for loc in org.locations]
    if request.method == "GET" and service is not None:
        for name in ("name", "description", "eligibility", "minimum_age", "maximum_age", "service_area",
                     "application_process", "email", "url", "hours_note", "capacity", "status", "public",
                     "crisis_line"):
            form[name].data = getattr(service, name)
        form.version.data = service.version
        form.types.data = service.type_codes
        form.languages.data = service.language_codes
        form.locations.data = [str(loc.id) for loc in service.locations]
        phones = list(service.phones or [])
        while len(form.phones.entries) < len(phones) + 1 and len(form.phones.entries) < form.phones.max_entries:
            form.phones.append_entry()
        for entry, phone in zip(form.phones.entries, phones, strict=False):
            entry.form.number.data, entry.form.type.data = phone.get("number"), phone.get("type") or "voice"
            entry.form.description.data = phone.get("description")
        rows = list(service.schedules)
        while len(form.schedules.entries) < len(rows) + 1 and len(form.schedules.entries) < form.schedules.max_entries:
            form.schedules.append_entry()
        for entry, row in zip(form.schedules.entries, rows, strict=False):
            entry.form.byday.choices = _with_choice(entry.form.byday.choices, row.byday)
            entry.form.byday.data, entry.form.opens_at.data = row.byday, row.opens_at
            entry.form.closes_at.data = row.closes_at
            entry.form.timezone.data = "" if row.utc_offset_minutes is None else str(row.utc_offset_minutes / 60)
            entry.form.description.data = row.description or ""
    elif request.method == "POST":
        for entry in form.schedules.entries:
            entry.form.byday.choices = _with_choice(entry.form.byday.choices, entry.form.byday.data)
    return form


def _with_choice(choices, value):
    choices = list(choices() if callable(choices) else choices)
    if value and value not in [c[0] for c in choices]:
        choices.append((value, value))
    return choices


def _service_data(form: ServiceForm) -> dict:
    languages = list(form.languages.data or [])
    languages += [code.strip() for code in (form.other_languages.data or "").split(",") if code.strip()]
    return {
        "name": form.name.data, "description": form.description.data, "types": form.types.data or [],
        "languages": languages, "eligibility": form.eligibility.data, "minimum_age": form.minimum_age.data,
        "maximum_age": form.maximum_age.data, "service_area": form.service_area.data,
        "application_process": form.application_process.data, "email": form.email.data, "url": form.url.data,
        "hours_note": form.hours_note.data, "capacity": form.capacity.data, "status": form.status.data,
        "public": form.public.data, "crisis_line": form.crisis_line.data,
        "phones": [{"number": e.form.number.data, "type": e.form.type.data, "description": e.form.description.data}
                   for e in form.phones.entries],
        "schedules": [{"byday": e.form.byday.data, "opens_at": e.form.opens_at.data, "closes_at": e.form.closes_at.data,
                       "timezone": e.form.timezone.data, "description": e.form.description.data}
                      for e in form.schedules.entries],
        "location_ids": form.locations.data or [],
    }


@bp.route("/directory/organisations/<org_id>/services/new", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def service_new(org_id):
    return _service_page(_current_organisation(org_id), None)


@bp.route("/directory/services/<service_id>/edit", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def service_edit(service_id):
    service = load_visible("partner_service", service_id, current_user)
    return _service_page(service.organisation, service)


def _service_page(org, service):
    form = _service_form(org, service)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                if service is None:
                    directory.create_service(current_user, org, _service_data(form))
                else:
                    directory.update_service(current_user, service, _service_data(form), form.version.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("referrals.service_edit", service_id=service.id))
        else:
            flash(_("Service saved.") if service else _("Service added."), "success")
            return redirect(url_for("referrals.organisation_detail", org_id=org.id))
    return render_template("referrals/directory/service_form.html", form=form, org=org, service=service), \
        400 if form.errors else 200


@bp.route("/directory/services/<service_id>/capacity", methods=["POST"])
@requires(Permission.DIRECTORY_EDIT)
def service_capacity(service_id):
    service = load_visible("partner_service", service_id, current_user)
    form = CapacityForm()
    if not form.validate_on_submit():
        abort(400)
    directory.update_capacity(current_user, service, form.capacity.data)
    flash(_("Capacity of %(name)s set to %(capacity)s.", name=service.name, capacity=Capacity(service.capacity).label),
          "success")
    return redirect(url_for("referrals.organisation_detail", org_id=service.organisation_id))


@bp.route("/directory/services/<service_id>/archive", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def service_archive(service_id):
    service = load_visible("partner_service", service_id, current_user)
    form = ConfirmForm()
    if form.validate_on_submit():
        directory.archive_service(current_user, service)
        flash(_("%(name)s is archived. Referrals already made to it keep their history.", name=service.name),
              "success")
        return redirect(url_for("referrals.organisation_detail", org_id=service.organisation_id))
    return render_template("referrals/directory/archive.html", form=form, what=service.name,
                           back=url_for("referrals.organisation_detail", org_id=service.organisation_id))


# ------------------------------------------------------------------ HSDS exchange
@bp.route("/directory/export.json")
@requires(Permission.DIRECTORY_VIEW)
def directory_export():
    payload = hsds.export_directory()
    body = json.dumps(payload, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=carecycle-directory-hsds.json"})


@bp.route("/directory/import", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def directory_import():
    form = ImportForm()
    problems = None
    status = 200
    if form.validate_on_submit():
        upload = chosen_file(form.file)
        if upload is None:
            status = 400
        else:
            try:
                payload = json.loads(upload.read().decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as error:
                form.file.errors = [_("This is not a JSON file (%(detail)s).", detail=str(error)[:120])]
                status = 400
            else:
                try:
                    with undone_on_error():
                        report = hsds.import_directory(payload, current_user, form.default_tier.data or None)
                except hsds.ImportRefused as refused:
                    problems = refused.problems
                    status = 422
                else:
                    flash(_("Imported: %(oc)d organisations added, %(ou)d updated; %(sc)d services added, %(su)d "
                            "updated.", oc=report.organisations_created, ou=report.organisations_updated,
                            sc=report.services_created, su=report.services_updated), "success")
                    return redirect(url_for("referrals.directory_search"))
    elif request.method == "POST":
        status = 400
    return render_template("referrals/directory/import.html", form=form, problems=problems), status
