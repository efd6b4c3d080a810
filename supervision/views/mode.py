"""The operating mode: switch with a reason (after-action review when going back to normal), the
list of reviews, and the surge view."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.lifecycle import load_visible
from carecycle.mode import Mode, current_mode
from carecycle.permissions import Permission, access_held, requires, user_has
from carecycle.urls import page_arg
from carecycle.validation import Invalid
from casework.enums import Tier
from casework.views import enum_label
from casework.views.common import place_errors
from referrals.service import activations
from supervision.forms import ModeSwitchForm
from supervision.service import operating, stats
from supervision.views import bp


def _mode_page(form, status=200):
    state = current_mode()
    changes = operating.history()
    people = operating.users_by_id([c.switched_by_id for c in changes])
    # the page's one `mode` input (rendered by hidden_tag) asks for the other mode
    form.mode.data = Mode.NORMAL.value if state.emergency else Mode.EMERGENCY.value
    return render_template("supervision/mode.html", state=state, form=form, changes=changes,
                           people=people), status


@bp.route("/supervision/mode", methods=["GET", "POST"])
@requires(Permission.MODE_SWITCH)
def mode():
    form = ModeSwitchForm()
    if form.validate_on_submit():
        review = {name: getattr(form, name).data for name in operating.REVIEW_FIELDS}
        try:
            change, review_row = operating.switch(current_user, form.mode.data, form.reason.data, review)
        except Invalid as error:
            place_errors(form, error)
            return _mode_page(form, 400)
        if change.mode == Mode.EMERGENCY.value:
            flash(_("Emergency operation is on. Deadlines are halved and the surge view is open."), "warning")
        else:
            flash(_("Back to normal operation. The after-action review is saved."), "success")
        return redirect(url_for("supervision.review", review_id=review_row.id) if review_row
                        else url_for("supervision.mode"))
    if form.errors:
        return _mode_page(form, 400)
    return _mode_page(form)


@bp.route("/supervision/reviews")
@requires(Permission.STATS_VIEW)
def reviews():
    return render_template("supervision/reviews.html", pagination=operating.reviews(page_arg()))


@bp.route("/supervision/reviews/<review_id>")
@requires(Permission.STATS_VIEW)
def review(review_id):
    row = load_visible("after_action_review", review_id, current_user)
    activation = None  # the team's partner activations of the period (referrals' record), for who may see them
    if user_has(current_user, Permission.ACTIVATIONS) and not access_held(current_user) and row.emergency_change_id:
        chosen = activations.period(row.emergency_change_id)
        activation = activations.review(current_user, chosen) if chosen else None
    return render_template("supervision/review.html", review=row, figures=stats.present_stored(row.figures or {}),
                           activation=activation)


@bp.route("/supervision/surge")
@requires(Permission.SURGE_VIEW)
def surge():
    view = operating.surge(current_user)
    return render_template("supervision/surge.html", view=view, state=current_mode(), tier_label=enum_label(Tier))
