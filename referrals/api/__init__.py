"""Referral endpoints under /api/v1: the same service functions and rules as the pages."""
from __future__ import annotations

from carecycle.api import area_api

api = area_api("referrals")


from referrals.api import (  # noqa: E402,F401  (routes)
    activations,
    agreements,
    directory,
    inbound,
    referrals,
    reserves,
    volunteers,
)
