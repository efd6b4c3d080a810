"""Supervision's /api/v1 endpoints: the team caseload, statistics for a period, the operating mode."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.api import ApiError, area_api, json_body, refuse_unknown
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import load_visible
from carecycle.mode import current_mode
from carecycle.notifications import Notification, mark_read, unread_count
from carecycle.openapi import Empty, described
from carecycle.permissions import Permission, requires
from carecycle.validation import Invalid
from casework.api.common import iso, page_args
from supervision import api_schemas as schemas
from supervision.service import caseload, notifications, operating, stats
from supervision.service.common import period_from_args

api = area_api("supervision")


@api.route("/team/caseload")
@described(query=schemas.CaseloadOptions, responses={200: schemas.Caseload})
@requires(Permission.CASELOAD_REVIEW)
def team_caseload():
    dashboard = caseload.team_dashboard(current_user, **{name: request.args.get(name) for name in
                                                         ("sort", "direction", "role", "attention")})
    return jsonify(dashboard.as_json())


@api.route("/stats")
@described(query=schemas.Period, responses={200: schemas.Statistics})
@requires(Permission.STATS_VIEW)
def statistics():
    unknown = set(request.args) - {"from", "to", "period", "date"}
    if unknown:
        raise ApiError(422, _("Unknown parameter."), {name: _("Unknown parameter.") for name in sorted(unknown)})
    try:
        period = period_from_args(request.args)
    except Invalid as error:
        raise ApiError(422, _("The period is not valid."), error.fields) from error
    scope = stats.scope_for(current_user)
    shown = stats.present(stats.compute(scope, period))
    record_event("view", "statistics", scope.team_id, reason=f"api {period.first}..{period.last}")
    return jsonify(shown)


def _mode_json() -> dict:
    state = current_mode()
    who = operating.users_by_id([state.switched_by_id]).get(state.switched_by_id)
    return {"mode": state.mode.value, "since": state.since.isoformat() if state.since else None,
            "switched_by": {"id": str(who.id), "username": who.username} if who else None, "reason": state.reason}


@api.route("/mode")
@described(responses={200: schemas.Mode})
@requires(Permission.MODE_VIEW)
def mode_state():
    return jsonify(_mode_json())


@api.route("/mode", methods=["POST"])
@described(body=schemas.ModeSwitch, responses={200: schemas.ModeSwitched})
@requires(Permission.MODE_SWITCH)
def mode_switch():
    body = json_body()
    review = body.get("review")
    if review is not None and not isinstance(review, dict):
        raise ApiError(422, _("The review must be an object."), {"review": _("Send what_happened, what_worked and "
                                                                            "what_to_change.")})
    if review is not None:
        refuse_unknown(review, operating.REVIEW_FIELDS, prefix="review.")
    mode = body.get("mode")
    try:
        _change, review_row = operating.switch(current_user, mode if isinstance(mode, str) else None,
                                               body.get("reason"), review)
    except Invalid as error:
        fields = {(f"review.{k}" if k in operating.REVIEW_FIELDS else k): v for k, v in error.fields.items()}
        raise ApiError(422, _("The switch was refused."), fields) from error
    answer = _mode_json()
    answer["after_action_review"] = str(review_row.id) if review_row else None
    return jsonify(answer)


# ------------------------------------------------------------------ notifications
def _notification_json(row) -> dict:
    return {"id": str(row.id), "kind": row.kind, "label": str(row.label), "count": row.count, "link": row.link,
            "object_type": row.object_type, "object_id": row.object_id, "created_at": iso(row.created_at),
            "read_at": iso(row.read_at)}


@api.route("/notifications")
@described(query=schemas.NotificationFilter, responses={200: schemas.NotificationList})
@requires(Permission.NOTIFICATIONS)
def notifications_list():
    """The caller's own notifications, unread first, then the newest (`?unread=1`: only those not read yet;
    `unread` counts up to 100)."""
    page, per_page = page_args(30, 100)
    stmt = notifications.own_notifications(current_user)
    if request.args.get("unread") in ("1", "true"):
        stmt = stmt.where(Notification.read_at.is_(None))
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return jsonify({"notifications": [_notification_json(n) for n in pagination.items],
                    "unread": unread_count(current_user), "page": pagination.page, "pages": pagination.pages,
                    "total": pagination.total})


@api.route("/notifications/<notification_id>/read", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: schemas.Notification})
@requires(Permission.NOTIFICATIONS)
def notification_read(notification_id):
    """Mark one of the caller's notifications read (another user's answers 404)."""
    json_body(optional=True)
    row = load_visible("notification", notification_id, current_user)
    mark_read(current_user, row.id)
    db.session.refresh(row)
    return jsonify(_notification_json(row))


@api.route("/notifications/read-all", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: schemas.Marked})
@requires(Permission.NOTIFICATIONS)
def notifications_read_all():
    """Mark all the caller's notifications read; answers how many changed."""
    json_body(optional=True)
    return jsonify({"marked": mark_read(current_user)})


from supervision import api_recovery, api_work  # noqa: E402,F401,I001  (routes: recovery, approvals, reassignment)
