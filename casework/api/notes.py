"""Contact notes API: the same service functions and rules as the pages.

Invisible case or note -> 404 (a social worker never learns a clinical note exists), forbidden
(e.g. a social worker writing a clinical note) -> 403, invalid -> 422 with fields, a change to a
signed note -> 409."""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import func, select

from carecycle.api import json_body
from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import load_visible
from carecycle.openapi import described
from carecycle.permissions import Permission, requires
from casework.api import api, schemas
from casework.api.common import iso, page_args
from casework.models import ContactNote
from casework.service import notes as service

MAX_PER_PAGE = 200


def note_json(note: ContactNote, addenda: list[ContactNote] | None = None) -> dict:
    body = {
        "id": str(note.id), "case_id": str(note.case_id), "kind": note.kind, "mode": note.mode,
        "at": iso(note.at), "duration_minutes": note.duration_minutes, "body": note.body,
        "status": "signed" if note.signed else "draft",
        "author": note.author.username if note.author else None,
        "created_at": iso(note.created_at), "updated_at": iso(note.updated_at),
        "signed_at": iso(note.signed_at), "signed_by": note.signed_by.username if note.signed_by else None,
        "addendum_to": str(note.addendum_to_id) if note.addendum_to_id else None, "version": note.version,
    }
    if addenda is not None:
        body["addenda"] = [note_json(a) for a in addenda]
    return body


@api.route("/cases/<case_id>/notes", methods=["GET"])
@described(query=schemas.NotePaging, responses={200: schemas.NoteList})
@requires(Permission.CASEWORK_NOTES)
def api_notes(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    page, per_page = page_args(50, MAX_PER_PAGE)
    stmt = service.notes_of(case, current_user)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    notes = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    addenda = service.addenda_by_note(notes, current_user)
    record_event("view", "case_notes", case.id)
    return {"notes": [note_json(n, addenda[n.id]) for n in notes], "page": page, "per_page": per_page,
            "total": total, "last_contact": iso(service.last_contact(case, current_user))}


@api.route("/cases/<case_id>/notes", methods=["POST"])
@described(body=schemas.NoteNew, responses={201: schemas.Note})
@requires(Permission.CASEWORK_NOTES)
def api_note_create(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    sign = body.pop("sign", False) is True
    note = service.create_note(current_user, case, body, sign=sign)
    return note_json(note, []), 201


@api.route("/cases/<case_id>/notes/<note_id>", methods=["GET"])
@described(responses={200: schemas.Note})
@requires(Permission.CASEWORK_NOTES)
def api_note_get(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,))
    addenda = service.addenda_of(note, current_user) if not note.is_addendum else None
    return note_json(note, addenda)


@api.route("/cases/<case_id>/notes/<note_id>", methods=["PATCH"])
@described(body=schemas.NoteChange, responses={200: schemas.Note}, errors=(409,))
@requires(Permission.CASEWORK_NOTES)
def api_note_patch(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,), audit=False)
    body = json_body()
    version = body.pop("version", None)
    service.update_note(current_user, note, body, version=version)
    return note_json(note, service.addenda_of(note, current_user))


@api.route("/cases/<case_id>/notes/<note_id>/sign", methods=["POST"])
@described(body=schemas.NoteSign, body_optional=True, responses={200: schemas.Note}, errors=(409,))
@requires(Permission.CASEWORK_NOTES)
def api_note_sign(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,), audit=False)
    body = json_body(optional=True)
    version = body.get("version")
    service.sign_note(current_user, note, version=version)
    return note_json(note, service.addenda_of(note, current_user))


@api.route("/cases/<case_id>/notes/<note_id>/addenda", methods=["POST"])
@described(body=schemas.Addendum, responses={201: schemas.Note}, errors=(409,))
@requires(Permission.CASEWORK_NOTES)
def api_note_addendum(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,), audit=False)
    body = json_body()
    addendum = service.add_addendum(current_user, note, body.get("body"))
    return note_json(addendum), 201
