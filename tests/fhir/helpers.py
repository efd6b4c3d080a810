"""What the FHIR tests share: a bearer token, a GET that expects FHIR JSON, and validation of
every resource (and every resource inside a Bundle) with the `fhir.resources` R4B models."""
from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class

from carecycle.accounts.service import create_token

FHIR_JSON = "application/fhir+json"


def bearer(user, db) -> dict:
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def validate(resource: dict) -> dict:
    """Parse `resource` with its R4B model (raises pydantic's ValidationError when it is not valid
    FHIR); a Bundle's entries are validated one by one as well. Returns the resource."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    for entry in resource.get("entry", []) if resource["resourceType"] == "Bundle" else []:
        validate(entry["resource"])
    return resource


def get(client, path: str, headers: dict | None = None, status: int = 200, **params) -> dict:
    """GET a /fhir/R4 path; checks the status and the content type and validates the answer."""
    response = client.get(path if path.startswith("/") else f"/fhir/R4/{path}", headers=headers or {},
                          query_string=params or None)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == FHIR_JSON
    body = response.get_json(force=True)
    validate(body)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
    return body


def entries(bundle: dict) -> list[dict]:
    return [entry["resource"] for entry in bundle.get("entry", [])]
