"""Demo data: teams, one account per role, and whatever the areas register. Idempotent."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from carecycle.accounts import service as accounts
from carecycle.accounts.models import Team, User
from carecycle.extensions import db

DEMO_PASSWORD = "carecycle-demo"

DEMO_USERS: list[tuple[str, str, str | None, str | None]] = [
    ("admin", "admin", None, "Ada Admin"),
    ("supervisor", "supervisor", "Riverside", "Sam Supervisor"),
    ("counsellor", "counsellor", "Riverside", "Chris Counsellor"),
    ("counsellor2", "counsellor", "Riverside", "Kim Counsellor"),
    ("socialworker", "social_worker", "Riverside", "Wing Social Worker"),
    ("supervisor_h", "supervisor", "Hillside", "Hana Supervisor"),
    ("counsellor_h", "counsellor", "Hillside", "Lee Counsellor"),
    ("resident", "resident", None, None),
]


def register_loader(app, loader) -> None:
    """Areas add a function that loads their demo records (it must be idempotent too)."""
    app.extensions.setdefault("carecycle_demo_loaders", []).append(loader)


def load_demo(echo=print) -> None:
    if current_app.config["ENV_NAME"] == "production":
        raise RuntimeError("demo data is never loaded in production")
    teams = {}
    for name in ("Riverside", "Hillside"):
        team = db.session.scalar(select(Team).where(Team.name == name)) or accounts.create_team(name)
        teams[name] = team
    created = 0
    for username, role, team_name, display in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            accounts.create_user(username, DEMO_PASSWORD, role, teams.get(team_name) if team_name else None, display)
            created += 1
    db.session.commit()
    echo(f"demo accounts: {created} created, {len(DEMO_USERS) - created} already there")
    for loader in current_app.extensions.get("carecycle_demo_loaders", []):
        loader(echo)
        db.session.commit()
