"""Risk assessments: the C-SSRS screener, risk and protective factors, the counsellor's judgement
and the risk level they decided. Each assessment is kept; none is ever overwritten. A `high` or
`imminent` assessment waits for the team supervisor's acknowledgement."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carecycle.accounts.models import User
from carecycle.crypto import Encrypted, Sealed
from carecycle.database import UUIDPrimaryKey, utcnow
from carecycle.extensions import Model
from casework.models.cases import Case

# Checklist codes, stored in the encrypted factor lists; labels for the pages.
RISK_FACTORS = {
    "previous_attempt": _l("Previous suicide attempt"),
    "self_harm": _l("Self-harm, past or present"),
    "mental_illness": _l("Mental illness (diagnosed or suspected)"),
    "substance_use": _l("Alcohol or drug misuse"),
    "hopelessness": _l("Hopelessness"),
    "agitation": _l("Agitation, impulsivity or severe anxiety"),
    "recent_loss": _l("Recent loss or bereavement"),
    "relationship_breakdown": _l("Relationship breakdown or conflict"),
    "financial_crisis": _l("Job loss, debt or financial crisis"),
    "isolation": _l("Social isolation or living alone"),
    "chronic_illness": _l("Chronic illness or pain"),
    "access_to_means": _l("Access to lethal means"),
    "trauma": _l("Abuse, violence or trauma"),
    "family_history": _l("Suicide in family or among friends"),
    "recent_discharge": _l("Recent discharge from psychiatric care"),
    "legal_problems": _l("Legal or disciplinary problems"),
}
PROTECTIVE_FACTORS = {
    "family_support": _l("Supportive family"),
    "friends_support": _l("Supportive friends or community"),
    "dependants": _l("Responsibility for children, others or pets"),
    "engaged_in_care": _l("Engaged with care and willing to accept help"),
    "reasons_for_living": _l("Names reasons for living"),
    "coping_skills": _l("Coping and problem-solving skills"),
    "beliefs": _l("Religious, cultural or moral beliefs against suicide"),
    "purpose": _l("Work, study or other sense of purpose"),
    "future_plans": _l("Plans for the future"),
    "means_restricted": _l("Lethal means removed or restricted"),
}


class RiskAssessment(UUIDPrimaryKey, Model):
    __tablename__ = "risk_assessment"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    assessed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    risk_level: Mapped[str] = mapped_column(String(20), index=True)  # the counsellor's decision
    # {"answers": [7 x true/false/null], "suggested": "none|low|moderate|high"}
    _cssrs: Mapped[str] = mapped_column("cssrs", Sealed)
    cssrs = Encrypted("_cssrs", kind="json")
    # {"checked": [codes], "other": "free text"}
    _risk_factors: Mapped[str] = mapped_column("risk_factors", Sealed)
    risk_factors = Encrypted("_risk_factors", kind="json")
    _protective_factors: Mapped[str] = mapped_column("protective_factors", Sealed)
    protective_factors = Encrypted("_protective_factors", kind="json")
    _judgement: Mapped[str | None] = mapped_column("judgement", Sealed)
    judgement = Encrypted("_judgement")
    _rationale: Mapped[str] = mapped_column("rationale", Sealed)
    rationale = Encrypted("_rationale")
    needs_acknowledgement: Mapped[bool] = mapped_column(default=False, index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    _acknowledgement_comment: Mapped[str | None] = mapped_column("acknowledgement_comment", Sealed)
    acknowledgement_comment = Encrypted("_acknowledgement_comment")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship()
    assessed_by: Mapped[User] = relationship(foreign_keys=[assessed_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])

    @property
    def suggested_level(self) -> str | None:
        return (self.cssrs or {}).get("suggested")

    @property
    def cssrs_answers(self) -> list:
        return (self.cssrs or {}).get("answers") or []

    @property
    def awaiting_acknowledgement(self) -> bool:
        return self.needs_acknowledgement and self.acknowledged_at is None
