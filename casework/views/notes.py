"""Contact note pages: the case page's notes section, all notes, one note with its addenda,
editing and signing a draft, adding an addendum. Rules are in casework.service.notes."""
from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.forms import ConfirmForm
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.localtime import format_when, local, to_utc
from carecycle.permissions import Permission, can, requires
from carecycle.urls import page_arg
from carecycle.validation import Conflict, Invalid
from casework.forms import AddendumForm, NoteForm
from casework.models import ContactNote
from casework.models.notes import ContactMode, NoteKind
from casework.service import notes as service
from casework.views import SummaryRow, bp, enum_label, register_case_section
from casework.views.common import change_and_return, conflict_page, place_errors, save_form

RECENT_ON_CASE_PAGE = 5
PER_PAGE = 25


def to_local_input(value: datetime) -> datetime:
    """A stored UTC time as the naive local time a datetime-local input shows."""
    return local(value).replace(tzinfo=None)


def from_local_input(value: datetime | None) -> datetime | None:
    """The naive time typed into a datetime-local input, in the page's time zone."""
    if value is None:
        return None
    return to_utc(value.date(), value.time())


def note_form(user, note: ContactNote | None = None, formdata=None) -> NoteForm:
    form = NoteForm(formdata=formdata) if formdata is not None else NoteForm()
    form.kind.choices = [(kind.value, kind.label) for kind in service.writable_kinds(user)]
    if note is not None and formdata is None:
        form.kind.data, form.mode.data = note.kind, note.mode
        form.at.data, form.duration_minutes.data = to_local_input(note.at), note.duration_minutes
        form.body.data, form.version.data = note.body, note.version
    elif formdata is None:
        form.kind.data = form.kind.choices[0][0] if form.kind.choices else None
    return form


def _values(form: NoteForm) -> dict:
    return {"kind": form.kind.data, "mode": form.mode.data, "at": from_local_input(form.at.data),
            "duration_minutes": form.duration_minutes.data, "body": form.body.data}


def notes_section(case):
    """The case page: last contact, the latest notes this user may read, and the new-note form."""
    if not can(Permission.CASEWORK_NOTES):
        return {"notes_enabled": False}
    recent = db.session.scalars(service.notes_of(case, current_user).limit(RECENT_ON_CASE_PAGE)).all()
    last = service.last_contact(case, current_user)
    return {
        "notes_enabled": True,
        "notes_recent": recent,
        "notes_last_contact": last,
        "note_form": note_form(current_user),
        "summary": [SummaryRow(40, _l("Last contact"), format_when(last) if last else _("None recorded yet"),
                               anchor="case-notes-heading")],
    }


register_case_section("casework/notes/_section.html", notes_section, anchor="case-notes-heading",
                      label=_l("Contact notes"), order=20, permission=Permission.CASEWORK_NOTES)


def _list_page(case, form, status=200):
    pagination = db.paginate(service.notes_of(case, current_user), page=page_arg(), per_page=PER_PAGE,
                             error_out=False)
    return render_template("casework/notes/list.html", case=case, pagination=pagination, form=form,
                           addenda=service.addenda_by_note(list(pagination.items), current_user),
                           last_contact=service.last_contact(case, current_user)), status


@bp.route("/cases/<case_id>/notes")
@requires(Permission.CASEWORK_NOTES)
def notes(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    record_event("view", "case_notes", case.id)
    answer = _list_page(case, note_form(current_user))
    return answer


@bp.route("/cases/<case_id>/notes", methods=["POST"])
@requires(Permission.CASEWORK_NOTES)
def note_create(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    form = note_form(current_user, formdata=request.form)
    form.kind.choices = [(k.value, k.label) for k in NoteKind]  # the service decides who may write which kind
    if form.validate_on_submit():
        sign = request.form.get("action") == "sign"
        try:
            with undone_on_error():
                note = service.create_note(current_user, case, _values(form), sign=sign)
        except Invalid as error:
            place_errors(form, error)
        except Conflict as error:  # the case is closed
            return conflict_page(error, url_for("casework.notes", case_id=case.id))
        else:
            flash(_("Note signed.") if sign else _("Draft saved. Sign it when it is complete."), "success")
            return redirect(url_for("casework.note_detail", case_id=case.id, note_id=note.id))
    form.kind.choices = [(k.value, k.label) for k in service.writable_kinds(current_user)]
    return _list_page(case, form, 400)


@bp.route("/cases/<case_id>/notes/<note_id>")
@requires(Permission.CASEWORK_NOTES)
def note_detail(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,))
    if note.is_addendum:
        return redirect(url_for("casework.note_detail", case_id=case.id, note_id=note.addendum_to_id,
                                _anchor=f"addendum-{note.id}"))
    addenda = service.addenda_of(note, current_user)
    return render_template("casework/notes/detail.html", case=case, note=note, addenda=addenda,
                           addendum_form=AddendumForm(), sign_form=ConfirmForm())


@bp.route("/cases/<case_id>/notes/<note_id>/edit", methods=["GET", "POST"])
@requires(Permission.CASEWORK_NOTES)
def note_edit(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,),
                        audit=request.method == "GET")
    back = url_for("casework.note_detail", case_id=case.id, note_id=note.id)
    if note.signed:
        keep_refusal()  # opening it was a view, audited
        return conflict_page(Conflict(_("This note is signed and cannot be changed. Add an addendum instead.")), back)
    form = note_form(current_user, note) if request.method == "GET" else note_form(current_user, formdata=request.form)
    if form.validate_on_submit():
        sign = request.form.get("action") == "sign"

        def save():
            service.update_note(current_user, note, _values(form), version=form.version.data or None)
            if sign:
                service.sign_note(current_user, note)
        done = save_form(form, back, save, _("Note signed.") if sign else _("Draft saved."))
        if done:
            return done
    return render_template("casework/notes/edit.html", case=case, note=note, form=form), 400 if form.errors else 200


@bp.route("/cases/<case_id>/notes/<note_id>/sign", methods=["POST"])
@requires(Permission.CASEWORK_NOTES)
def note_sign(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,), audit=False)
    back = url_for("casework.note_detail", case_id=case.id, note_id=note.id)
    return change_and_return(  # Invalid: a version that is not a number
        back, lambda: service.sign_note(current_user, note, version=request.form.get("version") or None),
        _("Note signed. It can no longer be changed; add an addendum for corrections."))


@bp.route("/cases/<case_id>/notes/<note_id>/addenda", methods=["POST"])
@requires(Permission.CASEWORK_NOTES)
def note_addendum(case_id, note_id):
    case = load_visible("case", case_id, current_user, audit=False)
    note = load_visible("note", note_id, current_user, where=(ContactNote.case_id == case.id,), audit=False)
    form = AddendumForm()
    back = url_for("casework.note_detail", case_id=case.id, note_id=note.addendum_to_id or note.id)
    if form.validate_on_submit():
        done = save_form(form, back, lambda: service.add_addendum(current_user, note, form.body.data),
                         _("Addendum signed and added."))
        if done:
            return done
    original = note.addendum_to or note
    addenda = service.addenda_of(original, current_user)
    return render_template("casework/notes/detail.html", case=case, note=original, addenda=addenda,
                           addendum_form=form, sign_form=ConfirmForm()), 400


@bp.context_processor
def note_labels():
    return {"note_kind_label": enum_label(NoteKind), "contact_mode_label": enum_label(ContactMode)}
