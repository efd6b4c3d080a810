"""Screening rules: instrument registry, scoring, results and contact requests, crisis
resources, and the psychoeducation library. Pages and API endpoints call these functions."""
from __future__ import annotations

from flask import current_app

from screening.service.definitions import Instrument, text  # noqa: F401 (text: for pages and the API)

EXTENSION_KEY = "screening_instruments"


def instruments() -> dict[str, Instrument]:
    """The loaded instrument definitions, by id, in the order of the catalogue."""
    return current_app.extensions[EXTENSION_KEY]


def get_instrument(ident: str) -> Instrument | None:
    return instruments().get(ident) if isinstance(ident, str) else None


def item_language(instrument: Instrument, locale: str) -> str:
    """The language the items are shown in: the reader's when an official translation exists, else English."""
    return locale if instrument.offered_in(locale) else "en"
