"""referrals records as FHIR R4 (registered with carecycle.fhir)."""
from __future__ import annotations


def register(app) -> None:
    """Registers nothing yet."""
