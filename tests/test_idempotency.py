"""Idempotency-Key on API POSTs: a retry gets the first answer and writes nothing again; a reused key
with another request is refused; the race of two attempts in flight is decided by the database."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from carecycle.accounts.service import create_token
from carecycle.database import utcnow
from carecycle.extensions import db as _db
from carecycle.idempotency import IdempotentRequest
from screening.models import ScreeningResult
from tests.race import Contenders, needs_concurrent_transactions

BODY = {"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 0, 0, 0, 0]}


def headers(db, user, key=None):
    token = create_token(user)
    db.session.commit()
    out = {"Authorization": f"Bearer {token}"}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


def results(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ScreeningResult))


def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing(client, db, make_user):
    sent = headers(db, make_user("resident"), "retry-1f3a")
    first = client.post("/api/v1/screenings", json=BODY, headers=sent)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = client.post("/api/v1/screenings", json=BODY, headers=sent)
    assert again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert results(db) == 1
    stored = db.session.scalars(select(IdempotentRequest)).one()
    assert str(first.get_json()["id"]) in stored.body
    assert first.get_json()["id"] not in (stored._body or "")  # the stored answer is encrypted


def test_the_same_key_for_another_request_is_refused_and_writes_nothing(client, db, make_user):
    sent = headers(db, make_user("resident"), "k-22")
    assert client.post("/api/v1/screenings", json=BODY, headers=sent).status_code == 201
    other = client.post("/api/v1/screenings", json={**BODY, "answers": [0] * 9}, headers=sent)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["error"]["fields"]
    assert results(db) == 1


def test_keys_belong_to_one_user_and_last_a_day(client, db, make_user):
    one, two = make_user("resident"), make_user("resident")
    assert client.post("/api/v1/screenings", json=BODY, headers=headers(db, one, "shared")).status_code == 201
    assert client.post("/api/v1/screenings", json=BODY, headers=headers(db, two, "shared")).status_code == 201
    assert results(db) == 2
    db.session.execute(update(IdempotentRequest).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    late = client.post("/api/v1/screenings", json=BODY, headers=headers(db, one, "shared"))
    assert late.status_code == 201 and "Idempotent-Replayed" not in late.headers
    assert results(db) == 3


def test_a_refused_request_is_not_kept_so_the_corrected_retry_is_done(client, db, make_user):
    sent = headers(db, make_user("resident"), "fix-me")
    bad = client.post("/api/v1/screenings", json={**BODY, "answers": [9] * 9}, headers=sent)
    assert bad.status_code == 422 and results(db) == 0
    assert client.post("/api/v1/screenings", json=BODY, headers=sent).status_code == 201
    assert results(db) == 1


def test_a_key_that_is_not_printable_ascii_is_refused(client, db, make_user):
    for key in ("", "x" * 201, "clé"):
        response = client.post("/api/v1/screenings", json=BODY,
                               headers={**headers(db, make_user("resident")), "Idempotency-Key": key.encode()
                                        .decode("latin-1")})
        assert response.status_code == 422, key
        assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert results(db) == 0


def test_two_attempts_in_flight_with_one_key_write_once(app, db, make_user, monkeypatch):
    needs_concurrent_transactions(db)
    from carecycle import idempotency
    sent = headers(db, make_user("resident"), "in-flight")
    # the token's first use is recorded now (one write a minute), not by the contenders on one row
    assert app.test_client().get("/api/v1/me", headers=sent).status_code == 200
    db.session.commit()
    db.session.remove()
    contenders = Contenders(2)
    local = threading.local()
    stored = idempotency._stored

    def looked_up(user_id, key):
        row = stored(user_id, key)
        if not getattr(local, "waited", False):
            local.waited = True
            contenders.ready(row is None)  # both found no answer before either wrote
        return row

    monkeypatch.setattr(idempotency, "_stored", looked_up)
    answers = []

    def send():
        answers.append(app.test_client().post("/api/v1/screenings", json=BODY, headers=sent))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    contenders.assert_overlapped(True)
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert results(db) == 1
    assert db.session.get(ScreeningResult, uuid.UUID(answers[0].get_json()["id"])) is not None
    _db.session.remove()
