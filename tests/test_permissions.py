"""Deny by default: every route declares a permission; roles get exactly their table."""
import pytest
from flask import Blueprint
from sqlalchemy import select

from carecycle.audit import AuditEvent
from carecycle.permissions import PUBLIC, ROLE_PERMISSIONS, Permission, role_has, undeclared_endpoints
from carecycle.roles import Role
from tests.conftest import dispose, make_app


def test_every_endpoint_declares_a_permission(app):
    assert undeclared_endpoints(app) == []
    assert len(list(app.url_map.iter_rules())) > 10


def test_the_walk_catches_an_undeclared_route_and_the_route_is_refused(tmp_path):
    bad_app = make_app(tmp_path)
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.route("/forgotten")
    def page():
        return "this should never be served"

    bad_app.register_blueprint(forgotten)
    try:
        assert undeclared_endpoints(bad_app) == ["forgotten.page"]
        response = bad_app.test_client().get("/forgotten")
        assert response.status_code == 403
        assert "never be served" not in response.get_data(as_text=True)
    finally:
        dispose(bad_app)


def test_every_role_has_a_row_and_public_is_everyones():
    assert set(ROLE_PERMISSIONS) == set(Role)
    for role in Role:
        assert role_has(role, PUBLIC)


def test_admins_manage_accounts_and_nobody_else_does():
    holders = {role for role in Role if role_has(role, Permission.ACCOUNTS_MANAGE)}
    assert holders == {Role.ADMIN}


def test_residents_hold_no_staff_permission():
    assert not role_has(Role.RESIDENT, Permission.ALERTS_VIEW)
    assert not role_has(Role.RESIDENT, Permission.BREAK_GLASS)


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "supervisor", "resident"])
def test_non_admins_are_refused_admin_pages_and_it_is_audited(client, login_as, db, role):
    login_as(role)
    for path in ("/admin/users", "/admin/teams", "/admin/users/new"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.get_data(as_text=True)
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied")).all()
    assert len(denied) == 3 and all(e.outcome == "denied" for e in denied)


def test_residents_cannot_see_alerts(client, login_as):
    login_as("resident")
    assert client.get("/alerts").status_code == 403


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "supervisor"])
def test_staff_see_alerts(client, login_as, role):
    login_as(role)
    assert client.get("/alerts").status_code == 200
