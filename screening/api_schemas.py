"""What the screening endpoints take and answer (carecycle.openapi builds their description from
these models; `json_body()` checks field names against them)."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from carecycle.openapi import Closed, Open


class InstrumentSummary(Open):
    id: str
    name: str
    title: str | None
    item_count: int
    languages: list[str]


class InstrumentList(Open):
    instruments: list[InstrumentSummary]


class Instrument(Open):
    """The instrument's definition as published: items, answer options, scoring, bands, LOINC codes
    (see screening/instruments/README.md)."""

    id: str
    name: str
    items: list[dict[str, Any]]


class ScreeningNew(Closed):
    instrument: str = Field(description="an instrument id from GET /api/v1/instruments")
    answers: list[Any] = Field(description="one answer per item, in order: the option's value")
    sex: str | None = Field(None, description="for instruments whose bands differ by sex")
    language: str | None = Field(None, description="the language taken in (default en)")
    unscored: dict[str, Any] | None = Field(None, description="the form's unscored questions by code, never scored")


class CrisisArticle(Open):
    id: str
    title: str
    language: str
    url: str


class ScreeningResult(Open):
    id: str | None
    instrument: str
    score: float | int | None
    max_score: float | int | None
    band: str | None
    flags: list[Any]
    crisis: bool
    percentage: float | int | None = Field(None, description="WHO-5")
    crisis_note: str | None = Field(None, description="only when the crisis rule is met")
    crisis_articles: list[CrisisArticle] | None = None
