"""/readyz: ready only when the database answers at the newest migration with the key ring loaded;
/healthz stays the bare liveness route."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade

from carecycle.extensions import db as _db
from tests.conftest import dispose, make_app


def test_ready_when_database_schema_and_keys_are_there(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "problems": []}
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_when_the_schema_is_behind(app, client, db):
    _db.session.remove()
    try:
        downgrade(revision="-1")
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["problems"] == [
            "database schema not at the newest migration (run carecycle db upgrade)"]
    finally:
        _db.session.remove()
        upgrade()
    assert client.get("/readyz").status_code == 200


def test_not_ready_when_the_database_does_not_answer(tmp_path):
    from carecycle.keyring import KeyRing
    KeyRing.generate(tmp_path / "keys.json").save()
    # nothing listens on port 9
    application = make_app(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:9/nowhere")
    try:
        response = application.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["problems"] == ["database not reachable"]
        assert application.test_client().get("/healthz").status_code == 200  # liveness needs no database
    finally:
        dispose(application)
