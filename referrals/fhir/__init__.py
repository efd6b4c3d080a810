"""Referral records as FHIR R4 (registered with carecycle.fhir): the partner directory as
Organization, HealthcareService and Location (directory.py); outbound referrals as ServiceRequest
and Task, with partner organisations' tokens closing the loop (loop.py)."""
from __future__ import annotations


def register(app) -> None:
    from referrals.fhir import directory, loop

    directory.register(app)
    loop.register(app)
