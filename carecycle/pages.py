"""What a page does with a change a user asked for, written once for every area.

Each helper runs the change through `carecycle.lifecycle.attempt` (a savepoint): a refusal undoes
the change and is shown, what the request did before stays, and the request's unit of work
commits or rolls back as a whole. Handlers never commit or roll back themselves."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect

from carecycle.forms import place_errors
from carecycle.lifecycle import Conflict, Invalid, attempt

__all__ = ["change_and_return", "flash_errors", "save_form", "try_transition"]


def flash_errors(messages) -> None:
    for message in messages:
        flash(str(message), "error")


def _said(success, result) -> str:
    return success(result) if callable(success) else success


def _attempt_or_conflict_page(change: Callable[[], Any], back: str):
    """`attempt(change)`; a Conflict goes on to the conflict page, whose link leads to `back`."""
    try:
        return attempt(change)
    except Conflict as error:
        error.back_url = back
        raise


def save_form(form, back: str, save: Callable[[], Any], success, place=place_errors,
              conflict_back: str | None = None):
    """A page form's save: on success a flash and the redirect to `back`; on `Invalid` None, the
    service's messages placed on the form to show again (with 400); a conflict shows the conflict
    page (its link: `conflict_back`, or `back`); a forbidden action answers 403."""
    outcome = _attempt_or_conflict_page(save, conflict_back or back)
    if not outcome.ok:
        place(form, outcome.error)
        return None
    flash(_said(success, outcome.result), "success")
    return redirect(back)


def change_and_return(back: str, change: Callable[[], Any], success, invalid_back: str | None = None):
    """A button or small form that changes one thing and returns to `back`: invalid input comes back
    as messages (at `invalid_back` when given), a conflict shows the conflict page, a forbidden
    action answers 403. `success` is the message, or makes it from what `change()` returned."""
    outcome = _attempt_or_conflict_page(change, back)
    if not outcome.ok:
        flash_errors((outcome.errors or {}).values())
        return redirect(invalid_back or back)
    flash(_said(success, outcome.result), "success")
    return redirect(back)


def try_transition(back: str, change: Callable[[], Any], success, category: str = "error"):
    """A transition the record's state may no longer allow: on a conflict its work is undone, the
    reason flashed, and the reader sent back to `back`; invalid input is flashed the same way."""
    outcome = attempt(change, contain=(Invalid, Conflict))
    if not outcome.ok:
        if isinstance(outcome.error, Conflict):
            flash(outcome.error.message, category)
        else:
            flash_errors((outcome.errors or {}).values())
        return redirect(back)
    flash(_said(success, outcome.result), "success")
    return redirect(back)
