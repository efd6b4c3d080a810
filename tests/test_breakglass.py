"""Break-glass: reason required, time-limited, audited, listed for the team supervisor."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from carecycle import breakglass
from carecycle.audit import AuditEvent
from carecycle.breakglass import BreakGlassGrant, Target
from carecycle.database import utcnow
from tests.conftest import csrf_from, form_post
from tests.htmlform import submit

RECORDS: dict[str, uuid.UUID] = {}


@pytest.fixture
def target(app, make_team, db):
    """A record type 'probe' whose records belong to a team."""
    team = make_team("Owners")
    record_id = uuid.uuid4()
    RECORDS[str(record_id)] = team.id
    breakglass.register_target(
        app, "probe", lambda oid: Target(RECORDS[oid], f"/probe/{oid}") if oid in RECORDS else None)
    yield team, record_id
    app.extensions["carecycle_break_glass_targets"].pop("probe", None)


def test_short_reason_is_refused_and_grants_nothing(client, login_as, target, db):
    login_as("counsellor")
    _team, record_id = target
    response = form_post(client, f"/break-glass/probe/{record_id}", {"reason": "need it now"})
    assert response.status_code == 400
    assert "at least 20" in response.get_data(as_text=True)
    assert db.session.scalar(select(BreakGlassGrant)) is None


REFUSAL = ("Write a reason of at least 20 characters and 4 different words: "
           "what happened and why you must open this record now.")


@pytest.mark.parametrize("reason, granted", [
    ("a" * 19, False),
    ("  Client   in crisis no    ", False),  # 19 characters once the spaces are closed up
    ("a" * 20, False),                      # one word
    ("aaaaaaaaaaaaaaaaaaaa", False),
    ("help help help help help", False),    # five words, one of them different
    ("Help HELP help, help! hElp", False),  # case and punctuation do not make a word new
    ("a b c d e f g h i j k l m n", False),  # single letters are not words
    ("Client in crisis now", True),          # four different words, 20 characters
    ("Client is at the front desk in crisis", True),
    ("個案在接待處情緒崩潰，負責社工今天休假，需要立即跟進處理", True),  # Chinese: each character a word
    ("啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊", False),
])
def test_the_reason_needs_twenty_characters_and_four_different_words(client, login_as, target, db, reason,
                                                                      granted):
    worker = login_as("counsellor")
    _team, record_id = target
    response = submit(client, f"/break-glass/probe/{record_id}", "Open the record",
                      {"Why do you need to open this record?": reason})
    rows = db.session.scalars(select(BreakGlassGrant)).all()
    if granted:
        assert response.status_code == 302 and response.headers["Location"] == f"/probe/{record_id}"
        assert [(row.user_id, row.reason) for row in rows] == [(worker.id, " ".join(reason.split()))]
    else:
        assert response.status_code == 400
        assert REFUSAL in response.get_data(as_text=True)
        assert rows == [] and breakglass.granted_ids(worker, "probe") == []
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "break_glass")) is None


def test_the_word_minimum_is_a_setting(app, client, login_as, target, db):
    app.config["BREAK_GLASS_MIN_WORDS"] = 6
    try:
        login_as("counsellor")
        _team, record_id = target
        page = client.get(f"/break-glass/probe/{record_id}").get_data(as_text=True)
        assert "At least 20 characters and 6 different words." in page
        response = form_post(client, f"/break-glass/probe/{record_id}", {"reason": "Client is in crisis now"})
        assert response.status_code == 400 and "6 different words" in response.get_data(as_text=True)
        assert db.session.scalar(select(BreakGlassGrant)) is None
    finally:
        app.config["BREAK_GLASS_MIN_WORDS"] = 4


def test_the_page_states_the_configured_duration(app, client, login_as, target, db):
    app.config["BREAK_GLASS_DURATION"] = timedelta(minutes=25)
    try:
        login_as("counsellor")
        _team, record_id = target
        page = client.get(f"/break-glass/probe/{record_id}").get_data(as_text=True)
        assert "You may open it for 25 minutes" in page and "60 minutes" not in page
        response = form_post(client, f"/break-glass/probe/{record_id}",
                             {"reason": "Client called the hotline in distress tonight."})
        assert response.status_code == 302
        assert "Access granted for 25 minutes." in client.get("/").get_data(as_text=True)
        grant = db.session.scalar(select(BreakGlassGrant))
        assert timedelta(minutes=24) < grant.expires_at - utcnow() <= timedelta(minutes=25)
    finally:
        app.config["BREAK_GLASS_DURATION"] = timedelta(minutes=60)


def test_grant_lasts_an_hour_is_audited_and_shown_to_the_teams_supervisor(app, client, login_as, make_user,
                                                                            target, db):
    team, record_id = target
    worker = login_as("counsellor")
    reason = "Client called the hotline in distress; assigned worker is away."
    response = form_post(client, f"/break-glass/probe/{record_id}", {"reason": reason})
    assert response.status_code == 302 and response.headers["Location"] == f"/probe/{record_id}"
    grant = db.session.scalar(select(BreakGlassGrant))
    assert grant.user_id == worker.id and grant.reason == reason
    assert timedelta(minutes=59) < grant.expires_at - utcnow() <= timedelta(minutes=60)
    assert breakglass.granted_ids(worker, "probe") == [str(record_id)] and grant.active
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "break_glass"))
    assert event.object_id == str(record_id) and reason not in (event.reason or "")
    # the grant expires
    grant.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    db.session.expire_all()
    assert breakglass.granted_ids(worker, "probe") == [] and not db.session.get(BreakGlassGrant, grant.id).active

    supervisor = make_user("supervisor", team=team)
    other_supervisor = make_user("supervisor")
    from tests.conftest import sign_in
    own = app.test_client()
    sign_in(own, supervisor.username)
    page = own.get("/break-glass").get_data(as_text=True)
    assert reason in page and worker.name in page
    outsider = app.test_client()
    sign_in(outsider, other_supervisor.username)
    assert reason not in outsider.get("/break-glass").get_data(as_text=True)
    assert form_post(outsider, f"/break-glass/grants/{grant.id}/reviewed", {}, page="/break-glass").status_code == 404
    assert form_post(own, f"/break-glass/grants/{grant.id}/reviewed", {}, page="/break-glass").status_code == 302
    db.session.expire_all()
    assert db.session.get(BreakGlassGrant, grant.id).reviewed_by_id == supervisor.id


@pytest.mark.parametrize("role, status", [("supervisor", 403), ("admin", 403), ("resident", 403)])
def test_only_counsellors_and_social_workers_break_glass(client, login_as, target, role, status):
    login_as(role)
    _team, record_id = target
    assert client.get(f"/break-glass/probe/{record_id}").status_code == status


def test_unknown_record_or_type_is_404(client, login_as, target):
    login_as("social_worker")
    assert client.get(f"/break-glass/probe/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/break-glass/nothing/{uuid.uuid4()}").status_code == 404
    assert client.get("/break-glass/probe/not-a-uuid").status_code == 404


def test_workers_cannot_review_grants(app, client, login_as, make_user, target, db):
    team, record_id = target
    worker = make_user("counsellor", team=team)
    breakglass.grant(worker, "probe", record_id, team.id, "Client called the hotline in distress tonight.")
    db.session.commit()
    grant = db.session.scalar(select(BreakGlassGrant))
    login_as("counsellor", team=team)
    assert client.get("/break-glass").status_code == 403
    token = csrf_from(client.get("/"))
    response = client.post(f"/break-glass/grants/{grant.id}/reviewed", data={"csrf_token": token})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(BreakGlassGrant, grant.id).reviewed_at is None


def test_a_refused_role_posting_a_reason_gets_no_grant(client, login_as, target, db):
    login_as("supervisor")
    _team, record_id = target
    token = csrf_from(client.get("/"))
    response = client.post(f"/break-glass/probe/{record_id}",
                           data={"csrf_token": token, "reason": "A long enough reason to open this record."})
    assert response.status_code == 403
    assert db.session.scalar(select(BreakGlassGrant)) is None


def test_the_review_list_names_each_worker_in_one_query(app, client, login_as, make_user, target, db):
    from sqlalchemy import event
    team, record_id = target
    workers = [make_user("counsellor", team=team, display_name=f"Worker {n}") for n in range(3)]
    for worker in workers:
        breakglass.grant(worker, "probe", record_id, team.id, "Client called the hotline in distress tonight.")
    db.session.commit()
    supervisor = make_user("supervisor", team=team)
    db.session.refresh(supervisor)
    db.session.expunge_all()  # nothing already in the session: every user the list names is read
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        names = [row.user.name for row in breakglass.grants_for_review(supervisor).items]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert sorted(names) == ["Worker 0", "Worker 1", "Worker 2"]
    assert sum("FROM user_account" in s for s in statements) == 1


@pytest.mark.parametrize("locale, message", [
    ("zh_Hant", "請填寫至少 20 個字元、包含至少 4 個不同字詞的原因"),
    ("zh_Hans", "请填写至少 20 个字符、包含至少 4 个不同字词的原因"),
])
def test_the_refusal_is_translated(client, login_as, target, db, locale, message):
    login_as("counsellor", locale=locale)
    _team, record_id = target
    response = form_post(client, f"/break-glass/probe/{record_id}", {"reason": "aaaaaaaaaaaaaaaaaaaa"})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(BreakGlassGrant)) is None


def test_the_review_rule_is_one_for_page_and_queue(app, client, login_as, make_user, target, db):
    """Marking a grant reviewed: one's own grant is refused (403, audited), one already reviewed is
    not reviewed again (the reviewer and time stay), and a grant id that is no grant is 404."""
    team, record_id = target
    supervisor = login_as("supervisor", team=team)
    # a grant of their own: made while they were a counsellor, before they became the team's supervisor
    supervisor.role = "counsellor"
    own = breakglass.grant(supervisor, "probe", str(record_id), team.id,
                           "Night duty, the assigned counsellor cannot be reached by phone.")
    supervisor.role = "supervisor"
    colleague = make_user("supervisor", team=team)
    worker = make_user("counsellor", team=team)
    theirs = breakglass.grant(worker, "probe", str(record_id), team.id,
                              "Client rang the hotline in distress while their worker is away.")
    db.session.commit()
    own_id, theirs_id = own.id, theirs.id

    response = form_post(client, f"/break-glass/grants/{own_id}/reviewed", {}, page="/break-glass")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(BreakGlassGrant, own_id).reviewed_at is None
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                        AuditEvent.object_id == str(own_id)))
    assert denied is not None and denied.actor_id == supervisor.id

    from tests.conftest import sign_in
    other = app.test_client()
    sign_in(other, colleague.username)
    assert form_post(other, f"/break-glass/grants/{theirs_id}/reviewed", {}, page="/break-glass").status_code == 302
    db.session.expire_all()
    first = db.session.get(BreakGlassGrant, theirs_id).reviewed_at
    assert first is not None
    again = form_post(client, f"/break-glass/grants/{theirs_id}/reviewed", {}, page="/break-glass",
                      follow_redirects=True)
    assert again.status_code == 200 and "already been reviewed" in again.get_data(as_text=True)
    db.session.expire_all()
    grant = db.session.get(BreakGlassGrant, theirs_id)
    assert grant.reviewed_at == first and grant.reviewed_by_id == colleague.id
    assert form_post(client, f"/break-glass/grants/{uuid.uuid4()}/reviewed", {}, page="/break-glass").status_code == 404
    assert form_post(client, "/break-glass/grants/not-a-uuid/reviewed", {}, page="/break-glass").status_code == 404
