"""Turning service errors into API answers; paging arguments."""
from __future__ import annotations

from contextlib import contextmanager

from flask import request

from carecycle.api import ApiError
from carecycle.extensions import db
from carecycle.validation import Conflict, Invalid


@contextmanager
def service_errors():
    """Invalid -> 422 with fields; a stale edit or a refused transition -> 409 with the conflict's
    `code` ("conflict" unless the service's Conflict names a more precise one)."""
    try:
        yield
    except Invalid as error:
        db.session.rollback()
        raise ApiError(422, error.message or "Some fields are not valid.", error.fields)
    except Conflict as error:
        db.session.rollback()
        raise ApiError(409, error.message, {"version": f"current version is {error.current_version}"}
                       if error.current_version is not None else None, code=getattr(error, "code", "conflict"))


def iso(value):
    return value.isoformat() if value is not None else None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within bounds, or 422 naming it."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(422, "Some fields are not valid.", {name: f"A whole number from {low} to {high}."})
    return value


def page_args(default_per_page: int = 50, max_per_page: int = 100) -> tuple[int, int]:
    """`?page=` (from 1) and `?per_page=` (1 to `max_per_page`)."""
    return int_arg("page", 1, 1, 100_000), int_arg("per_page", default_per_page, 1, max_per_page)
