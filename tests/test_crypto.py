"""Field encryption: envelopes, binding to table/column/row, tamper detection, blind indexes,
and no plaintext on disk."""
from __future__ import annotations

import logging
import secrets
import string
import uuid
from pathlib import Path

import pytest
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import Uuid, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

from carecycle import crypto
from carecycle.accounts.models import User
from carecycle.alerts import Alert, raise_alert
from carecycle.crypto import DecryptionError, Encrypted, Sealed, blind_index, key_id_of, normalise_phone, open_sealed
from carecycle.database import UUIDPrimaryKey
from carecycle.extensions import db as _db
from carecycle.keyring import KeyRing
from carecycle.permissions import PUBLIC, requires
from tests.conftest import dispose, make_app


def stored(table: str, column: str, row_id) -> str | None:
    """The raw column value, as the database holds it."""
    return _db.session.execute(text(f'SELECT "{column}" FROM "{table}" WHERE id = :id'),
                               {"id": _raw_id(row_id)}).scalar_one()


def overwrite(table: str, column: str, row_id, value: str | None) -> None:
    """Write a raw column value behind the ORM's back, then forget what the session knew."""
    _db.session.execute(text(f'UPDATE "{table}" SET "{column}" = :v WHERE id = :id'),
                        {"v": value, "id": _raw_id(row_id)})
    _db.session.commit()
    _db.session.expire_all()


def _raw_id(row_id):
    # SQLite stores UUIDs as 32 hex digits; PostgreSQL has a native uuid type.
    return row_id.hex if _db.engine.dialect.name == "sqlite" else row_id


@pytest.fixture
def Record(db, monkeypatch):
    """A throwaway model with one text and one JSON encrypted field (own metadata, own table)."""
    monkeypatch.setattr(crypto, "ENCRYPTED_FIELDS", list(crypto.ENCRYPTED_FIELDS))

    class Base(DeclarativeBase):
        registry = registry(type_annotation_map={uuid.UUID: Uuid()})

    class Record(UUIDPrimaryKey, Base):
        __tablename__ = "test_crypto_record"
        _title: Mapped[str | None] = mapped_column("title", Sealed)
        title = Encrypted("_title")
        _answers: Mapped[str | None] = mapped_column("answers", Sealed)
        answers = Encrypted("_answers", kind="json")

    Base.metadata.create_all(db.engine)
    yield Record
    db.session.remove()
    Base.metadata.drop_all(db.engine)


# ------------------------------------------------------------------ round trip and envelope
def test_text_and_json_round_trip_and_are_stored_as_envelopes(db, Record):
    answers = {"phq9": [3, 2, 1], "note": "sleeps badly — 睡眠差", "flag": True, "score": None}
    record = Record()
    record.title = "Wants to talk about the flood"
    record.answers = answers
    db.session.add(record)
    db.session.commit()
    record_id = record.id
    db.session.remove()

    again = db.session.get(Record, record_id)
    assert again.title == "Wants to talk about the flood"
    assert again.answers == answers
    active = current_app.extensions["carecycle_keyring"].active
    for column, plain in (("title", "flood"), ("answers", "phq9"), ("answers", "sleeps")):
        raw = stored("test_crypto_record", column, record_id)
        assert raw.startswith(f"ccv1:{active}:")
        assert key_id_of(raw) == active
        assert plain not in raw


def test_json_value_read_back_is_what_was_stored_not_the_callers_object(db, Record):
    answers = {"items": [1, 2]}
    record = Record()
    record.answers = answers
    answers["items"].append(3)  # the caller keeps changing its own dict
    assert record.answers == {"items": [1, 2]}
    read = record.answers
    read["items"].append(4)  # nor does changing what was read change the field
    assert record.answers == {"items": [1, 2]}
    db.session.add(record)
    db.session.commit()
    db.session.expire_all()
    assert record.answers == {"items": [1, 2]}


def test_same_plaintext_seals_differently_each_time(db, make_user):
    first, second = make_user(phone="+852 5555 0101"), make_user(phone="+852 5555 0101")
    a, b = stored("user_account", "phone", first.id), stored("user_account", "phone", second.id)
    assert a != b
    assert "5555" not in a and "5555" not in b


def test_empty_text_and_none_store_null(db, make_user):
    user = make_user(phone="")
    assert stored("user_account", "phone", user.id) is None
    assert user.phone is None and user.phone_index is None
    user.phone = "2345 6789"
    db.session.commit()
    user.phone = None
    db.session.commit()
    assert stored("user_account", "phone", user.id) is None
    assert db.session.execute(text("SELECT phone_index FROM user_account")).scalar_one() is None


def test_sealed_column_refuses_plaintext(db, make_user):
    user = make_user()
    user._phone = "+852 5555 0101"
    with pytest.raises(StatementError, match="plaintext given to an encrypted column"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(StatementError, match="plaintext given to an encrypted column"):
        db.session.execute(update(User).where(User.id == user.id).values({User._phone: "5555 0101"}))
    db.session.rollback()
    with pytest.raises(StatementError, match="plaintext given to an encrypted column"):
        db.session.execute(User.__table__.insert().values(
            id=uuid.uuid4(), username="raw", password_hash="x", role="resident", active=True,
            must_change_password=False, created_at=user.created_at, phone="5555 0101"))
    db.session.rollback()
    assert stored("user_account", "phone", user.id) is None


def test_wrong_type_for_a_text_field_is_refused(db, make_user):
    user = make_user()
    with pytest.raises(TypeError):
        user.phone = 55550101


# ------------------------------------------------------------------ binding to row and column
def test_ciphertext_copied_to_another_row_fails_to_decrypt(db, make_user, caplog):
    alice, bob = make_user(phone="+852 5555 0101"), make_user(phone="+852 6666 0202")
    alice_id, bob_id = alice.id, bob.id
    overwrite("user_account", "phone", bob_id, stored("user_account", "phone", alice_id))

    bob = db.session.get(User, bob_id)
    with caplog.at_level(logging.ERROR, logger="carecycle.crypto"):
        with pytest.raises(DecryptionError) as caught:
            _ = bob.phone
    assert (caught.value.table, caught.value.column, caught.value.row_id) == ("user_account", "phone", bob_id)
    assert f"table=user_account column=phone row={bob_id}" in caplog.text
    assert "5555" not in caplog.text and "6666" not in caplog.text
    assert db.session.get(User, alice_id).phone == "+852 5555 0101"  # the original still opens


def test_ciphertext_copied_to_another_column_of_the_same_row_fails(db, caplog):
    alert = raise_alert("test", "urgent", summary="Neighbour reports shouting at night")
    db.session.commit()
    alert_id = alert.id
    overwrite("alert", "close_reason", alert_id, stored("alert", "summary", alert_id))

    alert = db.session.get(Alert, alert_id)
    assert alert.summary_text == "Neighbour reports shouting at night"
    with caplog.at_level(logging.ERROR, logger="carecycle.crypto"):
        with pytest.raises(DecryptionError):
            _ = alert.close_reason
    assert f"table=alert column=close_reason row={alert_id}" in caplog.text
    assert "shouting" not in caplog.text


def test_ciphertext_moved_to_another_table_fails(db, make_user):
    alert = raise_alert("test", "urgent", summary="Neighbour reports shouting at night")
    user = make_user()
    db.session.commit()
    open_sealed(stored("alert", "summary", alert.id), "alert", "summary", alert.id)  # control
    with pytest.raises(DecryptionError):
        open_sealed(stored("alert", "summary", alert.id), "user_account", "phone", alert.id)
    with pytest.raises(DecryptionError):
        open_sealed(stored("alert", "summary", alert.id), "alert", "summary", user.id)


@pytest.fixture
def page_app(db, tmp_path):
    """A fresh app (own key ring, own database on SQLite) with a test-only page showing a phone."""
    application = make_app(tmp_path)

    @application.route("/test-only/phone/<uuid:user_id>")
    @requires(PUBLIC)
    def show_phone(user_id):
        return f"<p>phone: {_db.session.get(User, user_id).phone}</p>"

    with application.app_context():
        if _db.engine.dialect.name == "sqlite":
            _db.create_all()
    yield application
    dispose(application)


def test_page_hitting_a_moved_ciphertext_answers_an_error_page(page_app, caplog):
    with page_app.app_context():
        alice = User(username="alice", role="counsellor", password_hash="x", phone="+852 5555 0101")
        bob = User(username="bob", role="counsellor", password_hash="x", display_name="Bob Example",
                   phone="+852 6666 0202")
        _db.session.add_all([alice, bob])
        _db.session.commit()
        alice_id, bob_id = alice.id, bob.id
    client = page_app.test_client()
    ok = client.get(f"/test-only/phone/{bob_id}")
    assert ok.status_code == 200 and "+852 6666 0202" in ok.get_data(as_text=True)  # control

    with page_app.app_context():
        overwrite("user_account", "phone", bob_id, stored("user_account", "phone", alice_id))
    with caplog.at_level(logging.ERROR, logger="carecycle.crypto"):
        response = client.get(f"/test-only/phone/{bob_id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert '<header class="site">' in body and "could not be opened safely" in body
    assert "Traceback" not in body and "DecryptionError" not in body and "ccv1:" not in body
    for secret in ("5555", "0101", "6666", "0202"):
        assert secret not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert f"table=user_account column=phone row={bob_id}" in caplog.text


# ------------------------------------------------------------------ tampering and missing keys
@pytest.mark.parametrize("phone", ["+852 5555 0101", "+852 5555 01010", "+852 5555 010101"])
def test_tampering_any_character_of_the_envelope_fails(db, make_user, phone):
    """Every one-character change fails, whatever the base64 padding (no bit of the envelope is slack)."""
    user = make_user(phone=phone)
    envelope = stored("user_account", "phone", user.id)
    assert open_sealed(envelope, "user_account", "phone", user.id) == phone.encode()
    alphabet = string.ascii_letters + string.digits + "+/=:"
    for position, char in enumerate(envelope):
        for replacement in alphabet.replace(char, ""):
            tampered = envelope[:position] + replacement + envelope[position + 1:]
            with pytest.raises(DecryptionError):
                open_sealed(tampered, "user_account", "phone", user.id)
    for tampered in (envelope[:-4], envelope + "AAAA", envelope.replace(":", ";", 1), "ccv1:k1:", ""):
        with pytest.raises(DecryptionError):
            open_sealed(tampered, "user_account", "phone", user.id)


def test_tampered_stored_value_fails_through_the_model(db, make_user):
    user = make_user(phone="+852 5555 0101")
    envelope = stored("user_account", "phone", user.id)
    middle = len(envelope) // 2
    flipped = envelope[:middle] + ("A" if envelope[middle] != "A" else "B") + envelope[middle + 1:]
    overwrite("user_account", "phone", user.id, flipped)
    with pytest.raises(DecryptionError, match="authentication failed"):
        _ = db.session.get(User, user.id).phone


def test_missing_key_id_fails(db, make_user, caplog):
    user = make_user(phone="+852 5555 0101")
    envelope = stored("user_account", "phone", user.id)
    kid = key_id_of(envelope)
    overwrite("user_account", "phone", user.id, envelope.replace(f"ccv1:{kid}:", "ccv1:k999:", 1))
    with caplog.at_level(logging.ERROR, logger="carecycle.crypto"):
        with pytest.raises(DecryptionError, match="key k999 is not in the key ring"):
            _ = db.session.get(User, user.id).phone
    assert f"row={user.id}" in caplog.text
    # a key ring without the key that sealed the value cannot open it either
    ring = current_app.extensions["carecycle_keyring"]
    other = KeyRing.generate()
    other.keys = {"k7": other.keys["k1"]}
    other.active = "k7"
    with pytest.raises(DecryptionError, match=f"key {kid} is not in the key ring"):
        open_sealed(envelope, "user_account", "phone", user.id, other)
    assert open_sealed(envelope, "user_account", "phone", user.id, ring) == b"+852 5555 0101"


def test_wrong_key_under_the_same_id_fails(db, make_user):
    user = make_user(phone="+852 5555 0101")
    envelope = stored("user_account", "phone", user.id)
    impostor = KeyRing.generate()
    impostor.keys = {key_id_of(envelope): impostor.keys["k1"]}
    impostor.active = key_id_of(envelope)
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_sealed(envelope, "user_account", "phone", user.id, impostor)


# ------------------------------------------------------------------ blind index
def test_blind_index_equal_after_normalisation(db):
    phone = User.phone
    assert phone.index_for("+852 5555-0101") == phone.index_for("85255550101") == phone.index_for(
        "(852) 5555 0101")
    assert phone.index_for("+852 5555 0101") != phone.index_for("+852 5555 0102")
    assert normalise_phone("+852 (5555) 0101") == "85255550101"
    text_index = blind_index("client.name", "  Chan   Tai\tMan ")
    assert text_index == blind_index("client.name", "chan tai man") == blind_index("client.name", "CHAN TAI MAN")
    assert text_index != blind_index("client.name", "chan taiman")
    assert len(text_index) == 64 and "chan" not in text_index


def test_blind_index_differs_across_fields_and_index_keys(db):
    value = "85255550101"
    assert blind_index("user_account.phone", value) != blind_index("client.phone", value)
    assert User.phone.index_for(value) == blind_index("user_account.phone", value, normalise_phone)
    other_ring = KeyRing.generate()
    assert blind_index("user_account.phone", value, normalise_phone, ring=other_ring) != \
        User.phone.index_for(value)


def test_blind_index_lookup_finds_the_row(db, make_user):
    target = make_user(phone="+852 5555 0101")
    make_user(phone="+852 5555 0102")
    make_user()  # no phone
    found = db.session.scalars(select(User).where(User.phone_index == User.phone.index_for("85255550101"))).all()
    assert [u.id for u in found] == [target.id]
    assert target.phone_index == User.phone.index_for("(852) 5555-0101")
    stored_index = db.session.execute(text("SELECT phone_index FROM user_account WHERE phone_index IS NOT NULL"))
    assert all("5555" not in row[0] for row in stored_index)


def test_blind_index_lookup_of_a_value_with_nothing_to_match_finds_nothing(db, make_user):
    make_user()  # no phone: its index is NULL
    make_user(phone="+852 5555 0101")
    for nothing in ("", "   ", "no digits here"):
        found = db.session.scalars(select(User).where(User.phone_index == User.phone.index_for(nothing))).all()
        assert found == []


def test_blind_index_follows_a_changed_value(db, make_user):
    user = make_user(phone="+852 5555 0101")
    user.phone = "+852 6666 0202"
    db.session.commit()
    assert db.session.scalar(select(User).where(User.phone_index == User.phone.index_for("85255550101"))) is None
    assert db.session.scalar(select(User).where(User.phone_index == User.phone.index_for("85266660202"))) == user


# ------------------------------------------------------------------ nothing in plaintext on disk
def test_planted_values_never_reach_the_database_files(tmp_path):
    planted_phone = "".join(secrets.choice("0123456789") for _ in range(12))
    planted_summary = f"planted-summary-{secrets.token_hex(8)}"
    username = f"plain{secrets.token_hex(6)}"
    database = tmp_path / "planted.db"
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    try:
        with app.app_context():
            upgrade()
            assert _db.session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            user = User(username=username, role="resident", password_hash="x")
            user.phone = planted_phone
            _db.session.add(user)
            raise_alert("planted", "crisis", subject_type="user", subject_id=user.id, summary=planted_summary)
            _db.session.commit()
            assert _db.session.get(User, user.id).phone == planted_phone  # it is there, sealed
            files = [path for path in (database, Path(f"{database}-wal")) if path.exists()]
            assert database in files
            assert Path(f"{database}-wal") in files, "the WAL file is expected while connections are open"
            raw = b"".join(path.read_bytes() for path in files)
    finally:
        dispose(app)
    assert username.encode() in raw  # control: an unencrypted value is found
    assert planted_phone.encode() not in raw
    assert planted_summary.encode() not in raw
    assert planted_phone.encode("utf-16-le") not in raw
    # after the last connection closes SQLite checkpoints the WAL into the main file
    after = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
    assert username.encode() in after
    assert planted_phone.encode() not in after and planted_summary.encode() not in after
