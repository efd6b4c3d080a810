"""Shared view helpers: safe `next` targets, pagination arguments, UUID parsing."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from flask import abort, request, url_for


def safe_next(target: str | None) -> str | None:
    """A local path to go to after sign-in, or None (never another host)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


PAGE_MAX = 100_000  # past any real list; a larger number (in a URL or a form) shows that (empty) page


def page_number(value) -> int:
    """A page number from a query string or a form: 1 when it is not a number, at most PAGE_MAX (a
    page of 10^24 would overflow the database's OFFSET)."""
    try:
        return min(PAGE_MAX, max(1, int(value if value is not None else 1)))
    except (TypeError, ValueError):
        return 1


def page_arg() -> int:
    return page_number(request.args.get("page", 1))


def as_uuid(value) -> uuid.UUID | None:
    """An id from a URL, form or JSON body as a UUID, or None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def uuid_or_404(value: str) -> uuid.UUID:
    parsed = as_uuid(value)
    if parsed is None:
        abort(404)
    return parsed


_HOLE = "carecycle-url-argument"
PATH_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug's converters leave unquoted in a path segment


def url_maker(endpoint: str, *arguments: str, **fixed) -> Callable[..., str]:
    """`url_for(endpoint, argument=value, ..., **fixed)` for many values, built once: long lists link
    every row to the same route (templates: `{% set case_url = url_maker(...) %}`); the function
    takes the arguments' values in the order named."""
    if not arguments:
        raise ValueError("url_maker needs the name of at least one argument")
    holes = {argument: f"{_HOLE}-{n}" for n, argument in enumerate(arguments)}
    values: dict[str, Any] = {**holes, **fixed}
    url = url_for(endpoint, **values)
    parts = []
    path = url.partition("?")[0]
    for argument, hole in holes.items():
        head, found, url = url.partition(hole)
        if not found or hole not in path:  # an argument the route does not take goes to the query string
            raise ValueError(f"{endpoint} does not put {argument} in the URL")
        parts.append(head)
    parts.append(url)

    def make(*values) -> str:
        if len(values) != len(arguments):
            raise TypeError(f"this URL takes {len(arguments)} value(s), not {len(values)}")
        out = [parts[0]]
        for value, tail in zip(values, parts[1:], strict=True):
            out.append(quote(str(value), safe=PATH_SAFE))
            out.append(tail)
        return "".join(out)
    return make
