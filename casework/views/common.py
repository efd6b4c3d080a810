"""Helpers shared by the casework pages."""
from __future__ import annotations


from flask import flash, redirect, render_template

from carecycle.extensions import db
from carecycle.forms import place_errors
from carecycle.pages import change_and_return, flash_errors, save_form
from carecycle.validation import Conflict


def conflict_page(error: Conflict, back_url: str):
    return render_template("errors/conflict.html", error=error, back_url=back_url), 409


def refused_back_to(error: Conflict, url: str, category: str = "error"):
    """A transition the record's state no longer allows: drop what was started, say why, go back."""
    db.session.rollback()
    flash(error.message, category)
    return redirect(url)


def form_messages(form) -> list[str]:
    return [message for messages in form.errors.values() for message in messages]


__all__ = ["change_and_return", "conflict_page", "flash_errors", "form_messages", "place_errors", "refused_back_to",
           "save_form"]
