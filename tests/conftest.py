"""Fixtures: one app and schema per run (migrated with Alembic), every table emptied after
each test, users made by a factory, and `login_as(role)` that signs in through /login.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import contextvars
import os
import re
import secrets
from itertools import count

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from carecycle import create_app
from carecycle.accounts.models import Team, User
from carecycle.accounts.service import hash_password
from carecycle.extensions import db as _db
from carecycle.roles import Role

# the factories every test may ask for (clients, cases, referrals, crisis resources), wherever it lives
pytest_plugins = ["tests.screening_helpers", "tests.casework.factories", "tests.referrals.factories"]

PASSWORD = "correct horse battery staple"
_serial = count(1)
_HASHES: dict[str, str] = {}


def database_url(tmp_dir) -> str:
    return _PRIVATE_DATABASE.get("url") or f"sqlite:///{tmp_dir}/test.db"


_PRIVATE_DATABASE: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _private_postgres_database():
    """With TEST_DATABASE_URL, run in a throwaway database of that server, so that two runs
    at once (two developers, or a run beside a benchmark) never clobber each other."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"{url.database}_run_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _PRIVATE_DATABASE["url"] = url.set(database=name).render_as_string(hide_password=False)
    yield
    _PRIVATE_DATABASE.clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context (its own `g` and database session), as in
    production. The test's own session commits first, so it holds no lock the request needs."""

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(tmp_dir, **overrides):
    config = {
        "CARECYCLE_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_dir),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "KEY_FILE": str(tmp_dir / "keys.json"),
    }
    config.update(overrides)
    application = create_app(config)
    application.test_client_class = IsolatedClient
    return application


def _reset_schema(app):
    from flask_migrate import upgrade
    with app.app_context():
        engine = _db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session")
def _tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("carecycle")


@pytest.fixture(scope="session")
def app(_tmp, _private_postgres_database):
    application = make_app(_tmp)
    _reset_schema(application)
    yield application
    dispose(application)


def dispose(app):
    """Close the app's pooled connections (PostgreSQL warns about connections left open)."""
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


def _wipe(app):
    with app.app_context():
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            # DELETE, children first: on PostgreSQL ten times faster than TRUNCATE of every table
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})


@pytest.fixture
def db(app):
    """The database, empty at the start of the test; an app context is pushed."""
    with app.app_context():
        yield _db
        _db.session.remove()
    _wipe(app)


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def password_hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@pytest.fixture
def make_team(db):
    def factory(name=None) -> Team:
        team = Team(name=name or f"Team {next(_serial)}")
        db.session.add(team)
        db.session.commit()
        return team
    return factory


@pytest.fixture
def make_user(db, make_team):
    teams: dict[str, Team] = {}

    def factory(role: str | Role = "counsellor", team: Team | str | None = "default", username=None,
                password=PASSWORD, **fields) -> User:
        role = Role(role)
        if isinstance(team, str):
            team = None if role in (Role.RESIDENT, Role.ADMIN) else teams.get(team) or teams.setdefault(
                team, make_team())
        user = User(username=username or f"{role.value}{next(_serial)}", role=role, team=team,
                    password_hash=password_hash(password), **fields)
        db.session.add(user)
        db.session.commit()
        return user
    return factory


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(response) -> str:
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def form_post(client, path, data, page=None, **kwargs):
    """POST a form the way a browser does: fetch the page for its CSRF token first."""
    token = csrf_from(client.get(page or path))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def sign_in(client, username, password=PASSWORD, **kwargs):
    return form_post(client, "/login", {"username": username, "password": password}, **kwargs)


@pytest.fixture
def login_as(client, make_user):
    """Sign in a new user of `role` through the login page; returns the user."""
    def do(role="counsellor", **fields) -> User:
        user = make_user(role, **fields)
        response = sign_in(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user
    return do
