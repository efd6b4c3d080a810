"""Service statistics: the period page with charts and tables, its CSV, the monthly report."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.errors import render_error
from carecycle.permissions import Permission, requires
from carecycle.validation import Invalid
from supervision.service import stats as service
from supervision.service.common import PERIOD_KINDS, month_period, period_from, period_from_args, period_kind
from supervision.views import bp


def _period():
    """The whole week, month or quarter asked for, or this month with the errors to show."""
    try:
        return period_from_args(request.args), {}
    except Invalid as error:
        return period_from(None, None), error.fields


@bp.route("/supervision/stats")
@requires(Permission.STATS_VIEW)
def stats():
    period, errors = _period()
    scope = service.scope_for(current_user)
    shown = service.present(service.compute(scope, period))
    record_event("view", "statistics", scope.team_id, reason=f"{period.first}..{period.last}")
    return render_template("supervision/stats.html", shown=shown, charts=service.charts(shown), period=period,
                           errors=errors, kinds=PERIOD_KINDS, kind=period_kind(period) or "month",
                           day=request.args.get("date", "") if errors else period.first.isoformat()), \
        400 if errors else 200


@bp.route("/supervision/stats.csv")
@requires(Permission.STATS_VIEW)
def stats_csv():
    period, errors = _period()
    if errors:
        return render_error(422, " ".join(str(m) for m in errors.values()))
    scope = service.scope_for(current_user)
    body = service.stats_csv(service.present(service.compute(scope, period)))
    record_event("export", "statistics", scope.team_id, reason=f"csv {period.first}..{period.last}")
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statistics-{period.first}-{period.last}.csv"'})


@bp.route("/supervision/stats/monthly")
@requires(Permission.STATS_VIEW)
def monthly():
    errors = {}
    try:
        period = month_period(request.args.get("month"))
    except Invalid as error:
        period, errors = month_period(None), error.fields
    scope = service.scope_for(current_user)
    shown = service.present(service.compute(scope, period))
    record_event("view", "statistics", scope.team_id, reason=f"monthly {period.first:%Y-%m}")
    return render_template("supervision/monthly.html", shown=shown, charts=service.charts(shown), period=period,
                           errors=errors, month=request.args.get("month", "") if errors else "",
                           made_at=utcnow()), 400 if errors else 200
