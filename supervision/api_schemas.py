"""What the supervision endpoints take and answer (carecycle.openapi builds their description from
these models; `json_body()` checks field names against them)."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from carecycle.openapi import Closed, Open


class CaseloadOptions(Closed):
    sort: str | None = Field(None, description="name, open, risk or attention")
    direction: str | None = Field(None, description="asc or desc")
    role: str | None = Field(None, description="counsellor or social_worker")
    attention: str | None = Field(None, description="1: only workers who need attention")


class Caseload(Open):
    team_id: str | None
    generated_at: str
    caps: dict[str, Any]
    workers: list[dict[str, Any]]
    team: dict[str, Any]


class Period(Closed):
    from_: str | None = Field(None, alias="from", description="ISO date, with `to`")
    to: str | None = Field(None, description="ISO date")
    period: str | None = Field(None, description="week, month or quarter, around `date`")
    date: str | None = Field(None, description="ISO date")


class Statistics(Open):
    """The team's (a supervisor's) or the service's figures for the period; see the README."""


class Worker(Open):
    id: str
    username: str


class Mode(Open):
    mode: str
    since: str | None
    switched_by: Worker | None
    reason: str | None


class Review(Closed):
    what_happened: str | None = None
    what_worked: str | None = None
    what_to_change: str | None = None


class ModeSwitch(Closed):
    mode: str = Field(description="normal or emergency")
    reason: str | None = None
    review: Review | None = Field(None, description="the after-action review, when returning to normal")


class ModeSwitched(Mode):
    after_action_review: str | None


class NotificationFilter(Closed):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(30, ge=1, le=100)
    unread: str | None = Field(None, description="1: only those not read yet")


class Notification(Open):
    id: str
    kind: str
    label: str = Field(description="what it says, in the caller's language")
    count: int
    link: str = Field(description="the page it opens (a path on this server)")
    object_type: str | None
    object_id: str | None
    created_at: str | None
    read_at: str | None


class NotificationList(Open):
    notifications: list[Notification]
    unread: int
    page: int
    pages: int
    total: int


class Marked(Open):
    marked: int


class ApprovalFilter(Closed):
    kind: str | None = Field(None, description="risk, closure, break_glass, article, override, account or translation")


class ApprovalFact(Open):
    label: str
    value: str | None


class ApprovalItem(Open):
    kind: str
    id: str
    waiting_since: str | None
    requested_by: str | None = Field(description="username")
    urgent: bool
    own: bool = Field(description="the caller's own request: shown, never decided by them")
    risk: str | None
    link: str = Field(description="the record's page")
    decisions: list[str] = Field(description="the decisions this item takes")


class ApprovalDetail(ApprovalItem):
    facts: list[ApprovalFact]


class ApprovalQueue(Open):
    items: list[ApprovalItem]
    counts: dict[str, int]
    total: int


class ApprovalDecisionNew(Closed):
    decision: str = Field(description="one of the item's `decisions`")
    comment: str | None = Field(None, description="needed to reject a closure or return an article")


class ApprovalDecision(Open):
    id: str
    kind: str
    item_id: str
    decision: str
    decided_at: str | None
    decided_by: str | None
    comment: str | None


class ReassignmentNew(Closed):
    to_worker: str = Field(description="the id of an active colleague in the same role and team")
    cases: list[str] | None = Field(None, description="ids of the worker's open cases to move")
    everything: bool | None = Field(None, description="true: all the worker's open cases (up to the batch size)")
    reason: str


class Reassignment(Open):
    moved: list[str] = Field(description="ids of the cases moved")
    skipped: int = Field(description="closed or no longer with the worker (moved meanwhile)")
    from_worker: str
    to_worker: str
