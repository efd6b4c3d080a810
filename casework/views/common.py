"""Helpers shared by the casework pages."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _

from carecycle.forms import place_errors
from carecycle.pages import change_and_return, flash_errors, save_form
from carecycle.validation import Conflict


def conflict_page(error: Conflict, back_url: str):
    return render_template("errors/conflict.html", error=error, back_url=back_url), 409


def refused_back_to(error: Conflict, url: str, category: str = "error"):
    """A transition the record's state no longer allows (its work undone by the handler's
    `undone_on_error`): say why, go back."""
    flash(error.message, category)
    return redirect(url)


def form_messages(form) -> list[str]:
    return [message for messages in form.errors.values() for message in messages]


# Search criteria that identify a person: sent in a POST body only, never read from a URL.
PERSONAL_SEARCH_ARGS = ("phone", "id_number", "name")


def personal_data_in_url() -> bool:
    """Does this request's URL carry search criteria that identify a person (an old link or bookmark)?"""
    return any(request.args.get(k) for k in PERSONAL_SEARCH_ARGS)


def url_search_refused() -> str:
    """The answer to a GET whose URL carries such criteria: it searches nothing."""
    return _("A search by phone, ID number or name is not taken from the address, to keep it out of logs and "
             "browser history. Enter it in the search form.")


__all__ = ["PERSONAL_SEARCH_ARGS", "change_and_return", "conflict_page", "flash_errors", "form_messages",
           "personal_data_in_url", "place_errors", "refused_back_to", "save_form", "url_search_refused"]
