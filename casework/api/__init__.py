"""Casework endpoints under /api/v1: the same service functions and rules as the pages."""
from carecycle.api import area_api

api = area_api("casework")

from casework.api import (  # noqa: E402,F401  (routes)
    cases,
    clients,
    groupplans,
    groups,
    notes,
    procedures,
    recovery,  # noqa: E402,F401  (routes)
    register,
    safety,
    tasks,
    triage,
)
