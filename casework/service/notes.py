"""Contact notes: who may read and write which kind, drafts, signing, addenda, last contact.

Clinical notes are read and written only by roles holding CLINICAL_NOTES (counsellors and
supervisors); every query for notes goes through `visible_notes`, so a social worker never
receives a clinical note, nor learns that one exists. A draft is seen only by its author.
A signed note is frozen: changing it is a Conflict (409); a correction is an addendum."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden
from carecycle.permissions import Permission, role_has
from carecycle.validation import Conflict, Invalid, iso_datetime, refuse_unknown_fields
from casework.models import Case, ContactNote
from casework.models.notes import ContactMode, NoteKind
from casework.service.careplans import require_open

KIND_PERMISSION = {NoteKind.CLINICAL: Permission.CLINICAL_NOTES, NoteKind.CASEWORK: Permission.CASEWORK_NOTES}
MAX_BODY = 20_000
MAX_DURATION = 24 * 60
FUTURE_SLACK = timedelta(minutes=5)      # clocks differ a little
BEFORE_OPENING = timedelta(days=7)       # the contact that led to the case may predate it
FIELDS = ("kind", "mode", "at", "duration_minutes", "body")


def readable_kinds(user) -> list[str]:
    return [kind.value for kind, permission in KIND_PERMISSION.items() if role_has(user.role, permission)]


def writable_kinds(user) -> list[NoteKind]:
    return [kind for kind, permission in KIND_PERMISSION.items() if role_has(user.role, permission)]


def visible_notes(user):
    """WHERE clause: the notes `user` may receive on a case they can see (kind allowed; drafts only their own)."""
    return and_(ContactNote.kind.in_(readable_kinds(user)),
                or_(ContactNote.signed_at.is_not(None), ContactNote.author_id == user.id))


def notes_of(case: Case, user, *, addenda: bool = False):
    """A select of the case's notes `user` may receive, newest contact first."""
    stmt = select(ContactNote).where(ContactNote.case_id == case.id, visible_notes(user))
    if not addenda:
        stmt = stmt.where(ContactNote.addendum_to_id.is_(None))
    return stmt.order_by(ContactNote.at.desc(), ContactNote.created_at.desc())


def addenda_of(note: ContactNote, user) -> Sequence[ContactNote]:
    return db.session.scalars(select(ContactNote).where(ContactNote.addendum_to_id == note.id, visible_notes(user))
                              .order_by(ContactNote.signed_at, ContactNote.created_at)).all()


def addenda_by_note(notes: list[ContactNote], user) -> dict:
    """{note id: its addenda `user` may receive}, for a page of notes in one query."""
    grouped: dict = {note.id: [] for note in notes}
    if grouped:
        for row in db.session.scalars(select(ContactNote).where(
                ContactNote.addendum_to_id.in_(list(grouped)), visible_notes(user))
                .order_by(ContactNote.signed_at, ContactNote.created_at)):
            grouped[row.addendum_to_id].append(row)
    return grouped


def last_contact(case: Case, user) -> datetime | None:
    """The time of the latest contact `user` may know of (computed from notes, never stored on the case)."""
    return db.session.scalar(select(func.max(ContactNote.at)).where(
        ContactNote.case_id == case.id, ContactNote.addendum_to_id.is_(None), visible_notes(user)))


# ------------------------------------------------------------------ validation
def parse_time(value) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 text with its UTC offset."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = iso_datetime(value.strip())
        except ValueError:
            raise Invalid({"at": _("Give the time as ISO 8601, e.g. 2026-03-01T14:30:00+08:00.")}) from None
    else:
        raise Invalid({"at": _("Give the time of the contact.")})
    if parsed.tzinfo is None:
        raise Invalid({"at": _("Give the time with its UTC offset, e.g. 2026-03-01T14:30:00+08:00.")})
    return parsed


def _choice(enum, value, field: str, errors: dict):
    try:
        return enum(value)
    except ValueError:
        errors[field] = _("Choose one of: %(options)s.", options=", ".join(m.value for m in enum))
        return None


def _clean(case: Case, values: dict, current: ContactNote | None = None) -> dict:
    """Checked values for the fields present in `values` (all of them when creating)."""
    errors: dict[str, str] = {}
    clean: dict = {}
    creating = current is None
    if creating or "kind" in values:
        clean["kind"] = _choice(NoteKind, values.get("kind"), "kind", errors)
    if creating or "mode" in values:
        clean["mode"] = _choice(ContactMode, values.get("mode"), "mode", errors)
    if creating or "body" in values:
        body = values.get("body")
        if not isinstance(body, str) or not body.strip():
            errors["body"] = _("Write what happened in the contact.")
        elif len(body) > MAX_BODY:
            errors["body"] = _("Keep the note under %(n)d characters.", n=MAX_BODY)
        else:
            clean["body"] = body.replace("\r\n", "\n").strip()
    if creating or "duration_minutes" in values:
        raw = values.get("duration_minutes")
        if isinstance(raw, bool) or raw in (None, ""):
            errors["duration_minutes"] = _("Give the duration in minutes (0 when there was no conversation).")
        else:
            try:
                minutes = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
            except (TypeError, ValueError):
                minutes = None
            if minutes is None or not 0 <= minutes <= MAX_DURATION:
                errors["duration_minutes"] = _("Give a whole number of minutes from 0 to %(n)d.", n=MAX_DURATION)
            else:
                clean["duration_minutes"] = minutes
    if "at" in values and values.get("at") not in (None, ""):
        try:
            at = parse_time(values["at"])
        except Invalid as error:
            errors.update(error.fields)
        else:
            if at > utcnow() + FUTURE_SLACK:
                errors["at"] = _("The contact cannot be in the future.")
            elif at < case.opened_at - BEFORE_OPENING:
                errors["at"] = _("The contact cannot be more than 7 days before the case was opened.")
            else:
                clean["at"] = at
    elif creating:
        clean["at"] = utcnow()
    elif "at" in values:
        errors["at"] = _("Give the time of the contact.")
    if errors:
        raise Invalid(errors)
    return clean


def _check_kind(user, kind: NoteKind, object_id=None) -> None:
    if kind not in writable_kinds(user):
        message = (_("Your role cannot write clinical notes.") if kind is NoteKind.CLINICAL
                   else _("Your role cannot write casework notes."))
        raise Forbidden(message, "contact_note", object_id, reason=f"write {kind.value} note")


# ------------------------------------------------------------------ changes
def create_note(user, case: Case, values: dict, *, sign: bool = False, allow_closed: bool = False) -> ContactNote:
    """A new note on the case, as a draft (or signed at once when `sign`). The caller commits. A closed
    case takes no new note (Conflict): only addenda (`allow_closed` is for loading earlier records)."""
    if not allow_closed:
        require_open(case)
    refuse_unknown_fields(values, FIELDS)
    if isinstance(values.get("kind"), str) and values["kind"] in {k.value for k in NoteKind}:
        _check_kind(user, NoteKind(values["kind"]))  # refuse the kind before judging the rest
    clean = _clean(case, values)
    now = utcnow()
    note = ContactNote(case_id=case.id, kind=clean["kind"].value, mode=clean["mode"].value, at=clean["at"],
                       duration_minutes=clean["duration_minutes"], author_id=user.id, created_at=now, updated_at=now)
    note.body = clean["body"]
    db.session.add(note)
    db.session.flush()
    record_event("create", "contact_note", note.id)
    if sign:
        sign_note(user, note)
    return note


def _expect_version(note: ContactNote, version) -> None:
    if version is None:
        return
    try:
        version = int(version)
    except (TypeError, ValueError, OverflowError):  # 1e400 is infinity
        raise Invalid({"version": _("Send the version you edited.")}) from None
    if version != note.version:
        raise Conflict(_("This draft was changed since you opened it."), current_version=note.version)


def update_note(user, note: ContactNote, values: dict, version=None) -> ContactNote:
    """Change a draft. A signed note is never changed (Conflict): add an addendum instead."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise Invalid({name: _("This field cannot be changed.") for name in sorted(unknown)})
    if note.signed:
        raise Conflict(_("This note is signed and cannot be changed. Add an addendum instead."),
                       current_version=note.version)
    if note.author_id != user.id:
        raise Forbidden(_("Only the author changes a draft."), "contact_note", note.id, reason="edit draft of another")
    require_open(note.case, note.version)
    if isinstance(values.get("kind"), str) and values["kind"] in {k.value for k in NoteKind}:
        _check_kind(user, NoteKind(values["kind"]), note.id)
    _expect_version(note, version)
    clean = _clean(note.case, values, current=note)
    changed = []
    for field, value in clean.items():
        value = value.value if isinstance(value, (NoteKind, ContactMode)) else value
        if getattr(note, field) != value:
            setattr(note, field, value)
            changed.append(field)
    if changed:
        note.updated_at = utcnow()
        db.session.flush()
        record_event("update", "contact_note", note.id, reason=",".join(changed))
    return note


def sign_note(user, note: ContactNote, version=None) -> ContactNote:
    """Sign a draft: from now on it is frozen. Only its author signs."""
    if note.signed:
        raise Conflict(_("This note is already signed."), current_version=note.version)
    if note.author_id != user.id:
        raise Forbidden(_("Only the author signs a note."), "contact_note", note.id, reason="sign note of another")
    _check_kind(user, NoteKind(note.kind), note.id)
    _expect_version(note, version)
    note.signed_at = utcnow()
    note.signed_by_id = user.id
    db.session.flush()
    record_event("sign", "contact_note", note.id)
    return note


def add_addendum(user, note: ContactNote, body) -> ContactNote:
    """A signed addendum that follows a signed note (an addendum to an addendum follows the original)."""
    if not note.signed:
        raise Conflict(_("This note is still a draft: change the draft instead of adding an addendum."),
                       current_version=note.version)
    original = note.addendum_to or note
    _check_kind(user, NoteKind(original.kind), original.id)
    if not isinstance(body, str) or not body.strip():
        raise Invalid({"body": _("Write the addendum.")})
    if len(body) > MAX_BODY:
        raise Invalid({"body": _("Keep the note under %(n)d characters.", n=MAX_BODY)})
    now = utcnow()
    addendum = ContactNote(case_id=original.case_id, kind=original.kind, mode=None, at=now, duration_minutes=None,
                           author_id=user.id, created_at=now, updated_at=now, signed_at=now, signed_by_id=user.id,
                           addendum_to_id=original.id)
    addendum.body = body.replace("\r\n", "\n").strip()
    db.session.add(addendum)
    db.session.flush()
    record_event("create", "contact_note", addendum.id, reason="addendum")
    record_event("sign", "contact_note", addendum.id)
    return addendum
