"""What the casework endpoints take and answer: the models their OpenAPI description is built from
and `json_body()` checks field names against (carecycle.openapi)."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from carecycle.openapi import Closed, Open, Paging


class Created(Open):
    id: str
    version: int


# ------------------------------------------------------------------ clients
class ClientNew(Closed):
    full_name: str
    preferred_name: str | None = None
    date_of_birth: str | None = Field(None, description="ISO date, 2026-12-02")
    sex: str | None = None
    gender: str | None = None
    phone: str | None = None
    address: str | None = None
    id_number: str | None = None
    preferred_language: str | None = None
    household: str | None = None
    emergency_contact: str | None = None
    confirm_duplicate: bool | None = Field(None, description="true: register although a client with this phone "
                                                             "or ID number exists (a different person)")


class ClientSearch(Closed):
    phone: str | None = Field(None, description="exact")
    id_number: str | None = Field(None, description="exact")
    name: str | None = Field(None, description="exact")


class ClientFound(Open):
    id: str
    full_name: str | None
    preferred_name: str | None


class ClientList(Open):
    clients: list[ClientFound]


class Consent(Open):
    id: str
    scope: str
    recorded_at: str | None
    recorded_by: str
    withdrawn_at: str | None


class ConsentNew(Closed):
    scope: str


class Client(Open):
    id: str
    team_id: str
    version: int
    created_at: str | None
    consents: list[Consent]
    full_name: str | None
    preferred_name: str | None
    date_of_birth: str | None
    sex: str | None
    gender: str | None
    phone: str | None
    address: str | None
    id_number: str | None
    preferred_language: str | None
    household: str | None
    emergency_contact: str | None


# ------------------------------------------------------------------ cases
class Case(Open):
    id: str
    client_id: str
    team_id: str
    phase: str
    risk_level: str
    priority: str
    source: str
    assigned_counsellor: str | None
    assigned_social_worker: str | None
    opened_at: str | None
    closed_at: str | None
    version: int


class CaseList(Open):
    cases: list[Case]
    page: int
    per_page: int
    has_next: bool


class CaseNew(Closed):
    client_id: str
    risk_level: str = Field(description="low, moderate, high or imminent")
    source: str
    priority: str | None = None


class CaseChange(Closed):
    version: int = Field(description="the version you edited; a stale one answers 409")
    risk_level: str | None = None
    priority: str | None = None
    assigned_counsellor: str | None = Field(None, description="a username in the case's team")
    assigned_social_worker: str | None = None


# ------------------------------------------------------------------ notes
class Note(Open):
    id: str
    case_id: str
    kind: str
    mode: str | None
    at: str | None
    duration_minutes: int | None
    body: str | None
    status: str
    author: str | None
    created_at: str | None
    updated_at: str | None
    signed_at: str | None
    signed_by: str | None
    addendum_to: str | None
    version: int
    addenda: list[Note] | None = None


class NoteList(Open):
    notes: list[Note]
    page: int
    per_page: int
    total: int
    last_contact: str | None


class NotePaging(Paging):
    per_page: int = Field(50, ge=1, le=200)


class NoteNew(Closed):
    kind: str
    mode: str | None = None
    at: str | None = Field(None, description="ISO 8601 date and time")
    duration_minutes: int | None = None
    body: str
    sign: bool | None = Field(None, description="true: sign the note as it is saved")


class NoteChange(Closed):
    version: int | None = None
    kind: str | None = None
    mode: str | None = None
    at: str | None = None
    duration_minutes: int | None = None
    body: str | None = None


class NoteSign(Closed):
    version: int | None = None


class Addendum(Closed):
    body: str


# ------------------------------------------------------------------ recovery
class Goal(Open):
    id: str
    domain: str
    title: str
    success: str | None
    target_date: str | None
    status: str
    drop_reason: str | None
    owner: str | None
    owner_detail: str | None


class CarePlan(Open):
    case_id: str
    version: int
    client_note: str | None
    goals: list[Goal]
    shared_with_client: bool
    next_review_at: str | None
    updated_at: str | None


class CarePlanSave(Closed):
    version: int = Field(description="the version you edited (0 for a new plan)")
    goals: list[dict[str, Any]] | None = Field(None, description="the whole list; existing goals with their id")
    client_note: str | None = None


class OutcomePoint(Open):
    at: str | None
    score: float | int | None


class Outcome(Open):
    instrument: str
    points: list[OutcomePoint]
    markers: list[Any]


class Outcomes(Open):
    instruments: list[Outcome]


class CaseScreening(Closed):
    instrument: str | None = Field(None, description="a screening done with the client; or `result_id`")
    answers: list[Any] | None = Field(None, description="one answer per item, in order")
    sex: str | None = None
    taken_at: str | None = None
    language: str | None = None
    result_id: str | None = Field(None, description="link the client's own self-screening (alone)")


class CaseScreeningResult(Open):
    id: str
    result_id: str
    source: str
    instrument: str
    score: float | int | None
    max_score: float | int | None
    band: str | None
    flags: list[Any] | None
    crisis: bool | None
    at: str | None
    alert_id: str | None
    markers: list[Any]


# ------------------------------------------------------------------ triage
class Subject(Open):
    type: str = Field(description="case, client, inbound_referral or contact_request")
    id: str


class Alert(Open):
    id: str
    kind: str
    urgency: str
    state: str
    created_at: str | None
    deadline: str | None
    overdue: bool
    possible_flood: bool
    claimed_by: str | None
    subject: Subject | None


class AlertList(Open):
    alerts: list[Alert]
    page: int
    pages: int
    total: int
