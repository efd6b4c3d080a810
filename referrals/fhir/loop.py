"""FHIR mapping (see referrals/fhir/__init__.py)."""
from __future__ import annotations


def register(app) -> None:
    """Registers nothing yet."""
