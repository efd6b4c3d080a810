"""The audit viewer: a supervisor sees their team's events, an admin all; filters and sorting are
whitelisted; the page says whether the chain verifies, and notices tampering."""
from __future__ import annotations

from sqlalchemy import select, update

from carecycle.audit import AuditEvent, record_event
from supervision.models import AuditVerification
from tests.conftest import form_post, sign_in


def _events(db, user, n, action="view", object_type="case"):
    for i in range(n):
        record_event(action, object_type, f"00000000-0000-0000-0000-00000000000{i}", actor=user)
    db.session.commit()


def test_a_supervisor_sees_their_teams_events_only(db, client, crew):
    ours, theirs = crew("Ours"), crew("Theirs")
    _events(db, ours.counsellor, 2, object_type="ourcase")
    _events(db, theirs.counsellor, 3, object_type="theircase")
    assert sign_in(client, ours.supervisor.username).status_code == 302
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "ourcase" in page and "theircase" not in page
    assert ours.counsellor.username in page and theirs.counsellor.username not in page
    refused = client.get(f"/supervision/audit?user={theirs.counsellor.username}")
    assert refused.status_code == 400 and "theircase" not in refused.get_data(as_text=True)
    mine = client.get(f"/supervision/audit?user={ours.counsellor.username}&action=view").get_data(as_text=True)
    assert mine.count("ourcase") == 2


def test_an_admin_sees_every_event(db, client, crew, login_as):
    ours, theirs = crew("Ours"), crew("Theirs")
    _events(db, ours.counsellor, 1, object_type="ourcase")
    _events(db, theirs.counsellor, 1, object_type="theircase")
    login_as("admin")
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "ourcase" in page and "theircase" in page
    filtered = client.get("/supervision/audit?object_type=theircase&object_id=00000000-0000-0000-0000-000000000000")
    assert filtered.status_code == 200 and "ourcase" not in filtered.get_data(as_text=True)


def test_filters_and_sorting_are_whitelisted(db, client, crew):
    c = crew()
    _events(db, c.counsellor, 1)
    assert sign_in(client, c.supervisor.username).status_code == 302
    for query in ("sort=hash", "sort=seq;drop table audit_event", "direction=sideways", "action=drop",
                  "object_type=Case'--", "object_id=x' or 1=1", "from=yesterday", "user=a%20b"):
        response = client.get(f"/supervision/audit?{query}")
        assert response.status_code == 400, query
        assert "error-summary" in response.get_data(as_text=True)
    for query in (
        "sort=action&direction=asc",
        "sort=role",
        "sort=object&direction=desc",
        "from=2020-01-01&to=2099-01-01",
    ):
        assert client.get(f"/supervision/audit?{query}").status_code == 200, query


def test_the_page_says_whether_the_chain_verifies(db, client, crew, app):
    c = crew()
    _events(db, c.counsellor, 3)
    assert sign_in(client, c.supervisor.username).status_code == 302
    assert "The audit chain verifies." in client.get("/supervision/audit").get_data(as_text=True)
    first = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq).limit(1))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(reason="edited"))
    db.session.commit()
    # a visit checks the events since the last good check; the full check (the button, or the
    # `carecycle audit verify` command) walks every event and finds the old edit
    assert form_post(client, "/supervision/audit/verify", {}, page="/supervision/audit").status_code == 302
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "does NOT verify" in page and f"First bad event: {first.seq}" in page
    stored = db.session.scalars(select(AuditVerification).order_by(AuditVerification.at)).all()
    assert stored[0].ok and not stored[-1].ok and stored[-1].first_bad == first.seq


def test_a_long_chain_shows_the_last_check_and_checks_on_request(db, client, crew, app, monkeypatch):
    c = crew()
    _events(db, c.counsellor, 3)
    monkeypatch.setitem(app.config, "AUDIT_LIVE_VERIFY_MAX", 1)
    assert sign_in(client, c.supervisor.username).status_code == 302
    assert "has not been checked yet" in client.get("/supervision/audit").get_data(as_text=True)
    checked = form_post(client, "/supervision/audit/verify", {}, page="/supervision/audit")
    assert checked.status_code == 302
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "The audit chain verifies." in page
    assert db.session.scalar(select(AuditVerification)).by_id == c.supervisor.id


def test_workers_have_no_audit_viewer(client, login_as):
    login_as("counsellor")
    assert client.get("/supervision/audit").status_code == 403


def test_workers_cannot_run_the_chain_check(db, client, login_as):
    login_as("counsellor")
    assert form_post(client, "/supervision/audit/verify", {}, page="/").status_code == 403
    assert db.session.scalar(select(AuditVerification)) is None


def test_events_read_in_words_in_the_readers_language(db, client, crew):
    """Actions, record types, roles and outcomes are stored as codes and shown as labels."""
    c = crew()
    _events(db, c.counsellor, 1, action="view", object_type="contact_note")
    _events(db, c.counsellor, 1, action="permission_denied", object_type="risk_assessment")
    assert sign_in(client, c.supervisor.username).status_code == 302
    rows = client.get("/supervision/audit").get_data(as_text=True).split("<tbody>")[1]
    assert "<td>Viewed</td>" in rows and "Contact note" in rows and "(Counsellor)" in rows
    assert "Refused (no permission)" in rows and "Risk assessment" in rows
    for code in (">view<", "contact_note", "(counsellor)", "permission_denied", ">ok<"):
        assert code not in rows, code
    form_post(client, "/language", {"language": "zh_Hant", "next": "/supervision/audit"}, page="/supervision/audit")
    rows = client.get("/supervision/audit").get_data(as_text=True).split("<tbody>")[1]
    assert "Viewed" not in rows and "Contact note" not in rows and "Counsellor" not in rows
    assert "contact_note" not in rows


def test_a_visit_checks_only_the_events_since_the_last_good_check(db, client, crew, monkeypatch):
    """The viewer's cost does not grow with the chain: after a full check, a visit hashes the events
    added since (and the last checked one again), whatever the chain's length."""
    from carecycle import audit
    c = crew()
    _events(db, c.counsellor, 9)
    _events(db, c.counsellor, 9)
    _events(db, c.counsellor, 9)
    assert sign_in(client, c.supervisor.username).status_code == 302
    client.get("/supervision/audit")  # the first check walks the whole chain (30 events and more)
    hashed = []
    real = audit.chain_hash
    monkeypatch.setattr(audit, "chain_hash", lambda key, previous, event: hashed.append(event.seq)
                        or real(key, previous, event))
    _events(db, c.counsellor, 2)
    hashed.clear()
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "The audit chain verifies." in page and "were checked now" in page
    last = db.session.scalars(select(AuditVerification).order_by(AuditVerification.at.desc())).first()
    assert last.incremental and last.ok and last.event_count == last.last_seq
    # the two new events, the page's own audit events and the last checked one: never the 30 before
    assert 3 <= len(hashed) <= 8, hashed


def test_a_visit_notices_an_edit_to_the_last_checked_event_or_a_newer_one(db, client, crew):
    c = crew()
    _events(db, c.counsellor, 4)
    assert sign_in(client, c.supervisor.username).status_code == 302
    client.get("/supervision/audit")
    good = db.session.scalars(select(AuditVerification).order_by(AuditVerification.at.desc())).first()
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == good.last_seq).values(reason="edited"))
    db.session.commit()
    page = client.get("/supervision/audit").get_data(as_text=True)
    assert "does NOT verify" in page and f"First bad event: {good.last_seq}" in page
