"""Partner agreement pages: an agreement with its commitments and contact people, the form to add
and edit one, and the agreements expiring within 60 days. For those who manage the directory
(supervisors and admins); the organisation's page shows every directory reader the list."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import load_visible, undone_on_error
from carecycle.localtime import today as local_today
from carecycle.permissions import Permission, requires
from carecycle.validation import Conflict, Invalid
from referrals.forms import AgreementForm
from referrals.models import Organisation
from referrals.service import agreements as service
from referrals.views import bp, conflict_page, place_errors

FIELDS = ("title", "valid_from", "valid_to", "review_on", "document_reference")


@bp.route("/directory/agreements/expiring")
@requires(Permission.DIRECTORY_EDIT)
def agreements_expiring():
    today = local_today()
    return render_template("referrals/agreements/expiring.html", agreements=service.expiring(today), today=today,
                           state=service.state)


@bp.route("/directory/agreements/<agreement_id>")
@requires(Permission.DIRECTORY_EDIT)
def agreement_detail(agreement_id):
    agreement = load_visible("partner_agreement", agreement_id, current_user)
    return render_template("referrals/agreements/detail.html", agreement=agreement, org=agreement.organisation,
                           state=service.state(agreement), review_due=service.review_due(agreement))


@bp.route("/directory/organisations/<org_id>/agreements/new", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def agreement_new(org_id):
    org = load_visible("organisation", org_id, current_user, where=(Organisation.archived_at.is_(None),))
    return _agreement_page(org, None)


@bp.route("/directory/agreements/<agreement_id>/edit", methods=["GET", "POST"])
@requires(Permission.DIRECTORY_EDIT)
def agreement_edit(agreement_id):
    agreement = load_visible("partner_agreement", agreement_id, current_user)
    return _agreement_page(agreement.organisation, agreement)


def _filled_form(agreement) -> AgreementForm:
    form = AgreementForm()
    if request.method != "GET" or agreement is None:
        return form
    for name in FIELDS:
        value = getattr(agreement, name)
        form[name].data = value.isoformat() if hasattr(value, "isoformat") else value
    form.version.data = agreement.version
    for field, rows, names in ((form.commitments, agreement.commitments or [], ("side", "quantity", "unit", "what")),
                               (form.contacts, agreement.contacts or [], ("name", "phone", "role"))):
        while len(field.entries) < len(rows) + 1 and len(field.entries) < field.max_entries:
            field.append_entry()
        for entry, row in zip(field.entries, rows, strict=False):
            for name in names:
                entry.form[name].data = row.get(name)
    return form


def _data(form: AgreementForm) -> dict:
    data: dict = {name: form[name].data for name in FIELDS}
    data["commitments"] = [{name: e.form[name].data for name in ("side", "quantity", "unit", "what")}
                           for e in form.commitments.entries]
    data["contacts"] = [{name: e.form[name].data for name in ("name", "phone", "role")} for e in form.contacts.entries]
    return data


def _agreement_page(org, agreement):
    form = _filled_form(agreement)
    if form.validate_on_submit():
        try:
            with undone_on_error():
                if agreement is None:
                    saved = service.create_agreement(current_user, org, _data(form))
                else:
                    saved = service.update_agreement(current_user, agreement, _data(form), form.version.data)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:
            return conflict_page(error, url_for("referrals.agreement_edit", agreement_id=agreement.id))
        else:
            flash(_("Agreement saved.") if agreement else _("Agreement added."), "success")
            return redirect(url_for("referrals.agreement_detail", agreement_id=saved.id))
    return render_template("referrals/agreements/form.html", form=form, org=org, agreement=agreement), \
        400 if form.errors else 200
