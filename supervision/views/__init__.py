"""Supervision pages. One Blueprint; one module per topic adds its routes."""
from __future__ import annotations

from flask import Blueprint

from casework.enums import Phase, RiskLevel

bp = Blueprint("supervision", __name__)


def _label(enum):
    def label(code):
        try:
            return enum(code).label
        except ValueError:
            return code
    return label


@bp.context_processor
def supervision_labels():
    from carecycle.mode import Mode
    from supervision.service.caseload import OPEN_PHASES, RISKS
    return {"sv_phase_label": _label(Phase), "sv_risk_label": _label(RiskLevel), "sv_mode_label": _label(Mode),
            "sv_risks": RISKS, "sv_open_phases": OPEN_PHASES}


from supervision.views import approvals, audit, caseload, drills, mode, notifications, stats  # noqa: E402,F401
