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
