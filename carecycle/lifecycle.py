"""The request lifecycle every page and API endpoint follows: load, check, act, commit once.

- **A unit of work per request.** Every view runs inside `unit_of_work`: the request's transaction
  commits once, when the view returns a response below 400, and rolls back when it raises or
  answers an error; a page read (GET) commits just before its template renders (on SQLite every
  transaction holds the writer lock, so no page renders while holding it). Handlers never commit
  or roll back.
- **Domain errors, mapped once.** Services raise `NotFound`, `Forbidden`, `Conflict` (with what
  changed) and `Invalid` (with fields); `register_lifecycle` turns them into 404/403/409/422 for
  the API and into the error page, the conflict page or a 400 for pages. Services never abort.
- **One way to load a record for a user.** `load_visible(kind, id, user)`: each area registers its
  kinds (`register_kind`) with the rule that selects what a user may see; a record that does not
  exist and one the user may not see are the same 404, and a view is audited.
- **A form that may be refused.** `attempt(change)` runs a change in a savepoint: on `Invalid`
  the change is undone and its fields come back for the form to show again.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, g, has_request_context, render_template, request
from flask.signals import before_render_template
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carecycle import sqlite_writer
from carecycle.audit import record_event, record_view
from carecycle.extensions import db
from carecycle.urls import as_uuid, safe_next
from carecycle.validation import Conflict, Invalid

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "attempt", "command", "keep_refusal", "load_visible",
           "register_kind", "register_lifecycle", "undone_on_error", "unit_of_work", "visible_ids", "wrap_views"]


class NotFound(Exception):
    """The record does not exist, or the user may not know that it does (404 either way)."""


class Forbidden(Exception):
    """The user may see the record but not do this to it: 403, audited as `permission_denied`."""

    def __init__(self, message: str, object_type: str | None = None, object_id=None, reason: str | None = None):
        super().__init__(message)
        self.message, self.object_type, self.object_id, self.reason = message, object_type, object_id, reason


# ------------------------------------------------------------------ the unit of work
def unit_of_work(view: Callable) -> Callable:
    """Commit once when `view` answers below 400; roll back when it raises or answers an error."""

    @wraps(view)
    def run(*args, **kwargs):
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            raise
        if not db.session.registry.has() or not db.session().in_transaction():
            return response  # the view read nothing (or committed before rendering): nothing to end
        if response.status_code < 400:
            from carecycle import idempotency
            try:
                idempotency.store(response)  # a keyed API POST's answer, kept with what it wrote
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                replay = idempotency.answer_for_race()  # the same key, answered first by a parallel attempt
                if replay is None:
                    raise
                return replay
        else:
            db.session.rollback()
        return response

    return run


def keep_refusal() -> None:
    """Keep what the request has recorded of a refusal (a failed sign-in, a counted attempt, an
    audited denial) although its answer is an error: committed now, so that the rollback the error
    brings does not take it away. Only for the record of a refusal, never for the change refused."""
    db.session.commit()


def command(fn: Callable) -> Callable:
    """A CLI command's unit of work: what it does commits once when it returns and rolls back when it
    fails. A domain error (`Invalid`, `Conflict`, `NotFound`, `Forbidden`) is the command's one-line
    refusal (exit 1), as the error page is a page's. Put it under `with_appcontext`."""
    import click

    @wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except (Invalid, Conflict, NotFound, Forbidden) as error:
            db.session.rollback()
            raise click.ClickException(_refusal_text(error)) from error
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return run


def _refusal_text(error: Exception) -> str:
    if isinstance(error, Invalid):
        return str(error.message or "; ".join(f"{k}: {v}" for k, v in error.fields.items()))
    if isinstance(error, NotFound):
        return f"no such {error}" if str(error) else "not found"
    return str(getattr(error, "message", None) or error)


def _commit_before_render(_app, template=None, context=None, **_extra) -> None:
    """A page read (GET) commits what it did (its audited views) before it renders, so that rendering
    never holds a transaction (on SQLite every transaction holds the writer lock); the objects it
    loaded stay loaded, so the template reads them without a query each. A form sent back (POST) is
    decided after the view returns (committed below 400, rolled back otherwise, so that a change
    refused half-way never lands because its form was shown again); one that has only read still
    lets other requests write while it renders."""
    if not has_request_context() or g.get("_carecycle_failed"):
        return
    session = db.session()
    if request.method in ("GET", "HEAD"):
        if session.in_transaction():
            keep = session.expire_on_commit
            session.expire_on_commit = False
            try:
                session.commit()
            finally:
                session.expire_on_commit = keep
    else:
        sqlite_writer.release_reads(session)


_IN_UNIT_OF_WORK: weakref.WeakSet = weakref.WeakSet()  # the views wrapped, so none is wrapped twice


def wrap_views(app) -> None:
    """Put every view of `app` in the unit of work (once; views added later need another call)."""
    for endpoint, view in list(app.view_functions.items()):
        if view not in _IN_UNIT_OF_WORK:
            wrapped = unit_of_work(view)
            _IN_UNIT_OF_WORK.add(wrapped)
            app.view_functions[endpoint] = wrapped


def in_unit_of_work(view: Callable) -> bool:
    return view in _IN_UNIT_OF_WORK


# ------------------------------------------------------------------ refusals a form shows again
@dataclass
class Outcome:
    result: Any = None
    error: Exception | None = None   # the contained domain error, its work undone

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def errors(self) -> dict[str, str] | None:
        """The fields of a contained `Invalid` (a message under "" when it named none)."""
        if isinstance(self.error, Invalid):
            return dict(self.error.fields) or {"": self.error.message or _("Some fields are not valid.")}
        return None


@contextmanager
def undone_on_error():
    """A block whose work is undone (a savepoint) when it raises; the error goes on to the handler's
    `except`, which answers (a form shown again, a message and a redirect), and what the request did
    before the block stays. `attempt` is the same for one call."""
    savepoint = db.session.begin_nested()
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if savepoint.is_active:
        savepoint.commit()


def attempt(change: Callable[[], Any], contain: tuple[type[Exception], ...] = (Invalid,)) -> Outcome:
    """Run `change()` in a savepoint. A `contain`ed error (by default `Invalid`: a form to show again)
    undoes the change's work and comes back in the outcome; what the request did before it stays.
    Other errors go on to their one mapping (the whole request rolls back)."""
    savepoint = db.session.begin_nested()
    try:
        result = change()
    except contain as error:
        if savepoint.is_active:
            savepoint.rollback()
        return Outcome(error=error)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if savepoint.is_active:
        savepoint.commit()
    return Outcome(result=result)


# ------------------------------------------------------------------ loading a record for a user
@dataclass(frozen=True)
class Kind:
    model: Any   # a mapped class with an `id` primary key
    visible: Callable[[Any], Any]   # user -> a WHERE clause selecting the rows the user may see
    audited: bool = True
    on_load: Callable[[Any, Any], None] | None = None  # (row, user): e.g. note that a grant is in use
    audit_as: str | None = None   # the audit trail's name for the record, when not the kind
    fresh: bool = False   # read the row again even when the session holds it (a queue others change)


def register_kind(app, kind: str, model: type, visible: Callable[[Any], Any], *, audited: bool = True,
                  on_load: Callable[[Any, Any], None] | None = None, audit_as: str | None = None,
                  fresh: bool = False) -> None:
    """Teach `load_visible` a kind of record: its model, the rule selecting what a user may see
    (`visible(user)`, a WHERE clause), whether a view is audited and under which name, whether the row
    is read afresh, and what to do once a user has loaded one (`on_load(row, user)`)."""
    app.extensions.setdefault("carecycle_kinds", {})[kind] = Kind(model, visible, audited, on_load, audit_as, fresh)


def load_visible(kind: str, record_id, user, *, audit: bool = True, where=()):
    """The record of `kind` with `record_id`, if `user` may see it; `NotFound` otherwise (a missing
    record and a hidden one answer alike). `where`: further conditions (the parent it must belong
    to). A view is audited unless `audit` is false or the kind is not audited."""
    spec: Kind = current_app.extensions["carecycle_kinds"][kind]
    rid = as_uuid(record_id)
    row = None
    if rid is not None:
        stmt = select(spec.model).where(spec.model.id == rid, spec.visible(user), *where)
        if spec.fresh:
            stmt = stmt.execution_options(populate_existing=True)
        row = db.session.scalar(stmt)
    if row is None:
        raise NotFound(kind)
    if spec.on_load is not None:
        spec.on_load(row, user)
    if audit and spec.audited:
        record_view(spec.audit_as or kind, row.id)
    return row


def visible_ids(kind: str, record_ids, user) -> set:
    """Of `record_ids`, the ids of the records of `kind` that `user` may see, in one query; nothing
    is audited (only ids are learnt). A kind nobody registered shows nothing."""
    spec: Kind | None = current_app.extensions["carecycle_kinds"].get(kind)
    wanted = {rid for rid in map(as_uuid, record_ids) if rid is not None}
    if spec is None or not wanted:
        return set()
    return set(db.session.scalars(select(spec.model.id).where(spec.model.id.in_(wanted), spec.visible(user))))


# ------------------------------------------------------------------ domain errors, mapped once
def _failed() -> None:
    g._carecycle_failed = True
    db.session.rollback()


def _back_url() -> str:
    """Where a conflict page sends the reader back to: the page they came from, when it is ours."""
    return safe_next(request.referrer) or request.path


def register_lifecycle(app) -> None:
    """Wrap every view in the unit of work and map the domain errors. Call after all blueprints."""
    from carecycle.errors import json_error, render_error
    from carecycle.permissions import is_api_request

    wrap_views(app)
    before_render_template.connect(_commit_before_render, app)

    @app.errorhandler(NotFound)
    def not_found(_error: NotFound):
        _failed()
        return render_error(404)

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden):
        _failed()
        record_event("permission_denied", error.object_type, error.object_id, outcome="denied", reason=error.reason)
        keep_refusal()
        return render_error(403, error.message)

    @app.errorhandler(Conflict)
    def conflict(error: Conflict):
        _failed()
        if is_api_request():
            fields = ({"version": f"current version is {error.current_version}"}
                      if error.current_version is not None else None)
            return json_error(409, error.message, fields, getattr(error, "code", None) or "conflict")
        back = getattr(error, "back_url", None) or _back_url()
        return render_template("errors/conflict.html", error=error, back_url=back), 409

    @app.errorhandler(Invalid)
    def invalid(error: Invalid):
        _failed()
        if is_api_request():
            return json_error(422, error.message or _("Some fields are not valid."), error.fields)
        return render_error(400, " ".join(str(m) for m in error.fields.values()) or error.message)
