"""Inbound referrals API: what came in through the public form "Refer someone to us", for the
duty workers who work the triage queue (the pages' rule). The list says only when, from whom
(the relation) and whether there is danger now; one referral in full is a read that is audited."""
from __future__ import annotations

from carecycle.openapi import Paging, described
from carecycle.permissions import Permission, requires
from casework.api.common import iso, page_args
from referrals.api import api, schemas
from referrals.service import inbound as service


def _summary(row) -> dict:
    return {"id": str(row.id), "received_at": iso(row.received_at), "relation": row.relation,
            "danger_now": bool(row.danger_now), "alert_id": str(row.alert_id) if row.alert_id else None}


@api.route("/inbound-referrals", methods=["GET"])
@described(query=Paging, responses={200: schemas.InboundList})
@requires(Permission.TRIAGE_WORK)
def api_inbound_list():
    """Inbound referrals, newest first: when, the referrer's relation, danger now, and the alert."""
    page, per_page = page_args()
    pagination = service.recent(page=page, per_page=per_page)
    return {"inbound_referrals": [_summary(r) for r in pagination.items], "page": pagination.page,
            "pages": pagination.pages, "total": pagination.total}


@api.route("/inbound-referrals/<inbound_id>", methods=["GET"])
@described(responses={200: schemas.Inbound})
@requires(Permission.TRIAGE_WORK)
def api_inbound_get(inbound_id):
    """One inbound referral in full, as the referrer wrote it (the read is audited)."""
    row = service.load(inbound_id)
    return {**_summary(row), "person_knows": bool(row.person_knows), "language": row.language,
            **{name: getattr(row, name) for name in ("referrer_name", "referrer_organisation", "referrer_contact",
                                                     "person_name", "person_phone", "person_area", "concern")}}
