"""The one approvals queue."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.pages import save_form
from carecycle.permissions import Permission, requires
from supervision.forms import DecisionForm
from supervision.service import approvals as service
from supervision.views import bp


@bp.route("/supervision/approvals")
@requires(Permission.APPROVALS)
def approvals():
    """One compact row per waiting item (kind, who, risk, waiting since), filtered by `?kind=`;
    the decision is taken on the item's own page."""
    items = service.queue(current_user)
    kind = request.args.get("kind", "")
    unknown_kind = bool(kind) and kind not in service.KINDS
    counts = {k: sum(1 for i in items if i.kind == k) for k in service.KINDS}
    shown = [i for i in items if i.kind == kind] if kind and not unknown_kind else items
    return render_template("supervision/approvals.html", items=shown, total=len(items), counts=counts,
                           kind=None if unknown_kind else (kind or None), unknown_kind=unknown_kind,
                           decisions=service.recent_decisions(current_user), kinds=service.KINDS,
                           decision_labels=service.DECISION_LABELS)


@bp.route("/supervision/approvals/<kind>/<item_id>", methods=["GET", "POST"])
@requires(Permission.APPROVALS)
def decide(kind, item_id):
    form = DecisionForm()
    if request.method == "POST":
        if not form.validate_on_submit() and "csrf_token" in form.errors:
            abort(400)
        form.comment.errors = []  # a comment too long is the service's to refuse, with its message
        if kind not in service.DECISIONS:
            abort(404)
        # the service decides what may be decided (404, 403 for one's own, 409 when already decided)
        done = save_form(form, url_for("supervision.approvals"),
                         lambda: service.decide(current_user, kind, item_id, request.form.get("decision", ""),
                                                form.comment.data),
                         _("Decision recorded."))
        if done is not None:
            return done
    # the item's page (again, with the refusal's message, after an invalid decision); opening it is audited
    item = service.find(current_user, kind, item_id)
    if item is None:
        abort(404)  # unknown, another team's, or no longer waiting: the error page leads back
    return (render_template("supervision/approval_item.html", item=item, form=form),
            400 if request.method == "POST" else 200)
