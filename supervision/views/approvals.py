"""The one approvals queue."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.pages import try_transition
from carecycle.permissions import Permission, requires
from supervision.forms import DecisionForm
from supervision.service import approvals as service
from supervision.views import bp


@bp.route("/supervision/approvals")
@requires(Permission.APPROVALS)
def approvals():
    items = service.queue(current_user)
    decisions = service.recent_decisions(current_user)
    return render_template("supervision/approvals.html", items=items, decisions=decisions, form=DecisionForm(),
                           kinds=service.KINDS, decision_labels=service.DECISION_LABELS)


@bp.route("/supervision/approvals/<kind>/<item_id>", methods=["POST"])
@requires(Permission.APPROVALS)
def decide(kind, item_id):
    form = DecisionForm()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)  # a comment too long is the service's to refuse, with its message
    if kind not in service.DECISIONS:
        abort(404)
    return try_transition(url_for("supervision.approvals"),
                          lambda: service.decide(current_user, kind, item_id, request.form.get("decision", ""),
                                                 form.comment.data),
                          _("Decision recorded."))
