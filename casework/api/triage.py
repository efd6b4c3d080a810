"""Triage API: the queue the caller may see, and claiming an alert."""
from __future__ import annotations

from flask_login import current_user

from carecycle.alerts import subject_refs
from carecycle.api import json_body
from carecycle.lifecycle import load_visible
from carecycle.openapi import Empty, Paging, described
from carecycle.permissions import Permission, requires
from casework.api import api, schemas
from casework.api.common import iso, page_args
from casework.service import triage


def alert_json(alert, people: dict, subjects: dict) -> dict:
    """`subjects`: carecycle.alerts.subject_refs of the alerts shown (None: hidden or none)."""
    claimer = people.get(alert.claimed_by_id)
    return {"id": str(alert.id), "kind": alert.kind, "urgency": alert.urgency, "state": alert.state,
            "created_at": iso(alert.created_at), "deadline": iso(alert.deadline), "overdue": alert.overdue,
            "possible_flood": bool(alert.possible_flood), "claimed_by": claimer.username if claimer else None,
            "subject": subjects.get(alert.id)}


@api.route("/triage", methods=["GET"])
@described(query=Paging, responses={200: schemas.AlertList})
@requires(Permission.TRIAGE_WORK)
def api_triage():
    """Open and claimed alerts the caller may see, by deadline (`?page=`, `?per_page=` up to 100)."""
    page, per_page = page_args()
    pagination = triage.queue(current_user, triage.QueueFilter(), page=page, per_page=per_page)
    people = triage.users_by_id(a.claimed_by_id for a in pagination.items)
    subjects = subject_refs(pagination.items, current_user)
    return {"alerts": [alert_json(a, people, subjects) for a in pagination.items], "page": pagination.page,
            "pages": pagination.pages, "total": pagination.total}


@api.route("/triage/<alert_id>/claim", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: schemas.Alert}, errors=(409,))
@requires(Permission.TRIAGE_WORK)
def api_triage_claim(alert_id):
    json_body(optional=True)
    alert = load_visible("alert", alert_id, current_user, audit=False)
    triage.claim(current_user, alert)
    return alert_json(alert, triage.users_by_id([alert.claimed_by_id]), subject_refs([alert], current_user))
