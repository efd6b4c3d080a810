"""FHIR R4 machinery: the /fhir/R4 blueprint, resource registry, CapabilityStatement, search
paging, OperationOutcome errors, CodeSystems and `Patient/<id>/$everything`.

Each area maps its own records in its `fhir.py` and registers them here with `register_resource`
(from its `init_app`); the shell never imports an area. Reads and searches call the area's own
service functions and visibility rules, so the pages, `/api/v1` and FHIR answer alike: a record
the caller may not see is a 404 `OperationOutcome`, a role that may not have the resource type at
all a 403. Bearer tokens are those of `/api/v1`; an area may add another kind of token (a partner
organisation's) with `add_token_resolver`.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user

from carecycle.audit import batched_views, record_view
from carecycle.permissions import PUBLIC, Permission, enforce, requires

PREFIX = "/fhir/R4"
FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
DEFAULT_COUNT, MAX_COUNT = 20, 100
MAX_OFFSET = 10_000
# What every search takes besides the resource's own parameters.
COMMON_PARAMS = {"_count": "How many entries a page holds (1 to 100, default 20).",
                 "_offset": "Where the page starts (the `next` link carries it).",
                 "_format": "json or application/fhir+json only."}


class FhirError(Exception):
    """Raise from a mapper to answer an OperationOutcome: `status` 400, 403, 404, 409, 422..."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               409: "conflict", 412: "conflict", 413: "too-costly", 415: "not-supported", 422: "processing",
               429: "throttled", 500: "exception"}


def operation_outcome(status: int, message: str, code: str | None = None) -> dict:
    severity = "error" if status < 500 else "fatal"
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code or ISSUE_CODES.get(status, "processing"),
                       "diagnostics": message}]}


def is_fhir_request() -> bool:
    return request.path.startswith(PREFIX + "/") or request.path == PREFIX


def answer(resource: dict, status: int = 200) -> Response:
    response = Response(json.dumps(resource, ensure_ascii=False, separators=(",", ":")), status=status,
                        mimetype=FHIR_JSON)
    response.headers["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
    return response


def outcome_response(status: int, message: str, code: str | None = None) -> Response:
    return answer(operation_outcome(status, message, code), status)


# ------------------------------------------------------------------ registry
@dataclass
class Page:
    """Which slice of a search the caller asked for: `offset` entries skipped, `count` wanted. A
    search fetches `count + 1` rows to learn whether there is a next page."""

    count: int
    offset: int

    def window(self, rows: list) -> tuple[list, bool]:
        """The rows of this page (from a list fetched with `limit(count + 1)`) and whether more follow."""
        return rows[:self.count], len(rows) > self.count


@dataclass
class ResourceType:
    name: str
    permission: Permission
    read: Callable[[str, Any], dict]
    search: Callable[[dict[str, str], Any, Page], tuple[list[dict], bool]] | None = None
    params: dict[str, str] = field(default_factory=dict)   # search parameter -> what it matches
    audit_as: str | None = None    # audit name of the record a search entry shows (a view each)
    partner: bool = False          # a partner organisation's token may read these (its own only)
    update: Callable[[str, dict, Any, str], dict] | None = None   # (id, body, principal, "PUT"|"PATCH")
    doc: str = ""
    param_types: dict[str, str] = field(default_factory=dict)  # search parameter -> FHIR type (token...)


def _registry(app=None) -> dict[str, ResourceType]:
    return (app or current_app).extensions.setdefault("carecycle_fhir_resources", {})


def register_resource(app, name: str, *, permission: Permission, read, search=None, params=None,
                      param_types=None, audit_as: str | None = None, partner: bool = False, update=None,
                      doc: str = "") -> None:
    """Serve FHIR resource type `name`: `read(id, user)` returns the resource (raises
    carecycle.lifecycle.NotFound or FhirError), `search(params, user, page)` returns (resources, more)
    for the `params` it declares (name -> description; `param_types` name -> FHIR search type,
    token by default); a search may add one of its own parameters to `params`, and the next link
    carries it (a stable end for a list that grows while it is paged). `permission`: what the
    caller's role must hold (PUBLIC: anyone). `audit_as`: each resource a search returns is audited
    as a view of that kind. `partner`: a partner token may use it (the functions then get the
    carecycle.fhir.Partner as `user`). `update(id, body, user, method)` takes PUT and PATCH."""
    _registry(app)[name] = ResourceType(name, permission, read, search, dict(params or {}), audit_as, partner,
                                        update, doc, dict(param_types or {}))


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    definition: str = ""


def register_code_system(app, code_system_id: str, title: str, description: str,
                         concepts: Iterable[Concept] | Callable[[], Iterable[Concept]]) -> None:
    """A code system of CareCycle's own (risk tiers, life domains...), served as
    `CodeSystem/<code_system_id>`, its canonical URL `code_system_url(code_system_id)`. `concepts`
    may be a function, called when the code system is served (words that need a request's locale)."""
    app.extensions.setdefault("carecycle_fhir_code_systems", {})[code_system_id] = (
        title, description, concepts if callable(concepts) else list(concepts))


def add_everything(app, contribute: Callable[[Any, Any], list[dict]]) -> None:
    """`contribute(client, user)` returns the resources of one area about a client that `user` may
    see, for `Patient/<id>/$everything` (the Patient itself is the casework area's)."""
    app.extensions.setdefault("carecycle_fhir_everything", []).append(contribute)


def add_token_resolver(app, resolve: Callable[[str], Any]) -> None:
    """`resolve(token)` returns a principal (for example a Partner) for a token that is not a user's,
    or None; tried in order after the user tokens of /api/v1."""
    app.extensions.setdefault("carecycle_fhir_token_resolvers", []).append(resolve)


@dataclass(frozen=True)
class Partner:
    """A partner organisation's system, signed in with its own token: it sees the Tasks and
    ServiceRequests addressed to `organisation_id` and nothing else."""

    organisation_id: Any
    token_id: Any
    name: str = ""


@dataclass(frozen=True)
class PartnerTokens:
    """How the area that owns partner tokens issues, lists and revokes them, for the shell's
    `carecycle tokens create|list|revoke --partner ORG_ID` (registered with `add_partner_tokens`).
    `create(org_id, days)` returns the raw token (shown once); `list(org_id)` rows with `prefix`,
    `created_at`, `last_used_at`, `expires_at` and `state(now)`; `revoke(org_id, given)` revokes all
    (given None) or the one token `given` begins, and returns how many. They raise the domain errors
    (NotFound, Invalid) for an unknown organisation or token."""

    create: Callable[[str, int | None], str]
    list: Callable[[str], list]
    revoke: Callable[[str, str | None], int]


def add_partner_tokens(app, tokens: PartnerTokens) -> None:
    app.extensions["carecycle_fhir_partner_tokens"] = tokens


def partner_tokens(app=None) -> PartnerTokens | None:
    return (app or current_app).extensions.get("carecycle_fhir_partner_tokens")


def partner() -> Partner | None:
    return g.get("fhir_partner")


def principal():
    """Who is asking: the partner system, the signed-in user, or the anonymous user."""
    return partner() or current_user


# ------------------------------------------------------------------ references and URLs
def base_url() -> str:
    configured = (current_app.config.get("NOTIFY_BASE_URL") or "").rstrip("/")
    return (configured or request.host_url.rstrip("/")) + PREFIX


def code_system_url(code_system_id: str) -> str:
    """The canonical URL of one of CareCycle's own code systems (under the service's base URL)."""
    return f"{base_url()}/CodeSystem/{code_system_id}"


def ref(resource_type: str, record_id, display: str | None = None) -> dict:
    reference = {"reference": f"{resource_type}/{record_id}"}
    if display:
        reference["display"] = display
    return reference


def ref_id(value: str | None, resource_type: str) -> str | None:
    """The id of a reference search value (`Patient/<id>` or `<id>`, or a full URL ending so), or
    None when it names another resource type."""
    if not value:
        return None
    value = value.strip()
    parts = value.rstrip("/").split("/")
    if len(parts) == 1:
        return parts[0]
    if parts[-2] != resource_type:
        return None
    return parts[-1]


def instant(value) -> str | None:
    """A stored UTC datetime (naive) as a FHIR instant."""
    if value is None:
        return None
    text = value.replace(microsecond=0).isoformat()
    return text if value.tzinfo is not None else text + "+00:00"


def token_value(value: str | None) -> tuple[str | None, str]:
    """A token search value `system|code` as (system or None, code)."""
    if value is None:
        return None, ""
    system, sep, code = value.partition("|")
    return (system or None, code) if sep else (None, value)


# ------------------------------------------------------------------ blueprint
bp = Blueprint("fhir", __name__, url_prefix=PREFIX)


def _authenticate():
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        for resolve in current_app.extensions.get("carecycle_fhir_token_resolvers", []):
            found = resolve(token.strip())
            if found is not None:
                g.fhir_partner = found
                return None
    from carecycle.api import authenticate
    return authenticate()


bp.before_request(_authenticate)


def _check_format() -> None:
    wanted = request.args.get("_format")
    if wanted is not None and wanted not in ("json", FHIR_JSON, "application/json"):
        raise FhirError(400, _("Only JSON is served: _format=json."), "not-supported")
    accept = request.headers.get("Accept", "")
    if accept and not request.accept_mimetypes.best_match([FHIR_JSON, "application/json"]):
        raise FhirError(406, _("Only application/fhir+json is served."), "not-supported")


def _resource_type(name: str) -> ResourceType:
    spec = _registry().get(name)
    if spec is None:
        raise FhirError(404, _("This server does not serve the resource type %(name)s.", name=name[:60]),
                        "not-supported")
    who = partner()
    if who is not None:
        if not spec.partner:
            raise FhirError(403, _("A partner token reads only the Tasks and ServiceRequests addressed to "
                                   "its organisation."), "forbidden")
    else:
        enforce(spec.permission)
    return spec


def _int_param(args: dict, name: str, default: int, low: int, high: int) -> int:
    raw = args.pop(name, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise FhirError(400, _("%(name)s must be a whole number from %(low)s to %(high)s.",
                               name=name, low=low, high=high))
    return value


def _search_args(spec: ResourceType) -> tuple[dict[str, str], Page]:
    args: dict[str, str] = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise FhirError(400, _("Give the search parameter %(name)s once.", name=name[:60]))
        args[name] = values[0]
    unknown = sorted(name for name in args if name not in spec.params and name not in COMMON_PARAMS)
    if unknown:
        raise FhirError(400, _("%(type)s does not take the search parameter(s) %(names)s. It takes: %(known)s.",
                               type=spec.name, names=", ".join(n[:60] for n in unknown[:5]),
                               known=", ".join([*spec.params, *COMMON_PARAMS]) or "-"))
    args.pop("_format", None)
    page = Page(_int_param(args, "_count", DEFAULT_COUNT, 1, MAX_COUNT),
                _int_param(args, "_offset", 0, 0, MAX_OFFSET))
    return args, page


def searchset(resources: list[dict], *, self_url: str, next_url: str | None = None,
              total: int | None = None, bundle_type: str = "searchset") -> dict:
    base = base_url()
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": bundle_type}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": "self", "url": self_url}]
    if next_url:
        bundle["link"].append({"relation": "next", "url": next_url})
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                                 "resource": resource}
        if bundle_type == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    bundle["entry"] = entries
    return bundle


def _page_url(resource_type: str, args: dict[str, str], page: Page, offset: int) -> str:
    query = {**args, "_count": str(page.count)}
    if offset:
        query["_offset"] = str(offset)
    return f"{base_url()}/{resource_type}?{urlencode(query)}"


@bp.get("/metadata")
@requires(PUBLIC)
def metadata():
    return answer(capability_statement())


def capability_statement() -> dict:
    resources = []
    for name in sorted(_registry()):
        spec = _registry()[name]
        interactions = [{"code": "read"}]
        if spec.search is not None:
            interactions.append({"code": "search-type"})
        if spec.update is not None:
            interactions += [{"code": "update"}, {"code": "patch"}]
        entry: dict[str, Any] = {"type": name, "interaction": interactions}
        if spec.doc:
            entry["documentation"] = spec.doc
        if spec.search is not None:
            entry["searchParam"] = [{"name": p, "type": spec.param_types.get(p, "token"), "documentation": d}
                                    for p, d in spec.params.items()]
        if name == "Patient":
            entry["operation"] = [{"name": "everything",
                                   "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
        resources.append(entry)
    if current_app.extensions.get("carecycle_fhir_code_systems"):
        resources.append({"type": "CodeSystem", "interaction": [{"code": "read"}, {"code": "search-type"}],
                          "documentation": "CareCycle's own code systems (risk tiers, life domains...)."})
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-05", "kind": "instance",
        "software": {"name": "CareCycle"}, "implementation": {"description": "CareCycle", "url": base_url()},
        "fhirVersion": FHIR_VERSION, "format": ["json"],
        "rest": [{"mode": "server",
                  "security": {"description": "Bearer tokens, as for /api/v1 (carecycle tokens create); a partner "
                                              "organisation's token (carecycle tokens create --partner ORG_ID) "
                                              "reads and updates only the Tasks addressed to it.",
                               "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                                  "restful-security-service",
                                                        "code": "OAuth"}]}]},
                  "resource": resources}],
    }


def code_system_resource(code_system_id: str) -> dict | None:
    found = current_app.extensions.get("carecycle_fhir_code_systems", {}).get(code_system_id)
    if found is None:
        return None
    title, description, concepts = found
    concepts = list(concepts()) if callable(concepts) else concepts
    return {"resourceType": "CodeSystem", "id": code_system_id, "url": code_system_url(code_system_id),
            "name": "".join(word.capitalize() for word in code_system_id.replace("_", "-").split("-")),
            "title": title, "status": "active", "description": description, "content": "complete",
            "caseSensitive": True, "count": len(concepts),
            "concept": [{"code": c.code, "display": c.display, **({"definition": c.definition} if c.definition else {})}
                        for c in concepts]}


@bp.get("/CodeSystem")
@requires(PUBLIC)
def code_systems():
    args, page = _search_args(ResourceType("CodeSystem", PUBLIC, lambda *_: {}, params={"url": "canonical URL"}))
    systems = sorted(current_app.extensions.get("carecycle_fhir_code_systems", {}))
    found = [r for r in (code_system_resource(s) for s in systems) if r is not None]
    if "url" in args:
        found = [r for r in found if r["url"] == args["url"]]
    shown = found[page.offset:page.offset + page.count]
    more = page.offset + page.count < len(found)
    return answer(searchset(shown, self_url=request.url, total=len(found),
                            next_url=_page_url("CodeSystem", args, page, page.offset + page.count) if more else None))


@bp.get("/CodeSystem/<code_system_id>")
@requires(PUBLIC)
def code_system(code_system_id):
    _check_format()
    resource = code_system_resource(code_system_id)
    if resource is None:
        raise FhirError(404, _("No such code system."))
    return answer(resource)


@bp.get("/<resource_type>")
@requires(PUBLIC)  # the resource type's own permission is enforced in _resource_type
def search(resource_type):
    _check_format()
    spec = _resource_type(resource_type)
    if spec.search is None:
        raise FhirError(405, _("%(type)s is read by id only.", type=spec.name), "not-supported")
    args, page = _search_args(spec)
    resources, more = spec.search(args, principal(), page)
    if spec.audit_as:
        for resource in resources:
            record_view(spec.audit_as, resource["id"])
    next_url = _page_url(spec.name, args, page, page.offset + page.count) if more else None
    return answer(searchset(resources, self_url=request.url, next_url=next_url))


@bp.get("/<resource_type>/<record_id>")
@requires(PUBLIC)
def read(resource_type, record_id):
    _check_format()
    spec = _resource_type(resource_type)
    if request.args:
        raise FhirError(400, _("A read takes no parameters."))
    return answer(spec.read(record_id, principal()))


def _update(resource_type, record_id, method: str):
    if partner() is None:
        enforce(Permission.SIGNED_IN)  # a change needs a token, whatever the type named
    spec = _resource_type(resource_type)
    if spec.update is None:
        raise FhirError(405, _("%(type)s cannot be changed through FHIR.", type=spec.name), "not-supported")
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise FhirError(400, _("The body must be a JSON object."), "structure")
    return answer(spec.update(record_id, body, principal(), method))


@bp.put("/<resource_type>/<record_id>")
@requires(PUBLIC)
def update(resource_type, record_id):
    return _update(resource_type, record_id, "PUT")


@bp.patch("/<resource_type>/<record_id>")
@requires(PUBLIC)
def patch(resource_type, record_id):
    return _update(resource_type, record_id, "PATCH")


@bp.get("/Patient/<record_id>/$everything")
@requires(PUBLIC)
def everything(record_id):
    _check_format()
    spec = _resource_type("Patient")
    if request.args:
        raise FhirError(400, _("$everything takes no parameters here."))
    with batched_views():  # every record in the Bundle is audited as a view, under one lock of the chain
        patient = spec.read(record_id, principal())
        resources = [patient]
        client = g.get("fhir_patient_record")  # set by the Patient read: the client row itself
        for contribute in current_app.extensions.get("carecycle_fhir_everything", []):
            resources += contribute(client, principal())
    return answer(searchset(resources, self_url=request.url, total=len(resources), bundle_type="searchset"))


@bp.errorhandler(FhirError)
def fhir_error(error: FhirError):
    from carecycle.audit import record_event
    from carecycle.extensions import db
    from carecycle.lifecycle import keep_refusal
    g._carecycle_failed = True
    db.session.rollback()
    if error.status == 403:
        record_event("permission_denied", outcome="denied", reason=f"FHIR {request.method} {request.path[:120]}")
        keep_refusal()
    return outcome_response(error.status, error.message, error.code)


def register(app) -> None:
    """Called by create_app after the areas have registered their resources."""
    app.register_blueprint(bp)


__all__ = ["Concept", "FhirError", "Page", "Partner", "PartnerTokens", "add_everything", "add_partner_tokens",
           "add_token_resolver", "answer",
           "base_url", "code_system_url", "instant", "is_fhir_request", "operation_outcome", "partner",
           "partner_tokens", "principal", "ref", "ref_id", "register_code_system", "register_resource", "searchset",
           "token_value"]
