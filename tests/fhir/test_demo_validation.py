"""Every FHIR resource the demo data set yields is valid R4 (the `fhir.resources` R4B models).

The whole demo data set is loaded; then every demo staff account (looked up in the user table) reads
/metadata and, for every resource type the CapabilityStatement lists with search-type, pages through
the whole search (_count=100, following Bundle.link next until there is none). Every Bundle and every
entry is validated; every resource found is read back by id with the account that found it, and so is
every resource another one refers to; every code system is read; Patient/<id>/$everything is validated
for every Patient the supervisors can see. A 403 is expected exactly where the role lacks the type's
permission. Types added later (QuestionnaireResponse, Observation...) are covered by the same loop.
A partner organisation's token is checked the same way on its Tasks and ServiceRequests."""
from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from carecycle.accounts.models import User
from carecycle.demo import DEMO_USERS, load_demo
from carecycle.permissions import role_has
from carecycle.roles import Role
from casework.fhir.patients import ID_NUMBER_SYSTEM
from referrals.models import Referral, Service
from tests.fhir.helpers import FHIR_JSON, bearer, validate

PREFIX = "/fhir/R4"
COUNT = 100
MAX_PAGES = 500  # a next link that never ends is a failure, not a hang
# seen at least once (by some account) so that the test cannot pass on an empty data set
REQUIRED = ("Patient", "EpisodeOfCare", "CarePlan", "ServiceRequest", "Task", "Consent", "Organization")
REFERENCE = re.compile(r"^(?:.*/fhir/R4/)?([A-Z][A-Za-z]+)/([^/?#]+)$")


@pytest.fixture
def demo(db):
    load_demo(lambda _line: None)
    db.session.commit()


def _fhir(client, url: str, headers: dict) -> tuple[int, dict]:
    """GET a /fhir/R4 path or a full URL the server gave (a next link); checks the content type and
    validates the answer (a Bundle's entries too)."""
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith(PREFIX) else f"{PREFIX}/{parts.path.lstrip('/')}"
    response = client.get(path + (f"?{parts.query}" if parts.query else ""), headers=headers)
    assert response.mimetype == FHIR_JSON, (url, response.status_code, response.mimetype)
    body = response.get_json(force=True)
    validate(body)
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome", (url, body)
    return response.status_code, body


def _page_through(client, headers: dict, resource_type: str, query: str = "") -> tuple[int, list[dict], dict]:
    """The whole search: (status of the first page, every entry's resource, the refusal if not 200).
    No resource may come twice."""
    url = f"{resource_type}?_count={COUNT}" + (f"&{query}" if query else "")
    found: list[dict] = []
    seen: set[str] = set()
    for _page in range(MAX_PAGES):
        status, bundle = _fhir(client, url, headers)
        if status != 200:
            assert not found, (url, status, bundle)  # a later page may not fail
            return status, [], bundle
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", url
        page = [entry["resource"] for entry in bundle.get("entry", [])]
        assert len(page) <= COUNT, (url, len(page))
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            assert resource["resourceType"] == resource_type, (url, resource["resourceType"])
            assert entry["fullUrl"].endswith(f"/{resource_type}/{resource['id']}"), entry["fullUrl"]
            assert resource["id"] not in seen, (url, "the same resource on two pages", resource["id"])
            seen.add(resource["id"])
            found.append(resource)
        following = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
        if not following:
            return status, found, bundle
        assert page, (url, "a next link after an empty page")
        url = following[0]
    pytest.fail(f"{resource_type}: more than {MAX_PAGES} pages")


def _references(value, served: set[str]):
    """(type, id) of every relative reference inside `value` to a type this server serves."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                match = REFERENCE.match(item)
                if match and match.group(1) in served:
                    yield match.group(1), match.group(2)
            else:
                yield from _references(item, served)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, served)


def _demo_staff(db) -> list[User]:
    names = [username for username, *_rest in DEMO_USERS]
    staff = [role.value for role in Role if role.is_staff]
    users = list(db.session.scalars(select(User).where(User.username.in_(names), User.role.in_(staff))
                                    .order_by(User.username)))
    assert {Role(u.role) for u in users} == {Role(r) for r in staff}, [u.username for u in users]
    return users


def _patient_searches(client, headers, patient: dict) -> int:
    """Patient takes exact searches only: search by the ID number, each phone and the full name the
    Patient carries (the client reference number is not searchable); returns how many (each must find it)."""
    queries = [{"identifier": f"{ID_NUMBER_SYSTEM}|{i['value']}"} for i in patient.get("identifier", [])
               if i.get("system") == ID_NUMBER_SYSTEM]
    queries += [{"name": n["text"]} for n in patient.get("name", [])[:1] if n.get("text")]
    queries += [{"telecom": t["value"]} for t in patient.get("telecom", []) if t.get("value")]
    for query in queries:
        status, found, refusal = _page_through(client, headers, "Patient", urlencode(query))
        assert status == 200, (query, refusal)
        assert patient["id"] in [p["id"] for p in found], (query, patient["id"])
    return len(queries)


def test_every_resource_of_the_demo_data_is_valid_fhir_for_every_staff_role(app, client, db, demo):
    registry = app.extensions["carecycle_fhir_resources"]
    users = _demo_staff(db)
    statement = None
    seen_types: dict[str, int] = defaultdict(int)
    refused: dict[str, set[str]] = defaultdict(set)
    problems: list[str] = []
    supervisor_patients: set[str] = set()
    reads = searches = 0
    for user in users:
        headers = bearer(user, db)
        status, capability = _fhir(client, "metadata", headers)
        assert status == 200 and capability["resourceType"] == "CapabilityStatement"
        assert statement is None or capability == statement, "the CapabilityStatement depends on the caller"
        statement = capability
        listed = {r["type"]: r for r in capability["rest"][0]["resource"]}
        served = set(listed)
        searchable = sorted(name for name, r in listed.items()
                            if any(i["code"] == "search-type" for i in r.get("interaction", [])))
        assert "CodeSystem" in searchable and "Patient" in searchable
        found: dict[str, dict[str, dict]] = defaultdict(dict)   # type -> id -> resource (from searches)
        allowed: set[str] = {"CodeSystem"}
        needs_parameters: list[str] = []
        for name in searchable:
            status, resources, answer = _page_through(client, headers, name)
            searches += 1
            if name in registry:
                may = role_has(user.role, registry[name].permission)
                assert (status != 403) == may, (user.username, name, status, answer)
            if status == 403:
                refused[name].add(user.role)
                continue
            allowed.add(name)
            if status == 400:  # a search that needs a parameter (Patient: exact values only)
                needs_parameters.append(name)
                continue
            assert status == 200, (user.username, name, status, answer)
            for resource in resources:
                found[name][resource["id"]] = resource
        # what the found resources refer to, of the types this account may read
        wanted = {(t, i) for t, ids in found.items() for i in ids}
        origin: dict[tuple[str, str], str] = {}  # a referred resource -> the first resource referring to it
        for resources in list(found.values()):
            for resource in resources.values():
                for target in _references(resource, served):
                    if target[0] in allowed and target not in wanted:
                        wanted.add(target)
                        origin[target] = f"{resource['resourceType']}/{resource['id']}"
        patients = sorted(i for t, i in wanted if t == "Patient")
        for name in needs_parameters:
            params = {p["name"] for p in listed[name].get("searchParam", [])}
            if name != "Patient":
                assert "patient" in params, (name, "answers 400 without parameters and takes no patient")
                for patient in patients:
                    status, resources, answer = _page_through(client, headers, name, f"patient=Patient/{patient}")
                    searches += 1
                    assert status == 200, (user.username, name, patient, answer)
                    for resource in resources:
                        found[name][resource["id"]] = resource
                        wanted.add((name, resource["id"]))
        # read back every resource found or referred to
        for resource_type, record_id in sorted(wanted):
            status, resource = _fhir(client, f"{resource_type}/{record_id}", headers)
            reads += 1
            if status == 404 and origin.get((resource_type, record_id), "").startswith("AuditEvent/"):
                continue  # the trail of the team's members names records the supervisor need not see
            if status != 200:
                where = f" (referred to by {origin[resource_type, record_id]})" if (resource_type, record_id) in \
                    origin else ""
                problems.append(f"{user.username}: {resource_type}/{record_id}{where} -> {status} "
                                f"{resource.get('issue', [{}])[0].get('diagnostics', '')[:60]}")
                continue
            assert (resource["resourceType"], resource["id"]) == (resource_type, record_id)
            if resource_type in found and record_id in found[resource_type]:
                searched = {k: v for k, v in found[resource_type][record_id].items() if k != "meta"}
                assert {k: v for k, v in resource.items() if k != "meta"} == searched, (resource_type, record_id)
            seen_types[resource_type] += 1
            if resource_type == "Patient":
                if "Patient" in needs_parameters:
                    searches += _patient_searches(client, headers, resource)
                if user.role == Role.SUPERVISOR:
                    supervisor_patients.add(record_id)
    # every code system, read one by one
    status, systems, _answer = _page_through(client, {}, "CodeSystem")
    assert status == 200 and systems
    for system in systems:
        status, resource = _fhir(client, f"CodeSystem/{system['id']}", {})
        assert status == 200 and resource == system
        seen_types["CodeSystem"] += 1
    # $everything for every Patient a supervisor can see
    assert supervisor_patients
    supervisors = [u for u in users if u.role == Role.SUPERVISOR]
    everything = 0
    for supervisor in supervisors:
        headers = bearer(supervisor, db)
        for patient in sorted(supervisor_patients):
            status, bundle = _fhir(client, f"Patient/{patient}/$everything", headers)
            if status == 404:  # the other supervisor's team's client
                continue
            assert status == 200, (supervisor.username, patient, bundle)
            resources = [entry["resource"] for entry in bundle["entry"]]
            assert resources[0]["resourceType"] == "Patient" and resources[0]["id"] == patient
            assert bundle.get("total", len(resources)) == len(resources)
            everything += 1
    assert everything >= len(supervisor_patients)
    assert not problems, "\n".join(problems)
    for name in REQUIRED:
        assert seen_types[name] > 0, (name, dict(seen_types))
    assert refused["Patient"] == {Role.ADMIN.value} and Role.ADMIN.value in refused["EpisodeOfCare"]
    assert reads and searches


def test_a_partner_token_reads_valid_tasks_and_service_requests(client, db, runner, demo):
    org_id, sent = db.session.execute(
        select(Service.organisation_id, func.count(Referral.id)).join(Referral, Referral.service_id == Service.id)
        .where(Referral.status != "draft").group_by(Service.organisation_id)
        .order_by(func.count(Referral.id).desc(), Service.organisation_id)).first()
    assert sent > 0
    result = runner.invoke(args=["tokens", "create", "--partner", str(org_id)])
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {result.output.strip()}"}
    status, capability = _fhir(client, "metadata", headers)
    assert status == 200
    by_type = {}
    for name, who in (("Task", "owner"), ("ServiceRequest", "performer")):
        status, resources, answer = _page_through(client, headers, name)
        assert status == 200, (name, answer)
        assert len(resources) == sent, (name, len(resources), sent)
        for resource in resources:
            reference = resource[who]["reference"] if name == "Task" else resource[who][0]["reference"]
            assert reference == f"Organization/{org_id}", (name, resource["id"], reference)
            status, read = _fhir(client, f"{name}/{resource['id']}", headers)
            assert status == 200 and read["id"] == resource["id"]
            assert {k: v for k, v in read.items() if k != "meta"} == {
                k: v for k, v in resource.items() if k != "meta"}
        by_type[name] = {r["id"] for r in resources}
    assert by_type["Task"] == by_type["ServiceRequest"]
    for task_id in sorted(by_type["Task"]):
        status, bundle = _fhir(client, f"Task?focus=ServiceRequest/{task_id}", headers)
        assert status == 200 and [e["resource"]["id"] for e in bundle["entry"]] == [task_id]
    for name in ("Patient", "EpisodeOfCare", "Organization"):
        status, refusal = _fhir(client, f"{name}?_count={COUNT}", headers)
        assert status == 403 and refusal["resourceType"] == "OperationOutcome", (name, status)


def test_the_audit_event_next_link_repeats_nothing(client, db, demo):
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    headers = bearer(supervisor, db)
    status, first = _fhir(client, "AuditEvent?_count=5", headers)
    assert status == 200 and len(first["entry"]) == 5
    following = [link["url"] for link in first["link"] if link["relation"] == "next"]
    status, second = _fhir(client, following[0], headers)
    assert status == 200
    assert not {e["resource"]["id"] for e in first["entry"]} & {e["resource"]["id"] for e in second["entry"]}
