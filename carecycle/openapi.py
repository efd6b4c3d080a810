"""The OpenAPI 3.1 description of /api/v1, built from the pydantic models the endpoints take.

Each endpoint says what it takes and answers with `@described(...)` (between `@route` and
`@requires`): `body`, the model of its JSON body (`carecycle.api.json_body()` reads the allowed
fields from that same model, so the document and the check cannot drift apart), `query`, a
model of its query parameters, and `responses`, the model of each success status. The error
statuses every endpoint can answer (401/403 for a non-public one, 404 where the path names a
record, 400/422 where there is a body or a query, 429) are added with the one error shape.

`document(app)` walks `app.url_map`; a route under /api/v1 without a description is left out,
and a test fails on it."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

API_PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"


class Closed(BaseModel):
    """A request body: a field it does not list is refused with 422 naming it."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A response body: these fields are always there; a later version may add more."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(Open):
    code: str
    message: str
    fields: dict[str, str] | None = None


class Error(Open):
    """Every error answer: `{"error": {"code", "message", "fields"?}}`; `fields` names each field
    or parameter that was refused, with what is wrong with it."""

    error: ErrorDetail


class Empty(Closed):
    """Takes no fields (an empty body or `{}`)."""


class Paging(BaseModel):
    """`?page=` (from 1) and `?per_page=` (the endpoint's bounds; outside them 422)."""

    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=100)


@dataclass
class Operation:
    responses: dict[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body_optional: bool = False
    public: bool = False
    errors: set[int] = field(default_factory=set)
    summary: str | None = None


def described(*, responses: dict[int, type[BaseModel] | None], body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, body_optional: bool = False, public: bool = False,
              errors: tuple[int, ...] = (), summary: str | None = None) -> Callable:
    """Describe an /api/v1 endpoint (see the module's docstring). `errors`: statuses beyond the
    usual ones (409 for a conflict, 429 when limited)."""
    def attach(view: Callable) -> Callable:
        view.openapi = Operation(dict(responses), body, query, body_optional, public, set(errors),  # type: ignore[attr-defined]
                                 summary)
        return view
    return attach


def operation_of(view: Callable | None) -> Operation | None:
    return getattr(view, "openapi", None)


def body_fields(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


PARAMETER = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
CONVERTER_TYPES = {"int": "integer", "float": "number"}


def _path(rule: str) -> tuple[str, list[tuple[str, str]]]:
    """"/cases/<case_id>/safety-plan/<int:number>" -> ("/cases/{case_id}/safety-plan/{number}",
    [("case_id", "string"), ("number", "integer")])."""
    names = [(name, CONVERTER_TYPES.get(converter or "", "string")) for converter, name in PARAMETER.findall(rule)]
    return PARAMETER.sub(r"{\2}", rule), names


def _first_line(text: str | None) -> str | None:
    return text.strip().split("\n\n")[0].replace("\n", " ") if text else None


def document(app) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described /api/v1 route."""
    operations: list[tuple[str, str, str, list[tuple[str, str]], Operation, Callable]] = []
    models: set[type[BaseModel]] = {Error}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions.get(rule.endpoint)
        op = operation_of(view)
        if op is None:
            continue
        path, names = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operations.append((path, method.lower(), rule.endpoint, names, op, view))
        models.update(m for m in (op.body, op.query, *op.responses.values()) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    titles = [m.__name__ for m in ordered]
    if len(set(titles)) != len(titles):  # the document names each schema by its class
        raise RuntimeError(f"two API models share a name: {sorted(n for n in titles if titles.count(n) > 1)}")
    _keys, schema = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    components = schema.get("$defs", {})

    paths: dict[str, dict] = {}
    for path, method, endpoint, names, op, view in operations:
        paths.setdefault(path, {})[method] = _operation(endpoint, names, op, view, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "CareCycle API", "version": "1",
                 "description": "Case management for community mental-health services. Every endpoint "
                                "applies the same access rules as the pages. See the README's API section."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "A token from `carecycle tokens create "
                                                                     "USERNAME` (personal) or `--system`."}}},
    }


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel] | None) -> dict:
    return {"application/json": {"schema": _ref(model) if model is not None else {}}}


def _operation(endpoint: str, names: list[tuple[str, str]], op: Operation, view: Callable, components: dict) -> dict:
    doc = (view.__doc__ or "").strip()
    answer: dict[str, Any] = {"operationId": endpoint.rsplit(".", 1)[-1],
                              "summary": op.summary or _first_line(doc) or endpoint.rsplit(".", 1)[-1]}
    if doc:
        answer["description"] = doc
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": kind}} for n, kind in names]
    if op.query is not None:
        properties = components[op.query.__name__].get("properties", {})
        required = set(components[op.query.__name__].get("required", []))
        parameters += [{"name": n, "in": "query", "required": n in required, "schema": s} for n, s in
                       properties.items()]
    if parameters:
        answer["parameters"] = parameters
    if op.body is not None:
        answer["requestBody"] = {"required": not op.body_optional, "content": _json(op.body)}
    statuses: dict[int, type[BaseModel] | None] = dict(op.responses)
    errors = set(op.errors) | {429}
    if not op.public:
        errors |= {401, 403}
    if names or (op.body is not None and any(n.endswith("_id") for n in op.body.model_fields)):
        errors.add(404)  # the record the path, or the body (`client_id`), names is not one the caller may see
    if op.body is not None or op.query is not None:
        errors |= {400, 422}
    responses: dict[str, dict] = {}
    for status in sorted(statuses):
        responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": _json(statuses[status])}
    for status in sorted(errors - set(statuses)):
        responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": _json(Error)}
    answer["responses"] = responses
    answer["security"] = [{}, {"bearer": []}] if op.public else [{"bearer": []}]
    return answer


__all__ = ["Closed", "Empty", "Error", "Open", "Operation", "Paging", "body_fields", "described", "document",
           "operation_of"]
