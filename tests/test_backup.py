"""carecycle backup create / verify / restore, on the suite's database (SQLite, and PostgreSQL in CI):
a backup taken while others write holds every write acknowledged before it began; it checks out
with its key file and not with another; it restores only into an empty database."""
from __future__ import annotations

import json
import threading
import uuid

from sqlalchemy import create_engine, make_url, select, text

from carecycle.alerts import Alert, raise_alert
from carecycle.extensions import db as _db
from carecycle.keyring import KeyRing
from tests.conftest import dispose, make_app


def _empty_database(tmp_path, base_url: str):
    """A new empty database beside the suite's: (url, drop)."""
    if make_url(base_url).get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}", lambda: None
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False), drop


def test_a_backup_taken_during_writes_checks_out_and_restores_every_acknowledged_write(app, db, runner, tmp_path,
                                                                                       make_user, make_client):
    counsellor = make_user("counsellor")
    person_id = make_client(counsellor.team, counsellor, full_name="Backup Person", phone="+852 5555 0199").id
    acknowledged = []
    for n in range(20):
        acknowledged.append(raise_alert("test", "routine", summary=f"before the backup {n}").id)
        db.session.commit()
    stop, during, errors = threading.Event(), [], []

    def keep_writing():
        with app.app_context():
            try:
                while not stop.is_set():
                    during.append(raise_alert("test", "routine", summary="while backing up").id)
                    _db.session.commit()
            except Exception as error:  # surfaced below
                errors.append(error)
            finally:
                _db.session.remove()

    db.session.remove()
    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = runner.invoke(args=["backup", "create", str(tmp_path / "nightly")])
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output and "it needs key(s) k1" in result.output
    manifest = json.loads((tmp_path / "nightly" / "manifest.json").read_text())
    assert manifest["rows"]["alert"] >= 20 and manifest["key_ids"] == ["k1"] and manifest["schema_revision"]

    checked = runner.invoke(args=["backup", "verify", str(tmp_path / "nightly"), "--key-file", app.config["KEY_FILE"]])
    assert checked.exit_code == 0, checked.output
    assert "backup verified" in checked.output and "audit chain intact" in checked.output

    # the suite's database is not empty: restoring over it is refused
    refused = runner.invoke(args=["backup", "restore", str(tmp_path / "nightly")])
    assert refused.exit_code == 1 and "the database is not empty" in refused.output

    url, drop = _empty_database(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    restored = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, KEY_FILE=app.config["KEY_FILE"])
    try:
        with restored.app_context():  # the command runs on the app whose context is current
            done = restored.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "nightly")])
        assert done.exit_code == 0, done.output
        with restored.app_context():
            ids = set(_db.session.scalars(select(Alert.id)))
            assert set(acknowledged) <= ids  # every write acknowledged before the backup began
            assert len(ids) == manifest["rows"]["alert"]
            from casework.models import Client
            assert _db.session.get(Client, person_id).full_name == "Backup Person"
            _db.session.remove()
    finally:
        dispose(restored)
        drop()


def test_a_backup_does_not_check_out_with_another_key_file_or_a_changed_copy(app, db, runner, tmp_path, make_user):
    make_user("resident", phone="+852 5555 0123")
    raise_alert("test", "routine", summary="sealed summary")
    db.session.commit()
    assert runner.invoke(args=["backup", "create", str(tmp_path / "b")]).exit_code == 0
    other = tmp_path / "other-keys.json"
    KeyRing.generate(other).save()
    wrong = runner.invoke(args=["backup", "verify", str(tmp_path / "b"), "--key-file", str(other)])
    assert wrong.exit_code == 1 and "does not check out" in wrong.output
    assert isinstance(wrong.exception, SystemExit) and "5555" not in wrong.output  # a refusal, not a crash
    copy = next((tmp_path / "b").glob("database.*"))
    copy.write_bytes(copy.read_bytes() + b"x")
    damaged = runner.invoke(args=["backup", "verify", str(tmp_path / "b"), "--key-file", app.config["KEY_FILE"]])
    assert damaged.exit_code == 1 and "does not match the SHA-256 in the manifest" in damaged.output


def test_a_backup_needs_a_new_folder(runner, db, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    result = runner.invoke(args=["backup", "create", str(tmp_path / "used")])
    assert result.exit_code == 1 and "is not empty" in result.output
