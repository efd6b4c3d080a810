"""Demo operating procedures: three checklists written for the demo (first contact with a red-tier
person living alone, a self-screening alert, activating the medical reserve team), with the first
steps of the first one ticked on a red-tier person of the Riverside team."""
from __future__ import annotations

from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.extensions import db
from casework.demo import EXTRA_LOADERS
from casework.enums import ProcedureStep, Tier
from casework.models import Procedure, RegisterEntry
from casework.service import procedures

DEMO_PROCEDURES = [
    (ProcedureStep.REGISTER_TIER, Tier.RED.value, "First contact with a red-tier person living alone",
     "For the first call or visit to someone on the register at red who lives alone: nobody else may notice "
     "if things go wrong.",
     ["Read the register entry and any case notes before you call",
      "Call first; if there is no answer, call again within 2 hours, then visit",
      "Say who you are and why the service is calling; ask how they are today",
      "Ask directly about thoughts of self-harm; if yes, raise a triage alert and stay with them",
      "Check they have medicines, food and water for at least 3 days",
      "Agree who checks on them and how often, and write or update their household emergency plan",
      "Record the outreach on the register entry, with the next due date"]),
    (ProcedureStep.TRIAGE_KIND, "screening", "A self-screening alert",
     "When a resident's self-screening raised an alert (a positive PHQ-9 item 9, a high score).",
     ["Claim the alert and note its deadline",
      "Read the answers and any earlier screenings of the person",
      "Call the person; if there is no answer, call again within 30 minutes and leave a safe message",
      "If they are in danger now, call emergency services (level 1) and stay on the line",
      "Assess the risk and agree a safety plan if one is needed",
      "Turn the alert into a crisis case, or close it with the reason"]),
    (ProcedureStep.ACTIVATION, procedures.ANY, "Activating the medical reserve team",
     "When an agreement is called in during an emergency, for the medical reserve team or any partner.",
     ["Call the partner's activation contact named on the agreement, and record the call here",
      "Say what is needed, where and by when; read back what they promise",
      "Tell the duty supervisor what was promised",
      "At the agreed time, check what arrived and record it",
      "If it did not arrive, call the next agreement in force for the same help"]),
]


def load_procedures_demo(echo=print) -> None:
    """Idempotent: once any procedure exists, it does nothing."""
    if db.session.scalar(select(Procedure.id).limit(1)) is not None:
        return
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    if supervisor is None:
        return
    made = [procedures.create(supervisor, {"applies_to": step.value, "applies_value": value, "title": title,
                                           "purpose": purpose, "items": items})
            for step, value, title, purpose, items in DEMO_PROCEDURES]
    ticked = 0
    entry = db.session.scalar(select(RegisterEntry).where(
        RegisterEntry.team_id == worker.team_id, RegisterEntry.tier == Tier.RED.value,
        RegisterEntry.removed_at.is_(None)).order_by(RegisterEntry.created_at, RegisterEntry.id).limit(1)) \
        if worker is not None and worker.team_id is not None else None
    if entry is not None:
        for item in (0, 1):
            ticked += procedures.mark(worker, made[0].current, entry, item, True)
    db.session.commit()
    echo(f"casework demo: {len(made)} operating procedures, {ticked} steps ticked on a red-tier register entry")


EXTRA_LOADERS.append(load_procedures_demo)
