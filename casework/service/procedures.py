"""Operating procedures as checklists: supervisors write them (PROCEDURES_WRITE) and revise them in
numbered versions (a revision is a new version; the earlier ones stay readable and keep the marks
made on them); each applies to one step (a register tier, a kind of triage alert, an emergency
activation) and is shown there. Staff who may see the record mark its items done one by one, and
undo a mark, on the register entry, alert or activation itself; the routes load that record with
`load_visible`, so a record a user may not see answers 404 and its checklist with it.

A subject's checklist keeps the version it was started on (the one with marks on it), so a later
revision never changes what was ticked; one not yet started shows the current version."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from carecycle.alerts import KIND_LABELS
from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.fields import Errors, check_version, text
from carecycle.validation import Conflict, Invalid, whole_number
from casework.enums import ProcedureStep, Tier
from casework.models import ChecklistMark, Procedure, ProcedureVersion

MAX_ITEMS = 30
ITEM_LIMIT = 300
TITLE_LIMIT = 200
PURPOSE_LIMIT = 2000
ANY = ""  # applies to every record of the step (every activation)


def step_values(step: ProcedureStep) -> list[str]:
    """The values a procedure of `step` may apply to."""
    if step is ProcedureStep.REGISTER_TIER:
        return [t.value for t in reversed(list(Tier))]
    if step is ProcedureStep.TRIAGE_KIND:
        return list(KIND_LABELS)
    return [ANY]


def where_label(procedure: Procedure) -> str:
    """Where the procedure applies, in words: "Register tier: Red", "Triage: Hotline call"."""
    step = ProcedureStep(procedure.applies_to)
    if step is ProcedureStep.REGISTER_TIER:
        return _("Register tier: %(tier)s", tier=Tier(procedure.applies_value).label)
    if step is ProcedureStep.TRIAGE_KIND:
        return _("Triage: %(kind)s", kind=KIND_LABELS.get(procedure.applies_value, procedure.applies_value))
    return _("Every emergency activation")


def _clean(data: dict, errors: Errors) -> dict:
    clean: dict = {"title": text(data, "title", errors, limit=TITLE_LIMIT, required=True, message=_(
                 "Give the procedure a title, for example \"First contact with a red-tier person living alone\".")),
             "purpose": text(data, "purpose", errors, limit=PURPOSE_LIMIT) or ""}
    items = data.get("items")
    if isinstance(items, str):
        items = items.splitlines()
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        items = []
    items = [" ".join(i.split()) for i in items]
    items = [i for i in items if i]
    if not items:
        errors["items"] = _("Write the checklist, one step per line.")
    elif len(items) > MAX_ITEMS:
        errors["items"] = _("Keep the checklist to %(n)d steps or fewer.", n=MAX_ITEMS)
    elif any(len(i) > ITEM_LIMIT for i in items):
        errors["items"] = _("Keep each step under %(n)d characters.", n=ITEM_LIMIT)
    clean["items"] = items
    return clean


def _where(data: dict, errors: Errors) -> tuple[str, str]:
    try:
        step = ProcedureStep(str(data.get("applies_to")))
    except ValueError:
        errors["applies_to"] = _("Choose where the procedure applies.")
        return "", ""
    value = data.get("applies_value")
    value = ANY if value is None else value
    if value not in step_values(step):
        errors["applies_value"] = _("Choose which tier or kind of alert it applies to.") \
            if step is not ProcedureStep.ACTIVATION else _("An activation procedure applies to every activation: "
                                                           "leave the value empty.")
    return step.value, value


STALE = _l("Someone changed this procedure since you opened it: check the latest version.")


def create(user, data: dict) -> Procedure:
    errors = Errors()
    applies_to, applies_value = _where(data, errors)
    content = _clean(data, errors)
    errors.check()
    procedure = Procedure(applies_to=applies_to, applies_value=applies_value, current_number=1,
                          created_by_id=user.id)
    procedure.versions.append(ProcedureVersion(number=1, created_by_id=user.id, **content))
    db.session.add(procedure)
    db.session.flush()
    record_event("create", "procedure", procedure.id, reason="version 1", actor=user)
    return procedure


def revise(user, procedure: Procedure, data: dict, version=None) -> ProcedureVersion:
    """A new version of the procedure (the earlier ones kept). `version`: the procedure's version the
    writer saw; a stale one is refused with Conflict."""
    check_version(procedure, version, str(STALE))
    if procedure.archived:
        raise Conflict(_("This procedure is archived: write a new one instead."), current_version=procedure.version)
    errors = Errors()
    content = _clean(data, errors)
    errors.check()
    number = procedure.current_number + 1
    row = ProcedureVersion(procedure=procedure, number=number, created_by_id=user.id, **content)
    db.session.add(row)
    procedure.current_number = number
    db.session.flush()
    record_event("update", "procedure", procedure.id, reason=f"version {number}", actor=user)
    return row


def archive(user, procedure: Procedure, version=None) -> Procedure:
    check_version(procedure, version, str(STALE))
    if not procedure.archived:
        procedure.archived_at = utcnow()
        db.session.flush()
        record_event("archive", "procedure", procedure.id, actor=user)
    return procedure


# ------------------------------------------------------------------ reading
def load(procedure_id) -> Procedure | None:
    try:
        pid = uuid.UUID(str(procedure_id))
    except ValueError:
        return None
    return db.session.scalar(select(Procedure).where(Procedure.id == pid)
                             .options(selectinload(Procedure.versions)))


def listing(archived: bool = False, step: ProcedureStep | None = None) -> Sequence[Procedure]:
    """Every procedure (those in use, or the archived ones; of one step, or all), by step and value."""
    rows = db.session.scalars(select(Procedure).where(
        Procedure.archived_at.is_not(None) if archived else Procedure.archived_at.is_(None),
        *(() if step is None else (Procedure.applies_to == step.value,)))
        .options(selectinload(Procedure.versions))).all()
    order = {s.value: n for n, s in enumerate(ProcedureStep)}
    return sorted(rows, key=lambda p: (order[p.applies_to], _value_rank(p), p.current.title.lower()))


def _value_rank(procedure: Procedure) -> int:
    values = step_values(ProcedureStep(procedure.applies_to))
    return values.index(procedure.applies_value) if procedure.applies_value in values else len(values)


# ------------------------------------------------------------------ checklists on a record
@dataclass
class Checklist:
    procedure: Procedure
    version: ProcedureVersion
    marks: dict[int, ChecklistMark] = field(default_factory=dict)  # item index -> the mark in force

    @property
    def done(self) -> int:
        return len(self.marks)

    @property
    def complete(self) -> bool:
        return self.done >= len(self.version.items)

    @property
    def outdated(self) -> bool:
        """Started on an earlier version than the current one."""
        return self.version.number != self.procedure.current_number


def checklists(step: ProcedureStep, value: str, subject_id) -> list[Checklist]:
    """The checklists of the procedures for this step (those in use, and archived ones already
    started on this record), each with the marks in force on the record."""
    marks = db.session.scalars(select(ChecklistMark).where(
        ChecklistMark.subject_type == step.subject, ChecklistMark.subject_id == subject_id,
        ChecklistMark.undone_at.is_(None))).all()
    started: dict[uuid.UUID, list[ChecklistMark]] = {}
    for mark in marks:
        started.setdefault(mark.version_id, []).append(mark)
    applies: ColumnElement[bool] = Procedure.applies_value.in_({value, ANY})
    if started:  # a checklist begun before the tier changed stays on the record
        applies = or_(applies, Procedure.id.in_(select(ProcedureVersion.procedure_id)
                                                .where(ProcedureVersion.id.in_(list(started)))))
    found = db.session.scalars(select(Procedure).where(Procedure.applies_to == step.value, applies)
                               .options(selectinload(Procedure.versions))).all()
    result = []
    for procedure in found:
        version = next((v for v in procedure.versions if v.id in started), None)
        if version is None and procedure.archived:
            continue
        version = version or procedure.current
        result.append(Checklist(procedure, version, {m.item: m for m in started.get(version.id, [])}))
    return sorted(result, key=lambda c: c.version.title.lower())


def subject_value(step: ProcedureStep, record) -> str:
    """What selects the procedures of a record: a register entry's tier, an alert's kind."""
    if step is ProcedureStep.REGISTER_TIER:
        return record.tier
    if step is ProcedureStep.TRIAGE_KIND:
        return record.kind
    return ANY


def mark(user, version: ProcedureVersion, record, item, done: bool) -> bool:
    """Mark item `item` of `version` done (or undo the mark) on `record` (a register entry, an alert
    or an activation, as the procedure's step says; the caller loaded it with `load_visible`).
    True when something changed."""
    step = ProcedureStep(version.procedure.applies_to)
    value, subject_id = subject_value(step, record), record.id
    procedure = version.procedure
    chosen = {c.procedure.id: c for c in checklists(step, value, subject_id)}.get(procedure.id) \
        if procedure.applies_to == step.value else None
    if chosen is None:
        raise Invalid({"item": _("This procedure does not apply here.")})
    if chosen.version.id != version.id:
        raise Conflict(_("This checklist was revised or started on another version: check it again."))
    index = whole_number(item, 0, len(version.items) - 1)
    if index is None:
        raise Invalid({"item": _("Choose a step of the checklist.")})
    current = chosen.marks.get(index)
    if done == (current is not None):
        return False  # already as asked (a second click, or someone else did it)
    if done:
        try:
            with db.session.begin_nested():  # two people ticking at once: the second finds it done
                db.session.add(ChecklistMark(version_id=version.id, subject_type=step.subject,
                                             subject_id=subject_id, item=index, done_by_id=user.id))
        except IntegrityError:
            return False
    else:
        assert current is not None
        current.undone_at, current.undone_by_id = utcnow(), user.id
    db.session.flush()
    record_event("update", step.subject, subject_id, reason=f"checklist {'done' if done else 'undone'}: "
                 f"procedure {procedure.id} v{version.number} item {index + 1}", actor=user)
    return True


def load_version(version_id) -> ProcedureVersion | None:
    try:
        vid = uuid.UUID(str(version_id))
    except ValueError:
        return None
    return db.session.get(ProcedureVersion, vid)
