"""Crisis resources: the lines and services shown first on a crisis result, edited by admins."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from carecycle.audit import record_event
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.validation import Invalid
from screening.models import ARTICLE_LANGUAGES, CrisisResource


class ResourceError(Invalid):
    """A crisis resource refused: `fields` maps each bad field to its message."""


def for_language(language: str) -> list[CrisisResource]:
    """The resources in the reader's language, else the English ones, else all."""
    rows = all_resources()
    for wanted in (language, "en"):
        chosen = [row for row in rows if row.language == wanted]
        if chosen:
            return chosen
    return rows


def all_resources() -> list[CrisisResource]:
    return list(db.session.scalars(select(CrisisResource).order_by(CrisisResource.language, CrisisResource.position,
                                                                   CrisisResource.name)))


def _clean(values: dict) -> dict:
    data: dict[str, Any] = {key: " ".join(str(values.get(key) or "").split())
                            for key in ("name", "phone", "hours", "description")}
    data["language"] = values.get("language")
    data["is_example"] = bool(values.get("is_example"))
    position = values.get("position")
    errors = {}
    try:
        data["position"] = int(position or 0)
        if not 0 <= data["position"] <= 999:
            raise ValueError
    except (TypeError, ValueError):
        errors["position"] = _l("Use a whole number from 0 to 999.")
    if data["language"] not in ARTICLE_LANGUAGES:
        errors["language"] = _l("Choose a language.")
    for key, limit in (("name", 120), ("phone", 40), ("hours", 120)):
        if not data[key]:
            errors[key] = _l("Required.")
        elif len(data[key]) > limit:
            errors[key] = _l("Use at most %(n)d characters.", n=limit)
    if data["phone"] and not re.fullmatch(r"[0-9+()\- ]{2,40}", data["phone"]):
        errors["phone"] = _l("Use digits, spaces, dashes, brackets or a leading +.")
    if len(data["description"]) > 300:
        errors["description"] = _l("Use at most %(n)d characters.", n=300)
    if errors:
        raise ResourceError(errors)
    data["description"] = data["description"] or None
    return data


def create(values: dict) -> CrisisResource:
    resource = CrisisResource(**_clean(values))
    db.session.add(resource)
    db.session.flush()
    record_event("create", "crisis_resource", resource.id)
    return resource


def update(resource: CrisisResource, values: dict) -> None:
    for key, value in _clean(values).items():
        setattr(resource, key, value)
    resource.updated_at = utcnow()
    record_event("update", "crisis_resource", resource.id)


def delete(resource: CrisisResource) -> None:
    """Public contact information, not a person's record: removing it is a real delete, audited."""
    record_event("delete", "crisis_resource", resource.id)
    db.session.delete(resource)
