"""Operating procedures: written, revised and archived through their pages by supervisors, shown at
their step (a register entry of its tier, a triage alert of its kind, an emergency activation) and
marked done item by item there, through the page's own forms; a started checklist keeps its version;
who may see and do what (negative cases tried and refused); audit; the demo."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.validation import Conflict, Invalid
from casework.models import ChecklistMark, Procedure, ProcedureVersion
from casework.service import procedures as service
from tests.conftest import form_post, sign_in
from tests.htmlform import form_data, forms_of, submit

STEPS = ["Read the register entry before you call", "Call first, then visit", "Record the outreach"]


def _procedure(user, applies_to="register_tier", value="red", title="First contact", items=STEPS):
    from carecycle.extensions import db
    row = service.create(user, {"applies_to": applies_to, "applies_value": value, "title": title,
                                "items": list(items)})
    db.session.commit()
    return row


def _tick(client, page_url, item, button="Mark done"):
    """Press the checklist button of item `item` (1-based) on the page, as a person would."""
    page = client.get(page_url)
    assert page.status_code == 200
    forms = [f for f in forms_of(page.get_data(as_text=True)) if button in f.button_texts()
             and any(c.name == "item" and c.attrs.get("value") == str(item - 1) for c in f.controls)]
    assert len(forms) == 1, f"no single {button!r} form for item {item}"
    return client.post(forms[0].action, data=form_data(forms[0], button=button))


def _marks(db):
    db.session.expire_all()
    return db.session.scalars(select(ChecklistMark).order_by(ChecklistMark.done_at)).all()


# ------------------------------------------------------------------ writing
def test_a_supervisor_writes_revises_and_archives_a_procedure_through_the_pages(client, db, login_as):
    login_as("supervisor")
    refused = submit(client, "/procedures/new", "Save the procedure", {"Title": "", "The checklist": "  \n "})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Give the procedure a title" in page and "one step per line" in page
    assert "Choose where the procedure applies." in page
    assert db.session.scalar(select(Procedure.id)) is None

    saved = submit(client, refused, "Save the procedure", {
        "Title": "First contact with a red-tier person living alone", "Where it applies": "register_tier:red",
        "What it is for": "Nobody else may notice.", "The checklist": "Read the entry\n\n  Call   first \nRecord it"})
    assert saved.status_code == 302
    procedure = db.session.scalar(select(Procedure))
    assert (procedure.applies_to, procedure.applies_value) == ("register_tier", "red")
    assert procedure.current.items == ["Read the entry", "Call first", "Record it"]
    listing = client.get("/procedures").get_data(as_text=True)
    assert "First contact with a red-tier person living alone" in listing and "Register tier: Red" in listing

    url = f"/procedures/{procedure.id}"
    stale = client.get(url + "/edit")
    revised = submit(client, url + "/edit", "Save version 2", {"The checklist": "Read the entry\nCall first\n"
                                                                                "Check medicines\nRecord it"})
    assert revised.status_code == 302
    db.session.expire_all()
    procedure = db.session.get(Procedure, procedure.id)
    assert procedure.current_number == 2 and len(procedure.current.items) == 4
    assert "Record it" in client.get(url + "?version=1").get_data(as_text=True)
    assert client.get(url + "?version=7").status_code == 404
    conflict = submit(client, stale, "Save version 2", {"The checklist": "Overwrite"})
    assert conflict.status_code == 409
    assert db.session.scalar(select(ProcedureVersion.id).where(ProcedureVersion.number == 3)) is None

    archived = submit(client, url, "Archive the procedure")
    assert archived.status_code == 302
    assert "First contact" not in client.get("/procedures").get_data(as_text=True)
    assert "First contact" in client.get("/procedures?archived=1").get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "procedure")).all()
    assert sorted(e.action for e in events) == ["archive", "create", "update"]


def test_bad_input_is_refused_and_changes_nothing(db, make_user):
    supervisor = make_user("supervisor")
    for data, field in [({"applies_to": "nowhere", "title": "x", "items": ["a"]}, "applies_to"),
                        ({"applies_to": "register_tier", "applies_value": "purple", "title": "x", "items": ["a"]},
                         "applies_value"),
                        ({"applies_to": "register_tier", "applies_value": "red", "title": "x" * 201, "items": ["a"]},
                         "title"),
                        ({"applies_to": "register_tier", "applies_value": "red", "title": "x", "items": ["a"] * 31},
                         "items"),
                        ({"applies_to": "register_tier", "applies_value": "red", "title": "x", "items": [3]},
                         "items")]:
        with pytest.raises(Invalid) as refused:
            service.create(supervisor, data)
        assert field in refused.value.fields
    assert db.session.scalar(select(Procedure.id)) is None


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "admin", "resident"])
def test_only_supervisors_write_procedures(app, client, db, login_as, make_user, role, monkeypatch):
    procedure = _procedure(make_user("supervisor"))
    login_as(role)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    assert client.get("/procedures/new").status_code == 403
    assert client.post("/procedures/new", data={"title": "x", "applies": "activation:",
                                                "items": "a"}).status_code == 403
    assert client.post(f"/procedures/{procedure.id}/edit", data={"items": "a"}).status_code == 403
    assert client.post(f"/procedures/{procedure.id}/archive").status_code == 403
    assert db.session.scalar(select(Procedure.id).where(Procedure.id != procedure.id)) is None
    db.session.expire_all()
    assert db.session.get(Procedure, procedure.id).current_number == 1 and not procedure.archived
    expected = 200 if role in ("counsellor", "social_worker") else 403
    assert client.get("/procedures").status_code == expected
    assert client.get(f"/procedures/{procedure.id}").status_code == expected


# ------------------------------------------------------------------ checklists at their step
def test_a_red_tier_entry_shows_its_procedure_and_items_are_ticked_and_taken_back(client, db, login_as, make_user,
                                                                                 make_client, put_on):
    procedure = _procedure(make_user("supervisor"))
    worker = login_as("social_worker")
    red = put_on(worker, make_client(worker.team, worker), tier="red")
    yellow = put_on(worker, make_client(worker.team, worker), tier="yellow")
    url = f"/vulnerable-register/{red.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Procedures for this step" in page and "First contact" in page and "0 of 3 done" in page
    assert "First contact" not in client.get(f"/vulnerable-register/{yellow.id}").get_data(as_text=True)

    answer = _tick(client, url, 2)
    assert answer.status_code == 302 and answer.headers["Location"] == url
    [mark] = _marks(db)
    assert (mark.item, mark.subject_type, mark.subject_id, mark.done_by_id) == (1, "register_entry", red.id,
                                                                               worker.id)
    page = client.get(url).get_data(as_text=True)
    assert "1 of 3 done" in page and "Take back" in page
    _tick(client, url, 2, button="Take back")
    [mark] = _marks(db)
    assert mark.undone_at is not None and mark.undone_by_id == worker.id  # kept, never overwritten
    assert "0 of 3 done" in client.get(url).get_data(as_text=True)
    for item in (1, 2, 3):
        _tick(client, url, item)
    assert "3 of 3 done" in client.get(url).get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "register_entry",
                                                         AuditEvent.reason.like("checklist%"))).all()
    assert len(events) == 5 and f"procedure {procedure.id} v1 item 2" in events[0].reason


def test_a_started_checklist_keeps_its_version_and_an_unstarted_one_shows_the_latest(db, make_user, make_client,
                                                                                     put_on):
    supervisor = make_user("supervisor")
    procedure = _procedure(supervisor)
    worker = make_user("social_worker")
    started = put_on(worker, make_client(worker.team, worker), tier="red")
    fresh = put_on(worker, make_client(worker.team, worker), tier="red")
    first = procedure.current
    assert service.mark(worker, first, started, 0, True)
    assert not service.mark(worker, first, started, 0, True)  # a second click changes nothing
    service.revise(supervisor, procedure, {"title": "First contact", "items": STEPS + ["Check medicines"]},
                   procedure.version)
    db.session.commit()
    [kept] = service.checklists(service.ProcedureStep.REGISTER_TIER, "red", started.id)
    assert kept.version.number == 1 and kept.outdated and kept.done == 1
    [latest] = service.checklists(service.ProcedureStep.REGISTER_TIER, "red", fresh.id)
    assert latest.version.number == 2 and not latest.outdated
    with pytest.raises(Conflict):
        service.mark(worker, procedure.current, started, 0, True)  # the record is on version 1
    with pytest.raises(Invalid):
        service.mark(worker, first, started, 9, True)
    started.tier = "orange"  # the tier changed: the checklist begun stays on the record
    db.session.commit()
    assert [c.version.number for c in service.checklists(service.ProcedureStep.REGISTER_TIER, "orange",
                                                         started.id)] == [1]
    assert len(_marks(db)) == 1


def test_a_triage_alert_shows_the_procedure_of_its_kind(client, db, login_as, make_user):
    _procedure(make_user("supervisor"), "triage_kind", "screening", "A self-screening alert",
               ["Claim the alert", "Call the person"])
    _procedure(make_user("supervisor"), "triage_kind", "hotline", "A hotline call", ["Take the number"])
    worker = login_as("counsellor")
    alert = raise_alert("screening", "crisis", team_id=worker.team_id, summary="PHQ-9 item 9")
    db.session.commit()
    url = f"/triage/{alert.id}"
    page = client.get(url).get_data(as_text=True)
    assert "A self-screening alert" in page and "A hotline call" not in page
    assert _tick(client, url, 1).status_code == 302
    [mark] = _marks(db)
    assert (mark.subject_type, mark.subject_id, mark.item) == ("alert", alert.id, 0)


def test_an_activation_shows_the_activation_procedures(client, db, login_as, make_user, make_org):
    from datetime import timedelta

    from carecycle.localtime import today
    from carecycle.mode import switch_mode
    from referrals.service import activations, agreements
    _procedure(make_user("supervisor"), "activation", "", "Activating the medical reserve team",
               ["Call the activation contact", "Tell the duty supervisor"])
    worker = login_as("social_worker")
    switch_mode("emergency", make_user("supervisor", team=worker.team), "Typhoon signal 8")
    agreement = agreements.create_agreement(None, make_org(name="Harbour Clinic"), {
        "title": "Medical reserve", "valid_from": (today() - timedelta(days=3)).isoformat(),
        "valid_to": (today() + timedelta(days=300)).isoformat(),
        "commitments": [{"side": "partner", "quantity": 4, "unit": "nurses", "what": "on call"}],
        "contacts": [{"name": "Dr Wong", "phone": "5550 3001", "role": "duty doctor"}]})
    row = activations.record_call(worker, {"agreement_id": str(agreement.id), "commitment": "0",
                                           "contact": "Dr Wong", "promised": 4})
    db.session.commit()
    url = f"/activation/{row.id}"
    page = client.get(url)
    [form] = [f for f in forms_of(page.get_data(as_text=True)) if "Mark done" in f.button_texts()][:1]
    form_post(client, "/logout", {}, page="/")
    login_as("counsellor", team=worker.team)  # no activations: the record is not theirs to see
    data = {c.name: c.attrs.get("value", "") for c in form.controls if c.name and c.name != "csrf_token"}
    assert form_post(client, "/checklists/mark", {**data, "done": "1"}, page="/procedures").status_code == 404
    assert _marks(db) == []
    form_post(client, "/logout", {}, page="/")
    sign_in(client, worker.username)
    assert "Activating the medical reserve team" in client.get("/activation").get_data(as_text=True)
    assert "Activating the medical reserve team" in client.get(url).get_data(as_text=True)
    assert _tick(client, url, 2).status_code == 302
    [mark] = _marks(db)
    assert (mark.subject_type, mark.subject_id, mark.item) == ("activation", row.id, 1)


def test_marking_on_a_record_one_may_not_see_is_refused(app, client, db, login_as, make_user, make_client, put_on,
                                                         monkeypatch):
    procedure = _procedure(make_user("supervisor"))
    other = make_user("social_worker", team="elsewhere")
    entry = put_on(other, make_client(other.team, other), tier="red")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_METHODS", [])
    data = {"version_id": str(procedure.current.id), "subject_id": str(entry.id), "item": "0", "done": "1"}
    login_as("social_worker")  # another team
    assert client.post("/checklists/mark", data=data).status_code == 404
    form_post(client, "/logout", {}, page="/")
    login_as("admin")
    assert client.post("/checklists/mark", data=data).status_code == 403
    form_post(client, "/logout", {}, page="/")
    login_as("resident")
    assert client.post("/checklists/mark", data=data).status_code == 403
    assert _marks(db) == []


def test_a_bad_mark_is_a_message_and_changes_nothing(client, db, login_as, make_user, make_client, put_on):
    procedure = _procedure(make_user("supervisor"))
    worker = login_as("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    url = f"/vulnerable-register/{entry.id}"
    base = {"version_id": str(procedure.current.id), "subject_id": str(entry.id), "done": "1", "next": url}
    answer = form_post(client, "/checklists/mark", {**base, "item": "99"}, page=url, follow_redirects=True)
    assert "Choose a step of the checklist." in answer.get_data(as_text=True)
    assert form_post(client, "/checklists/mark", {**base, "version_id": "nope", "item": "0"},
                     page=url).status_code == 400
    outside = form_post(client, "/checklists/mark", {**base, "item": "0", "next": "https://evil.example/"}, page=url)
    assert outside.status_code == 302 and "evil" not in outside.headers["Location"]
    assert len(_marks(db)) == 1  # only the last, well-formed one


def test_the_demo_has_three_procedures_and_ticks_loaded_once(db):
    from carecycle.demo import load_demo
    said: list[str] = []
    load_demo(said.append)
    load_demo(said.append)
    assert said.count("casework demo: 3 operating procedures, 2 steps ticked on a red-tier register entry") == 1
    rows = db.session.scalars(select(Procedure)).all()
    assert sorted(p.applies_to for p in rows) == ["activation", "register_tier", "triage_kind"]
    assert len(_marks(db)) == 2


def test_two_people_ticking_the_same_step_at_once_make_one_mark(db, make_user, make_client, put_on, monkeypatch):
    procedure = _procedure(make_user("supervisor"))
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    assert service.mark(worker, procedure.current, entry, 0, True)
    db.session.commit()
    # the second click read the checklist before the first was saved: it saw no mark
    seen = service.checklists(service.ProcedureStep.REGISTER_TIER, "red", entry.id)
    seen[0].marks.clear()
    monkeypatch.setattr(service, "checklists", lambda *_args: seen)
    assert not service.mark(make_user("social_worker", team=worker.team), procedure.current, entry, 0, True)
    db.session.commit()
    assert len(_marks(db)) == 1


# ------------------------------------------------------------------ API
def _api(client, bearer, user, method, path, **kwargs):
    return client.open("/api/v1" + path, method=method, headers=bearer(user), **kwargs)


def test_the_api_writes_revises_and_archives_procedures(client, db, make_user, bearer):
    supervisor, counsellor = make_user("supervisor"), make_user("counsellor")
    body = {"applies_to": "triage_kind", "applies_value": "hotline", "title": "A hotline call",
            "items": ["Take the number", "Ask about safety"]}
    assert _api(client, bearer, counsellor, "POST", "/procedures", json=body).status_code == 403
    refused = _api(client, bearer, supervisor, "POST", "/procedures", json={**body, "applies_value": "fax"})
    assert refused.status_code == 422 and "applies_value" in refused.get_json()["error"]["fields"]
    made = _api(client, bearer, supervisor, "POST", "/procedures", json=body)
    assert made.status_code == 201
    procedure = made.get_json()
    assert procedure["where"] == "Triage: Hotline call" and procedure["current"]["items"] == body["items"]
    listed = _api(client, bearer, counsellor, "GET", "/procedures").get_json()["procedures"]
    assert [p["id"] for p in listed] == [procedure["id"]]
    path = f"/procedures/{procedure['id']}"
    revised = _api(client, bearer, supervisor, "POST", path + "/versions",
                   json={"title": "A hotline call", "items": ["Take the number"], "version": procedure["version"]})
    assert revised.status_code == 201 and revised.get_json()["current"]["number"] == 2
    stale = _api(client, bearer, supervisor, "POST", path + "/versions",
                 json={"title": "x", "items": ["y"], "version": procedure["version"]})
    assert stale.status_code == 409
    assert _api(client, bearer, counsellor, "POST", path + "/archive", json={}).status_code == 403
    archived = _api(client, bearer, supervisor, "POST", path + "/archive", json={})
    assert archived.status_code == 200 and archived.get_json()["archived_at"]
    assert _api(client, bearer, counsellor, "GET", "/procedures").get_json()["procedures"] == []
    assert _api(client, bearer, counsellor, "GET", "/procedures?archived=true").get_json()["procedures"]
    assert _api(client, bearer, counsellor, "GET", "/procedures/nope").status_code == 404


def test_the_api_reads_and_marks_a_records_checklist(client, db, make_user, make_client, put_on, bearer):
    procedure = _procedure(make_user("supervisor"))
    worker = make_user("social_worker")
    entry = put_on(worker, make_client(worker.team, worker), tier="red")
    path = f"/checklists/register_entry/{entry.id}"
    [checklist] = _api(client, bearer, worker, "GET", path).get_json()["checklists"]
    assert checklist["title"] == "First contact" and checklist["marks"] == []
    body = {"version_id": checklist["version_id"], "item": 2, "done": True}
    marked = _api(client, bearer, worker, "POST", path + "/marks", json=body)
    assert marked.status_code == 200 and [m["item"] for m in marked.get_json()["checklists"][0]["marks"]] == [2]
    again = _api(client, bearer, worker, "POST", path + "/marks", json=body)
    assert again.status_code == 200 and len(_marks(db)) == 1
    bad = _api(client, bearer, worker, "POST", path + "/marks", json={**body, "done": "yes"})
    assert bad.status_code == 422 and "done" in bad.get_json()["error"]["fields"]
    for item in (40, 1e400, True, 1.7, "1"):
        wrong = _api(client, bearer, worker, "POST", path + "/marks", json={**body, "item": item})
        assert wrong.status_code == 422, item
    other = make_user("social_worker", team="elsewhere")
    assert _api(client, bearer, other, "GET", path).status_code == 404
    assert _api(client, bearer, other, "POST", path + "/marks", json={**body, "done": False}).status_code == 404
    assert _api(client, bearer, worker, "GET", f"/checklists/nothing/{entry.id}").status_code == 404
    taken = _api(client, bearer, worker, "POST", path + "/marks", json={**body, "done": False})
    assert taken.get_json()["checklists"][0]["marks"] == []
    assert [(m.undone_at is not None, m.version_id) for m in _marks(db)] == [(True, procedure.current.id)]
