"""Clients API."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from carecycle.api import ApiError, json_body
from carecycle.lifecycle import keep_refusal, load_visible, undone_on_error
from carecycle.openapi import Empty, described
from carecycle.permissions import Permission, requires
from casework.api import api, schemas
from casework.api.common import iso
from casework.models import Client, Consent
from casework.service import clients as service


def consent_json(consent: Consent) -> dict:
    return {"id": str(consent.id), "scope": consent.scope, "recorded_at": iso(consent.recorded_at),
            "recorded_by": str(consent.recorded_by_id), "withdrawn_at": iso(consent.withdrawn_at)}


def client_json(client: Client) -> dict:
    data = {name: getattr(client, name) for name in service.CLIENT_FIELDS}
    data.update(id=str(client.id), team_id=str(client.team_id), version=client.version,
                created_at=iso(client.created_at), consents=[consent_json(c) for c in client.consents])
    return data


@api.route("/clients", methods=["POST"])
@described(body=schemas.ClientNew, responses={201: schemas.Created}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_client_create():
    body = json_body()
    try:
        with undone_on_error():
            client = service.register_client(current_user, body,
                                             confirm_duplicate=body.get("confirm_duplicate") is True)
    except service.DuplicateFound as found:
        service.note_duplicate_matches(current_user, found)
        keep_refusal()  # the audit of the match stays, whatever is answered
        if found.refused:
            raise ApiError(429, "You have met many records already on file in a short time: checks by phone "
                                "or ID number are paused for you for up to an hour. Ask your supervisor.",
                           code="match_limit") from found
        teams = "; ".join(f"{team} (supervisor: {', '.join(names) or 'none'})" for team, names in found.elsewhere)
        fields = {"phone_or_id_number": "A client with this phone or ID number is already on record."}
        if found.visible:
            fields["existing"] = ",".join(str(c.id) for c in found.visible)
        if teams:
            fields["contact"] = f"A record exists in another team: {teams}."
        raise ApiError(409, "A client with this phone or ID number exists. Send \"confirm_duplicate\": true "
                            "if this is a different person.", fields, code="duplicate") from found
    return {"id": str(client.id), "version": client.version}, 201


@api.route("/clients", methods=["GET"])
@described(query=schemas.ClientSearch, responses={200: schemas.ClientList})
@requires(Permission.CLIENTS_VIEW)
def api_client_search():
    args = {k: request.args.get(k) for k in ("phone", "id_number", "name")}
    if not any(args.values()):
        raise ApiError(400, "Search by phone, id_number or name (exact match).")
    found = service.search_clients(current_user, **args)
    return {"clients": [{"id": str(c.id), "full_name": c.full_name, "preferred_name": c.preferred_name}
                        for c in found]}


@api.route("/clients/<client_id>", methods=["GET"])
@described(responses={200: schemas.Client})
@requires(Permission.CLIENTS_VIEW)
def api_client_get(client_id):
    client = load_visible("client", client_id, current_user)
    return client_json(client)


@api.route("/clients/<client_id>/consents", methods=["POST"])
@described(body=schemas.ConsentNew, responses={201: schemas.Consent})
@requires(Permission.CLIENTS_EDIT)
def api_consent_create(client_id):
    client = load_visible("client", client_id, current_user, audit=False)
    body = json_body()
    consent = service.record_consent(current_user, client, body.get("scope"))
    return consent_json(consent), 201


@api.route("/clients/<client_id>/consents/<consent_id>/withdraw", methods=["POST"])
@described(body=Empty, body_optional=True, responses={200: schemas.Consent}, errors=(409,))
@requires(Permission.CLIENTS_EDIT)
def api_consent_withdraw(client_id, consent_id):
    json_body(optional=True)
    client = load_visible("client", client_id, current_user, audit=False)
    consent = service.withdraw_consent(current_user, client, consent_id)
    return consent_json(consent)
