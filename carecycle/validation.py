"""Errors that services raise and both pages and the API turn into answers."""
from __future__ import annotations


class Invalid(ValueError):
    """Bad input: `fields` maps each field to its message. Pages re-show the form; the API answers 422."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.message = message


class Conflict(Exception):
    """A stale edit or a transition the record's state does not allow (409).

    `changes` lists what changed since the caller's version: (field, theirs, current)."""

    def __init__(self, message: str, changes: list[tuple[str, object, object]] | None = None,
                 current_version: int | None = None):
        super().__init__(message)
        self.message, self.changes, self.current_version = message, changes or [], current_version
