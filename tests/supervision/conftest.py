"""Supervision fixtures: casework's and referrals' factories, a team with a supervisor and workers,
and a query counter."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from carecycle.accounts.models import Team, User


@dataclass
class Crew:
    team: Team
    supervisor: User
    counsellor: User
    counsellor2: User
    social_worker: User


@pytest.fixture
def crew(make_team, make_user):
    """A team with a supervisor, two counsellors and a social worker (call it once per team)."""
    def factory(name=None) -> Crew:
        team = make_team(name)
        return Crew(team, make_user("supervisor", team=team, display_name=f"Sup {team.name}"),
                    make_user("counsellor", team=team, display_name=f"Alice {team.name}"),
                    make_user("counsellor", team=team, display_name=f"Bob {team.name}"),
                    make_user("social_worker", team=team, display_name=f"Cara {team.name}"))
    return factory


@pytest.fixture
def count_queries(db):
    """`with count_queries() as seen:` collects the SQL statements run inside the block."""
    @contextmanager
    def counter():
        seen: list[str] = []

        def listen(_conn, _cursor, statement, *_args):
            seen.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", listen)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", listen)
    return counter


def sign_out(client):
    """Sign out the way a browser does (the sign-out form carries the CSRF token)."""
    from tests.conftest import form_post
    return form_post(client, "/logout", {}, page="/")


Y, N = True, False


@pytest.fixture
def items(db, make_case, make_referral):
    """Factories for what waits on the approvals queue."""
    from carecycle import breakglass
    from casework.service import assessments, phases
    from screening.service import articles

    class Items:
        @staticmethod
        def risk(worker, level="imminent", case=None):
            case = case or make_case(worker, risk_level="moderate")
            row = assessments.record_assessment(worker, case, cssrs=[Y, Y, N, Y, N, N, None], risk_level=level,
                                                rationale="Plan and intent this week.")
            db.session.commit()
            return row

        @staticmethod
        def closure(worker, case=None):
            case = case or make_case(worker, risk_level="moderate")
            row = phases.request_closure(worker, case, case.version, "Goals reached, client stable.", "goals_achieved")
            db.session.commit()
            return row

        @staticmethod
        def break_glass(worker, case):
            row = breakglass.grant(
                worker, "case", case.id, case.team_id, "Covering the duty phone tonight for a colleague."
            )
            db.session.commit()
            return row

        @staticmethod
        def article(author, title="Sleep after a shock"):
            row = articles.create(author, {"title": title, "summary": "Why sleep suffers and what helps.",
                                           "body": "Keep a routine.", "language": "en", "audience": "everyone",
                                           "topics": ["sleep"]})
            articles.transition(author, row, "submit")
            db.session.commit()
            return row

        @staticmethod
        def override(worker):
            row = make_referral(worker, "draft", tier=1, risk_level="imminent", with_consent=False)
            from referrals.service import referrals as referral_service
            referral_service.send(worker, row, override_reason="Client in immediate danger, unable to consent now.")
            db.session.commit()
            return row

    return Items()
