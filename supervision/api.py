"""Supervision's /api/v1 endpoints: the team caseload, statistics for a period, the operating mode."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.api import ApiError, area_api, json_body, refuse_unknown
from carecycle.audit import record_event
from carecycle.mode import current_mode
from carecycle.permissions import Permission, requires
from carecycle.validation import Invalid
from supervision.service import caseload, operating, stats
from supervision.service.common import period_from_args

api = area_api("supervision")


@api.route("/team/caseload")
@requires(Permission.CASELOAD_REVIEW)
def team_caseload():
    dashboard = caseload.team_dashboard(current_user, **{name: request.args.get(name) for name in
                                                         ("sort", "direction", "role", "attention")})
    return jsonify(dashboard.as_json())


@api.route("/stats")
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
@requires(Permission.MODE_VIEW)
def mode_state():
    return jsonify(_mode_json())


@api.route("/mode", methods=["POST"])
@requires(Permission.MODE_SWITCH)
def mode_switch():
    body = json_body({"mode", "reason", "review"})
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
