"""Helpers shared by the casework pages."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template

from carecycle.extensions import db
from carecycle.forms import place_errors
from carecycle.validation import Conflict, Invalid
from casework.service.guard import forbidden_as_403


def conflict_page(error: Conflict, back_url: str):
    return render_template("errors/conflict.html", error=error, back_url=back_url), 409


def refused_back_to(error: Conflict, url: str, category: str = "error"):
    """A transition the record's state no longer allows: drop what was started, say why, go back."""
    db.session.rollback()
    flash(error.message, category)
    return redirect(url)


def flash_errors(messages) -> None:
    for message in messages:
        flash(message, "error")


def form_messages(form) -> list[str]:
    return [message for messages in form.errors.values() for message in messages]


def _said(success, result) -> str:
    return success(result) if callable(success) else success


def change_and_return(back: str, change: Callable, success, invalid_back: str | None = None):
    """A button or small form that changes one thing and returns to `back`: invalid input comes back
    as messages (at `invalid_back` when given), a conflict shows the conflict page, a forbidden action
    answers 403. `success` is the message, or makes it from what `change()` returned."""
    try:
        with forbidden_as_403():
            result = change()
    except Invalid as error:
        db.session.rollback()
        flash_errors(error.fields.values())
        return redirect(invalid_back or back)
    except Conflict as error:
        db.session.rollback()
        return conflict_page(error, back)
    db.session.commit()
    flash(_said(success, result), "success")
    return redirect(back)


def save_form(form, back: str, save: Callable, success, place=place_errors, conflict_back: str | None = None):
    """A page form's save: the redirect to `back` on success or the conflict page (its link: to
    `conflict_back` when given), or None when the form is to be shown again with the service's
    messages on its fields."""
    try:
        with forbidden_as_403():
            result = save()
    except Invalid as error:
        db.session.rollback()
        place(form, error)
        return None
    except Conflict as error:
        db.session.rollback()
        return conflict_page(error, conflict_back or back)
    db.session.commit()
    flash(_said(success, result), "success")
    return redirect(back)
