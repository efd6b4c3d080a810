"""Referral endpoints under /api/v1: the same service functions and rules as the pages."""
from __future__ import annotations

from contextlib import contextmanager

from carecycle.api import ApiError, area_api
from carecycle.extensions import db
from casework.api import common
from referrals.service.common import ConsentRequired, TransitionRefused

api = area_api("referrals")


@contextmanager
def service_errors():
    """Casework's answers (Invalid -> 422 with fields, a stale edit -> 409 `conflict`), and for a refused
    transition or a missing consent 409 with its own code (`invalid_transition`, `consent_required`)."""
    with common.service_errors():
        try:
            yield
        except (TransitionRefused, ConsentRequired) as error:
            db.session.rollback()
            raise ApiError(409, error.message, code=error.code)


from referrals.api import directory, referrals  # noqa: E402,F401  (routes)
