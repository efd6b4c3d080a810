"""Helpers shared by the casework pages."""
from __future__ import annotations

from flask import flash, render_template

from carecycle.validation import Conflict, Invalid


def place_errors(form, error: Invalid) -> None:
    """Put a service's field messages on the form; anything left over becomes a flash."""
    for name, message in error.fields.items():
        if name in form:
            form[name].errors = list(form[name].errors) + [message]
        else:
            flash(message, "error")


def conflict_page(error: Conflict, back_url: str):
    return render_template("casework/conflict.html", error=error, back_url=back_url), 409
