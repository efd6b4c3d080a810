"""The FHIR shell: the CapabilityStatement lists what the areas registered, errors are
OperationOutcomes, tokens are checked, unknown search parameters are refused, paging follows
`next` links, and CareCycle's own code systems are served."""
from __future__ import annotations

import pytest

from carecycle.fhir import Page, ResourceType
from carecycle.permissions import Permission
from tests.fhir.helpers import FHIR_JSON, bearer, entries, get, validate


def test_metadata_is_a_valid_capability_statement_listing_every_registered_type(client, db, app):
    statement = get(client, "metadata")
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    listed = {r["type"] for r in statement["rest"][0]["resource"]}
    assert set(app.extensions["carecycle_fhir_resources"]) <= listed
    assert "AuditEvent" in listed and "CodeSystem" in listed
    audit = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent")
    assert {p["name"] for p in audit["searchParam"]} == {"patient", "agent", "subtype", "purpose", "before"}
    assert {i["code"] for i in audit["interaction"]} == {"read", "search-type"}


def test_errors_are_operation_outcomes(client, db):
    outcome = get(client, "Nothing/1", status=404)
    assert outcome["issue"][0]["code"] == "not-supported"
    outcome = get(client, "AuditEvent", status=401)  # a type that needs a token
    assert outcome["issue"][0]["code"] == "login"
    outcome = get(client, "AuditEvent", headers={"Authorization": "Bearer forged"}, status=401)
    assert "not valid" in outcome["issue"][0]["diagnostics"]
    outcome = get(client, "AuditEvent", headers={"Authorization": "Basic abc"}, status=401)
    response = client.delete("/fhir/R4/metadata")
    assert response.status_code == 405 and response.mimetype == FHIR_JSON
    validate(response.get_json(force=True))


def test_a_session_cookie_does_not_sign_in_under_fhir(client, db, login_as):
    login_as("supervisor")  # signed in through the login page: a cookie, no token
    assert get(client, "AuditEvent", status=401)["issue"][0]["code"] == "login"


def test_a_role_without_the_permission_is_refused_with_403_and_it_is_audited(client, db, make_user):
    from sqlalchemy import select

    from carecycle.audit import AuditEvent
    counsellor = make_user("counsellor")
    outcome = get(client, "AuditEvent", headers=bearer(counsellor, db), status=403)
    assert outcome["issue"][0]["code"] == "forbidden"
    db.session.expire_all()
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == counsellor.id,
                                                         AuditEvent.action == "permission_denied")).all()
    assert denied


@pytest.fixture
def numbers(app, monkeypatch):
    """A registered type serving the numbers 1 to 7, so paging can be checked on its own."""
    def search(params, _user, page: Page):
        rows = [n for n in range(1, 8) if "min" not in params or n >= int(params["min"])]
        shown, more = page.window(rows[page.offset:page.offset + page.count + 1])
        return [{"resourceType": "Basic", "id": str(n), "code": {"text": str(n)}} for n in shown], more

    def read(record_id, _user):
        return {"resourceType": "Basic", "id": record_id, "code": {"text": record_id}}

    registry = app.extensions["carecycle_fhir_resources"]
    monkeypatch.setitem(registry, "Basic", ResourceType("Basic", Permission.PUBLIC, read, search,
                                                        {"min": "at least"}))


def test_paging_follows_next_links_to_the_end(client, db, numbers):
    bundle = get(client, "Basic", _count="3")
    seen = [r["id"] for r in entries(bundle)]
    while True:
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            break
        assert "_count=3" in links["next"]
        bundle = get(client, links["next"].replace("http://localhost", ""))
        seen += [r["id"] for r in entries(bundle)]
    assert seen == [str(n) for n in range(1, 8)]
    assert [r["id"] for r in entries(get(client, "Basic", min="5"))] == ["5", "6", "7"]
    assert all(e["search"]["mode"] == "match" for e in get(client, "Basic")["entry"])


@pytest.mark.parametrize("query, problem", [
    ({"colour": "red"}, "does not take the search parameter"),
    ({"_count": "0"}, "_count must be a whole number from 1 to 100"),
    ({"_count": "1000"}, "_count must be a whole number from 1 to 100"),
    ({"_count": "x"}, "_count"),
    ({"_offset": "-1"}, "_offset"),
    ({"_format": "xml"}, "Only JSON"),
    ({"_sort": "name"}, "does not take the search parameter"),
])
def test_unknown_or_bad_search_parameters_answer_400(client, db, numbers, query, problem):
    outcome = get(client, "Basic", status=400, **query)
    assert problem in outcome["issue"][0]["diagnostics"]


def test_a_parameter_given_twice_and_a_read_with_parameters_are_refused(client, db, numbers):
    response = client.get("/fhir/R4/Basic?min=1&min=2")
    assert response.status_code == 400 and "once" in response.get_json(force=True)["issue"][0]["diagnostics"]
    assert get(client, "Basic/3", status=400, colour="red")["resourceType"] == "OperationOutcome"
    assert get(client, "Basic/3")["id"] == "3"


def test_a_type_that_takes_no_change_answers_405_on_put_and_patch(client, db, numbers, make_user):
    headers = bearer(make_user("counsellor"), db)
    for method in ("put", "patch"):
        response = getattr(client, method)("/fhir/R4/Basic/3", json={"resourceType": "Basic"}, headers=headers)
        assert response.status_code == 405 and response.mimetype == FHIR_JSON
    assert client.put("/fhir/R4/Basic/3", json={}).status_code == 401  # no token: nothing is changed


def test_code_systems_are_served_with_canonical_urls_under_the_base(client, db):
    bundle = get(client, "CodeSystem")
    systems = {r["id"]: r for r in entries(bundle)}
    assert "audit-action" in systems
    action = get(client, "CodeSystem/audit-action")
    assert action["url"] == "http://localhost/fhir/R4/CodeSystem/audit-action"
    assert {"code": "view", "display": "Viewed"} in action["concept"]
    assert action["count"] == len(action["concept"])
    found = get(client, "CodeSystem", url=action["url"])
    assert [r["id"] for r in entries(found)] == ["audit-action"]
    get(client, "CodeSystem/nothing", status=404)
