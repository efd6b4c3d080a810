"""Refusing a forbidden action on a record the user can see: 403, audited as `permission_denied`.

Services raise `Forbidden`; pages and API endpoints wrap their call in `forbidden_as_403()`, which
drops whatever the refused action had started, writes the audit event and answers 403."""
from __future__ import annotations

from contextlib import contextmanager

from werkzeug.exceptions import Forbidden as HTTPForbidden

from carecycle.audit import record_event
from carecycle.extensions import db
from carecycle.lifecycle import Forbidden

__all__ = ["Forbidden", "forbidden_as_403"]


@contextmanager
def forbidden_as_403():
    try:
        yield
    except Forbidden as error:
        db.session.rollback()
        record_event("permission_denied", error.object_type, error.object_id, outcome="denied",
                     reason=error.reason)
        db.session.commit()
        answer = HTTPForbidden()
        answer.detail_message = error.message
        raise answer from None
