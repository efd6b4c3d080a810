"""Activations API: the team's calls to partners in an emergency period, recording one (emergency
operation only), recording what arrived (`version`: 409 when someone recorded it since), and the
emergency periods with their counts for the after-action review. The same service functions and
rules as the pages."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from carecycle.api import json_body
from carecycle.lifecycle import NotFound
from carecycle.openapi import described
from carecycle.permissions import Permission, access_held, refuse_held, requires
from casework.api.common import iso
from referrals.api import api, schemas
from referrals.service import activations as service


def _allowed() -> None:
    if access_held(current_user):
        refuse_held()


def _out(row) -> dict:
    return {"id": str(row.id), "period_id": str(row.period_id), "agreement_id": str(row.agreement_id),
            "organization_id": str(row.agreement.organisation_id), "commitment": row.commitment, "what": row.what,
            "unit": row.unit, "promised": row.promised, "status": row.status, "arrived": row.arrived,
            "contact": row.contact, "note": row.note, "called_at": iso(row.called_at),
            "called_by_id": str(row.called_by_id) if row.called_by_id else None, "outcome_at": iso(row.outcome_at),
            "version": row.version}


def _period(p) -> dict:
    return {"id": str(p.id), "started_at": iso(p.started_at), "ended_at": iso(p.ended_at), "reason": p.reason}


def _load(activation_id):
    row = service.load(current_user, activation_id)
    if row is None:
        raise NotFound()
    return row


@api.route("/activations", methods=["GET"])
@described(query=schemas.ActivationFilter, responses={200: schemas.ActivationList})
@requires(Permission.ACTIVATIONS)
def api_activations():
    """The team's activations of an emergency period (the current one, else the latest)."""
    _allowed()
    wanted = request.args.get("period_id")
    chosen = service.period(wanted) if wanted else next(iter(service.periods()), None)
    if wanted and chosen is None:
        raise NotFound()
    if chosen is None:
        return {"period": None, "activations": [], "failed": []}
    review = service.review(current_user, chosen)
    return {"period": _period(chosen), "activations": [_out(a) for a in review.activations],
            "failed": [str(a.id) for a in review.failed]}


@api.route("/activations/periods", methods=["GET"])
@described(responses={200: schemas.PeriodList})
@requires(Permission.ACTIVATIONS)
def api_activation_periods():
    """Every emergency period with the team's number of activations and of those that failed to arrive."""
    _allowed()
    counts = service.period_counts(current_user)
    return {"periods": [{**_period(p), "activations": counts.get(p.id, (0, 0))[0],
                         "failed": counts.get(p.id, (0, 0))[1]} for p in service.periods()]}


@api.route("/activations", methods=["POST"])
@described(body=schemas.ActivationNew, responses={201: schemas.ActivationOut})
@requires(Permission.ACTIVATIONS)
def api_activation_create():
    """Record a call to a partner to activate one of its agreement's commitments (emergency operation only)."""
    _allowed()
    return _out(service.record_call(current_user, json_body())), 201


@api.route("/activations/<activation_id>", methods=["GET"])
@described(responses={200: schemas.ActivationOut})
@requires(Permission.ACTIVATIONS)
def api_activation(activation_id):
    """One activation of the team."""
    _allowed()
    return _out(_load(activation_id))


@api.route("/activations/<activation_id>/outcome", methods=["POST"])
@described(body=schemas.OutcomeNew, responses={200: schemas.ActivationOut}, errors=(409,))
@requires(Permission.ACTIVATIONS)
def api_activation_outcome(activation_id):
    """Record what arrived: all, part of it (how many), nothing, or the partner could not help."""
    _allowed()
    row = _load(activation_id)
    body = json_body()
    service.record_outcome(current_user, row, body, body.get("version"))
    return _out(row)
