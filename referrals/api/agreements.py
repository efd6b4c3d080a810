"""Partner agreements API: an organisation's agreements, one agreement with its contact people,
adding and changing one (`version`: 409 when someone changed it since), and those expiring within
60 days. The same service functions and permissions as the pages: the list of an organisation's
agreements (without contacts) for directory readers, everything else for those who manage the
directory."""
from __future__ import annotations

from flask_login import current_user

from carecycle.api import json_body, refuse_unknown
from carecycle.lifecycle import load_visible
from carecycle.localtime import today as local_today
from carecycle.openapi import body_fields, described
from carecycle.permissions import Permission, requires
from casework.api.common import iso
from referrals.api import api, schemas
from referrals.models import Organisation
from referrals.service import agreements as service

FIELDS = ("title", "valid_from", "valid_to", "review_on", "document_reference")


def _summary(agreement, today=None) -> dict:
    today = today or local_today()
    return {"id": str(agreement.id), "organization_id": str(agreement.organisation_id),
            "organization": agreement.organisation.name, "title": agreement.title,
            "state": service.state(agreement, today).value, "review_due": service.review_due(agreement, today),
            "valid_from": iso(agreement.valid_from), "valid_to": iso(agreement.valid_to),
            "review_on": iso(agreement.review_on), "document_reference": agreement.document_reference,
            "commitments": list(agreement.commitments or []), "version": agreement.version}


def _detail(agreement) -> dict:
    return {**_summary(agreement), "contacts": list(agreement.contacts or []),
            "created_at": iso(agreement.created_at), "updated_at": iso(agreement.updated_at)}


def _body() -> dict:
    """The JSON body, unknown fields refused with 422 also inside the rows of commitments and contacts."""
    body = json_body()
    for name, model in (("commitments", schemas.AgreementCommitmentIn), ("contacts", schemas.AgreementContactIn)):
        rows = body.get(name)
        if isinstance(rows, list):
            for index, row in enumerate(rows):
                if isinstance(row, dict):
                    refuse_unknown(row, body_fields(model), prefix=f"{name}[{index}].")
    return body


@api.route("/directory/organizations/<org_id>/agreements", methods=["GET"])
@described(responses={200: schemas.AgreementList})
@requires(Permission.DIRECTORY_VIEW)
def api_organisation_agreements(org_id):
    """An organisation's agreements, the latest ending first, with their state today (no contact people)."""
    org = load_visible("organisation", org_id, current_user)
    today = local_today()
    return {"agreements": [_summary(a, today) for a in service.agreements_of(org)]}


@api.route("/directory/organizations/<org_id>/agreements", methods=["POST"])
@described(body=schemas.AgreementNew, responses={201: schemas.Agreement})
@requires(Permission.DIRECTORY_EDIT)
def api_agreement_create(org_id):
    """Add an agreement to an organisation that is not archived."""
    org = load_visible("organisation", org_id, current_user, where=(Organisation.archived_at.is_(None),))
    body = _body()
    return _detail(service.create_agreement(current_user, org, body)), 201


@api.route("/directory/agreements/expiring", methods=["GET"])
@described(responses={200: schemas.AgreementList})
@requires(Permission.DIRECTORY_EDIT)
def api_agreements_expiring():
    """Agreements in force that end within 60 days, the soonest first (organisations not archived)."""
    today = local_today()
    return {"agreements": [_summary(a, today) for a in service.expiring(today)]}


@api.route("/directory/agreements/<agreement_id>", methods=["GET"])
@described(responses={200: schemas.Agreement})
@requires(Permission.DIRECTORY_EDIT)
def api_agreement(agreement_id):
    """One agreement with its contact people (the view is audited)."""
    return _detail(load_visible("partner_agreement", agreement_id, current_user))


@api.route("/directory/agreements/<agreement_id>", methods=["PATCH"])
@described(body=schemas.AgreementChange, responses={200: schemas.Agreement}, errors=(409,))
@requires(Permission.DIRECTORY_EDIT)
def api_agreement_patch(agreement_id):
    """Change an agreement's fields; the others stay (a list given replaces the list)."""
    agreement = load_visible("partner_agreement", agreement_id, current_user)
    body = _body()
    version = body.pop("version", None)
    data: dict = {name: getattr(agreement, name) for name in FIELDS}
    data.update(commitments=agreement.commitments, contacts=agreement.contacts or [])
    data.update({name: value for name, value in body.items() if value is not None or name in
                 ("review_on", "document_reference")})
    service.update_agreement(current_user, agreement, data, version)
    return _detail(agreement)
