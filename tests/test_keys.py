"""Key management: rotate, re-encrypt (resumable), retire, and the start-up rules for secrets.

These tests run on an app of their own (own SQLite file, or the test PostgreSQL database) and
give it a fresh key ring in a key file of the test's own, so that rotating keys never disturbs
the session app of other tests, nor one test another."""
from __future__ import annotations

import json
import logging
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select, text

from carecycle.accounts.models import User
from carecycle.alerts import Alert, raise_alert
from carecycle.breakglass import BreakGlassGrant
from carecycle.crypto import ENCRYPTED_FIELDS, Encrypted, key_id_of
from carecycle.database import utcnow
from carecycle.extensions import db as _db
from carecycle.keyring import KeyRing
from tests.conftest import _wipe, dispose, make_app


@pytest.fixture
def no_key_env(monkeypatch):
    monkeypatch.delenv("CARECYCLE_KEYS", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("CARECYCLE_KEY_FILE", raising=False)


@pytest.fixture(scope="module")
def own_app(app, tmp_path_factory):
    """A session-independent app, built once for this module (building an app takes a while).

    On SQLite it has its own database file; on PostgreSQL it shares the test database, which the
    `db` fixture empties after each test."""
    application = make_app(tmp_path_factory.mktemp("keys"))
    with application.app_context():
        if _db.engine.dialect.name == "sqlite":
            _db.create_all()
    yield application
    dispose(application)


@pytest.fixture
def fresh_ring(own_app, tmp_path):
    """Give the own app a new key ring in a key file of this test; returns a function to swap it."""
    def install(ring_: KeyRing | None = None) -> KeyRing:
        if ring_ is None:
            ring_ = KeyRing.generate(tmp_path / "keys.json")
            ring_.save()
        own_app.config["KEY_FILE"] = str(ring_.path) if ring_.path else str(tmp_path / "keys.json")
        own_app.extensions["carecycle_keyring"] = ring_
        return ring_
    return install


@pytest.fixture
def keys_app(db, own_app, fresh_ring, no_key_env):
    """The own app with a fresh key ring; its app context is pushed and its database emptied after."""
    fresh_ring()
    with own_app.app_context():
        yield own_app
        _db.session.remove()
    if db.engine.dialect.name == "sqlite":
        _wipe(own_app)


@pytest.fixture
def cli(keys_app):
    runner = keys_app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def ring():
    return current_app.extensions["carecycle_keyring"]


def key_file() -> dict:
    return json.loads(Path(current_app.config["KEY_FILE"]).read_text())


def envelopes() -> dict[tuple, str]:
    """Every stored encrypted value: (table, column, row id) -> envelope."""
    found = {}
    for table, column in sorted({(field.table, field.column) for _, field in ENCRYPTED_FIELDS}):
        rows = _db.session.execute(text(f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'))
        for row_id, value in rows:
            found[(table, column, str(row_id))] = value
    return found


def place(table: str, column: str, row_id) -> tuple:
    """The key of `envelopes()` for a row (SQLite stores UUIDs as 32 hex digits)."""
    return table, column, row_id.hex if _db.engine.dialect.name == "sqlite" else str(row_id)


def key_ids() -> set[str]:
    return {key_id_of(value) for value in envelopes().values()}


PHONES = [f"+852 5555 01{n:02d}" for n in range(7)]


def plant_records() -> dict:
    """Users with phones, alerts with a summary (one also closed with a reason) and a break-glass grant."""
    users = [User(username=f"keyuser{n}", role="resident", password_hash="x", phone=phone)
             for n, phone in enumerate(PHONES)]
    users.append(User(username="nophone", role="resident", password_hash="x"))
    _db.session.add_all(users)
    alerts = [raise_alert("test", "routine", summary=f"summary {n}") for n in range(3)]
    alerts[0].close_reason = "resolved by phone call"
    grant = BreakGlassGrant(user_id=users[0].id, object_type="case", object_id="x",
                            expires_at=utcnow() + timedelta(hours=1))
    grant.reason = "client in crisis, assigned worker unreachable"
    _db.session.add(grant)
    _db.session.commit()
    expected = {("user", u.id): u.phone for u in users}
    expected.update({("alert", a.id): (a.summary, a.close_reason) for a in alerts})
    expected[("grant", grant.id)] = grant.reason
    _db.session.remove()
    return expected


def read_back(expected: dict) -> None:
    """Every planted value opens, in a fresh session, to what was stored."""
    _db.session.remove()
    for (kind, row_id), value in expected.items():
        if kind == "user":
            assert _db.session.get(User, row_id).phone == value
        elif kind == "alert":
            alert = _db.session.get(Alert, row_id)
            assert (alert.summary, alert.close_reason) == value
        else:
            assert _db.session.get(BreakGlassGrant, row_id).reason == value
    _db.session.remove()


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ rotate
def test_rotate_adds_an_active_key_and_writes_the_file_0600(keys_app, cli):
    expected = plant_records()
    before = key_file()
    assert before["active"] == "k1" and list(before["keys"]) == ["k1"]

    result = cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "new active key k2" in result.output
    after = key_file()
    assert after["active"] == "k2" and set(after["keys"]) == {"k1", "k2"}
    assert after["keys"]["k1"] == before["keys"]["k1"] and after["keys"]["k2"] != before["keys"]["k1"]
    assert after["index_key"] == before["index_key"] and after["audit_key"] == before["audit_key"]
    assert mode_of(current_app.config["KEY_FILE"]) == 0o600
    assert ring().active == "k2"

    read_back(expected)  # old values still open
    assert key_ids() == {"k1"}
    user = User(username="afterrotate", role="resident", password_hash="x", phone="+852 6666 0000")
    _db.session.add(user)
    _db.session.commit()
    assert key_id_of(envelopes()[place("user_account", "phone", user.id)]) == "k2"


def test_rotated_key_file_is_what_a_restarted_app_loads(keys_app, cli, tmp_path):
    expected = plant_records()
    assert cli("keys", "rotate").exit_code == 0
    assert cli("keys", "reencrypt").exit_code == 0
    _db.session.remove()  # end this app's transaction (SQLite: it holds the write lock)
    restarted = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=keys_app.config["SQLALCHEMY_DATABASE_URI"],
                         KEY_FILE=keys_app.config["KEY_FILE"])
    try:
        with restarted.app_context():
            assert ring().active == "k2" and set(ring().keys) == {"k1", "k2"}
            read_back(expected)
    finally:
        dispose(restarted)


def ring_from_environment(ring_: KeyRing) -> KeyRing:
    """The key ring as `load_keyring` makes it from CARECYCLE_KEYS."""
    return KeyRing.from_json(ring_.to_json(), from_environment=True)


def test_rotate_is_refused_when_the_key_ring_comes_from_the_environment(keys_app, cli, fresh_ring, tmp_path):
    (tmp_path / "keys.json").unlink()
    fresh_ring(ring_from_environment(KeyRing.generate()))
    result = cli("keys", "rotate")
    assert result.exit_code == 1
    assert "CARECYCLE_KEYS" in result.output
    # the running app keeps the key ring it has: nothing sealed under a key that was never saved
    assert ring().active == "k1" and set(ring().keys) == {"k1"}
    assert not (tmp_path / "keys.json").exists()


# ------------------------------------------------------------------ reencrypt
def test_reencrypt_moves_every_value_to_the_active_key(keys_app, cli):
    expected = plant_records()
    old = envelopes()
    assert key_ids() == {"k1"} and len(old) == 7 + 3 + 1 + 1
    assert cli("keys", "rotate").exit_code == 0

    result = cli("keys", "reencrypt", "--batch", "3")
    assert result.exit_code == 0, result.output
    assert "user_account: 3/7 rows re-encrypted" in result.output
    assert "user_account: 7/7 rows re-encrypted" in result.output
    assert "alert: 3/3 rows re-encrypted" in result.output
    assert "break_glass_grant: 1/1 rows re-encrypted" in result.output
    assert "done: 11 row(s) re-encrypted under k2" in result.output
    new = envelopes()
    assert new.keys() == old.keys()
    assert key_ids() == {"k2"}
    assert all(new[place] != old[place] for place in old)
    read_back(expected)
    # the blind index does not depend on the encryption key: lookup still works
    found = _db.session.scalar(select(User).where(User.phone_index == User.phone.index_for(PHONES[3])))
    assert found.username == "keyuser3"


def test_reencrypt_again_does_nothing(keys_app, cli):
    plant_records()
    assert cli("keys", "rotate").exit_code == 0
    assert cli("keys", "reencrypt").exit_code == 0
    settled = envelopes()
    result = cli("keys", "reencrypt")
    assert result.exit_code == 0
    assert "rows re-encrypted" not in result.output
    assert "done: 0 row(s) re-encrypted under k2" in result.output
    assert envelopes() == settled


def test_reencrypt_resumes_after_an_interruption(keys_app, cli, monkeypatch):
    expected = plant_records()
    assert cli("keys", "rotate").exit_code == 0
    calls = {"n": 0}
    reseal = Encrypted.reseal

    def failing_reseal(self, obj, ring):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("power cut")
        return reseal(self, obj, ring)

    monkeypatch.setattr(Encrypted, "reseal", failing_reseal)
    result = cli("keys", "reencrypt", "--batch", "1")
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    _db.session.rollback()
    partial = envelopes()
    moved = [place for place, value in partial.items() if key_id_of(value) == "k2"]
    assert 0 < len(moved) < len(partial)  # the batches committed before the stop stay done
    assert key_ids() == {"k1", "k2"}
    read_back(expected)  # a half-done run leaves every value readable

    monkeypatch.setattr(Encrypted, "reseal", reseal)
    result = cli("keys", "reencrypt", "--batch", "1")
    assert result.exit_code == 0, result.output
    assert "done: " in result.output and "re-encrypted under k2" in result.output
    finished = envelopes()
    assert key_ids() == {"k2"}
    assert all(finished[place] == partial[place] for place in moved)  # not done twice
    read_back(expected)


def test_reencrypt_stops_cleanly_on_a_value_that_does_not_open(keys_app, cli):
    plant_records()
    users = _db.session.scalars(select(User).where(User._phone.is_not(None)).order_by(User.id)).all()
    victim, source = users[-1].id, users[0].id
    rows = envelopes()
    _db.session.execute(text("UPDATE user_account SET phone = :v WHERE id = :id"),
                        {"v": rows[place("user_account", "phone", source)],
                         "id": place("user_account", "phone", victim)[2]})
    _db.session.commit()
    assert cli("keys", "rotate").exit_code == 0

    result = cli("keys", "reencrypt", "--batch", "2")
    assert result.exit_code == 1
    assert f"cannot decrypt user_account.phone row {victim}" in result.output
    assert "Traceback" not in result.output and "5555" not in result.output
    _db.session.rollback()
    assert envelopes()[place("user_account", "phone", victim)] == rows[place("user_account", "phone", source)]
    refused = cli("keys", "retire", "k1")
    assert refused.exit_code == 1 and "still use k1" in refused.output


# ------------------------------------------------------------------ retire
def test_retire_is_refused_while_values_use_the_key_then_allowed(keys_app, cli):
    expected = plant_records()
    assert cli("keys", "rotate").exit_code == 0

    refused = cli("keys", "retire", "k1")
    assert refused.exit_code == 1
    assert "12 value(s) still use k1" in refused.output and "reencrypt" in refused.output
    assert "k1" in key_file()["keys"] and "k1" in ring().keys

    assert cli("keys", "reencrypt").exit_code == 0
    result = cli("keys", "retire", "k1")
    assert result.exit_code == 0, result.output
    assert "retired k1" in result.output
    assert set(key_file()["keys"]) == {"k2"} and key_file()["active"] == "k2"
    assert set(ring().keys) == {"k2"}
    assert mode_of(current_app.config["KEY_FILE"]) == 0o600
    read_back(expected)


def test_retire_refuses_the_active_key_and_unknown_keys(keys_app, cli):
    plant_records()
    active = cli("keys", "retire", "k1")
    assert active.exit_code == 1 and "k1" in active.output
    assert "k1" in key_file()["keys"] and ring().active == "k1"
    assert cli("keys", "rotate").exit_code == 0
    assert cli("keys", "reencrypt").exit_code == 0
    unknown = cli("keys", "retire", "k9")
    assert unknown.exit_code == 1 and "no key k9" in unknown.output
    assert set(key_file()["keys"]) == {"k1", "k2"}


def test_rotate_after_retire_never_reuses_a_key_id(keys_app, cli):
    plant_records()
    for _ in range(2):
        assert cli("keys", "rotate").exit_code == 0
        assert cli("keys", "reencrypt").exit_code == 0
    assert cli("keys", "retire", "k1").exit_code == 0
    assert cli("keys", "retire", "k2").exit_code == 0
    assert cli("keys", "rotate").exit_code == 0
    assert set(key_file()["keys"]) == {"k3", "k4"} and key_file()["active"] == "k4"


def test_retire_is_refused_when_the_key_ring_comes_from_the_environment(keys_app, cli, fresh_ring):
    environment_ring = KeyRing.generate()
    environment_ring.rotate()
    fresh_ring(ring_from_environment(environment_ring))
    result = cli("keys", "retire", "k1")
    assert result.exit_code == 1 and "CARECYCLE_KEYS" in result.output
    assert set(ring().keys) == {"k1", "k2"}  # the running app still holds the key


# ------------------------------------------------------------------ start-up rules
@pytest.fixture
def restore_logging():
    """Apps that are not `testing` configure the carecycle logger; put it back afterwards."""
    logger = logging.getLogger("carecycle")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def started(restore_logging):
    """Start apps in a test and dispose of them afterwards."""
    apps = []

    def start(tmp_path, **overrides):
        application = make_app(tmp_path, **overrides)
        apps.append(application)
        return application
    yield start
    for application in apps:
        dispose(application)


def write_ring(path, mode=0o600) -> KeyRing:
    ring_ = KeyRing.generate(path)
    ring_.save()
    os.chmod(path, mode)
    return ring_


def refusal(tmp_path, **overrides) -> str:
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path, CARECYCLE_ENV="production", **overrides)
    message = str(stopped.value.code)
    assert "\n" not in message.strip()
    assert message.startswith("CareCycle will not start: ")
    return message


def test_development_creates_a_missing_key_file_0600_and_says_so(tmp_path, no_key_env, started, capsys):
    path = tmp_path / "instance" / "keys.json"
    application = started(tmp_path, CARECYCLE_ENV="development", KEY_FILE=str(path))
    assert path.exists() and mode_of(path) == 0o600
    assert f"created a new key ring at {path} (mode 0600)" in capsys.readouterr().err
    loaded = KeyRing.from_json(path.read_text())
    assert application.extensions["carecycle_keyring"].keys == loaded.keys
    # the next start loads the same ring and says nothing
    again = started(tmp_path, CARECYCLE_ENV="development", KEY_FILE=str(path))
    assert again.extensions["carecycle_keyring"].keys == loaded.keys
    assert "created" not in capsys.readouterr().err


def test_development_creates_a_missing_secret_key_0600_once(tmp_path, no_key_env, started, capsys, monkeypatch):
    monkeypatch.setenv("CARECYCLE_INSTANCE_PATH", str(tmp_path / "instance"))
    application = started(tmp_path, CARECYCLE_ENV="development", SECRET_KEY=None)
    secret = tmp_path / "instance" / "secret_key"
    assert mode_of(secret) == 0o600
    assert application.config["SECRET_KEY"] == secret.read_text().strip()
    assert len(application.config["SECRET_KEY"]) >= 32
    assert "created a new SECRET_KEY" in capsys.readouterr().err
    again = started(tmp_path, CARECYCLE_ENV="development", SECRET_KEY=None)
    assert again.config["SECRET_KEY"] == application.config["SECRET_KEY"]
    assert "created" not in capsys.readouterr().err


def test_production_refuses_to_start_without_secret_key(tmp_path, no_key_env, restore_logging):
    write_ring(tmp_path / "keys.json")
    message = refusal(tmp_path, SECRET_KEY=None)
    assert "SECRET_KEY is not set" in message
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_key_file(tmp_path, no_key_env, restore_logging):
    path = tmp_path / "missing" / "keys.json"
    message = refusal(tmp_path, KEY_FILE=str(path), SECRET_KEY="production-secret-" + "x" * 32)
    assert "no key ring" in message and str(path) in message
    assert not path.exists()  # production never makes keys up


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_production_refuses_a_key_file_readable_by_others(tmp_path, no_key_env, restore_logging, mode):
    path = tmp_path / "keys.json"
    write_ring(path, mode)
    message = refusal(tmp_path, KEY_FILE=str(path), SECRET_KEY="production-secret-" + "x" * 32)
    assert "readable by others" in message and f"chmod 600 {path}" in message
    assert mode_of(path) == mode


@pytest.mark.parametrize("content", ["not json", '{"active": "k1"}',
                                     '{"active": "k1", "keys": {"k1": "c2hvcnQ="}, "index_key": "", "audit_key": ""}'])
def test_production_refuses_a_malformed_key_file_in_one_line(tmp_path, no_key_env, restore_logging, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    message = refusal(tmp_path, KEY_FILE=str(path), SECRET_KEY="production-secret-" + "x" * 32)
    assert "key" in message


def test_production_starts_when_all_is_right(tmp_path, no_key_env, started):
    path = tmp_path / "keys.json"
    written = write_ring(path)
    application = started(tmp_path, CARECYCLE_ENV="production", KEY_FILE=str(path),
                          SECRET_KEY="production-secret-" + "x" * 32)
    assert not application.testing
    assert application.config["SESSION_COOKIE_SECURE"] is True
    assert application.extensions["carecycle_keyring"].keys == written.keys
    assert mode_of(path) == 0o600


def test_production_starts_with_the_key_ring_from_the_environment(tmp_path, no_key_env, started, monkeypatch):
    environment_ring = KeyRing.generate()
    monkeypatch.setenv("CARECYCLE_KEYS", environment_ring.to_json())
    application = started(tmp_path, CARECYCLE_ENV="production", KEY_FILE=str(tmp_path / "absent.json"),
                          SECRET_KEY="production-secret-" + "x" * 32)
    assert application.extensions["carecycle_keyring"].keys == environment_ring.keys
    assert not (tmp_path / "absent.json").exists()


def test_reencrypt_keeps_each_records_version(keys_app, cli):
    """Re-sealing is not an edit: an editor opened before the rotation saves without a false conflict."""
    plant_records()
    before = {a.id: a.version for a in _db.session.scalars(select(Alert))}
    assert cli("keys", "rotate").exit_code == 0
    assert cli("keys", "reencrypt", "--batch", "2").exit_code == 0
    _db.session.remove()
    assert {a.id: a.version for a in _db.session.scalars(select(Alert))} == before
    assert key_ids() == {"k2"}


def test_reencrypt_never_undoes_an_edit_made_while_it_runs(keys_app, cli, monkeypatch):
    """A value changed between the batch's read and its write stays as edited (the write is
    conditional on the envelope read); the run finishes, without a traceback, and re-reads that row."""
    from carecycle.crypto import seal
    expected = plant_records()
    assert cli("keys", "rotate").exit_code == 0
    target = _db.session.scalars(select(Alert).order_by(Alert.id)).first()
    target_id = target.id
    version = target.version
    _db.session.remove()
    reseal = Encrypted.reseal
    edited = {"done": False}

    def edit_meanwhile(self, obj, ring_):
        sealed = reseal(self, obj, ring_)
        if not edited["done"] and obj.id == target_id and self.column == "summary":
            edited["done"] = True  # another writer saves a new summary after this batch read the row
            table = Alert.__table__
            _db.session.execute(table.update().where(table.c.id == target_id).values(
                summary=seal(b"summary edited during the rotation", "alert", "summary", target_id, ring_)))
        return sealed

    monkeypatch.setattr(Encrypted, "reseal", edit_meanwhile)
    result = cli("keys", "reencrypt", "--batch", "2")
    assert result.exit_code == 0, result.output
    assert edited["done"] and "Traceback" not in result.output
    assert "1 value(s) edited meanwhile, done on the next pass" in result.output
    _db.session.remove()
    alert = _db.session.get(Alert, target_id)
    assert alert.summary == "summary edited during the rotation"  # the edit stands
    assert alert.version == version
    expected[("alert", target_id)] = ("summary edited during the rotation", expected[("alert", target_id)][1])
    read_back(expected)
    assert key_ids() == {"k2"}


def test_a_missing_key_ring_is_not_replaced_when_the_database_holds_sealed_values(tmp_path, no_key_env, started,
                                                                                 capsys):
    """A restore without its key file: the app (and so every command) refuses to make a new key ring,
    naming the missing key file, instead of one that opens nothing and makes the audit check blame
    edited events."""
    from flask_migrate import upgrade
    database = f"sqlite:///{tmp_path / 'restored.db'}"
    first_key = tmp_path / "first" / "keys.json"
    application = started(tmp_path, CARECYCLE_ENV="development", KEY_FILE=str(first_key),
                          SQLALCHEMY_DATABASE_URI=database)
    with application.app_context():
        upgrade()
        _db.session.add(User(username="sealed", role="resident", password_hash="x", phone=PHONES[0]))
        _db.session.commit()
        _db.session.remove()
    dispose(application)
    capsys.readouterr()
    lost_key = tmp_path / "second" / "keys.json"
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path, CARECYCLE_ENV="development", KEY_FILE=str(lost_key), SQLALCHEMY_DATABASE_URI=database)
    message = str(stopped.value.code)
    assert message.startswith("CareCycle will not start: the key ring is missing: ")
    assert str(lost_key) in message and "Restore the key file from your backup" in message
    assert "tamper" not in message and "edited" not in message
    assert not lost_key.exists()
    assert "created a new key ring" not in capsys.readouterr().err
    # with the right key file it starts and the value opens
    again = started(tmp_path, CARECYCLE_ENV="development", KEY_FILE=str(first_key), SQLALCHEMY_DATABASE_URI=database)
    with again.app_context():
        assert _db.session.scalar(select(User).where(User.username == "sealed")).phone == PHONES[0]
        _db.session.remove()


def test_reencrypt_waits_until_every_live_worker_seals_with_the_active_key(keys_app, cli):
    """Workers read the key ring at start-up: one not yet restarted after a rotation would keep
    sealing under the old key, so re-encryption refuses while any live worker says so."""
    from carecycle.workers import WorkerHeartbeat, beat, live_workers, worker_id
    expected = plant_records()
    _db.session.remove()  # (on SQLite a transaction holds the writer: the beat has its own session)
    beat(keys_app)  # this process, as a worker started before the rotation: it seals with k1
    assert [(w.id, w.key_id) for w in live_workers()] == [(worker_id(), "k1")]
    now = utcnow()
    _db.session.add(WorkerHeartbeat(id="old-host:1:gone", host="old-host", pid=1, key_id="k1",
                                    started_at=now - timedelta(hours=2), seen_at=now - timedelta(minutes=5)))
    _db.session.commit()
    before = envelopes()
    assert cli("keys", "rotate").exit_code == 0
    refused = cli("keys", "reencrypt")
    assert refused.exit_code == 1
    assert "1 running worker(s) still seal with a key other than the active k2" in refused.output
    assert "pid" in refused.output and "old-host" not in refused.output  # a worker not seen for 90 s is gone
    assert "Traceback" not in refused.output and envelopes() == before
    # the restarted worker loads the new ring and says so at its next beat
    from carecycle.keyring import load_keyring
    keys_app.extensions["carecycle_keyring"] = load_keyring(keys_app.config["KEY_FILE"], False)
    _db.session.remove()
    beat(keys_app)
    assert [w.key_id for w in live_workers()] == ["k2"]
    done = cli("keys", "reencrypt")
    assert done.exit_code == 0, done.output
    assert key_ids() == {"k2"}
    read_back(expected)


def test_the_gunicorn_workers_beat_and_stop(keys_app):
    from types import SimpleNamespace

    from carecycle import gunicorn_conf
    from carecycle.workers import WorkerHeartbeat, live_workers, worker_id
    worker = SimpleNamespace(wsgi=keys_app)
    gunicorn_conf.post_worker_init(worker)
    try:
        for _ in range(50):
            _db.session.remove()
            if _db.session.get(WorkerHeartbeat, worker_id()) is not None:
                break
            __import__("time").sleep(0.1)
        assert [w.id for w in live_workers()] == [worker_id()]
    finally:
        _db.session.remove()
        gunicorn_conf.worker_exit(SimpleNamespace(log=logging.getLogger("test")), worker)
    _db.session.remove()
    assert live_workers() == []
    assert _db.session.get(WorkerHeartbeat, worker_id()).stopped_at is not None
