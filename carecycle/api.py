"""API machinery: the /api/v1 blueprint (JSON only, bearer tokens), JSON errors, `GET /me`.

Each area defines its own `api.py` Blueprint with `area_api(name)`; `create_app` nests them
under /api/v1 with `build_api(...)`, so the token check and JSON errors apply to all."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel

from carecycle import idempotency, openapi
from carecycle.accounts import service as accounts
from carecycle.errors import json_error
from carecycle.permissions import PUBLIC, Permission, requires
from carecycle.validation import unknown_fields


class ApiError(Exception):
    """Raise from an endpoint to answer a JSON error with field messages."""

    def __init__(self, status: int, message: str, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.fields, self.code = status, message, fields, code


def area_api(name: str) -> Blueprint:
    return Blueprint(f"api_{name}", __name__)


def json_body(allowed: Iterable[str] | type[BaseModel] | None = None, *, optional: bool = False) -> dict:
    """The request's JSON object, or a 400 (415-style problems are 400 here too). A field the
    endpoint does not take is refused with 422 naming it (never silently ignored): the fields of
    `allowed` (names or a model), by default those of the body model the endpoint is described
    with (carecycle.openapi.described), so the check and the document are one. `optional`: an
    empty body is an empty object."""
    data: Any
    if optional and not request.get_data(cache=True):
        data = {}
    else:
        data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object (Content-Type: application/json)."))
    if allowed is None:
        operation = openapi.operation_of(current_app.view_functions.get(request.endpoint or ""))
        allowed = operation.body if operation is not None and operation.body is not None else set()
    if isinstance(allowed, type) and issubclass(allowed, BaseModel):
        allowed = openapi.body_fields(allowed)
    refuse_unknown(data, allowed)
    return data


def refuse_unknown(data: dict, allowed: Iterable[str], prefix: str = "") -> None:
    """422 naming every field of `data` that is not in `allowed` (`prefix` for nested objects)."""
    fields = unknown_fields(data, allowed, prefix)
    if fields:
        raise ApiError(422, _("The body has fields this endpoint does not take."), fields=fields)


def authenticate():
    """A request without an Authorization header goes on anonymously (`requires` answers 401 on
    every endpoint that is not PUBLIC); a header that is present must carry a valid token."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return json_error(401, _("Send a bearer token: Authorization: Bearer <token>."))
    user = accounts.user_for_token(token.strip())
    if user is None:
        return json_error(401, _("The token is not valid, has expired or has been revoked."))
    g._login_user = user  # Flask-Login's current_user for this request only; no cookie is set
    return None


class Team(openapi.Open):
    id: str
    name: str


class Me(openapi.Open):
    id: str
    username: str
    role: str
    team: Team | None


@openapi.described(responses={200: Me})
def me():
    """Who the token belongs to: id, username, role and team."""
    user = current_user
    return jsonify({"id": str(user.id), "username": user.username, "role": str(user.role),
                    "team": {"id": str(user.team.id), "name": user.team.name} if user.team else None})


class Document(openapi.Open):
    """The OpenAPI 3.1 document itself."""

    openapi: str
    info: dict
    paths: dict


@openapi.described(responses={200: Document}, public=True)
def openapi_document():
    """This API's OpenAPI 3.1 description: every /api/v1 route, its parameters, bodies and answers."""
    return jsonify(openapi.document(current_app))


def build_api(*area_blueprints: Blueprint) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    api.before_request(authenticate)
    api.before_request(idempotency.check)  # after the token: keys are per user
    api.add_url_rule("/me", "me", requires(Permission.SIGNED_IN)(me))
    api.add_url_rule("/openapi.json", "openapi", requires(PUBLIC)(openapi_document))

    @api.errorhandler(ApiError)
    def api_error(error: ApiError):  # the request's unit of work has rolled back
        return json_error(error.status, error.message, error.fields, error.code)

    for blueprint in area_blueprints:
        api.register_blueprint(blueprint)
    return api


__all__ = ["ApiError", "area_api", "build_api", "json_body", "refuse_unknown"]
