"""Reserves API: the team's reserve items at the three levels, recording one, and recording a change
of its stock (appended, never overwritten; `version`: 409 when the stock changed since it was read).
The same service functions and rules as the pages."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import load_visible
from carecycle.localtime import today as local_today
from carecycle.openapi import described
from carecycle.permissions import Permission, access_held, refuse_held, requires
from casework.api.common import int_arg, iso
from referrals.api import api, schemas
from referrals.enums import ReserveLevel
from referrals.service import reserves as service


def _summary(item, today=None) -> dict:
    marks = service.marks(item, today)
    return {"id": str(item.id), "level": item.level, "kind": item.kind, "name": item.name, "unit": item.unit,
            "quantity": item.quantity, "low_at": item.low_at, "expires_on": iso(item.expires_on),
            "organization_id": str(item.organisation_id) if item.organisation_id else None,
            "agreement_id": str(item.agreement_id) if item.agreement_id else None,
            "register_entry_id": str(item.register_entry_id) if item.register_entry_id else None,
            "marks": {"low": marks.low, "expired": marks.expired, "near_expiry": marks.near_expiry},
            "version": item.version}


def _detail(item) -> dict:
    return {**_summary(item), "location": item.location,
            "movements": [{"id": str(m.id), "kind": m.kind, "change": m.change, "quantity_after": m.quantity_after,
                           "at": iso(m.at), "note": m.note} for m in service.movements(item)]}


@api.route("/reserves", methods=["GET"])
@described(query=schemas.ReserveFilter, responses={200: schemas.ReserveList})
@requires(Permission.RESERVES_VIEW)
def api_reserves():
    """The team's reserves (of a level), those needing attention first."""
    page = int_arg("page", 1, 1, 10_000)
    level = request.args.get("level") or None
    if level not in (None, *[lv.value for lv in ReserveLevel]):
        raise ApiError(422, "Some fields are not valid.", {"level": "One of service, community, household."})
    today = local_today()
    rows, more = service.items(current_user, level,
                               request.args.get("attention") in ("1", "true"), today, page)
    return {"reserves": [_summary(r, today) for r in rows], "page": page, "next_page": page + 1 if more else None}


@api.route("/reserves", methods=["POST"])
@described(body=schemas.ReserveNew, responses={201: schemas.Reserve})
@requires(Permission.RESERVES_MANAGE)
def api_reserve_create():
    """Record a reserve item with its opening stock."""
    if access_held(current_user):
        refuse_held()
    return _detail(service.create_item(current_user, json_body())), 201


@api.route("/reserves/<reserve_id>", methods=["GET"])
@described(responses={200: schemas.Reserve})
@requires(Permission.RESERVES_VIEW)
def api_reserve(reserve_id):
    """One item with its stock history (the view is audited)."""
    return _detail(load_visible("reserve_item", reserve_id, current_user))


@api.route("/reserves/<reserve_id>/movements", methods=["POST"])
@described(body=schemas.MovementNew, responses={201: schemas.Reserve}, errors=(409,))
@requires(Permission.RESERVES_MANAGE)
def api_reserve_movement(reserve_id):
    """Record a receipt, a draw, a discard or a stock count; answers the item as it is now."""
    if access_held(current_user):
        refuse_held()
    item = load_visible("reserve_item", reserve_id, current_user, audit=False)
    body = json_body()
    service.record_movement(current_user, item, body, body.get("version"))
    return _detail(item), 201
