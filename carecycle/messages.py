"""Words the system writes now for people who read them later (alert summaries, timeline details):
kept as the English source text and its parameters, and shown in each reader's language when read.

    said("Red-tier register outreach (%(outcome)s) found a concern: %(note)s",
         outcome=label("register_outreach_outcome", "not_reached"), note=text_typed)

`make i18n-update` extracts `said("...")` like `_("...")`. A parameter is a plain value (shown as
it is: a name, a number, words someone typed), another `said(...)`, a list of them (joined with
"; "), a `label(group, code)` (the words an area registered with `carecycle.areas.add_labels`) or
a `day(value)`. `store()` turns a message into the text kept (encrypted) in the record, `render()`
turns that text into words; text stored before messages existed is shown as it was written."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext

from carecycle.areas import labels
from carecycle.localtime import format_day

__all__ = ["said", "words", "label", "day", "call", "add_message_function", "store", "render", "text",
           "is_message"]


def said(msgid: str, **params) -> dict:
    """A message in the reader's language: `msgid` is the English source (python-format)."""
    return {"m": msgid, "p": {name: _param(value) for name, value in params.items()}}


def words(text: str | None) -> dict:
    """Words a person typed: shown as typed, in every language."""
    return {"t": text or ""}


def label(group: str, code: str) -> dict:
    return {"l": group, "c": code}


def day(value: date | datetime) -> dict:
    return {"d": value.isoformat()}


def call(name: str, *args) -> dict:
    return {"f": name, "a": [_param(a) for a in args]}


def add_message_function(app, name: str, function) -> None:
    """`function(*args) -> str` renders `call(name, *args)` in the reader's language."""
    app.extensions.setdefault("carecycle_message_functions", {})[name] = function


def _param(value: Any):
    if isinstance(value, (list, tuple)):
        return [_param(v) for v in value]
    if isinstance(value, dict) or value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def store(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _loaded(stored: str | None):
    if not stored or not stored.startswith("{"):
        return None
    try:
        value = json.loads(stored)
    except ValueError:
        return None
    return value if isinstance(value, dict) and ("m" in value or "t" in value) else None


def is_message(stored: str | None) -> bool:
    return _loaded(stored) is not None


def _render(value) -> str:
    if isinstance(value, list):
        return "; ".join(_render(v) for v in value)
    if isinstance(value, dict):
        if "t" in value:
            return str(value["t"])
        if "m" in value:
            params = {name: v if isinstance(v, (int, float)) and not isinstance(v, bool) else _render(v)
                      for name, v in (value.get("p") or {}).items()}  # numbers stay numbers for %(n)d
            return gettext(str(value["m"]), **params)
        if "f" in value:
            function = current_app.extensions.get("carecycle_message_functions", {}).get(value["f"])
            return str(function(*value.get("a", []))) if function else ""
        if "l" in value:
            return str(labels(str(value["l"])).get(value.get("c"), value.get("c")))
        if "d" in value:
            text = str(value["d"])
            try:
                return format_day(datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text))
            except ValueError:
                return text
    return "" if value is None else str(value)


def text(message: dict | list) -> str:
    """A message in words now, in the current language (for text that is kept as written)."""
    return _render(message)


def render(stored: str | None) -> str | None:
    """The stored text in the reader's language (None stays None; older plain text as written)."""
    if stored is None:
        return None
    value = _loaded(stored)
    return stored if value is None else _render(value)
