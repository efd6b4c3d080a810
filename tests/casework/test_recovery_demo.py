"""Recovery demo data: plans with reviews, improving, flat and deteriorating re-screens, groups, and
closed cases with follow-ups due; loading twice changes nothing."""
from sqlalchemy import func, select

from carecycle.alerts import Alert
from carecycle.database import utcnow
from casework.models import CarePlan, CarePlanReview, CommunityGroup, FollowUp, GroupAttendance
from casework.service import outcomes


def test_recovery_demo_is_complete_and_idempotent(runner, db):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "recovery demo: " in result.output and "care plans" in result.output
    assert db.session.scalar(select(func.count()).select_from(CarePlan)) >= 5
    assert db.session.scalar(select(func.count()).select_from(CarePlanReview)) >= 2
    assert db.session.scalar(select(func.count()).select_from(CommunityGroup)) >= 4
    assert db.session.scalar(select(func.count()).select_from(GroupAttendance)) > 5
    due = db.session.scalars(select(FollowUp).where(FollowUp.recorded_at.is_(None), FollowUp.cancelled_at.is_(None),
                                                    FollowUp.due_at < utcnow())).all()
    assert len(due) >= 2
    assert db.session.scalar(select(Alert.id).where(Alert.kind == "rescreen")) is not None
    statements = []
    for plan in db.session.scalars(select(CarePlan)):
        statements += [o.statement for o in outcomes.outcomes_of(plan.case)]
    assert any("reliably improved" in s for s in statements)
    assert any("reliably deteriorated" in s for s in statements)
    assert any("no reliable change" in s for s in statements)
    counts = [db.session.scalar(select(func.count()).select_from(t)) for t in (CarePlan, CommunityGroup, FollowUp)]
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "recovery demo: already loaded" in again.output
    assert [db.session.scalar(select(func.count()).select_from(t)) for t in (CarePlan, CommunityGroup, FollowUp)] \
        == counts
