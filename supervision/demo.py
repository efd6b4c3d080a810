"""Supervision demo data, so that every panel shows something: a past emergency period with its
after-action review, drills with "must change" actions (one done), items on the approvals queue
(a closure request, a break-glass access, an article in review, on top of the risk assessments and
the consent override the other areas' demos leave), a reassignment, anonymous screenings and handled
alerts over the last weeks for the statistics, and a chain check for the audit viewer.

Idempotent: each part looks for what it would make and stops when it is there. Runs after the
other areas' demo loaders (supervision is the last area). All text is invented."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from carecycle.accounts.models import Team, User
from carecycle.alerts import Alert, raise_alert
from carecycle.breakglass import BreakGlassGrant, grant
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import today as local_today
from carecycle.messages import words
from carecycle.mode import current_mode, switch_mode
from casework.enums import Phase
from casework.models import Case, CaseEvent, ClosureRequest
from referrals.models import VolunteerTeam
from screening.models import Article, ArticleStatus, ScreeningResult
from supervision.models import AfterActionReview, AuditVerification, Drill
from supervision.service import audit_view, drills, reassign, stats


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo(echo=print) -> None:
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    staff = {name: _user(name) for name in ("supervisor", "counsellor", "counsellor2", "socialworker",
                                            "supervisor_h", "counsellor_h")}
    if "Riverside" not in teams or any(u is None for u in staff.values()):
        echo("supervision demo: demo teams or accounts missing; run the shell demo first")
        return
    rng = random.Random(7)
    _past_emergency(staff, teams, rng, echo)
    _drills(staff, echo)
    _group_plan_drill(echo)
    _recovery_plan(staff, echo)
    _approvals(staff, teams, echo)
    _reassignment(staff, echo)
    _outreach_due(teams, echo)
    _screenings(rng, echo)
    _handled_alerts(staff, teams, rng, echo)
    if db.session.scalar(select(AuditVerification.id).limit(1)) is None:
        audit_view.verify_now(None)
        db.session.commit()
    echo("supervision demo: done")


def _past_emergency(staff, teams, rng, echo) -> None:
    """A rainstorm emergency 40 to 37 days ago, with alerts during it and the after-action review."""
    if db.session.scalar(select(AfterActionReview.id).limit(1)) or current_mode().emergency:
        echo("supervision demo: after-action review already there")
        return
    start, end = utcnow() - timedelta(days=40), utcnow() - timedelta(days=37)
    on = switch_mode("emergency", staff["supervisor"], "Black rainstorm warning; landslip on Hill Road",
                     retime=False)  # a past period: today's work keeps its deadlines
    on.switched_at = start
    db.session.flush()
    for index in range(9):  # the calls of that night, claimed and closed by the duty counsellors
        alert = raise_alert("hotline", "crisis" if index % 3 else "urgent", team_id=teams["Riverside"].id,
                            summary=words("Caller frightened by the flooding; demo alert."))
        alert.created_at = start + timedelta(hours=2 + index * 5)
        alert.deadline = alert.created_at + timedelta(hours=1)
        alert.claimed_by_id = staff["counsellor" if index % 2 else "counsellor2"].id
        alert.claimed_at = alert.created_at + timedelta(minutes=rng.randint(4, 55))
        alert.state, alert.closed_at, alert.closed_by_id = "closed", alert.claimed_at + timedelta(minutes=30), \
            alert.claimed_by_id
        alert.close_reason = "Talked through; safe at a relative's flat."
    from referrals.demo import load_activations_demo
    load_activations_demo(start, echo)  # the calls to partners that night, for the review
    off = switch_mode("normal", staff["supervisor"], "Warning cancelled; roads reopened", retime=False)
    off.switched_at = end
    db.session.flush()
    review = AfterActionReview(started_at=start, ended_at=end, emergency_change_id=on.id, normal_change_id=off.id,
                               written_by_id=staff["supervisor"].id, figures=stats.emergency_figures(start, end))
    review.what_happened = ("Black rainstorm overnight; a landslip closed Hill Road and two blocks lost power. The "
                            "hotline took nine calls from frightened residents, mostly older people living alone.")
    review.what_worked = ("Halved outreach intervals: every red-tier person was reached within the first day. The "
                          "volunteer call tree worked.")
    review.what_to_change = ("Print the red-tier list before a storm: the office lost power for two hours. "
                             "Agree a second shelter with the school.")
    db.session.add(review)
    db.session.commit()
    echo("supervision demo: a past emergency period with its after-action review")


def _drills(staff, echo) -> None:
    if db.session.scalar(select(Drill.id).limit(1)):
        echo("supervision demo: drills already there")
        return
    volunteer_teams = list(db.session.scalars(select(VolunteerTeam).order_by(VolunteerTeam.name)))
    ids = [str(t.id) for t in volunteer_teams]
    today = local_today()
    first = drills.record_drill(staff["supervisor"], {
        "scenario": "Evacuating the Riverside day centre after a gas leak", "held_on": today - timedelta(days=120),
        "volunteer_team_ids": ids[:2], "schools": "Riverside Primary School", "businesses": "Wing On Supermarket",
        "went_well": "Everyone out in 11 minutes; the volunteer wardens knew their floors.",
        "notes": "Observed by the district fire station.",
        "actions": [{"description": "Second exit sign is hidden behind the stage curtain: move it.",
                     "owner_id": str(staff["socialworker"].id), "due_on": today - timedelta(days=90)},
                    {"description": "Add the day centre's wheelchair users to the red-tier outreach list.",
                     "owner_id": str(staff["counsellor"].id), "due_on": today + timedelta(days=14)}]})
    first.actions[0].done_at, first.actions[0].done_by_id = utcnow() - timedelta(days=95), staff["socialworker"].id
    drills.record_drill(staff["supervisor"], {
        "scenario": "Night-time hotline surge: three counsellors, forty calls in two hours",
        "held_on": today - timedelta(days=30), "volunteer_team_ids": ids[:1], "others": "District council duty office",
        "went_well": "The triage queue kept the crisis calls first.",
        "actions": [{"description": "Write a one-page script for callers who only need information.",
                     "owner_id": str(staff["counsellor2"].id), "due_on": today + timedelta(days=7)}]})
    drills.record_drill(staff["supervisor_h"], {
        "scenario": "Typhoon shelter at Hillside community hall", "held_on": today - timedelta(days=400),
        "volunteer_team_ids": ids[2:3] or ids[:1], "businesses": "Hillside Bakery",
        "went_well": "Blankets and water for eighty people within the hour.",
        "actions": [{"description": "Replace the hall's broken radio.", "owner_id": str(staff["counsellor_h"].id),
                     "due_on": today - timedelta(days=300)}]})
    db.session.commit()
    echo(f"supervision demo: 3 drills with their actions ({len(volunteer_teams)} volunteer teams)")


def _group_plan_drill(echo) -> None:
    """The demo's group plan (casework) was practised in the day-centre evacuation drill."""
    from casework.demo_register import GROUP_PLAN
    from casework.models import GroupPlan
    plan = db.session.scalar(select(GroupPlan).where(GroupPlan.name == GROUP_PLAN["name"]))
    drill = db.session.scalar(select(Drill).where(Drill.scenario.startswith("Evacuating the Riverside day centre")))
    if plan is None or drill is None or plan.last_drill_id is not None:
        return
    plan.last_drill_id = drill.id
    db.session.commit()
    echo("supervision demo: the day centre's group plan was practised in its evacuation drill")


def _approvals(staff, teams, echo) -> None:
    """A closure to approve, a break-glass access to review and an article in review."""
    from casework.service import phases
    from screening.service import articles
    riverside = teams["Riverside"].id
    made = 0
    if not db.session.scalar(select(ClosureRequest.id).join(Case).where(Case.team_id == riverside,
                                                                       ClosureRequest.decision.is_(None)).limit(1)):
        case = db.session.scalar(select(Case).where(
            Case.team_id == riverside, Case.phase != Phase.CLOSED.value, Case.risk_level == "moderate",
            Case.assigned_counsellor_id == staff["counsellor"].id).order_by(Case.opened_at).limit(1))
        if case is not None:
            made += phases.request_closure(staff["counsellor"], case, case.version,
                                           "Mood stable for six weeks; back at work part-time; knows how to reach "
                                           "us.", "goals_achieved") is not None
    if not db.session.scalar(select(BreakGlassGrant.id).where(BreakGlassGrant.team_id == riverside,
                                                              BreakGlassGrant.reviewed_at.is_(None)).limit(1)):
        case = db.session.scalar(select(Case).where(Case.team_id == riverside, Case.risk_level == "imminent")
                                 .order_by(Case.opened_at).limit(1))
        if case is not None:
            grant(staff["counsellor_h"], "case", case.id, riverside,
                  "Client walked into the Hillside office asking for her counsellor, who is off today.")
            made += 1
    if not db.session.scalar(select(Article.id).where(Article.status == ArticleStatus.IN_REVIEW.value).limit(1)):
        article = articles.create(staff["counsellor"], {
            "title": "Sleeping after a frightening night", "language": "en", "audience": "everyone",
            "summary": "Why sleep is hard after a shock, and small steps that help in the first weeks.",
            "body": "After a frightening event many people sleep badly for a while. Keep regular times, limit news "
                    "before bed, and talk to someone you trust. If it lasts more than a month, ask for help.",
            "sources": "World Health Organization, Psychological first aid (2011).", "topics": ["sleep"]})
        articles.transition(staff["counsellor"], article, "submit")
        made += 1
    db.session.commit()
    if made:
        echo(f"supervision demo: {made} more item(s) waiting on the approvals queue")


def _reassignment(staff, echo) -> None:
    if db.session.scalar(select(CaseEvent.id).where(CaseEvent.kind == reassign.EVENT).limit(1)):
        return
    case = db.session.scalar(select(Case).where(Case.assigned_counsellor_id == staff["counsellor2"].id,
                                                Case.phase != Phase.CLOSED.value).order_by(Case.opened_at).limit(1))
    if case is None:
        return
    reassign.reassign(staff["supervisor"], staff["counsellor2"], [case.id], staff["counsellor"].id,
                      "Kim's caseload is too high this month; Chris knows the family.")
    db.session.commit()
    echo("supervision demo: one case reassigned")


def _outreach_due(teams, echo) -> None:
    """One red-tier person of Riverside whose outreach is overdue, for the surge view."""
    from casework.models import Client, RegisterEntry
    from casework.service import register
    sched = register.schedule()
    riverside = teams["Riverside"].id
    entries = list(db.session.scalars(select(RegisterEntry).join(Client, Client.id == RegisterEntry.client_id).where(
        RegisterEntry.team_id == riverside, RegisterEntry.removed_at.is_(None),
        RegisterEntry.tier.in_(("red", "orange")))))
    if any(sched.overdue(e) for e in entries):
        return
    if entries:
        entry = entries[0]
    else:  # the register demo did not run: put one person of the team on it
        person = db.session.scalar(select(Client).where(Client.team_id == riverside, Client.id.not_in(
            select(RegisterEntry.client_id))).order_by(Client.created_at).limit(1))
        worker = _user("socialworker")
        if person is None or worker is None:
            return
        entry = register.add_to_register(worker, person, {"tier": "red", "flags": ["lives_alone_elderly"],
                                                          "note": "Lives alone on the 20th floor; lift often broken."})
    entry.due_from = utcnow() - sched.interval(entry.tier) - timedelta(days=2)
    db.session.commit()
    echo("supervision demo: one red or orange outreach overdue")


# Anonymous self-screenings for the statistics: (instrument, answers) scored by screening's own rules.
SAMPLES = [
    ("phq9", [0, 1, 0, 1, 0, 0, 1, 0, 0]), ("phq9", [1, 1, 1, 2, 1, 1, 1, 0, 0]), ("phq9", [2, 2, 2, 2, 1, 2, 1, 1, 0]),
    ("phq9", [3, 2, 3, 2, 2, 2, 2, 1, 1]), ("gad7", [0, 1, 0, 0, 1, 0, 0]), ("gad7", [1, 1, 2, 1, 1, 1, 1]),
    ("gad7", [2, 2, 2, 2, 2, 2, 1]), ("who5", [3, 3, 2, 3, 3]), ("who5", [1, 1, 2, 1, 1]),
]


def _screenings(rng, echo) -> None:
    if db.session.scalar(select(func.count()).select_from(ScreeningResult)) >= 40:
        return
    from screening.service import get_instrument
    from screening.service.scoring import score
    made = 0
    for index in range(90):
        ident, answers = SAMPLES[index % len(SAMPLES)] if index % 4 else SAMPLES[rng.randrange(len(SAMPLES))]
        instrument = get_instrument(ident)
        if instrument is None:
            continue
        outcome = score(instrument, list(answers))
        result = ScreeningResult(instrument=ident, instrument_version=instrument.version, score=outcome.score,
                                 band=outcome.band, flags=" ".join(outcome.flags), crisis=outcome.crisis,
                                 language=rng.choice(["en", "zh_Hant"]),
                                 created_at=utcnow() - timedelta(days=rng.randint(0, 75), minutes=rng.randint(0, 900)))
        result.answers = list(outcome.answers)
        db.session.add(result)
        made += 1
    db.session.commit()
    echo(f"supervision demo: {made} anonymous screenings over the last weeks")


def _handled_alerts(staff, teams, rng, echo) -> None:
    """Alerts of the last month that were claimed, for the time-to-claim figures."""
    since = utcnow() - timedelta(days=30)
    if db.session.scalar(select(func.count()).select_from(Alert).where(
            Alert.claimed_at.is_not(None), Alert.created_at >= since)) >= 5:
        return
    for index in range(12):
        team = teams["Riverside"] if index % 3 else teams["Hillside"]
        who = staff["counsellor_h"] if team.name == "Hillside" else staff["counsellor"]
        alert = raise_alert("walk_in" if index % 2 else "hotline", "crisis" if index % 4 == 0 else "urgent",
                            team_id=team.id, summary=words("Demo: handled on the day."))
        alert.created_at = utcnow() - timedelta(days=rng.randint(1, 28), hours=rng.randint(0, 12))
        alert.deadline = alert.created_at + timedelta(hours=2)
        alert.claimed_by_id, alert.claimed_at = who.id, alert.created_at + timedelta(minutes=rng.randint(3, 90))
        alert.state, alert.closed_at, alert.closed_by_id = "closed", alert.claimed_at + timedelta(hours=1), who.id
        alert.close_reason = "Advice given; no case needed."
    db.session.commit()
    echo("supervision demo: 12 handled alerts for the statistics")


def _recovery_plan(staff, echo) -> None:
    """After the rainstorm: the Riverside team's recovery plan with three actions, the bereavement
    circle as its community care, and the 1-month review written (the storm ended 37 days ago)."""
    from casework.models import CommunityGroup
    from supervision.models import RecoveryPlan
    from supervision.service import recovery
    if db.session.scalar(select(RecoveryPlan.id).limit(1)) is not None:
        return
    period = next(iter(recovery.finished_periods()), None)
    supervisor = staff["supervisor"]
    if period is None or supervisor.team_id is None:
        return
    plan = recovery.create(supervisor, {
        "title": "Recovery after the Riverside rainstorm", "area": "Riverside: Blocks 1 to 6 and the day centre",
        "period_id": str(period.id)})
    today = local_today()
    for text, owner, due, done in [
            ("Outreach to every red- and orange-tier person in the area", "socialworker", 7, True),
            ("A neighbourhood meeting at the community hall with the residents' committee", "supervisor", 21, True),
            ("A bereavement group for the families who lost someone in the landslip", "counsellor", 45, False)]:
        action = recovery.add_action(supervisor, plan, {"description": text, "owner_id": str(staff[owner].id),
                                                        "due_on": (plan.ended_on + timedelta(days=due)).isoformat()})
        if done:
            recovery.complete_action(staff[owner], plan, action.id)
    circle = db.session.scalar(select(CommunityGroup).where(CommunityGroup.team_id == supervisor.team_id,
                                                            CommunityGroup.kind == "bereavement"))
    if circle is not None:
        recovery.link_group(supervisor, plan, circle.id)
    if recovery.due_on(plan, 1) <= today:
        recovery.write_review(supervisor, plan, 1, "Most older people living alone are back to their routines. "
                              "Two families are still in temporary housing; the bereavement circle has begun.")
    db.session.commit()
    echo("supervision demo: a community recovery plan after the rainstorm")
