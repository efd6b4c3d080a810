"""One's own notifications: the list, opening one (marks it read), marking all read, e-mail settings."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import load_visible
from carecycle.notifications import email_enabled, mark_read
from carecycle.pages import save_form
from carecycle.permissions import Permission, requires
from carecycle.urls import page_arg, safe_next
from supervision.forms import NotificationSettingsForm
from supervision.service import notifications as service
from supervision.views import bp


@bp.route("/notifications")
@requires(Permission.NOTIFICATIONS)
def notifications():
    return render_template("supervision/notifications.html", pagination=db.paginate(
        service.own_notifications(current_user), page=page_arg(), per_page=30, error_out=False), form=ConfirmForm())


@bp.route("/notifications/<notification_id>", methods=["POST"])
@requires(Permission.NOTIFICATIONS)
def open_notification(notification_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = load_visible("notification", notification_id, current_user)
    mark_read(current_user, row.id)
    return redirect(safe_next(row.link) or url_for("supervision.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@requires(Permission.NOTIFICATIONS)
def read_all():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = mark_read(current_user)
    flash(_("%(n)d notifications marked read.", n=count), "success")
    return redirect(url_for("supervision.notifications"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@requires(Permission.NOTIFICATIONS)
def notification_settings():
    form = NotificationSettingsForm()
    if form.validate_on_submit():
        saved = save_form(form, url_for("supervision.notification_settings"),
                          lambda: service.save_email_setting(current_user, form.email.data, form.email_enabled.data),
                          _("Saved."))
        if saved:
            return saved
    elif not form.is_submitted():
        pref = service.email_setting(current_user)
        if pref is not None:
            form.email.data, form.email_enabled.data = pref.email, pref.email_enabled
    return render_template("supervision/notification_settings.html", form=form, enabled=email_enabled()), \
        400 if form.errors else 200
