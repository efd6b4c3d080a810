"""Supervision pages. One Blueprint; one module per topic adds its routes."""
from __future__ import annotations

from flask import Blueprint

from casework.enums import Phase, RiskLevel
from casework.views import enum_label

bp = Blueprint("supervision", __name__)


@bp.context_processor
def supervision_labels():
    from carecycle.mode import Mode
    from supervision.service.caseload import OPEN_PHASES, RISKS
    return {"sv_phase_label": enum_label(Phase), "sv_risk_label": enum_label(RiskLevel),
            "sv_mode_label": enum_label(Mode), "sv_risks": RISKS, "sv_open_phases": OPEN_PHASES}


from supervision.views import (  # noqa: E402,F401
    approvals,
    audit,
    caseload,
    drills,
    mode,
    notifications,
    recovery,
    stats,
)
