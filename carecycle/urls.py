"""Shared view helpers: safe `next` targets, pagination arguments, UUID parsing."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import abort, request


def safe_next(target: str | None) -> str | None:
    """A local path to go to after sign-in, or None (never another host)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)
