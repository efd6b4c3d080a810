"""Separation of duties: an administrator who creates a case-reading account, grants case access or
resets such an account's password cannot read cases through it until a supervisor of the team
(never the administrator, never the account itself) confirms the change."""
import pytest
from sqlalchemy import select

from carecycle.accounts import separation
from carecycle.accounts.models import AccountChange, User
from carecycle.accounts.service import create_token
from carecycle.audit import AuditEvent
from carecycle.notifications import Notification
from casework.models import Client
from casework.service import cases as case_service
from casework.service.access import visible_cases, visible_clients
from tests.conftest import PASSWORD, form_post, sign_in

TEMP = "a temporary passphrase"
NEW = "my own long passphrase now"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(db, make_user, make_team):
    """Team Riverbank with a supervisor and a counsellor who has a client and a case; an admin."""
    team = make_team("Riverbank")
    supervisor = make_user("supervisor", team=None, username="sup.river")
    supervisor.team = team
    counsellor = make_user("counsellor", team=None, username="worker.river")
    counsellor.team = team
    db.session.commit()
    client = Client(team_id=team.id, created_by_id=counsellor.id)
    client.full_name = "Alex Example"
    db.session.add(client)
    db.session.commit()
    case = case_service.open_case(counsellor, client, risk_level="moderate", source="walk_in")
    db.session.commit()
    admin = make_user("admin", username="admin.one")
    return {"team": team, "supervisor": supervisor, "counsellor": counsellor, "client": client, "case": case,
            "admin": admin}


def _admin_client(app, world):
    browser = app.test_client()
    assert sign_in(browser, world["admin"].username).status_code == 302
    return browser


def _held_sign_in(app, username, password):
    """Sign in with the password the administrator set and choose a new one (as the admin would)."""
    browser = app.test_client()
    assert sign_in(browser, username, password).headers["Location"] == "/account/password"
    response = form_post(browser, "/account/password", {"current_password": password, "new_password": NEW,
                                                         "confirm": NEW})
    assert response.status_code == 302
    return browser


def _assert_refused_everywhere(app, db, browser, user, world):
    for path in ("/clients", f"/clients/{world['client'].id}", f"/cases/{world['case'].id}", "/cases",
                 "/triage", f"/cases/{world['case'].id}/notes"):
        response = browser.get(path)
        assert response.status_code == 403, path
        text = response.get_data(as_text=True)
        assert "waiting for a supervisor of Riverbank to confirm" in text, path
        assert "Alex Example" not in text
    token = create_token(db.session.get(User, user.id))
    db.session.commit()
    api = app.test_client()
    for path in ("/api/v1/cases", f"/api/v1/cases/{world['case'].id}", "/api/v1/clients",
                 f"/api/v1/clients/{world['client'].id}", "/api/v1/triage"):
        response = api.get(path, headers=bearer(token))
        assert response.status_code == 403, path
        assert response.json["error"]["code"] == "access_pending", path
        assert "supervisor of Riverbank" in response.json["error"]["message"]
    held = db.session.get(User, user.id)
    db.session.refresh(held)
    assert db.session.scalars(select(Client.id).where(visible_clients(held))).all() == []
    assert db.session.scalars(select(case_service.Case.id).where(visible_cases(held))).all() == []


def _change_of(db, user) -> AccountChange:
    db.session.expire_all()
    return db.session.scalar(select(AccountChange).where(AccountChange.user_id == user.id))


# ------------------------------------------------------------------ the attacks
def test_admin_made_supervisor_cannot_open_cases_until_confirmed(app, db, world):
    admin_browser = _admin_client(app, world)
    response = form_post(admin_browser, "/admin/users/new", {
        "username": "sneaky.sup", "display_name": "", "role": "supervisor", "team_id": str(world["team"].id),
        "password": TEMP})
    assert response.status_code == 302
    sneaky = db.session.scalar(select(User).where(User.username == "sneaky.sup"))
    assert sneaky.access_pending
    change = _change_of(db, sneaky)
    assert change.kind == "new_account" and change.team_id == world["team"].id
    assert change.requested_by_id == world["admin"].id and change.pending

    browser = _held_sign_in(app, "sneaky.sup", TEMP)
    home = browser.get("/").get_data(as_text=True)
    assert "waiting for a supervisor of Riverbank to confirm" in home
    _assert_refused_everywhere(app, db, browser, sneaky, world)
    assert browser.get("/supervision/approvals").status_code == 403  # nor confirm itself
    assert db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "permission_denied",
                                                         AuditEvent.actor_id == sneaky.id)) is not None


def test_admin_reset_password_of_a_worker_is_refused_case_access(app, db, world):
    worker = world["counsellor"]
    worker_browser = app.test_client()
    sign_in(worker_browser, worker.username)
    assert worker_browser.get(f"/cases/{world['case'].id}").status_code == 200
    admin_browser = _admin_client(app, world)
    response = form_post(admin_browser, f"/admin/users/{worker.id}/password", {"password": TEMP},
                         page=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert "waits for a supervisor of Riverbank" in admin_browser.get(f"/admin/users/{worker.id}").get_data(
        as_text=True)
    change = _change_of(db, worker)
    assert change.kind == "password_reset"
    browser = _held_sign_in(app, worker.username, TEMP)
    _assert_refused_everywhere(app, db, browser, worker, world)


def test_team_and_role_changes_granting_case_access_are_held(app, db, world, make_user, make_team):
    other_team = make_team("Hillside")
    worker = world["counsellor"]
    admin_browser = _admin_client(app, world)
    # into another team
    response = form_post(admin_browser, f"/admin/users/{worker.id}", {
        "display_name": "", "role": "counsellor", "team_id": str(other_team.id), "active": "y"})
    assert response.status_code == 302
    change = _change_of(db, worker)
    assert change.kind == "access_change" and change.team_id == other_team.id
    assert change.previous_team_id == world["team"].id and change.previous_role == "counsellor"
    # a resident made a social worker
    resident = make_user("resident")
    form_post(admin_browser, f"/admin/users/{resident.id}", {
        "display_name": "", "role": "social_worker", "team_id": str(world["team"].id), "active": "y"})
    assert db.session.get(User, resident.id).access_pending
    # a change that only narrows access (counsellor -> social worker, same team) is not held
    narrow = make_user("counsellor", team=None)
    narrow.team = world["team"]
    db.session.commit()
    form_post(admin_browser, f"/admin/users/{narrow.id}", {
        "display_name": "", "role": "social_worker", "team_id": str(world["team"].id), "active": "y"})
    db.session.expire_all()
    assert not db.session.get(User, narrow.id).access_pending
    # an account enabled again is held (after a declined reset it was disabled)
    off = make_user("counsellor", team=None, active=False)
    off.team = world["team"]
    db.session.commit()
    form_post(admin_browser, f"/admin/users/{off.id}", {
        "display_name": "", "role": "counsellor", "team_id": str(world["team"].id), "active": "y"})
    db.session.expire_all()
    assert db.session.get(User, off.id).access_pending


# ------------------------------------------------------------------ who may confirm
def _new_held_counsellor(app, db, world, username="new.worker"):
    admin_browser = _admin_client(app, world)
    form_post(admin_browser, "/admin/users/new", {
        "username": username, "display_name": "", "role": "counsellor", "team_id": str(world["team"].id),
        "password": TEMP})
    user = db.session.scalar(select(User).where(User.username == username))
    assert user.access_pending
    return user, _change_of(db, user)


def test_requesting_admin_and_the_account_itself_cannot_confirm(app, db, world):
    user, change = _new_held_counsellor(app, db, world)
    for who in (world["admin"], user):
        with pytest.raises(separation.ConfirmationRefused):
            separation.confirm(change, who)
        with pytest.raises(separation.ConfirmationRefused):
            separation.decline(change, who)
    db.session.rollback()
    # the administrator has no approvals page at all
    admin_browser = _admin_client(app, world)
    assert form_post(admin_browser, f"/supervision/approvals/account/{change.id}", {"decision": "confirm"},
                     page="/").status_code == 403
    assert _change_of(db, user).pending and db.session.get(User, user.id).access_pending


def test_a_supervisor_who_is_himself_held_or_requested_it_cannot_confirm(app, db, world, make_user):
    """A supervisor whose own access is held cannot confirm anything, not even their own change."""
    sup = world["supervisor"]
    admin_browser = _admin_client(app, world)
    form_post(admin_browser, f"/admin/users/{sup.id}/password", {"password": TEMP}, page=f"/admin/users/{sup.id}")
    own = _change_of(db, sup)
    browser = _held_sign_in(app, sup.username, TEMP)
    response = form_post(browser, f"/supervision/approvals/account/{own.id}", {"decision": "confirm"}, page="/")
    assert response.status_code == 403
    with pytest.raises(separation.ConfirmationRefused):
        separation.confirm(own, db.session.get(User, sup.id))
    assert _change_of(db, sup).pending


def test_supervisor_of_another_team_cannot_confirm_when_the_team_has_one(app, db, world, make_user, make_team):
    user, change = _new_held_counsellor(app, db, world)
    outsider = make_user("supervisor", team=None, username="sup.hill")
    outsider.team = make_team("Hillside")
    db.session.commit()
    browser = app.test_client()
    sign_in(browser, outsider.username)
    assert f"item-{change.id}" not in browser.get("/supervision/approvals").get_data(as_text=True)
    response = form_post(browser, f"/supervision/approvals/account/{change.id}", {"decision": "confirm"},
                         page="/supervision/approvals")
    assert response.status_code == 404
    with pytest.raises(separation.ConfirmationRefused):
        separation.confirm(_change_of(db, user), db.session.get(User, outsider.id))
    db.session.rollback()
    assert _change_of(db, user).pending and db.session.get(User, user.id).access_pending


def test_team_without_a_supervisor_another_teams_supervisor_confirms(app, db, world, make_user, make_team):
    lonely = make_team("Lonely")
    admin_browser = _admin_client(app, world)
    form_post(admin_browser, "/admin/users/new", {
        "username": "lonely.worker", "display_name": "", "role": "counsellor", "team_id": str(lonely.id),
        "password": TEMP})
    user = db.session.scalar(select(User).where(User.username == "lonely.worker"))
    change = _change_of(db, user)
    assert [u.username for u in separation.confirmers(change)] == ["sup.river"]
    separation.confirm(change, db.session.get(User, world["supervisor"].id))
    db.session.commit()
    assert not db.session.get(User, user.id).access_pending


def test_proper_confirmation_grants_access_and_everyone_is_told(app, db, world):
    user, change = _new_held_counsellor(app, db, world)
    kinds = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (world["supervisor"].id, "account_change_pending") in kinds
    assert (user.id, "account_change_pending") in kinds
    assert (world["counsellor"].id, "account_change_pending") not in kinds
    link = db.session.scalar(select(Notification.link).where(Notification.user_id == world["supervisor"].id))
    assert link == "/supervision/approvals"

    held = _held_sign_in(app, user.username, TEMP)
    assert held.get("/clients").status_code == 403

    sup = app.test_client()
    sign_in(sup, world["supervisor"].username)
    page = sup.get("/supervision/approvals").get_data(as_text=True)
    assert f"item-{change.id}" in page
    assert user.username in sup.get(f"/supervision/approvals/account/{change.id}").get_data(as_text=True)
    response = form_post(sup, f"/supervision/approvals/account/{change.id}", {"decision": "confirm"},
                         page="/supervision/approvals")
    assert response.status_code == 302
    change = _change_of(db, user)
    assert change.confirmed_by_id == world["supervisor"].id and change.confirmed_at is not None
    assert not db.session.get(User, user.id).access_pending
    assert held.get("/clients").status_code == 200
    assert "Alex Example" in held.get("/clients").get_data(as_text=True)
    kinds = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (user.id, "account_change_confirmed") in kinds and (world["admin"].id, "account_change_confirmed") in kinds
    reasons = set(db.session.scalars(select(AuditEvent.reason).where(AuditEvent.object_type == "account_change")))
    assert {"held:new_account", "confirmed:new_account"} <= reasons
    # decided once
    again = form_post(sup, f"/supervision/approvals/account/{change.id}", {"decision": "confirm"},
                      page="/supervision/approvals")
    assert again.status_code == 409 and "already been decided" in again.get_data(as_text=True)


def test_decline_restores_an_access_change_and_disables_a_new_account(app, db, world, make_team):
    other_team = make_team("Hillside")
    worker = world["counsellor"]
    admin_browser = _admin_client(app, world)
    form_post(admin_browser, f"/admin/users/{worker.id}", {
        "display_name": "", "role": "supervisor", "team_id": str(other_team.id), "active": "y"})
    # Hillside has no supervisor: the Riverbank supervisor may decide
    separation.decline(_change_of(db, worker), db.session.get(User, world["supervisor"].id))
    db.session.commit()
    db.session.expire_all()
    worker = db.session.get(User, worker.id)
    assert (worker.role, worker.team_id, worker.active, worker.access_pending) == (
        "counsellor", world["team"].id, True, False)

    user, change = _new_held_counsellor(app, db, world)
    sup = app.test_client()
    sign_in(sup, world["supervisor"].username)
    assert form_post(sup, f"/supervision/approvals/account/{change.id}", {"decision": "decline"},
                     page="/supervision/approvals").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert not user.active and _change_of(db, user).declined_by_id == world["supervisor"].id
    assert sign_in(app.test_client(), user.username, NEW).status_code == 401
    assert (world["admin"].id, "account_change_declined") in {
        (n.user_id, n.kind) for n in db.session.scalars(select(Notification))}


# ------------------------------------------------------------------ no second role
def test_an_admin_cannot_be_given_a_team(app, db, world, make_user):
    admin_browser = _admin_client(app, world)
    other_admin = make_user("admin", username="admin.two")
    response = form_post(admin_browser, f"/admin/users/{other_admin.id}", {
        "display_name": "", "role": "admin", "team_id": str(world["team"].id), "active": "y"})
    assert response.status_code == 400
    assert "An administrator belongs to no team" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, other_admin.id).team_id is None
    response = form_post(admin_browser, "/admin/users/new", {
        "username": "admin.three", "display_name": "", "role": "admin", "team_id": str(world["team"].id),
        "password": TEMP})
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.username == "admin.three")) is None


def test_admin_made_a_case_role_is_a_change_to_confirm(app, db, world, make_user):
    admin_browser = _admin_client(app, world)
    other_admin = make_user("admin", username="admin.two")
    form_post(admin_browser, f"/admin/users/{other_admin.id}", {
        "display_name": "", "role": "supervisor", "team_id": str(world["team"].id), "active": "y"})
    db.session.expire_all()
    changed = db.session.get(User, other_admin.id)
    assert changed.role == "supervisor" and changed.access_pending
    assert _change_of(db, changed).previous_role == "admin"


def test_operator_at_the_machine_and_factories_are_not_held(runner, db, world):
    result = runner.invoke(args=["users", "create", "duty1", "--role", "counsellor", "--team", "Riverbank"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert not db.session.scalar(select(User).where(User.username == "duty1")).access_pending
    assert not world["counsellor"].access_pending
    assert db.session.scalar(select(AccountChange.id)) is None
