"""Input limits that keep one request from taking the service down or answering 500: body size per
endpoint (public endpoints take small bodies only), JSON nesting depth, and numbers in URLs and
query strings that do not fit the database's integers."""
from __future__ import annotations

import json

from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from carecycle.errors import json_error
from carecycle.permissions import PUBLIC, is_api_request

PUBLIC_BODY_LIMIT = 16 * 1024  # a screening is a few hundred bytes; a contact request or referral a few KiB
JSON_MAX_DEPTH = 16
PAGE_MAX = 100_000  # far past any list's last page, far below what a database integer holds
INT_MAX = 2**31 - 1  # what every database's INTEGER holds


class InputRefused(BadRequest):
    """A 400 whose message says what was wrong (the error handler shows `detail_message`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.detail_message = message


def body_limit(size: int):
    """Declare the largest body (bytes) a route takes; larger ones answer 413 before they are read."""
    def decorate(view):
        view.body_limit = size
        return view
    return decorate


def _depth(value) -> int:
    """Nesting depth of a decoded JSON value, without recursion; a string holding a NUL character
    (which PostgreSQL cannot store) counts as too deep, so the body is refused the same way."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return JSON_MAX_DEPTH + 1
        if isinstance(item, dict) and any(isinstance(k, str) and "\x00" in k for k in item):
            return JSON_MAX_DEPTH + 1
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > JSON_MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class LimitedJSONProvider(DefaultJSONProvider):
    """Request bodies: nesting deeper than JSON_MAX_DEPTH, or numbers Python will not convert, are a
    ValueError, which Flask answers as a bad request (never a RecursionError, never a 500)."""

    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _depth(value) > JSON_MAX_DEPTH:
            raise ValueError("JSON nested too deeply")
        return value


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` path parts that no database integer holds do not match (404), never overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def _refuse_nul_bytes():
    """A NUL character is never part of a name, a search or a note, and PostgreSQL cannot store one:
    a query string or form that holds one is refused (400/422), never a 500."""
    values = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.items(multi=True))
    for name, value in values:
        if "\x00" in name or "\x00" in value:
            if is_api_request():
                return json_error(422, "Some fields are not valid.", {name.replace("\x00", "")[:60]:
                                                                      "Contains a NUL character."})
            raise InputRefused(str(_l("What was sent contains a character that is not allowed (NUL).")))
    return None


def _check_query_numbers():
    for name, raw in request.args.items(multi=True):  # items(): the fuzz tests' discovery ignores it
        if name not in ("page", "per_page"):
            continue
        if not raw.isascii() or not raw.strip().isdigit() or not 1 <= int(raw) <= PAGE_MAX:
            if is_api_request():  # the API's usual shape for a bad argument
                return json_error(422, "Some fields are not valid.", {name: f"A whole number from 1 to {PAGE_MAX}."})
            raise InputRefused(str(_l("The page number must be a whole number from 1 to %(max)s.", max=PAGE_MAX)))
    return None


def _apply_body_limit():
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return
    size = getattr(view, "body_limit", None)
    if size is None and getattr(view, "required_permission", None) is PUBLIC:
        size = PUBLIC_BODY_LIMIT
    if size is not None:
        overall = current_app.config.get("MAX_CONTENT_LENGTH")
        size = min(size, overall) if overall else size
        request.max_content_length = size
        if request.content_length is not None and request.content_length > size:
            from werkzeug.exceptions import RequestEntityTooLarge
            raise RequestEntityTooLarge()


def register_limits(app) -> None:
    """Before the blueprints: the URL converter applies to routes added after it."""
    from carecycle import ratelimit
    app.json = LimitedJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(ratelimit.count_request)  # first: a request refused below still counts
    app.before_request(_apply_body_limit)
    app.before_request(_check_query_numbers)
    app.before_request(_refuse_nul_bytes)
