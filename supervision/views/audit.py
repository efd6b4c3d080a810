"""The audit viewer."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.audit import ACTION_LABELS, OUTCOME_LABELS, RECORD_LABELS
from carecycle.forms import ConfirmForm
from carecycle.permissions import Permission, requires
from carecycle.roles import Role
from carecycle.urls import page_arg
from carecycle.validation import Invalid
from supervision.service import audit_view as service
from supervision.views import bp


def role_label(code):
    return Role(code).label if code in Role._value2member_map_ else code


@bp.route("/supervision/audit")
@requires(Permission.AUDIT_VIEW)
def audit():
    filters, errors = service.clean_filters(request.args)
    page = None
    if not errors:
        try:
            page = service.events(current_user, filters, page_arg())
        except Invalid as error:
            errors = error.fields
    chain = service.chain_status(current_user)
    return render_template("supervision/audit.html", filters=filters, errors=errors, page=page, chain=chain,
                           chain_length=service.chain_length(), actions=service.ACTIONS, sorts=service.SORTS,
                           action_labels=ACTION_LABELS, record_labels=RECORD_LABELS,
                           outcome_labels=OUTCOME_LABELS, role_label=role_label,
                           record_choices=sorted(RECORD_LABELS.items(), key=lambda item: str(item[1])),
                           form=ConfirmForm()), 400 if errors else 200


@bp.route("/supervision/audit/verify", methods=["POST"])
@requires(Permission.AUDIT_VIEW)
def audit_verify():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = service.verify_now(current_user)
    if row.ok:
        flash(_("The audit chain verifies: %(n)d events, none edited, deleted or reordered.", n=row.event_count),
              "success")
    else:
        flash(_("The audit chain does NOT verify from event %(seq)s. Tell your administrator at once.",
                seq=row.first_bad), "error")
    return redirect(url_for("supervision.audit"))
