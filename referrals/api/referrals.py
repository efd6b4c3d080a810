"""Referrals API: create from a case, list, read, change status (send included)."""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from carecycle.api import ApiError, json_body
from carecycle.extensions import db
from carecycle.lifecycle import load_visible
from carecycle.openapi import Empty, described
from carecycle.permissions import Permission, requires
from casework.api.common import iso
from referrals.api import api, schemas
from referrals.enums import ReferralStatus
from referrals.models import Referral
from referrals.service import links, sharing
from referrals.service import referrals as service


def referral_json(referral: Referral, *, detail: bool = False) -> dict:
    body = {
        "id": str(referral.id), "case_id": str(referral.case_id), "status": referral.status,
        "service_id": str(referral.service_id), "service": referral.service.name,
        "organization_id": str(referral.service.organisation_id), "organization": referral.service.organisation.name,
        "tier": referral.tier, "urgency": referral.urgency, "share": list(referral.share or []),
        "created_at": iso(referral.created_at), "sent_at": iso(referral.sent_at),
        "respond_by": iso(referral.respond_by), "overdue": referral.overdue,
        "close_reason": referral.close_reason, "consent_override": referral.consent_override,
        "goal_id": str(referral.goal_id) if referral.goal_id else None,
        "version": referral.version,
    }
    if detail:
        body.update({
            "reason": referral.reason, "outcome": referral.outcome,
            "goal": {"id": str(referral.goal.id), "title": referral.goal.title} if referral.goal else None,
            "shared": sharing.shared_values(referral),
            "events": [{"at": iso(e.at), "from": e.from_status, "to": e.to_status,
                        "by": e.actor.username if e.actor else ("partner" if e.via_partner_link else None),
                        "note": e.note} for e in referral.events],
        })
    return body


@api.route("/cases/<case_id>/referrals", methods=["POST"])
@described(body=schemas.ReferralNew, responses={201: schemas.ReferralCreated}, errors=(404, 409))
@requires(Permission.REFERRALS_MANAGE)
def api_referral_create(case_id):
    case = load_visible("case", case_id, current_user, audit=False)
    body = json_body()
    missing = {k: "Required." for k in ("service_id", "reason", "urgency") if not body.get(k)}
    if "share" not in body:
        missing["share"] = "Required: the list of fields to share (may be empty)."
    if missing:
        raise ApiError(422, "Some fields are missing.", missing)
    data = {k: body.get(k) for k in ("service_id", "reason", "urgency", "share", "goal_id") if k in body}
    referral = service.create_referral(current_user, case, data)
    return {"id": str(referral.id), "status": referral.status, "version": referral.version}, 201


@api.route("/referrals", methods=["GET"])
@described(query=schemas.ReferralFilter, responses={200: schemas.ReferralList})
@requires(Permission.REFERRALS_MANAGE)
def api_referrals():
    stmt = service.list_statement(current_user, status=request.args.get("status", ""),
                                  overdue=request.args.get("overdue") in ("1", "true"))
    return {"referrals": [referral_json(r) for r in db.session.scalars(stmt.limit(500))]}


@api.route("/referrals/<referral_id>", methods=["GET"])
@described(responses={200: schemas.ReferralDetail})
@requires(Permission.REFERRALS_MANAGE)
def api_referral_get(referral_id):
    referral = load_visible("referral", referral_id, current_user)
    body = referral_json(referral, detail=True)
    return body


@api.route("/referrals/<referral_id>/status", methods=["POST"])
@described(body=schemas.StatusChange, responses={200: schemas.Referral}, errors=(409,))
@requires(Permission.REFERRALS_MANAGE)
def api_referral_status(referral_id):
    referral = load_visible("referral", referral_id, current_user, audit=False)
    body = json_body()
    status = body.get("status")
    if not isinstance(status, str) or not status:
        raise ApiError(422, "Say which status.", {"status": "Required."})
    for name in ("note", "close_reason", "override_reason"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            raise ApiError(422, "Some fields are not valid.", {name: "Must be text."})
    token = None
    if status == ReferralStatus.SENT.value:
        referral, token = service.send(current_user, referral, override_reason=body.get("override_reason"),
                                       note=body.get("note"))
    else:
        service.change_status(current_user, referral, status, note=body.get("note"),
                              close_reason=body.get("close_reason"))
    answer = referral_json(referral)
    if token:
        answer["partner_link"] = url_for("referrals.partner_page", token=token, _external=True)
    return answer


@api.route("/referrals/<referral_id>/partner-link", methods=["POST"])
@described(body=Empty, body_optional=True, responses={201: schemas.PartnerLink}, errors=(409,))
@requires(Permission.REFERRALS_MANAGE)
def api_referral_link(referral_id):
    json_body(optional=True)
    referral = load_visible("referral", referral_id, current_user, audit=False)
    link, token = links.issue(current_user, referral)
    return {"partner_link": url_for("referrals.partner_page", token=token, _external=True),
            "expires_at": iso(link.expires_at)}, 201


@api.route("/referrals/<referral_id>/partner-link", methods=["DELETE"])
@described(body=Empty, body_optional=True, responses={200: schemas.Revoked})
@requires(Permission.REFERRALS_MANAGE)
def api_referral_link_revoke(referral_id):
    json_body(optional=True)
    referral = load_visible("referral", referral_id, current_user, audit=False)
    count = links.revoke_all(referral, current_user)
    return {"revoked": count}
