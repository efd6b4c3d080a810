"""Production configuration hardening (issue 11): weak secrets refused at start, HSTS, the site
address e-mail links need, private SQLite files, and the trusted-proxy setting."""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat

import pytest
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.extensions import db as _db
from carecycle.keyring import KeyRing
from tests.conftest import dispose, form_post, make_app

STRONG_SECRET = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch):
    for name in ("CARECYCLE_KEYS", "SECRET_KEY", "CARECYCLE_KEY_FILE", "CARECYCLE_NOTIFY_EMAIL_ENABLED",
                 "CARECYCLE_NOTIFY_BASE_URL", "CARECYCLE_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def restore_logging():
    """Apps that are not `testing` configure the carecycle logger; put it back afterwards."""
    logger = logging.getLogger("carecycle")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def started():
    apps = []

    def start(tmp_path, **overrides):
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/own.db")
        application = make_app(tmp_path, **overrides)
        apps.append(application)
        return application
    yield start
    for application in apps:
        dispose(application)


def ring_json(keys=None, index_key=None, audit_key=None) -> str:
    keys = keys or {"k1": secrets.token_bytes(32)}
    return json.dumps({
        "active": next(iter(keys)),
        "keys": {kid: base64.b64encode(raw).decode() for kid, raw in keys.items()},
        "index_key": base64.b64encode(index_key or secrets.token_bytes(32)).decode(),
        "audit_key": base64.b64encode(audit_key or secrets.token_bytes(32)).decode(),
    })


def key_file(tmp_path, text=None):
    path = tmp_path / "keys.json"
    if text is None:
        KeyRing.generate(path).save()
    else:
        path.write_text(text)
        os.chmod(path, 0o600)
    return str(path)


def production(tmp_path, **overrides):
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/prod.db")
    if "KEY_FILE" not in overrides:
        overrides["KEY_FILE"] = key_file(tmp_path)
    overrides.setdefault("SECRET_KEY", STRONG_SECRET)
    return make_app(tmp_path, CARECYCLE_ENV="production", **overrides)


def refusal(tmp_path, **overrides) -> str:
    with pytest.raises(SystemExit) as stopped:
        production(tmp_path, **overrides)
    message = str(stopped.value.code)
    assert message.startswith("CareCycle will not start: ") and "\n" not in message.strip()
    return message


# ------------------------------------------------------------------ weak secrets
@pytest.mark.parametrize("secret", ["a", "x" * 31, "短" * 10])  # 10 CJK characters are 30 bytes
def test_production_refuses_a_short_secret_key(tmp_path, secret):
    message = refusal(tmp_path, SECRET_KEY=secret)
    assert "SECRET_KEY is shorter than 32 bytes" in message


def test_production_refuses_the_reviewers_configuration(tmp_path):
    """SECRET_KEY=a with all-zero encryption, index and audit keys: the review's exact start."""
    zeros = bytes(32)
    path = key_file(tmp_path, ring_json({"k1": zeros}, zeros, zeros))
    assert "SECRET_KEY is shorter than 32 bytes" in refusal(tmp_path, SECRET_KEY="a", KEY_FILE=path)
    assert "encryption key k1 is one byte value repeated" in refusal(tmp_path, KEY_FILE=path)


@pytest.mark.parametrize("which", ["k1", "index_key", "audit_key"])
@pytest.mark.parametrize("byte", [0x00, 0x41, 0xFF])
def test_production_refuses_a_key_of_one_repeated_byte(tmp_path, which, byte):
    weak = bytes([byte]) * 32
    ring = ring_json({"k1": weak} if which == "k1" else None,
                     weak if which == "index_key" else None, weak if which == "audit_key" else None)
    message = refusal(tmp_path, KEY_FILE=key_file(tmp_path, ring))
    assert f"{'encryption key k1' if which == 'k1' else which} is one byte value repeated" in message


def test_production_refuses_keys_that_are_equal(tmp_path):
    same = secrets.token_bytes(32)
    cases = [
        (ring_json({"k1": same}, same), "index_key is the same as its encryption key k1"),
        (ring_json(None, same, same), "audit_key is the same as its index_key"),
        (ring_json({"k1": same}, None, same), "audit_key is the same as its encryption key k1"),
        (ring_json({"k1": same, "k2": same}), "encryption key k2 is the same as its encryption key k1"),
    ]
    for text, expected in cases:
        assert expected in refusal(tmp_path, KEY_FILE=key_file(tmp_path, text))


def test_production_refuses_a_weak_key_ring_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECYCLE_KEYS", ring_json(None, None, bytes(32)))
    assert "audit_key is one byte value repeated" in refusal(tmp_path, KEY_FILE=str(tmp_path / "absent.json"))


def test_production_starts_with_strong_secrets(tmp_path, started):
    application = started(tmp_path, CARECYCLE_ENV="production", KEY_FILE=key_file(tmp_path),
                          SECRET_KEY="s" * 16 + "e" * 16)  # 32 bytes, however they look
    assert application.config["ENV_NAME"] == "production"


def test_development_keeps_its_generated_secrets(tmp_path, started):
    application = started(tmp_path, CARECYCLE_ENV="development", KEY_FILE=key_file(tmp_path), SECRET_KEY="a")
    assert application.config["SECRET_KEY"] == "a"  # the rule is production's


# ------------------------------------------------------------------ HSTS
def test_production_sends_strict_transport_security(tmp_path):
    application = production(tmp_path)
    try:
        for path in ("/login", "/healthz", "/no-such-page"):
            response = application.test_client().get(path)  # plain http, as the review sent
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
    finally:
        dispose(application)


def test_testing_and_development_send_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


# ------------------------------------------------------------------ base URL for e-mail links
def test_production_with_email_on_refuses_to_start_without_the_base_url(tmp_path):
    message = refusal(tmp_path, NOTIFY_EMAIL_ENABLED=True)
    assert "CARECYCLE_NOTIFY_BASE_URL is not set" in message


def test_production_with_email_on_in_the_environment_refuses_without_the_base_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECYCLE_NOTIFY_EMAIL_ENABLED", "1")
    assert "CARECYCLE_NOTIFY_BASE_URL is not set" in refusal(tmp_path)


@pytest.mark.parametrize("base", ["http://care.example.org", "care.example.org", "https://",
                                  "https://care.example.org/?next=//evil.example", "https://user@evil.example"])
def test_production_refuses_a_base_url_that_is_not_the_sites_https_address(tmp_path, base):
    message = refusal(tmp_path, NOTIFY_EMAIL_ENABLED=True, NOTIFY_BASE_URL=base)
    assert "CARECYCLE_NOTIFY_BASE_URL must be the site's https:// address" in message


def test_production_starts_with_email_on_and_the_base_url(tmp_path, started):
    application = started(tmp_path, CARECYCLE_ENV="production", KEY_FILE=key_file(tmp_path), SECRET_KEY=STRONG_SECRET,
                          NOTIFY_EMAIL_ENABLED=True, NOTIFY_BASE_URL="https://care.example.org")
    assert application.config["NOTIFY_BASE_URL"] == "https://care.example.org"


def test_production_with_email_off_needs_no_base_url(tmp_path, started):
    started(tmp_path, CARECYCLE_ENV="production", KEY_FILE=key_file(tmp_path), SECRET_KEY=STRONG_SECRET,
            NOTIFY_EMAIL_ENABLED=False)


# ------------------------------------------------------------------ private SQLite files
def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_and_its_wal_and_shm_files_are_created_0600(tmp_path, started):
    previous = os.umask(0o022)  # the usual umask, under which SQLite made carecycle.db 0644
    try:
        database = tmp_path / "instance" / "carecycle.db"
        application = started(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
        with application.app_context():
            _db.create_all()
            with _db.engine.connect() as conn:  # an open connection keeps -wal and -shm on disk
                conn.exec_driver_sql("CREATE TABLE probe (x)")
                conn.exec_driver_sql("INSERT INTO probe VALUES (1)")
                conn.commit()
                companions = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
                assert all(path.exists() for path in companions)
                for path in [database, *companions]:
                    assert mode(path) == 0o600, path
            assert mode(database.with_name("carecycle.db-writer.lock")) == 0o600
    finally:
        os.umask(previous)


def test_a_database_left_readable_by_an_older_version_is_made_0600(tmp_path, started, caplog):
    database = tmp_path / "carecycle.db"
    database.write_bytes(b"")
    os.chmod(database, 0o644)
    with caplog.at_level(logging.WARNING, logger="carecycle"):
        started(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    assert mode(database) == 0o600
    assert "was readable by others" in caplog.text


# ------------------------------------------------------------------ trusted proxies
@pytest.fixture
def proxied(tmp_path, started):
    """An app with its own SQLite database and a low sign-in limit per address."""
    def build(**overrides):
        application = started(tmp_path, LOGIN_ADDRESS_LIMIT=3, **overrides)
        with application.app_context():
            _db.create_all()
        return application
    return build


def failed_sign_in(client, forwarded_for):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return form_post(client, "/login", {"username": "nobody-here", "password": "a wrong password, long enough"},
                     headers=headers)


def addresses(application) -> list[str]:
    with application.app_context():
        return list(_db.session.scalars(select(AuditEvent.address).where(AuditEvent.action == "login_failed")
                                        .order_by(AuditEvent.seq)))


def test_without_trusted_proxies_a_forwarded_address_is_ignored(proxied):
    """Default: nobody's X-Forwarded-For is believed, so an attacker cannot dodge the per-address
    limit by making up addresses."""
    application = proxied()
    client = application.test_client()
    statuses = [failed_sign_in(client, f"198.51.100.{n}").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert set(addresses(application)) == {"127.0.0.1"}


def test_with_one_trusted_proxy_the_address_it_saw_is_counted(proxied):
    application = proxied(TRUSTED_PROXIES=1)
    client = application.test_client()
    # the client's own made-up entry comes first; the proxy appends the address it saw
    first = [failed_sign_in(client, f"10.9.9.{n}, 203.0.113.7").status_code for n in range(4)]
    assert first == [401, 401, 401, 429]
    assert failed_sign_in(client, "203.0.113.8").status_code == 401  # another person behind the proxy
    assert addresses(application)[:3] == ["203.0.113.7"] * 3 and addresses(application)[-1] == "203.0.113.8"


@pytest.mark.parametrize("value", ["-1", "two", "11"])
def test_a_bad_trusted_proxies_value_stops_the_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("CARECYCLE_TRUSTED_PROXIES", value)
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db")
    message = str(stopped.value.code)
    assert message.startswith("CareCycle will not start: ") and "CARECYCLE_TRUSTED_PROXIES" in message

