"""Supervision's decisions under /api/v1: the one approvals queue (risk acknowledgements, closures,
break-glass reviews, articles, consent overrides, account changes) and moving a worker's cases to a
colleague. The same service functions and rules as the pages: one's own request is never decided by
oneself (403), an item already decided is 409, another team's is 404."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import load_visible
from carecycle.openapi import described
from carecycle.permissions import Permission, requires
from casework.api.common import iso
from supervision import api_schemas as schemas
from supervision.api import api
from supervision.service import approvals, caseload
from supervision.service import reassign as reassign_service


def _item_json(item, *, facts: bool = False) -> dict:
    body = {"kind": item.kind, "id": item.id, "waiting_since": iso(item.at),
            "requested_by": item.requested_by.username if item.requested_by else None, "urgent": item.urgent,
            "own": item.own, "risk": item.risk, "link": item.link, "decisions": list(item.choices)}
    if facts:
        body["facts"] = [{"label": str(label), "value": None if value is None else str(value)}
                         for label, value in item.facts]
    return body


@api.route("/approvals")
@described(query=schemas.ApprovalFilter, responses={200: schemas.ApprovalQueue})
@requires(Permission.APPROVALS)
def approvals_queue():
    """Everything waiting for the supervisor's decision, most urgent first, then the longest waiting."""
    kind = request.args.get("kind") or ""
    if kind and kind not in approvals.KINDS:
        raise ApiError(422, "Unknown kind.", {"kind": "Use one of: " + ", ".join(approvals.KINDS) + "."})
    items = approvals.queue(current_user)
    counts = {k: sum(1 for i in items if i.kind == k) for k in approvals.KINDS}
    shown = [i for i in items if i.kind == kind] if kind else items
    return jsonify({"items": [_item_json(i) for i in shown], "counts": counts, "total": len(items)})


@api.route("/approvals/<kind>/<item_id>")
@described(responses={200: schemas.ApprovalDetail})
@requires(Permission.APPROVALS)
def approval_item(kind, item_id):
    """One waiting item with the facts to decide on (opening it is audited as a view of its record)."""
    item = approvals.find(current_user, kind, item_id)
    if item is None:
        raise ApiError(404, "There is no such item waiting for you.")
    return jsonify(_item_json(item, facts=True))


@api.route("/approvals/<kind>/<item_id>/decision", methods=["POST"])
@described(body=schemas.ApprovalDecisionNew, responses={200: schemas.ApprovalDecision}, errors=(409,))
@requires(Permission.APPROVALS)
def approval_decide(kind, item_id):
    """Decide one waiting item (never one's own: 403; already decided: 409)."""
    body = json_body()
    decision = body.get("decision")
    row = approvals.decide(current_user, kind, item_id, decision if isinstance(decision, str) else "",
                           body.get("comment"))
    return jsonify({"id": str(row.id), "kind": row.item_kind, "item_id": row.item_id, "decision": row.decision,
                    "decided_at": iso(row.decided_at), "decided_by": current_user.username, "comment": row.comment})


@api.route("/team/workers/<worker_id>/reassign", methods=["POST"])
@described(body=schemas.ReassignmentNew, responses={200: schemas.Reassignment}, errors=(409,))
@requires(Permission.CASES_REASSIGN)
def reassign_cases(worker_id):
    """Move cases of a worker of the team to a colleague in the same role (both are notified)."""
    person = load_visible("worker", worker_id, current_user)
    body = json_body()
    cases = body.get("cases")
    if body.get("everything") is True:
        case_ids = caseload.open_case_ids(current_user, person, reassign_service.BATCH)
    elif cases is None or (isinstance(cases, list) and all(isinstance(c, str) for c in cases)):
        case_ids = cases or []
    else:
        raise ApiError(422, "Some fields are not valid.", {"cases": "A list of case ids."})
    result = reassign_service.reassign(current_user, person, case_ids, body.get("to_worker"), body.get("reason"))
    return jsonify({"moved": [str(c.id) for c in result.moved], "skipped": result.skipped,
                    "from_worker": result.from_worker.username, "to_worker": result.to_worker.username})
