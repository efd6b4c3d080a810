"""Signed contact notes as FHIR `Communication`: what was said with the client, when, how, and by
whom, so `Patient/<id>/$everything` holds the case's record of contacts.

Every query goes through casework.service.notes.visible_notes on a case the caller may see: a
clinical note reaches only roles that hold CLINICAL_NOTES (never social workers, nor learns one
exists), a casework note roles that hold CASEWORK_NOTES. Drafts are the author's working copy and
are not served. An addendum names the note it corrects in `partOf`. Reads are audited as views of
the note.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from carecycle.audit import record_view
from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    code_system_url,
    instant,
    ref,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import NotFound, load_visible
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.urls import as_uuid
from casework.enums import LABELS
from casework.models import Case, ContactNote
from casework.models.notes import ContactMode, NoteKind
from casework.service.access import visible_cases
from casework.service.notes import visible_notes

KIND_SYSTEM = "note-kind"
MODE_SYSTEM = "contact-mode"


def _label(enum, value) -> str:
    return str(LABELS.get((enum, value)) or value)


def communication(note: ContactNote, client_id) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Communication", "id": str(note.id), "meta": {"versionId": str(note.version)},
        "status": "completed",
        "category": [{"coding": [{"system": code_system_url(KIND_SYSTEM), "code": note.kind,
                                  "display": _label(NoteKind, note.kind)}]}],
        "subject": ref("Patient", client_id),
        "sent": instant(note.at), "sender": {"display": note.author.name} if note.author else None,
        "payload": [{"contentString": note.body}],
        "note": [{"text": f"Signed {instant(note.signed_at)}"
                          + (f" by {note.signed_by.name}" if note.signed_by else "")}],
    }
    resource = {k: v for k, v in resource.items() if v is not None}
    if note.mode:
        resource["medium"] = [{"coding": [{"system": code_system_url(MODE_SYSTEM), "code": note.mode,
                                           "display": _label(ContactMode, note.mode)}]}]
    if note.duration_minutes:
        resource["payload"].append({"contentString": f"Duration: {note.duration_minutes} minutes"})
    if note.addendum_to_id:
        resource["partOf"] = [ref("Communication", note.addendum_to_id)]
    return resource


def _stmt(user):
    return (select(ContactNote, Case.client_id).join(Case, Case.id == ContactNote.case_id)
            .where(visible_cases(user), visible_notes(user), ContactNote.signed_at.is_not(None))
            .options(joinedload(ContactNote.author), joinedload(ContactNote.signed_by)))


def _notes_allowed(user) -> bool:
    role = Role(user.role)
    return role_has(role, Permission.CLINICAL_NOTES) or role_has(role, Permission.CASEWORK_NOTES)


def read_communication(record_id: str, user) -> dict:
    note_id = as_uuid(record_id)
    row = db.session.execute(_stmt(user).where(ContactNote.id == note_id)).first() if note_id else None
    if row is None:
        raise NotFound("contact_note")
    load_visible("case", row[0].case_id, user, audit=False)  # notes a break-glass grant in use
    record_view("contact_note", row[0].id)
    return communication(*row)


def search_communications(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _stmt(user)
    value = params.get("patient") or params.get("subject")
    if value is not None:
        client_id = as_uuid(ref_id(value, "Patient"))
        if client_id is None:
            raise FhirError(400, "patient must be a Patient reference (Patient/<id>) or an id.")
        stmt = stmt.where(Case.client_id == client_id)
    if "category" in params:
        system, code = token_value(params["category"])
        if system not in (None, code_system_url(KIND_SYSTEM)) or code not in [k.value for k in NoteKind]:
            raise FhirError(400, f"category must be clinical or casework ({code_system_url(KIND_SYSTEM)}).")
        stmt = stmt.where(ContactNote.kind == code)
    rows = list(db.session.execute(stmt.order_by(ContactNote.at.desc(), ContactNote.id)
                                   .offset(page.offset).limit(page.count + 1)))
    shown, more = page.window(rows)
    return [communication(note, client_id) for note, client_id in shown], more


def everything(client, user) -> list[dict]:
    if not _notes_allowed(user):
        return []
    rows = db.session.execute(_stmt(user).where(Case.client_id == client.id)
                              .order_by(ContactNote.at, ContactNote.created_at))
    resources = []
    for note, client_id in rows:
        record_view("contact_note", note.id)
        resources.append(communication(note, client_id))
    return resources


def register(app) -> None:
    from carecycle.fhir import add_everything

    register_code_system(app, KIND_SYSTEM, "CareCycle contact-note kinds",
                         "A clinical note (counsellors and supervisors only) or a casework note "
                         "(Communication.category).",
                         lambda: [Concept(k.value, _label(NoteKind, k.value)) for k in NoteKind])
    register_code_system(app, MODE_SYSTEM, "CareCycle contact modes",
                         "How the contact took place (Communication.medium).",
                         lambda: [Concept(m.value, _label(ContactMode, m.value)) for m in ContactMode])
    register_resource(
        app, "Communication", permission=Permission.CASES_VIEW, read=read_communication,
        search=search_communications,
        params={"patient": "The client's (Patient reference or id).", "subject": "The same as patient.",
                "category": f"clinical or casework ({KIND_SYSTEM} code)."},
        param_types={"patient": "reference", "subject": "reference"}, audit_as="contact_note",
        doc="A signed contact note (an addendum names its note in partOf). Clinical notes: counsellors and "
            "supervisors only, never social workers; drafts are not served.")
    add_everything(app, everything)
