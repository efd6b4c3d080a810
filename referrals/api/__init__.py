"""Referral endpoints under /api/v1: the same service functions and rules as the pages."""
from __future__ import annotations

from contextlib import contextmanager

from carecycle.api import ApiError, area_api
from carecycle.extensions import db
from carecycle.validation import Conflict, Invalid

api = area_api("referrals")


@contextmanager
def service_errors():
    """Invalid -> 422 with fields; a refused transition or a missing consent -> 409 with its code."""
    try:
        yield
    except Invalid as error:
        db.session.rollback()
        raise ApiError(422, error.message or "Some fields are not valid.", error.fields)
    except Conflict as error:
        db.session.rollback()
        fields = {"version": f"current version is {error.current_version}"} \
            if error.current_version is not None else None
        raise ApiError(409, error.message, fields, code=getattr(error, "code", "conflict"))


from referrals.api import directory, referrals  # noqa: E402,F401  (routes)
