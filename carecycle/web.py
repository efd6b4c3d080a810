"""Shell pages: home per role, language choice, open alerts, break-glass."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from carecycle import breakglass
from carecycle.alerts import open_alerts
from carecycle.audit import ACTION_LABELS, OUTCOME_LABELS, RECORD_LABELS
from carecycle.forms import BreakGlassForm, ConfirmForm, place_errors
from carecycle.lifecycle import attempt
from carecycle.pages import try_transition
from carecycle.permissions import PUBLIC, Permission, can, requires
from carecycle.roles import Role
from carecycle.urls import page_arg, safe_next, uuid_or_404

bp = Blueprint("web", __name__)

HOME_TEMPLATES = {
    Role.RESIDENT: "home/resident.html",
    Role.COUNSELLOR: "home/staff.html",  # only while access waits: the staff home is My day
    Role.SOCIAL_WORKER: "home/staff.html",  # only while access waits: the staff home is My day
    Role.SUPERVISOR: "home/staff.html",  # only while access waits: the staff home is My day
    Role.ADMIN: "home/admin.html",
}


def register_shell_nav(app) -> None:
    """The shell's own pages in the header (the areas add theirs in their init_app)."""
    from flask_babel import lazy_gettext as _l

    from carecycle.areas import add_nav_link
    # the triage queue lists the open alerts with their actions: the plain list is for those without it
    add_nav_link(app, Permission.ALERTS_VIEW, "web.alerts", _l("Open alerts"), "triage", unless=Permission.TRIAGE_WORK)
    add_nav_link(app, Permission.ACCOUNTS_MANAGE, "admin.users", _l("Users"), "admin")
    add_nav_link(app, Permission.ACCOUNTS_MANAGE, "admin.teams", _l("Teams"), "admin")


# Areas add links to the home pages: (permission, endpoint, label, description)
def home_links():
    return [link for link in current_app.extensions.get("carecycle_home_links", [])
            if can(link[0])]


@bp.route("/")
@requires(PUBLIC)
def home():
    if not current_user.is_authenticated:
        return render_template("home/public.html", links=home_links())
    permission, page, _label = current_app.extensions.get("carecycle_staff_home", (None, None, None))
    if permission is not None and current_user.is_staff and can(permission):
        return page()  # the staff home and the area's page (My day) are one page
    context = {"links": home_links()}
    if can(Permission.ALERTS_VIEW):
        context["alerts"] = open_alerts(current_user, per_page=10)
    return render_template(HOME_TEMPLATES[Role(current_user.role)], **context)


@bp.route("/healthz")
@requires(PUBLIC)
def healthz():
    """A bare route for load balancers and benchmarks: no database, no template."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/readyz")
@requires(PUBLIC)
def readyz():
    """Readiness for a load balancer: 200 when the database answers, its schema is at the newest
    migration and the key ring is loaded; else 503 naming what is missing (nothing else is said)."""
    import json

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app
    from sqlalchemy import text

    from carecycle.extensions import db
    problems = []
    ring = current_app.extensions.get("carecycle_keyring")
    if ring is None or getattr(ring, "unsaved", False) or ring.active not in ring.keys:
        problems.append("key ring not loaded")
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception:  # any failure to reach the database is "not ready", never a 500
        problems.append("database not reachable")
    else:
        heads = current_app.extensions.get("carecycle_migration_heads")
        if heads is None:  # the migrations shipped with this code: read once per process
            config = current_app.extensions["migrate"].migrate.get_config()
            heads = current_app.extensions["carecycle_migration_heads"] = set(
                ScriptDirectory.from_config(config).get_heads())
        if current != heads:
            problems.append("database schema not at the newest migration (run carecycle db upgrade)")
    body = json.dumps({"status": "ready" if not problems else "not ready", "problems": problems})
    return body, 503 if problems else 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}


@bp.route("/metrics")
@requires(PUBLIC)
def metrics():
    """Prometheus metrics, only for the addresses in CARECYCLE_METRICS_ALLOW (carecycle.metrics)."""
    from carecycle import metrics as exported
    if not exported.may_scrape(request.remote_addr):
        return ("Metrics are served only to the addresses in CARECYCLE_METRICS_ALLOW.\n", 403,
                {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})
    body, content_type = exported.exposition()
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


@bp.route("/favicon.ico")
@requires(PUBLIC)
def favicon():
    """Browsers ask for /favicon.ico before they read the page's icon link: answer it, not 404."""
    return current_app.send_static_file("img/favicon.svg")


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def set_language():
    form = ConfirmForm()
    language = request.form.get("language", "")
    if not form.validate_on_submit() or language not in current_app.config["LANGUAGES"]:
        abort(400)
    session["locale"] = language
    if current_user.is_authenticated:
        current_user.locale = language
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


@bp.route("/alerts")
@requires(Permission.ALERTS_VIEW)
def alerts():
    return render_template("alerts/list.html", pagination=open_alerts(current_user, page=page_arg()))


@bp.app_context_processor
def alert_page():
    """The alert lists' link to an alert's own page, when an area provides one the user may use."""
    def alert_url(alert):
        permission, endpoint = current_app.extensions.get("carecycle_alert_page", (None, None))
        return url_for(endpoint, alert_id=alert.id) if endpoint and can(permission) else None
    return {"alert_url": alert_url}


@bp.route("/break-glass/<object_type>/<object_id>", methods=["GET", "POST"])
@requires(Permission.BREAK_GLASS)
def break_glass(object_type, object_id):
    object_id = str(uuid_or_404(object_id))
    target = breakglass.resolve_target(object_type, object_id)
    if target is None:
        abort(404)
    form = BreakGlassForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: breakglass.grant(current_user, object_type, object_id, target.team_id,
                                                   form.reason.data))
        if outcome.ok:
            flash(_("Access granted for %(minutes)d minutes. Your reason is recorded and shown to the team's "
                    "supervisor.", minutes=breakglass.duration_minutes()), "warning")
            return redirect(target.url)
        place_errors(form, outcome.error)
    return (render_template("breakglass/request.html", form=form, minutes=breakglass.duration_minutes()),
            400 if form.errors else 200)


@bp.route("/break-glass")
@requires(Permission.BREAK_GLASS_REVIEW)
def break_glass_review():
    pagination = breakglass.grants_for_review(current_user, page=page_arg())
    return render_template("breakglass/review.html", pagination=pagination,
                           writes=breakglass.writes_under(pagination.items),
                           form=ConfirmForm(), target_page=breakglass.target_page,
                           action_labels=ACTION_LABELS, record_labels=RECORD_LABELS, outcome_labels=OUTCOME_LABELS)


@bp.route("/break-glass/grants/<grant_id>/reviewed", methods=["POST"])
@requires(Permission.BREAK_GLASS_REVIEW)
def break_glass_reviewed(grant_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return try_transition(url_for("web.break_glass_review"), lambda: breakglass.mark_reviewed(current_user, grant_id),
                          _("Marked as reviewed."))
