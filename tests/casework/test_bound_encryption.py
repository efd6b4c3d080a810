"""Issue 11: a note's kind and case, and a case's team, are bound into the encryption's associated
data. A database edit of one of them (a clinical note turned into a casework one that a social
worker reads, a case moved to another team) makes the value fail to open instead of showing it;
the migration re-seals rows written before."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from carecycle.crypto import DecryptionError, open_sealed, seal
from carecycle.database import UTCDateTime, utcnow
from carecycle.extensions import db as _db
from casework.models import Case, ContactNote
from casework.service import notes as note_service
from tests.conftest import dispose, make_app, sign_in

CLINICAL_TEXT = "Disclosed intrusive memories of the assault; sleeping 3 hours"
CASEWORK_TEXT = "Helped with the housing benefit form; landlord meeting on Friday"
GOALS = {"achieved": 2, "in_progress": 1}  # shown on a closed case's page as "2 of 3 goals achieved"


def raw_id(row_id):
    return row_id.hex if _db.engine.dialect.name == "sqlite" else row_id


def sql(statement: str, **params) -> None:
    _db.session.execute(text(statement), params)
    _db.session.commit()
    _db.session.expire_all()


@pytest.fixture
def shared_case(make_user, make_case, db):
    counsellor = make_user("counsellor")
    worker = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=worker)
    casework = note_service.create_note(counsellor, case, {
        "kind": "casework", "mode": "office", "body": CASEWORK_TEXT, "duration_minutes": 20,
        "at": (utcnow() - timedelta(hours=3)).isoformat()}, sign=True)
    clinical = note_service.create_note(counsellor, case, {
        "kind": "clinical", "mode": "phone", "body": CLINICAL_TEXT, "duration_minutes": 25}, sign=True)
    db.session.commit()
    return counsellor, worker, case, casework, clinical


# ------------------------------------------------------------------ the attacks
def test_a_clinical_note_turned_into_casework_in_the_database_never_reaches_the_social_worker(
        client, shared_case, db, caplog):
    _counsellor, worker, case, _casework, clinical = shared_case
    sign_in(client, worker.username)
    assert CASEWORK_TEXT in client.get(f"/cases/{case.id}/notes").get_data(as_text=True)  # control

    sql("UPDATE contact_note SET kind = 'casework' WHERE id = :id", id=raw_id(clinical.id))
    with caplog.at_level(logging.ERROR, logger="carecycle.crypto"):
        pages = [client.get(f"/cases/{case.id}/notes"), client.get(f"/cases/{case.id}/notes/{clinical.id}")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 500 and "could not be opened safely" in html
        assert "assault" not in html and "sleeping 3 hours" not in html
    assert f"table=contact_note column=body row={clinical.id}" in caplog.text
    with pytest.raises(DecryptionError):
        _ = db.session.get(ContactNote, clinical.id).body


def test_a_note_moved_to_another_case_fails_to_open(shared_case, make_user, make_case, db):
    counsellor, _worker, _case, _casework, clinical = shared_case
    other = make_case(make_user("counsellor", team="elsewhere"))
    sql("UPDATE contact_note SET case_id = :case WHERE id = :id", case=raw_id(other.id), id=raw_id(clinical.id))
    with pytest.raises(DecryptionError):
        _ = db.session.get(ContactNote, clinical.id).body


def close_with_snapshot(case, db):
    case.closure_summary = "Back at work three days a week"
    case.outcome_snapshot = {"instruments": [], "goals": GOALS}
    case.phase, case.closure_reason, case.closed_at = "closed", "goals_achieved", utcnow()
    db.session.commit()


def test_a_case_moved_to_another_team_in_the_database_shows_that_team_nothing(client, shared_case, make_user, db):
    counsellor, _worker, case, _casework, _clinical = shared_case
    close_with_snapshot(case, db)
    home = make_user("supervisor", team=counsellor.team)
    sign_in(client, home.username)
    assert "2 of 3 goals achieved" in client.get(f"/cases/{case.id}").get_data(as_text=True)  # control

    stranger = make_user("supervisor", team="elsewhere")
    sql("UPDATE case_file SET team_id = :team WHERE id = :id", team=raw_id(stranger.team_id), id=raw_id(case.id))
    other = client.application.test_client()
    sign_in(other, stranger.username)
    page = other.get(f"/cases/{case.id}")
    assert page.status_code == 500 and "could not be opened safely" in page.get_data(as_text=True)
    assert "goals achieved" not in page.get_data(as_text=True)
    moved = db.session.get(Case, case.id)
    for field in ("closure_summary", "outcome_snapshot"):
        with pytest.raises(DecryptionError):
            getattr(moved, field)


# ------------------------------------------------------------------ changes made by the application
def test_a_draft_whose_kind_is_changed_by_its_author_still_opens(make_user, make_case, db):
    """Changing a bound column through the service re-seals the value under the new binding."""
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    draft = note_service.create_note(counsellor, case, {"kind": "casework", "mode": "phone", "body": "Visit",
                                                        "duration_minutes": 5})
    db.session.commit()
    sealed_before, draft_id = draft._body, draft.id
    note_service.update_note(counsellor, draft, {"kind": "clinical", "body": "Visit, and what was said"})
    note_service.update_note(counsellor, draft, {"kind": "casework"})  # the kind alone, body untouched
    db.session.commit()
    db.session.expire_all()
    _db.session.remove()
    again = _db.session.get(ContactNote, draft_id)
    assert (again.kind, again.body) == ("casework", "Visit, and what was said")
    assert again._body != sealed_before
    binding = (("kind", "casework"), ("case_id", again.case_id))
    assert open_sealed(again._body, "contact_note", "body", again.id, bound=binding) == b"Visit, and what was said"
    with pytest.raises(DecryptionError):  # the binding is part of what was sealed
        open_sealed(again._body, "contact_note", "body", again.id)


def test_a_case_moved_to_another_team_by_the_application_still_opens(shared_case, make_team, db):
    _counsellor, _worker, case, _casework, _clinical = shared_case
    close_with_snapshot(case, db)
    case.team_id = make_team().id
    case_id = case.id
    db.session.commit()
    _db.session.remove()
    again = _db.session.get(Case, case_id)
    assert again.closure_summary == "Back at work three days a week"
    assert again.outcome_snapshot["goals"] == GOALS


# ------------------------------------------------------------------ the migration for rows sealed before
BEFORE = "5e1c0a7d2b90"


@pytest.fixture
def migrated_app(tmp_path):
    application = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/reseal.db")
    yield application
    dispose(application)


def test_the_migration_reseals_rows_written_before_the_binding(migrated_app):
    from carecycle.accounts.models import Team
    from casework.models import Client
    with migrated_app.app_context():
        upgrade(revision=BEFORE)
        team = Team(name="Riverside")
        _db.session.add(team)
        _db.session.flush()
        # the account as the table was then (the model has columns added since): written by hand
        accounts = sa.table("user_account", sa.column("id", sa.Uuid()), sa.column("username"),
                            sa.column("password_hash"), sa.column("role"), sa.column("team_id", sa.Uuid()),
                            sa.column("active"), sa.column("must_change_password"), sa.column("failed_logins"),
                            sa.column("created_at", UTCDateTime()))
        user_id = uuid.uuid4()
        _db.session.execute(accounts.insert().values(id=user_id, username="c1", password_hash="x", role="counsellor",
                                                     team_id=team.id, active=True, must_change_password=False,
                                                     failed_logins=0, created_at=utcnow()))
        person = Client(team_id=team.id)
        person.full_name = "Alex Example"
        _db.session.add(person)
        _db.session.flush()
        case = Case(client_id=person.id, team_id=team.id, phase="closed", risk_level="low", source="walk_in")
        _db.session.add(case)
        _db.session.flush()
        note = ContactNote(case_id=case.id, kind="clinical", mode="phone", at=utcnow(), author_id=user_id)
        note.body = "overwritten below"
        _db.session.add(note)
        _db.session.commit()
        ids = {"note": note.id, "case": case.id}
        # as the previous version sealed them: table, column and row only
        old = {("contact_note", "body", note.id): CLINICAL_TEXT.encode(),
               ("case_file", "closure_summary", case.id): b"Back at work",
               ("case_file", "outcome_snapshot", case.id): b'{"goals": {"achieved": 1}}'}
        for (table, column, row_id), plain in old.items():
            _db.session.execute(text(f'UPDATE "{table}" SET "{column}" = :v WHERE id = :id'),
                                {"v": seal(plain, table, column, row_id), "id": row_id.hex})
        _db.session.commit()
        _db.session.remove()
        with pytest.raises(DecryptionError):  # not yet migrated: the new binding refuses them
            _ = _db.session.get(ContactNote, ids["note"]).body
        _db.session.remove()

        upgrade()
        note, case = _db.session.get(ContactNote, ids["note"]), _db.session.get(Case, ids["case"])
        assert note.body == CLINICAL_TEXT
        assert case.closure_summary == "Back at work" and case.outcome_snapshot == {"goals": {"achieved": 1}}
        _db.session.remove()

        upgrade()  # nothing left to do; running it again changes nothing
        downgrade(revision=BEFORE)
        for (table, column, row_id), plain in old.items():
            stored = _db.session.execute(text(f'SELECT "{column}" FROM "{table}" WHERE id = :id'),
                                         {"id": row_id.hex}).scalar_one()
            assert open_sealed(stored, table, column, row_id) == plain
        _db.session.remove()
        upgrade()
        assert _db.session.get(ContactNote, ids["note"]).body == CLINICAL_TEXT
        _db.session.remove()
