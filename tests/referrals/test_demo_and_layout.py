"""Demo data of the referrals area, and the area's place in the layout."""
from collections import Counter

from sqlalchemy import func, select

from referrals.enums import ReferralStatus
from referrals.models import Organisation, Referral, Volunteer, VolunteerTeam
from referrals.service import volunteers


def test_demo_load_fills_every_page_and_is_idempotent(runner, db):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "25 example organisations" in first.output
    orgs = db.session.scalars(select(Organisation)).all()
    assert len(orgs) == 25 and all(o.is_example for o in orgs)
    assert {o.tier for o in orgs} == {1, 2, 3}
    teams = db.session.scalars(select(VolunteerTeam)).all()
    assert len(teams) == 2
    rows = [volunteers.readiness(team) for team in teams]
    assert all(r.ready for r in rows) and any(r.expiring for r in rows) and any(r.not_ready for r in rows)
    referrals = db.session.scalars(select(Referral)).all()
    statuses = Counter(r.status for r in referrals)
    assert set(statuses) == {s.value for s in ReferralStatus}
    assert sum(r.overdue for r in referrals) >= 1
    assert any(r.consent_override for r in referrals)
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 25
    assert db.session.scalar(select(func.count()).select_from(Referral)) == len(referrals)
    assert db.session.scalar(select(func.count()).select_from(Volunteer)) == sum(len(t.members) for t in teams)
