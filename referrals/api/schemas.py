"""What the referrals endpoints take and answer (carecycle.openapi builds their description from
these models; `json_body()` checks field names against them)."""
from __future__ import annotations

from typing import Any

from pydantic import Field, RootModel

from carecycle.openapi import Closed, Open


class ReferralNew(Closed):
    service_id: str
    reason: str
    urgency: str = Field(description="routine, soon or urgent")
    share: list[str] = Field(description="the client's fields to share with the partner (may be empty)")
    goal_id: str | None = Field(None, description="the care-plan goal the referral serves")


class ReferralCreated(Open):
    id: str
    status: str
    version: int


class Referral(Open):
    id: str
    case_id: str
    status: str
    service_id: str
    service: str
    organization_id: str
    organization: str
    tier: int | None
    urgency: str
    share: list[str]
    created_at: str | None
    sent_at: str | None
    respond_by: str | None
    overdue: bool
    close_reason: str | None
    consent_override: bool | None
    goal_id: str | None
    version: int
    partner_link: str | None = Field(None, description="only when the referral was just sent")


class ReferralEvent(Open):
    at: str | None
    from_: str | None = Field(alias="from")
    to: str
    by: str | None
    note: str | None


class ReferralGoal(Open):
    id: str
    title: str


class ReferralDetail(Referral):
    reason: str | None
    outcome: str | None
    goal: ReferralGoal | None
    shared: dict[str, Any] | list[Any] | None
    events: list[ReferralEvent]


class ReferralList(Open):
    referrals: list[Referral]


class ReferralFilter(Closed):
    status: str | None = Field(None, description="draft, sent, received, accepted, in_progress, completed, ...")
    overdue: str | None = Field(None, description="1 or true: only those past their respond-by time")


class StatusChange(Closed):
    status: str
    note: str | None = None
    override_reason: str | None = Field(None, description="sending without consent to share: why")
    close_reason: str | None = None


class PartnerLink(Open):
    partner_link: str
    expires_at: str | None


class Revoked(Open):
    revoked: int


class Directory(Open):
    """HSDS 3.0: `{"organizations": [...]}`, each organization with its services, locations,
    phones and schedules (see the README's HSDS section)."""

    organizations: list[dict[str, Any]]


class HsdsFile(RootModel[dict[str, Any] | list[Any]]):
    """An HSDS 3.0 file: `{"organizations": [...]}`, a paged list (`total_items`, `contents`, ...),
    a list of organizations or one bare organization."""


class ImportOptions(Closed):
    default_tier: int | None = Field(None, ge=1, le=3, description="the tier of organizations that carry none")


class ImportReport(Open):
    organizations_created: int
    organizations_updated: int
    services_created: int
    services_updated: int


class InboundSummary(Open):
    id: str
    received_at: str | None
    relation: str = Field(description="how the referrer knows the person (family, neighbour, partner, ...)")
    danger_now: bool
    alert_id: str | None = Field(description="its alert on the triage queue")


class InboundList(Open):
    inbound_referrals: list[InboundSummary]
    page: int
    pages: int
    total: int


class Inbound(InboundSummary):
    person_knows: bool
    language: str | None
    referrer_name: str | None
    referrer_organisation: str | None
    referrer_contact: str | None
    person_name: str
    person_phone: str | None
    person_area: str | None
    concern: str


# ------------------------------------------------------------------ partner agreements
class AgreementCommitmentIn(Closed):
    side: str = Field(description="who commits: partner or service")
    quantity: int = Field(description="a positive whole number", ge=1)
    unit: str = Field(description="for example beds, counselling hours a week, vans")
    what: str = Field(description="for example shelter, counselling, transport")


class AgreementContactIn(Closed):
    name: str
    phone: str
    role: str | None = None


class AgreementNew(Closed):
    title: str
    valid_from: str = Field(description="YYYY-MM-DD")
    valid_to: str = Field(description="YYYY-MM-DD, after valid_from")
    review_on: str | None = Field(None, description="YYYY-MM-DD: when the agreement is to be reviewed")
    document_reference: str | None = Field(None, description="a file number or the address of the signed document")
    commitments: list[AgreementCommitmentIn] = Field(description="at least one")
    contacts: list[AgreementContactIn] = Field(default_factory=list, description="whom to call to activate it")


class AgreementChange(Closed):
    version: int | None = Field(None, description="the version read; a stale one is refused with 409")
    title: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    review_on: str | None = None
    document_reference: str | None = None
    commitments: list[AgreementCommitmentIn] | None = Field(None, description="replaces the list")
    contacts: list[AgreementContactIn] | None = Field(None, description="replaces the list")


class AgreementCommitment(Open):
    side: str
    quantity: int
    unit: str
    what: str


class AgreementContact(Open):
    name: str
    phone: str
    role: str | None


class AgreementSummary(Open):
    id: str
    organization_id: str
    organization: str
    title: str
    state: str = Field(description="expired, upcoming, expiring (within 60 days), review_due or current")
    review_due: bool = Field(description="the review date has come (also when the state says something else)")
    valid_from: str
    valid_to: str
    review_on: str | None
    document_reference: str | None
    commitments: list[AgreementCommitment]
    version: int


class Agreement(AgreementSummary):
    contacts: list[AgreementContact]
    created_at: str | None
    updated_at: str | None


class AgreementList(Open):
    agreements: list[AgreementSummary]


# ------------------------------------------------------------------ reserves
class ReserveFilter(Closed):
    level: str | None = Field(None, description="service, community or household")
    attention: str | None = Field(None, description="1 or true: only items low in stock, expired or expiring "
                                                    "within 30 days")
    page: int | None = Field(None, ge=1, le=10_000, description="from 1; 50 items a page")


class ReserveNew(Closed):
    level: str = Field(description="service (held by the team), community (held by a partner) or household "
                                   "(held at home by a person on the register)")
    kind: str = Field(description="medicine, food, water, shelter, equipment, transport, people or other")
    name: str = Field(description="what it is, for example bottled water 1.5 l")
    unit: str = Field(description="for example bottles, boxes, beds, people")
    quantity: int = Field(ge=0, description="how many there are now (the opening stock)")
    low_at: int | None = Field(None, ge=0, description="marked low at or below this")
    expires_on: str | None = Field(None, description="YYYY-MM-DD; required for medicine, food and water")
    location: str | None = Field(None, description="where it is kept (stored encrypted)")
    organization_id: str | None = Field(None, description="community reserves: the partner organisation holding it")
    agreement_id: str | None = Field(None, description="community reserves: the partner's agreement it is kept under")
    register_entry_id: str | None = Field(None, description="household reserves: the register entry of the person")


class MovementNew(Closed):
    kind: str = Field(description="received, drawn, discarded, or counted (a stock count)")
    quantity: int = Field(ge=0, description="how many received, drawn or discarded; for a count, how many there "
                                            "are now")
    note: str | None = Field(None, description="stored encrypted")
    version: int | None = Field(None, description="the item's version read; a stale one is refused with 409")


class ReserveMarks(Open):
    low: bool
    expired: bool
    near_expiry: bool = Field(description="expires within 30 days")


class ReserveMovementOut(Open):
    id: str
    kind: str
    change: int = Field(description="signed: +20 received, -3 drawn")
    quantity_after: int
    at: str
    note: str | None


class ReserveSummary(Open):
    id: str
    level: str
    kind: str
    name: str
    unit: str
    quantity: int
    low_at: int | None
    expires_on: str | None
    organization_id: str | None
    agreement_id: str | None
    register_entry_id: str | None
    marks: ReserveMarks
    version: int


class Reserve(ReserveSummary):
    location: str | None
    movements: list[ReserveMovementOut] = Field(description="the latest first")


class ReserveList(Open):
    reserves: list[ReserveSummary]
    page: int
    next_page: int | None


class ActivationFilter(Closed):
    period_id: str | None = Field(None, description="an emergency period's id (see /activations/periods); "
                                                    "default: the current one, else the latest")


class ActivationNew(Closed):
    agreement_id: str = Field(description="an agreement in force")
    commitment: int = Field(ge=0, description="the index of the partner's commitment in the agreement's commitments")
    contact: str = Field(description="whom you called (stored encrypted)")
    promised: int = Field(ge=0, description="how many they promised; 0: they could not help")
    note: str | None = Field(None, description="stored encrypted")


class OutcomeNew(Closed):
    status: str = Field(description="arrived, partly, not_arrived or declined")
    arrived: int | None = Field(None, ge=0, description="how many arrived: required for partly")
    note: str | None = Field(None, description="added to the earlier notes (stored encrypted)")
    version: int | None = Field(None, description="the activation's version read; a stale one is refused with 409")


class ActivationOut(Open):
    id: str
    period_id: str
    agreement_id: str
    organization_id: str
    commitment: int
    what: str
    unit: str
    promised: int
    status: str = Field(description="promised, arrived, partly, not_arrived or declined")
    arrived: int | None
    contact: str | None
    note: str | None
    called_at: str
    called_by_id: str | None
    outcome_at: str | None
    version: int


class PeriodOut(Open):
    id: str = Field(description="the id of the switch to emergency operation that opened it")
    started_at: str
    ended_at: str | None = Field(description="null while it lasts")
    reason: str


class ActivationList(Open):
    period: PeriodOut | None = Field(description="null when the service has never been in emergency operation")
    activations: list[ActivationOut] = Field(description="the team's, the latest call first")
    failed: list[str] = Field(description="ids of those that failed to arrive: partly, not_arrived, declined or "
                                          "still only promised")


class PeriodSummary(PeriodOut):
    activations: int
    failed: int


class PeriodList(Open):
    periods: list[PeriodSummary] = Field(description="the latest first")
