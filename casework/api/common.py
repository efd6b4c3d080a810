"""Turning service errors into API answers."""
from __future__ import annotations

from contextlib import contextmanager

from carecycle.api import ApiError
from carecycle.extensions import db
from carecycle.validation import Conflict, Invalid


@contextmanager
def service_errors():
    try:
        yield
    except Invalid as error:
        db.session.rollback()
        raise ApiError(422, error.message or "Some fields are not valid.", error.fields)
    except Conflict as error:
        db.session.rollback()
        raise ApiError(409, error.message, {"version": f"current version is {error.current_version}"}
                       if error.current_version is not None else None, code="conflict")


def iso(value):
    return value.isoformat() if value is not None else None
