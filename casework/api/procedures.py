"""Procedures API: the service's operating procedures (read by staff, written, revised and archived
by supervisors) and the checklists on a register entry, alert or activation, with marking a step
done or taking it back. The same service functions and rules as the pages: a record the caller may
not see answers 404, a stale `version` 409."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from carecycle.api import json_body
from carecycle.lifecycle import NotFound, load_visible
from carecycle.openapi import Closed, Open, described
from carecycle.permissions import Permission, requires
from carecycle.validation import Invalid
from casework.api import api
from casework.api.common import iso
from casework.enums import ProcedureStep
from casework.service import procedures as service

SUBJECTS = {step.subject: step for step in ProcedureStep}


class ProcedureFilter(Closed):
    archived: bool = Field(False, description="true: the archived procedures instead of those in use")


class ProcedureNew(Closed):
    applies_to: str = Field(description="register_tier, triage_kind or activation")
    applies_value: str = Field("", description="the tier (red, orange, yellow, green) or the alert kind "
                                               "(screening, walk_in, hotline, ...); empty for activation")
    title: str = Field(description="up to 200 characters")
    purpose: str | None = Field(None, description="what it is for (up to 2000 characters)")
    items: list[str] = Field(description="the checklist's steps in order: 1 to 30, each up to 300 characters")


class ProcedureRevision(Closed):
    title: str
    purpose: str | None = None
    items: list[str]
    version: int | None = Field(None, description="the procedure's version read; a stale one is refused with 409")


class ProcedureArchive(Closed):
    version: int | None = Field(None, description="the procedure's version read; a stale one is refused with 409")


class VersionOut(Open):
    id: str
    number: int
    title: str
    purpose: str
    items: list[str]
    created_at: str
    created_by_id: str


class ProcedureOut(Open):
    id: str
    applies_to: str
    applies_value: str
    where: str = Field(description="where it applies, in words")
    archived_at: str | None
    current: VersionOut
    versions: list[VersionOut] = Field(description="every version, the latest first")
    version: int


class ProcedureList(Open):
    procedures: list[ProcedureOut]


class MarkOut(Open):
    item: int = Field(description="0-based")
    done_at: str
    done_by_id: str


class ChecklistOut(Open):
    procedure_id: str
    version_id: str
    number: int
    title: str
    items: list[str]
    outdated: bool = Field(description="started on an earlier version than the current one")
    marks: list[MarkOut] = Field(description="the steps done (marks in force)")


class ChecklistList(Open):
    subject_type: str
    subject_id: str
    checklists: list[ChecklistOut]


class MarkNew(Closed):
    version_id: str = Field(description="the checklist's version_id")
    item: int = Field(ge=0, description="the step, 0-based")
    done: bool = Field(description="true: mark it done; false: take the mark back")


def _version(v) -> dict:
    return {"id": str(v.id), "number": v.number, "title": v.title, "purpose": v.purpose, "items": list(v.items),
            "created_at": iso(v.created_at), "created_by_id": str(v.created_by_id)}


def _out(p) -> dict:
    return {"id": str(p.id), "applies_to": p.applies_to, "applies_value": p.applies_value,
            "where": service.where_label(p), "archived_at": iso(p.archived_at), "current": _version(p.current),
            "versions": [_version(v) for v in p.versions], "version": p.version}


def _load(procedure_id):
    procedure = service.load(procedure_id)
    if procedure is None:
        raise NotFound()
    return procedure


def _subject(subject_type: str, subject_id):
    step = SUBJECTS.get(subject_type)
    if step is None:
        raise NotFound()
    return step, load_visible(step.subject, subject_id, current_user, audit=False)


def _checklists(step: ProcedureStep, record) -> dict:
    return {"subject_type": step.subject, "subject_id": str(record.id), "checklists": [
        {"procedure_id": str(c.procedure.id), "version_id": str(c.version.id), "number": c.version.number,
         "title": c.version.title, "items": list(c.version.items), "outdated": c.outdated,
         "marks": [{"item": i, "done_at": iso(m.done_at), "done_by_id": str(m.done_by_id)}
                   for i, m in sorted(c.marks.items())]}
        for c in service.checklists(step, service.subject_value(step, record), record.id)]}


@api.route("/procedures", methods=["GET"])
@described(query=ProcedureFilter, responses={200: ProcedureList})
@requires(Permission.PROCEDURES_VIEW)
def api_procedures():
    """The service's operating procedures in use (or the archived ones), by where they apply."""
    archived = request.args.get("archived", "false").lower() in ("1", "true")
    return {"procedures": [_out(p) for p in service.listing(archived=archived)]}


@api.route("/procedures", methods=["POST"])
@described(body=ProcedureNew, responses={201: ProcedureOut})
@requires(Permission.PROCEDURES_WRITE)
def api_procedure_create():
    """Write a procedure (version 1)."""
    return _out(service.create(current_user, json_body())), 201


@api.route("/procedures/<procedure_id>", methods=["GET"])
@described(responses={200: ProcedureOut})
@requires(Permission.PROCEDURES_VIEW)
def api_procedure(procedure_id):
    """One procedure with every version."""
    return _out(_load(procedure_id))


@api.route("/procedures/<procedure_id>/versions", methods=["POST"])
@described(body=ProcedureRevision, responses={201: ProcedureOut}, errors=(409,))
@requires(Permission.PROCEDURES_WRITE)
def api_procedure_revise(procedure_id):
    """A new version (where it applies is kept); checklists already started keep theirs."""
    procedure = _load(procedure_id)
    body = json_body()
    service.revise(current_user, procedure, body, body.get("version"))
    return _out(procedure), 201


@api.route("/procedures/<procedure_id>/archive", methods=["POST"])
@described(body=ProcedureArchive, body_optional=True, responses={200: ProcedureOut}, errors=(409,))
@requires(Permission.PROCEDURES_WRITE)
def api_procedure_archive(procedure_id):
    """Archive it: no longer shown at its step (checklists already started stay on their records)."""
    procedure = _load(procedure_id)
    body = json_body(optional=True)
    service.archive(current_user, procedure, body.get("version"))
    return _out(procedure)


@api.route("/checklists/<subject_type>/<subject_id>", methods=["GET"])
@described(responses={200: ChecklistList})
@requires(Permission.PROCEDURES_VIEW)
def api_checklists(subject_type, subject_id):
    """The procedures' checklists on a record (`register_entry`, `alert` or `activation`) with the steps done."""
    return _checklists(*_subject(subject_type, subject_id))


@api.route("/checklists/<subject_type>/<subject_id>/marks", methods=["POST"])
@described(body=MarkNew, responses={200: ChecklistList}, errors=(409,))
@requires(Permission.PROCEDURES_VIEW)
def api_checklist_mark(subject_type, subject_id):
    """Mark a step done, or take the mark back (done false); a second identical call changes nothing."""
    step, record = _subject(subject_type, subject_id)
    body = json_body()
    version = service.load_version(body.get("version_id"))
    if version is None or version.procedure.applies_to != step.value:
        raise Invalid({"version_id": _("Choose a checklist shown on this record.")})
    item = body.get("item")
    if not isinstance(item, int) or isinstance(item, bool):
        raise Invalid({"item": _("Choose a step of the checklist.")})
    done = body.get("done")
    if not isinstance(done, bool):
        raise Invalid({"done": _("Must be true (done) or false (take the mark back).")})
    service.mark(current_user, version, record, item, done)
    return _checklists(step, record)
