"""One's own notifications: the list, opening one (marks it read), marking all read, e-mail settings."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.notifications import Notification, NotificationSetting, email_enabled, mark_read
from carecycle.permissions import Permission, requires
from carecycle.urls import page_arg, safe_next, uuid_or_404
from supervision.forms import NotificationSettingsForm
from supervision.views import bp


@bp.route("/notifications")
@requires(Permission.NOTIFICATIONS)
def notifications():
    stmt = (select(Notification).where(Notification.user_id == current_user.id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc()))
    return render_template("supervision/notifications.html", pagination=db.paginate(
        stmt, page=page_arg(), per_page=30, error_out=False), form=ConfirmForm())


@bp.route("/notifications/<notification_id>", methods=["POST"])
@requires(Permission.NOTIFICATIONS)
def open_notification(notification_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.scalar(select(Notification).where(Notification.id == uuid_or_404(notification_id),
                                                       Notification.user_id == current_user.id))
    if row is None:
        abort(404)
    mark_read(current_user, row.id)
    db.session.commit()
    return redirect(safe_next(row.link) or url_for("supervision.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@requires(Permission.NOTIFICATIONS)
def read_all():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = mark_read(current_user)
    db.session.commit()
    flash(_("%(n)d notifications marked read.", n=count), "success")
    return redirect(url_for("supervision.notifications"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@requires(Permission.NOTIFICATIONS)
def notification_settings():
    pref = db.session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == current_user.id))
    form = NotificationSettingsForm()
    if form.validate_on_submit():
        if form.email_enabled.data and not form.email.data:
            form.email.errors = [_("Enter the address to send to, or leave e-mail off.")]
        else:
            if pref is None:
                pref = NotificationSetting(user_id=current_user.id)
                db.session.add(pref)
            pref.email = (form.email.data or "").strip() or None
            pref.email_enabled = bool(form.email_enabled.data)
            pref.updated_at = utcnow()
            record_event("update", "notification_setting", current_user.id)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("supervision.notification_settings"))
    elif not form.is_submitted() and pref is not None:
        form.email.data, form.email_enabled.data = pref.email, pref.email_enabled
    return render_template("supervision/notification_settings.html", form=form, enabled=email_enabled()), \
        400 if form.errors else 200
