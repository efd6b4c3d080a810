"""Turning service errors into API answers; paging arguments."""
from __future__ import annotations

from flask import request

from carecycle.api import ApiError


def iso(value):
    return value.isoformat() if value is not None else None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument within bounds, or 422 naming it."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(422, "Some fields are not valid.", {name: f"A whole number from {low} to {high}."})
    return value


def page_args(default_per_page: int = 50, max_per_page: int = 100) -> tuple[int, int]:
    """`?page=` (from 1) and `?per_page=` (1 to `max_per_page`)."""
    return int_arg("page", 1, 1, 100_000), int_arg("per_page", default_per_page, 1, max_per_page)
