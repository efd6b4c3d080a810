"""Contact notes: drafts and signing, addenda, clinical notes never reaching social workers,
who sees which note, validation, last contact; pages and API."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from carecycle.accounts.service import create_token
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import ContactNote
from casework.service import notes as note_service
from tests.conftest import form_post, sign_in

CLINICAL_TEXT = "Disclosed intrusive memories of the assault; sleeping 3 hours"
CASEWORK_TEXT = "Helped with the housing benefit form; landlord meeting on Friday"


def bearer(user, db):
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def note_body(**fields):
    body = {"kind": "clinical", "mode": "phone", "body": CLINICAL_TEXT, "duration_minutes": 25}
    body.update(fields)
    return body


def signed_note(user, case, db, **fields):
    note = note_service.create_note(user, case, note_body(**fields), sign=True)
    db.session.commit()
    return note


# ------------------------------------------------------------------ drafts, signing, addenda (pages)
def test_counsellor_writes_a_draft_then_signs_it_and_the_text_is_encrypted(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    response = form_post(client, f"/cases/{case.id}/notes", {
        "kind": "clinical", "mode": "home_visit", "at": "", "duration_minutes": "40", "body": CLINICAL_TEXT,
        "action": "draft"}, page=f"/cases/{case.id}")
    assert response.status_code == 302
    note = db.session.scalar(select(ContactNote))
    assert (note.kind, note.mode, note.duration_minutes, note.signed) == ("clinical", "home_visit", 40, False)
    raw = db.session.execute(text("SELECT body FROM contact_note")).scalar_one()
    assert raw.startswith("ccv1:") and "assault" not in raw
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert CLINICAL_TEXT in page and "Draft" in page

    edited = form_post(client, f"/cases/{case.id}/notes/{note.id}/edit", {
        "kind": "clinical", "mode": "home_visit", "at": "", "duration_minutes": "45",
        "body": CLINICAL_TEXT + " (edited)", "version": str(note.version), "action": "draft"})
    assert edited.status_code == 400  # the time of an existing note cannot be emptied
    assert "time of the contact" in edited.get_data(as_text=True)
    at = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    edited = form_post(client, f"/cases/{case.id}/notes/{note.id}/edit", {
        "kind": "clinical", "mode": "home_visit", "at": at, "duration_minutes": "45",
        "body": CLINICAL_TEXT + " (edited)", "version": str(note.version), "action": "sign"})
    assert edited.status_code == 302
    db.session.expire_all()
    note = db.session.get(ContactNote, note.id)
    assert note.signed and note.signed_by_id == me.id and note.duration_minutes == 45
    assert note.body.endswith("(edited)")
    actions = {(e.action, e.object_id) for e in db.session.scalars(select(AuditEvent))}
    assert {("create", str(note.id)), ("update", str(note.id)), ("sign", str(note.id))} <= actions


def test_a_signed_note_cannot_be_changed_by_page_or_api(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    note = signed_note(me, case, db)
    page = form_post(client, f"/cases/{case.id}/notes/{note.id}/edit", {
        "kind": "clinical", "mode": "phone", "duration_minutes": "5", "body": "rewritten", "action": "draft"},
        page=f"/cases/{case.id}/notes/{note.id}")
    assert page.status_code == 409
    assert client.get(f"/cases/{case.id}/notes/{note.id}/edit").status_code == 409
    assert form_post(client, f"/cases/{case.id}/notes/{note.id}/sign", {},
                     page=f"/cases/{case.id}/notes/{note.id}").status_code == 409
    headers = bearer(me, db)
    api = client.patch(f"/api/v1/cases/{case.id}/notes/{note.id}", json={"body": "rewritten"}, headers=headers)
    assert api.status_code == 409 and api.json["error"]["code"] == "conflict"
    assert client.post(f"/api/v1/cases/{case.id}/notes/{note.id}/sign", headers=headers).status_code == 409
    db.session.expire_all()
    assert db.session.get(ContactNote, note.id).body == CLINICAL_TEXT


def test_an_addendum_follows_a_signed_note_and_is_signed_itself(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    note = signed_note(me, case, db)
    response = form_post(client, f"/cases/{case.id}/notes/{note.id}/addenda",
                         {"body": "Correction: it was 4 hours of sleep."}, page=f"/cases/{case.id}/notes/{note.id}")
    assert response.status_code == 302
    addendum = db.session.scalar(select(ContactNote).where(ContactNote.addendum_to_id == note.id))
    assert addendum.signed and addendum.kind == "clinical" and addendum.author_id == me.id
    page = client.get(f"/cases/{case.id}/notes/{note.id}").get_data(as_text=True)
    assert CLINICAL_TEXT in page and "Correction: it was 4 hours of sleep." in page
    empty = form_post(client, f"/cases/{case.id}/notes/{note.id}/addenda", {"body": "  "},
                      page=f"/cases/{case.id}/notes/{note.id}")
    assert empty.status_code == 400 and "Write the addendum" in empty.get_data(as_text=True)
    # an addendum is not a contact: it changes nothing of the note, and not the last contact
    assert note_service.last_contact(case, me) == note.at
    assert db.session.get(ContactNote, note.id).body == CLINICAL_TEXT


def test_a_draft_takes_no_addendum(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    draft = note_service.create_note(me, case, note_body())
    db.session.commit()
    response = client.post(f"/api/v1/cases/{case.id}/notes/{draft.id}/addenda", json={"body": "more"},
                           headers=bearer(me, db))
    assert response.status_code == 409
    assert db.session.scalar(select(ContactNote).where(ContactNote.addendum_to_id == draft.id)) is None


def test_drafts_are_seen_only_by_their_author(client, make_user, make_case, db):
    author = make_user("counsellor")
    supervisor = make_user("supervisor", team=author.team)
    case = make_case(author)
    draft = note_service.create_note(author, case, note_body(body="Unfinished thoughts"))
    db.session.commit()
    sign_in(client, supervisor.username)
    assert "Unfinished thoughts" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/notes/{draft.id}").status_code == 404
    headers = bearer(supervisor, db)
    assert client.get(f"/api/v1/cases/{case.id}/notes", headers=headers).json["notes"] == []
    assert client.patch(f"/api/v1/cases/{case.id}/notes/{draft.id}", json={"body": "x"},
                        headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/notes/{draft.id}/sign", headers=headers).status_code == 404
    note_service.sign_note(author, draft)
    db.session.commit()
    assert "Unfinished thoughts" in client.get(f"/cases/{case.id}").get_data(as_text=True)


# ------------------------------------------------------------------ clinical notes never reach social workers
@pytest.fixture
def shared_case(make_user, make_case, db):
    counsellor = make_user("counsellor")
    worker = make_user("social_worker", team=counsellor.team)
    case = make_case(counsellor, social_worker=worker)
    early = utcnow() - timedelta(hours=3)
    casework = signed_note(counsellor, case, db, kind="casework", mode="office", body=CASEWORK_TEXT,
                           at=early.isoformat())
    clinical = signed_note(counsellor, case, db)  # later: the counsellor's last contact
    note_service.add_addendum(counsellor, clinical, "Clinical addendum: nightmares again")
    db.session.commit()
    return counsellor, worker, case, casework, clinical


def test_a_social_worker_never_receives_a_clinical_note(client, shared_case, db):
    counsellor, worker, case, casework, clinical = shared_case
    sign_in(client, worker.username)
    pages = [client.get(f"/cases/{case.id}"), client.get(f"/cases/{case.id}/notes"),
             client.get(f"/cases/{case.id}/notes/{casework.id}")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "assault" not in html and "nightmares" not in html and str(clinical.id) not in html
        assert "Clinical note" not in html
    assert CASEWORK_TEXT in pages[1].get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/notes/{clinical.id}").status_code == 404
    assert client.get(f"/cases/{case.id}/notes/{clinical.id}/edit").status_code == 404

    headers = bearer(worker, db)
    listing = client.get(f"/api/v1/cases/{case.id}/notes", headers=headers)
    assert listing.status_code == 200
    assert [n["id"] for n in listing.json["notes"]] == [str(casework.id)]
    assert listing.json["total"] == 1 and "assault" not in listing.get_data(as_text=True)
    assert listing.json["last_contact"] == casework.at.isoformat()  # not the later clinical contact
    addendum_id = clinical.addenda[0].id
    for note_id in (clinical.id, addendum_id):
        assert client.get(f"/api/v1/cases/{case.id}/notes/{note_id}", headers=headers).status_code == 404
        assert client.patch(f"/api/v1/cases/{case.id}/notes/{note_id}", json={"body": "x"},
                            headers=headers).status_code == 404
        assert client.post(f"/api/v1/cases/{case.id}/notes/{note_id}/sign", headers=headers).status_code == 404
        assert client.post(f"/api/v1/cases/{case.id}/notes/{note_id}/addenda", json={"body": "x"},
                           headers=headers).status_code == 404


def test_a_social_worker_cannot_write_a_clinical_note_and_the_refusal_is_audited(client, shared_case, db):
    _counsellor, worker, case, _casework, _clinical = shared_case
    before = db.session.query(ContactNote).count()
    response = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(body="x"), headers=bearer(worker, db))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    sign_in(client, worker.username)
    page = form_post(client, f"/cases/{case.id}/notes", {"kind": "clinical", "mode": "phone",
                                                         "duration_minutes": "5", "body": "x"},
                     page=f"/cases/{case.id}")
    assert page.status_code == 403
    db.session.expire_all()
    assert db.session.query(ContactNote).count() == before
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert len(denied) == 2 and all(e.actor_id == worker.id for e in denied)
    # the casework note is theirs to write
    ok = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(kind="casework", body="Visited with food"),
                     headers=bearer(worker, db))
    assert ok.status_code == 201 and ok.json["kind"] == "casework" and ok.json["status"] == "draft"


def test_the_refusal_of_a_clinical_note_says_so_in_plain_words(app, client, shared_case, db):
    _counsellor, worker, case, _casework, _clinical = shared_case
    response = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(body="x"), headers=bearer(worker, db))
    assert response.json["error"]["message"] == "Your role cannot write clinical notes."
    chinese = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(body="x"),
                          headers={**bearer(worker, db), "Accept-Language": "zh-Hant"})
    assert chinese.json["error"]["message"] == "你的角色不能撰寫臨床紀錄。"
    sign_in(client, worker.username)
    page = form_post(client, f"/cases/{case.id}/notes", {"kind": "clinical", "mode": "phone",
                                                         "duration_minutes": "5", "body": "x"},
                     page=f"/cases/{case.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "Your role cannot write clinical notes." in html and "Clinical note notes" not in html


def test_a_social_worker_cannot_turn_their_draft_into_a_clinical_note(client, shared_case, db):
    _counsellor, worker, case, _casework, _clinical = shared_case
    draft = note_service.create_note(worker, case, note_body(kind="casework", body="Visit"))
    db.session.commit()
    response = client.patch(f"/api/v1/cases/{case.id}/notes/{draft.id}", json={"kind": "clinical"},
                            headers=bearer(worker, db))
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(ContactNote, draft.id).kind == "casework"


def test_counsellors_and_supervisors_read_clinical_notes(client, shared_case, make_user, db):
    counsellor, _worker, case, _casework, clinical = shared_case
    supervisor = make_user("supervisor", team=counsellor.team)
    listing = client.get(f"/api/v1/cases/{case.id}/notes", headers=bearer(supervisor, db)).json
    assert {n["kind"] for n in listing["notes"]} == {"clinical", "casework"}
    by_id = {n["id"]: n for n in listing["notes"]}
    assert by_id[str(clinical.id)]["addenda"][0]["body"] == "Clinical addendum: nightmares again"
    assert listing["last_contact"] == clinical.at.isoformat()
    sign_in(client, counsellor.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Disclosed intrusive memories" in page and "Last contact" in page


# ------------------------------------------------------------------ who sees the case at all
def test_notes_of_another_teams_case_do_not_exist_for_me(client, login_as, make_user, make_case, db):
    me = login_as("counsellor")
    other = make_user("counsellor", team="elsewhere")
    case = make_case(other)
    note = signed_note(other, case, db)
    assert client.get(f"/cases/{case.id}/notes").status_code == 404
    assert client.get(f"/cases/{case.id}/notes/{note.id}").status_code == 404
    headers = bearer(me, db)
    assert client.get(f"/api/v1/cases/{case.id}/notes", headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(), headers=headers).status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/notes/{note.id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/notes/{note.id}/sign", headers=headers).status_code == 404
    # a note id of another case through my own case: not found either
    mine = make_case(me)
    assert client.get(f"/api/v1/cases/{mine.id}/notes/{note.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/cases/not-a-uuid/notes", headers=headers).status_code == 404


def test_residents_and_admins_cannot_use_notes(client, make_user, make_case, db):
    case = make_case(make_user("counsellor"))
    for role in ("resident", "admin"):
        user = make_user(role)
        assert client.get(f"/api/v1/cases/{case.id}/notes", headers=bearer(user, db)).status_code == 403


# ------------------------------------------------------------------ the API contract
def test_api_create_patch_sign(client, make_user, make_case, db):
    me = make_user("counsellor")
    case = make_case(me)
    headers = bearer(me, db)
    at = (utcnow() - timedelta(minutes=30)).replace(microsecond=0)
    created = client.post(f"/api/v1/cases/{case.id}/notes", headers=headers, json={
        "kind": "casework", "mode": "online", "body": "Video call about the job centre", "duration_minutes": 15,
        "at": at.isoformat()})
    assert created.status_code == 201
    data = created.json
    assert data["status"] == "draft" and data["kind"] == "casework" and data["mode"] == "online"
    assert data["duration_minutes"] == 15 and data["at"] == at.isoformat() and data["author"] == me.username
    note_id = data["id"]
    patched = client.patch(f"/api/v1/cases/{case.id}/notes/{note_id}", headers=headers,
                           json={"body": "Video call about the job centre and CV", "version": data["version"]})
    assert patched.status_code == 200 and patched.json["body"].endswith("and CV")
    stale = client.patch(f"/api/v1/cases/{case.id}/notes/{note_id}", headers=headers,
                         json={"body": "stale", "version": data["version"]})
    assert stale.status_code == 409
    signed = client.post(f"/api/v1/cases/{case.id}/notes/{note_id}/sign", headers=headers)
    assert signed.status_code == 200 and signed.json["status"] == "signed" and signed.json["signed_by"] == me.username
    fetched = client.get(f"/api/v1/cases/{case.id}/notes/{note_id}", headers=headers).json
    assert fetched["body"] == "Video call about the job centre and CV" and fetched["addenda"] == []
    addendum = client.post(f"/api/v1/cases/{case.id}/notes/{note_id}/addenda", headers=headers,
                           json={"body": "The CV was sent."})
    assert addendum.status_code == 201 and addendum.json["addendum_to"] == note_id
    assert addendum.json["status"] == "signed"


@pytest.mark.parametrize("body, fields", [
    ({}, {"kind", "mode", "body", "duration_minutes"}),
    ({"kind": "secret", "mode": "pigeon", "body": "x", "duration_minutes": 5}, {"kind", "mode"}),
    ({"kind": "casework", "mode": "phone", "body": "   ", "duration_minutes": 5}, {"body"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": -1}, {"duration_minutes"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": "ten"}, {"duration_minutes"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5000}, {"duration_minutes"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": True}, {"duration_minutes"}),
    ({"kind": "casework", "mode": "phone", "body": "x" * 20001, "duration_minutes": 5}, {"body"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5, "at": "yesterday"}, {"at"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5, "at": "2026-01-01T10:00:00"}, {"at"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5, "at": "2999-01-01T10:00:00+00:00"},
     {"at"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5, "at": "2000-01-01T10:00:00+00:00"},
     {"at"}),
    ({"kind": ["casework"], "mode": "phone", "body": "x", "duration_minutes": 5}, {"kind"}),
    ({"kind": "casework", "mode": "phone", "body": "x", "duration_minutes": 5, "author": "someone"}, {"author"}),
])
def test_api_invalid_notes_answer_422_with_fields_and_store_nothing(client, make_user, make_case, db, body, fields):
    me = make_user("counsellor")
    case = make_case(me)
    response = client.post(f"/api/v1/cases/{case.id}/notes", json=body, headers=bearer(me, db))
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == fields
    assert db.session.query(ContactNote).count() == 0


def test_page_invalid_note_shows_messages_and_stores_nothing(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    response = form_post(client, f"/cases/{case.id}/notes", {"kind": "clinical", "mode": "phone",
                                                              "duration_minutes": "", "body": ""},
                         page=f"/cases/{case.id}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Write what happened" in html and "duration in minutes" in html
    assert db.session.query(ContactNote).count() == 0


def test_only_the_author_changes_or_signs_their_draft(make_user, make_case, db):
    from carecycle.lifecycle import Forbidden
    author = make_user("counsellor")
    supervisor = make_user("supervisor", team=author.team)
    case = make_case(author)
    draft = note_service.create_note(author, case, note_body())
    with pytest.raises(Forbidden):
        note_service.update_note(supervisor, draft, {"body": "mine now"})
    with pytest.raises(Forbidden):
        note_service.sign_note(supervisor, draft)


def test_last_contact_is_the_latest_contact_time_not_the_latest_written(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    assert note_service.last_contact(case, me) is None
    assert "none recorded yet" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    recent = utcnow() - timedelta(hours=1)
    signed_note(me, case, db, at=recent.isoformat())
    signed_note(me, case, db, at=(recent - timedelta(days=2)).isoformat())  # written later, happened earlier
    assert note_service.last_contact(case, me) == recent


def test_a_closed_case_takes_no_new_note_nor_draft_change_but_addenda(client, login_as, make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    signed = signed_note(me, case, db)
    draft = note_service.create_note(me, case, note_body(body="Draft before closure"))
    db.session.commit()
    case.phase = "closed"
    db.session.commit()
    page = form_post(client, f"/cases/{case.id}/notes", {**note_body(), "action": "sign"},
                     page=f"/cases/{case.id}/notes/{signed.id}")
    assert page.status_code == 409 and "closed" in page.get_data(as_text=True)
    api = client.post(f"/api/v1/cases/{case.id}/notes", json=note_body(), headers=bearer(me, db))
    assert api.status_code == 409
    patch = client.patch(f"/api/v1/cases/{case.id}/notes/{draft.id}", json={"body": "Changed after closure"},
                         headers=bearer(me, db))
    assert patch.status_code == 409
    assert "Write a contact note" not in client.get(f"/cases/{case.id}/notes").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ContactNote)) == 2
    assert db.session.get(ContactNote, draft.id).body == "Draft before closure"
    added = form_post(client, f"/cases/{case.id}/notes/{signed.id}/addenda", {"body": "Late correction"},
                      page=f"/cases/{case.id}/notes/{signed.id}")
    assert added.status_code == 302  # corrections are still added as addenda


def test_signing_with_a_version_that_is_not_a_number_is_refused_without_an_error_page(client, login_as,
                                                                                         make_case, db):
    me = login_as("counsellor")
    case = make_case(me)
    draft = note_service.create_note(me, case, note_body())
    db.session.commit()
    path = f"/cases/{case.id}/notes/{draft.id}"
    answer = form_post(client, f"{path}/sign", {"version": "abc"}, page=path)
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactNote, draft.id).signed_at is None
    assert "Send the version you edited." in client.get(path).get_data(as_text=True)
