"""Admin pages: users and teams."""
import re

import pytest
from sqlalchemy import select

from carecycle.accounts.models import Team, User, UserSession
from tests.conftest import PASSWORD, form_post, sign_in


def test_admin_creates_a_user_who_must_change_password(app, client, login_as, make_team, db):
    login_as("admin")
    team = make_team("Riverbank")
    response = form_post(client, "/admin/users/new", {
        "username": "New.Worker", "display_name": "New Worker", "role": "counsellor",
        "team_id": str(team.id), "password": "a temporary passphrase"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "new.worker"))
    assert user.role == "counsellor" and user.team_id == team.id and user.must_change_password
    other = app.test_client()
    assert sign_in(other, "new.worker", "a temporary passphrase").headers["Location"] == "/account/password"


def test_create_user_validation_changes_nothing(client, login_as, make_team, db):
    admin = login_as("admin")
    before = db.session.scalar(select(User.id).where(User.id != admin.id))
    cases = [
        ({"username": "ab", "role": "resident", "team_id": "", "password": "a temporary passphrase"}, "3 to 64"),
        ({"username": "staffer", "role": "counsellor", "team_id": "", "password": "a temporary passphrase"},
         "belong to a team"),
        ({"username": "weakling", "role": "resident", "team_id": "", "password": "password1234"}, "too common"),
        ({"username": admin.username, "role": "resident", "team_id": "", "password": "a temporary passphrase"},
         "taken"),
    ]
    for data, message in cases:
        response = form_post(client, "/admin/users/new", data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
    assert db.session.scalar(select(User.id).where(User.id != admin.id)) == before


def test_role_change_ends_the_users_sessions(app, client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor")
    device = app.test_client()
    sign_in(device, worker.username)
    assert device.get("/alerts").status_code == 200
    response = form_post(client, f"/admin/users/{worker.id}", {
        "display_name": "", "role": "social_worker", "team_id": str(worker.team_id), "active": "y"})
    assert response.status_code == 302
    assert device.get("/alerts").status_code == 302
    ended = db.session.scalars(select(UserSession).where(UserSession.user_id == worker.id)).all()
    assert [s.end_reason for s in ended] == ["role_changed"]


def test_disabling_ends_sessions_and_blocks_sign_in(app, client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor")
    device = app.test_client()
    sign_in(device, worker.username)
    response = form_post(client, f"/admin/users/{worker.id}", {
        "display_name": "", "role": "counsellor", "team_id": str(worker.team_id)})  # unchecked = disabled
    assert response.status_code == 302
    assert device.get("/alerts").status_code == 302
    assert sign_in(app.test_client(), worker.username).status_code == 401


def test_admin_cannot_demote_or_disable_themselves(client, login_as, db):
    admin = login_as("admin")
    response = form_post(client, f"/admin/users/{admin.id}", {"display_name": "", "role": "resident",
                                                               "team_id": "", "active": "y"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == "admin"


def test_password_reset_forces_a_change_and_ends_sessions(app, client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor")
    device = app.test_client()
    sign_in(device, worker.username)
    response = form_post(client, f"/admin/users/{worker.id}/password", {"password": "a reset passphrase"},
                         page=f"/admin/users/{worker.id}")
    assert response.status_code == 302
    assert device.get("/alerts").status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, worker.username, PASSWORD).status_code == 401
    assert sign_in(fresh, worker.username, "a reset passphrase").headers["Location"] == "/account/password"


def test_unknown_user_id_is_404(client, login_as):
    login_as("admin")
    assert client.get("/admin/users/not-a-uuid").status_code == 404
    assert client.get("/admin/users/00000000-0000-0000-0000-000000000000").status_code == 404


def test_teams_create_rename_and_refuse_duplicates(client, login_as, db):
    login_as("admin")
    assert form_post(client, "/admin/teams", {"name": "Lakeside"}).status_code == 302
    duplicate = form_post(client, "/admin/teams", {"name": "Lakeside"})
    assert duplicate.status_code == 400 and "exists" in duplicate.get_data(as_text=True)
    team = db.session.scalar(select(Team).where(Team.name == "Lakeside"))
    assert form_post(client, f"/admin/teams/{team.id}", {"name": "Lakeside East"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Team, team.id).name == "Lakeside East"


def test_user_list_paginates_and_searches(client, login_as, make_user):
    login_as("admin")
    for i in range(55):
        make_user("resident", username=f"resident-list-{i:02d}")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in first
    found = client.get("/admin/users?q=list-07").get_data(as_text=True)
    assert "resident-list-07" in found and "resident-list-08" not in found


def test_refused_edit_reshows_the_entered_values_and_changes_nothing(app, client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor", display_name="Old Name")
    device = app.test_client()
    sign_in(device, worker.username)
    response = form_post(client, f"/admin/users/{worker.id}", {
        "display_name": "Typed Name", "role": "supervisor", "team_id": "", "active": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "belong to a team" in page and 'value="Typed Name"' in page
    db.session.expire_all()
    stored = db.session.get(User, worker.id)
    assert (stored.role, stored.display_name, stored.team_id) == ("counsellor", "Old Name", worker.team_id)
    assert device.get("/alerts").status_code == 200  # the user's session was not ended


def test_own_role_change_is_refused_by_the_service(make_user, db):
    from carecycle.accounts import service
    admin = make_user("admin")
    for change in ({"role": "resident", "active": True}, {"role": "admin", "active": False}):
        with pytest.raises(service.AccountError):
            service.update_user(admin, team=None, display_name=None, by=admin, **change)
    db.session.rollback()
    assert db.session.get(User, admin.id).role == "admin" and db.session.get(User, admin.id).active


def test_refused_password_reset_changes_nothing(app, client, login_as, make_user, db):
    login_as("admin")
    worker = make_user("counsellor")
    device = app.test_client()
    sign_in(device, worker.username)
    response = form_post(client, f"/admin/users/{worker.id}/password", {"password": "password1234"},
                         page=f"/admin/users/{worker.id}")
    assert response.status_code == 400 and "too common" in response.get_data(as_text=True)
    assert device.get("/alerts").status_code == 200
    db.session.expire_all()
    assert not db.session.get(User, worker.id).must_change_password
    assert sign_in(app.test_client(), worker.username, PASSWORD).status_code == 302


def test_unknown_team_is_404_and_a_refused_rename_keeps_the_typed_name(client, login_as, make_team, db):
    login_as("admin")
    assert client.get("/admin/teams/not-a-uuid").status_code == 404
    assert client.get("/admin/teams/00000000-0000-0000-0000-000000000000").status_code == 404
    make_team("Lakeside")
    team = make_team("Hilltop")
    response = form_post(client, f"/admin/teams/{team.id}", {"name": "Lakeside"})
    assert response.status_code == 400
    assert "exists" in response.get_data(as_text=True) and 'value="Lakeside"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Team, team.id).name == "Hilltop"


def test_team_list_counts_members(client, login_as, make_team, make_user):
    login_as("admin")
    team, empty = make_team("Counted"), make_team("Empty")
    make_user("counsellor", team=team)
    make_user("social_worker", team=team)
    page = client.get("/admin/teams").get_data(as_text=True)
    assert re.search(rf"{team.id}\">Counted</a></td><td>2</td>", page)
    assert re.search(rf"{empty.id}\">Empty</a></td><td>0</td>", page)
