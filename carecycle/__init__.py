"""CareCycle: case management for community mental-health services."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carecycle import sqlite_writer
from carecycle.config import BaseConfig, config_for, with_driver
from carecycle.database import private_sqlite_files
from carecycle.extensions import babel, csrf, db, login_manager, migrate
from carecycle.keyring import KeyRingError, check_strength, load_keyring, load_secret_key

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: str | Mapping | BaseConfig | None = None) -> Flask:
    cfg, overrides = _resolve_config(config)
    app = Flask(__name__, instance_path=cfg.INSTANCE_PATH,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_object(cfg)
    app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = with_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    load_keys(app)
    check_settings(app)
    register_extensions(app)
    register_limits(app)
    register_blueprints(app)
    settle_keys(app)
    register_handlers(app)
    register_lifecycle(app)
    register_commands(app)
    configure_logging(app)
    return app


def _resolve_config(config):
    if isinstance(config, BaseConfig):
        return config, {}
    if isinstance(config, Mapping):
        return config_for(config.get("CARECYCLE_ENV")), dict(config)
    return config_for(config), {}


def load_keys(app: Flask) -> None:
    """Session secret and key ring: made once in development, required in production."""
    generate = app.config["GENERATE_MISSING_SECRETS"]
    try:
        app.config["SECRET_KEY"] = load_secret_key(app.config.get("SECRET_KEY"), app.instance_path, generate)
        app.extensions["carecycle_keyring"] = load_keyring(app.config["KEY_FILE"], generate)
        if app.config.get("REFUSE_WEAK_SECRETS"):
            check_strength(app.config["SECRET_KEY"], app.extensions["carecycle_keyring"])
    except KeyRingError as error:
        raise SystemExit(f"CareCycle will not start: {error}") from error


def settle_keys(app: Flask) -> None:
    """A key ring generated at this start-up is saved only when the database holds nothing made with
    another one (every table is known by now); otherwise the app and every command stop."""
    from carecycle.keyring import settle_new_keyring
    ring = app.extensions["carecycle_keyring"]
    if not ring.unsaved:
        return
    from sqlalchemy.exc import OperationalError
    try:
        settle_new_keyring(ring, _values_needing_a_key_ring(app))
    except OperationalError as error:
        raise SystemExit("CareCycle will not start: the key file does not exist, and a new key ring is made only "
                         "for an empty database, which cannot be reached now "
                         f"({str(error.orig).splitlines()[0][:200]})") from None
    except KeyRingError as error:
        raise SystemExit(f"CareCycle will not start: {error}") from error


def _values_needing_a_key_ring(app: Flask) -> int:
    """How many sealed values and audit events the database holds (0 for a new or empty one), read
    on a connection of its own that is closed after (the app's pool is not started for this)."""
    from sqlalchemy import create_engine, func, inspect, select

    from carecycle.audit import AuditEvent
    from carecycle.crypto import ENCRYPTED_FIELDS
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            found = 0
            if AuditEvent.__tablename__ in tables:
                found += conn.execute(select(func.count()).select_from(AuditEvent.__table__)).scalar() or 0
            for model, field in ENCRYPTED_FIELDS:
                if found:
                    break
                if field.table in tables:
                    table: Any = getattr(model, "__table__")  # noqa: B009 (a mapped class's table)
                    found += conn.execute(select(func.count()).select_from(table)
                                          .where(table.c[field.column].is_not(None))).scalar() or 0
            return found
    finally:
        engine.dispose()


def check_settings(app: Flask) -> None:
    """Settings production cannot do without, and the proxies whose forwarded headers are trusted."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from carecycle.notifications import base_url_problem
    problem = base_url_problem(app.config, production=app.config["ENV_NAME"] == "production")
    if problem:
        raise SystemExit(f"CareCycle will not start: {problem}")
    check_time_settings(app)
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 10:
        raise SystemExit(f"CareCycle will not start: CARECYCLE_TRUSTED_PROXIES must be 0 to 10, not {hops!r}")
    if hops:  # X-Forwarded-For/-Proto/-Host/-Port set by the last `hops` proxies; none by default
        # Flask's documented way to add WSGI middleware (mypy types wsgi_app as a method)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def check_time_settings(app: Flask) -> None:
    """The service's zone must exist and the date order be one we write; production says so when
    no zone is set (every time would be shown in UTC)."""

    from carecycle.localtime import DATE_ORDERS, zone_named
    name = app.config.get("TIMEZONE")
    if not name and app.config["ENV_NAME"] == "production":
        logging.getLogger("carecycle").warning(
            "CARECYCLE_TIMEZONE is not set: times are shown and read in UTC. Set it to the service's "
            "IANA zone, for example Asia/Hong_Kong.")
    app.config["TIMEZONE"] = str(zone_named(name or "UTC"))
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]  # Flask-Babel's own helpers agree
    if app.config.get("DATE_ORDER") not in DATE_ORDERS:
        raise SystemExit(f"CareCycle will not start: CARECYCLE_DATE_ORDER must be dmy or mdy, "
                         f"not {app.config.get('DATE_ORDER')!r}")


def register_extensions(app: Flask) -> None:
    # the shell's tables
    from carecycle import alerts, audit, breakglass, i18n, idempotency, mode, notifications, ratelimit  # noqa: F401
    from carecycle import jobs as _jobs  # noqa: F401
    from carecycle import workers as _workers  # noqa: F401
    from carecycle.accounts import service as accounts

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        private_sqlite_files(app.config["SQLALCHEMY_DATABASE_URI"])
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"factory": sqlite_writer.QueuedWriterConnection, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    app.before_request(i18n.load_wtforms_translations)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # sessions are checked server-side

    @login_manager.user_loader
    def load_user(user_id):
        from flask import session

        from carecycle.permissions import is_api_request
        if is_api_request():
            return None
        return accounts.user_for_session(user_id, session.get("sid"))


def register_limits(app: Flask) -> None:
    from carecycle.limits import register_limits as add

    add(app)


def register_blueprints(app: Flask) -> None:
    from carecycle.accounts.service import register_account_kinds
    from carecycle.accounts.views import admin, auth
    from carecycle.api import build_api
    from carecycle.web import bp as web
    from carecycle.web import register_shell_nav

    for blueprint in (web, auth, admin):
        app.register_blueprint(blueprint)
    register_shell_nav(app)
    register_account_kinds(app)
    area_apis = []
    for area in area_packages():
        area.init_app(app)
        area_apis.append(area.api)
    app.register_blueprint(build_api(*area_apis))
    from carecycle import fhir
    fhir.register(app)  # /fhir/R4: the areas registered their resources in init_app


def area_packages() -> list:
    """The area packages, left to right (each imports only the shell and those before it)."""
    import casework
    import referrals
    import screening
    import supervision

    return [screening, casework, referrals, supervision]


def register_handlers(app: Flask) -> None:
    from carecycle.errors import register_error_handlers
    from carecycle.security import register_security
    from carecycle.templating import register_template_helpers

    register_security(app)
    register_error_handlers(app)
    register_template_helpers(app)


def register_lifecycle(app: Flask) -> None:
    """Every view in one unit of work, domain errors mapped once (carecycle.lifecycle)."""
    from carecycle.lifecycle import register_lifecycle as add

    add(app)


def register_commands(app: Flask) -> None:
    from carecycle.cli import register_commands as add

    add(app)


def configure_logging(app: Flask) -> None:
    """Request ids on every response and log line; JSON lines with CARECYCLE_LOG_FORMAT=json; request
    counts and latencies for /metrics."""
    from carecycle import logs, metrics
    logs.install(app)
    metrics.install(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: WAL, foreign keys, a busy timeout, and transactions we begin ourselves."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """BEGIN IMMEDIATE: take the write lock up front, so two writers wait in turn instead of failing."""
    if conn.dialect.name == "sqlite":
        sqlite_writer.begin_immediate(conn.connection.driver_connection)  # writers queue on a lock file
