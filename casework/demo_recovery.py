"""Demo data for recovery: care plans with goals and reviews on the demo recovery cases, re-screens
that improve, stay flat and deteriorate (the last one raises a triage alert), re-screening schedules,
community groups with sessions and attendance, and closed cases whose follow-ups are due.
Idempotent: once any care plan or group exists, it does nothing. All text is invented."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from carecycle.accounts.models import Team, User
from carecycle.database import utcnow
from carecycle.extensions import db
from casework.demo import EXTRA_LOADERS
from casework.demo_care import user_named
from casework.enums import Phase, RiskLevel
from casework.models import CarePlan, Case, CommunityGroup, FollowUp, Task
from casework.service import careplans, followup, groups, outcomes, phases

GOALS = [
    {"domain": "housing", "title": "Move to a ground-floor flat near my sister",
     "success": "A tenancy signed for a flat without stairs, within 20 minutes of my sister.", "owner": "worker",
     "status": "in_progress"},
    {"domain": "income_work", "title": "Sort out my benefits after losing my job",
     "success": "Housing benefit and job-seeker's allowance paid every month.", "owner": "partner",
     "owner_detail": "Citizens Advice Riverside", "status": "achieved"},
    {"domain": "social", "title": "Go to the peer support evening every fortnight",
     "success": "Attended four sessions in a row.", "owner": "client", "status": "in_progress"},
    {"domain": "mental_health", "title": "Sleep through most nights",
     "success": "Sleeping six hours on most nights for a month.", "owner": "client", "status": "not_started"},
    {"domain": "legal", "title": "Replace my lost ID card", "success": "A new ID card in hand.", "owner": "worker",
     "status": "dropped", "drop_reason": "Found the old card at my sister's flat."},
    {"domain": "family", "title": "See my daughter every weekend",
     "success": "A weekend routine agreed with her father.", "owner": "client", "status": "in_progress"},
    {"domain": "daily_living", "title": "Cook a hot meal most days",
     "success": "Shopping list and three simple recipes in use.", "owner": "client", "status": "not_started"},
    {"domain": "physical_health", "title": "See the GP about back pain",
     "success": "An appointment kept and a plan for the pain.", "owner": "worker", "status": "achieved"},
]
CLIENT_NOTE = ("You have already done a lot: the benefits are sorted. Next we look for the flat together. "
               "Call me if anything gets in the way.")


def answers_summing_to(total: int, items: int, top: int, filled: int | None = None) -> list[int]:
    """`items` answers from 0 to `top` that sum to `total`, the first `filled` items taking it up (the
    rest stay 0: the PHQ-9's item 9 is never set)."""
    answers = [0] * items
    for index in range(items if filled is None else filled):
        answers[index] = min(top, max(0, total - sum(answers)))
    return answers


ANSWERS = {"phq9": lambda total: answers_summing_to(total, 9, 3, filled=8),
           "who5": lambda raw: answers_summing_to(raw, 5, 5),
           "gad7": lambda total: answers_summing_to(total, 7, 3)}


def _screen(worker, case, series: dict[str, list[int]], weeks_between: int = 4, end_days_ago: int = 3) -> int:
    """Record each instrument's scores, `weeks_between` weeks apart, the last `end_days_ago` days ago."""
    made = 0
    for instrument, scores in series.items():
        for position, total in enumerate(scores):
            weeks_ago = (len(scores) - 1 - position) * weeks_between
            when = utcnow() - timedelta(weeks=weeks_ago, days=end_days_ago)
            outcomes.record_screening(worker, case, instrument, ANSWERS[instrument](total), taken_at=when,
                                      language="en")
            made += 1
    return made


def _plan(lead, case, picks: list[int], *, reviewed: bool = True, note: bool = True):
    goals = [dict(GOALS[i]) for i in picks]
    for goal in goals:
        goal["target_date"] = (utcnow() + timedelta(days=60)).date().isoformat()
    plan = careplans.save_plan(lead, case, 0, {"goals": goals, "client_note": CLIENT_NOTE if note else ""})
    if reviewed:
        today = careplans.local_today()
        careplans.record_review(lead, case, plan.version, reviewed_on=(today - timedelta(days=14)).isoformat(),
                                summary="Went through each goal together. Benefits now paid; flat search continues. "
                                        "Client feels more settled and has started going to the peer group.",
                                next_review_on=(today + timedelta(days=14)).isoformat())
    return plan


def _backdate_closure(case, days_ago: int) -> None:
    closed = utcnow() - timedelta(days=days_ago)
    case.closed_at = closed
    for item in db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id,
                                                          FollowUp.recorded_at.is_(None),
                                                          FollowUp.cancelled_at.is_(None))):
        item.closed_at = closed
        item.due_at = followup.add_months(closed, item.months)
        task = db.session.get(Task, item.task_id)
        if task is not None:
            task.due_at = item.due_at


def load_recovery_demo(echo=print) -> None:
    if db.session.scalar(select(CarePlan.id).limit(1)) or db.session.scalar(select(CommunityGroup.id).limit(1)):
        echo("recovery demo: already loaded")
        return
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    social, counsellor = user_named("socialworker"), user_named("counsellor")
    if "Riverside" not in teams or social is None or counsellor is None:
        echo("recovery demo: demo teams or accounts missing; run the shell demo first")
        return
    riverside = teams["Riverside"]
    cases = list(db.session.scalars(select(Case).where(
        Case.team_id == riverside.id, Case.phase == Phase.RECOVERY.value).order_by(Case.opened_at)))
    # closing without a supervisor's approval needs a risk below moderate for 30 days
    low = [c for c in cases if c.risk_level in (RiskLevel.NONE.value, RiskLevel.LOW.value)]
    if len(cases) < 5 or len(low) < 2:
        echo("recovery demo: too few recovery cases in Riverside; run the casework demo first")
        return
    closed_recent, closed_earlier = low[-2:]
    improving, flat, deteriorating = [c for c in cases if c not in (closed_recent, closed_earlier)][:3]
    for case in cases:
        if case.assigned_social_worker_id is None:
            case.assigned_social_worker_id = social.id
    db.session.flush()
    counts = {"plans": 0, "screenings": 0, "groups": 0, "closed": 0}

    # improving: PHQ-9 17 -> 8, WHO-5 28% -> 64%
    _plan(social, improving, [0, 1, 2, 3, 4])
    counts["screenings"] += _screen(counsellor, improving, {"phq9": [17, 13, 8], "who5": [7, 12, 16]})
    # flat: PHQ-9 12, 11, 12 and GAD-7 9, 9, 8; the PHQ-9 re-screen is overdue
    _plan(social, flat, [5, 6, 7], reviewed=False, note=False)
    counts["screenings"] += _screen(counsellor, flat, {"phq9": [12, 11, 12], "gad7": [9, 9, 8]}, weeks_between=3,
                                    end_days_ago=33)
    # deteriorating: PHQ-9 9 -> 16 (reliable deterioration: a triage alert), WHO-5 52% -> 36%
    _plan(social, deteriorating, [0, 2, 6])
    counts["screenings"] += _screen(counsellor, deteriorating, {"who5": [13, 11, 9], "phq9": [9, 12, 16]})
    for case in (improving, flat, deteriorating):
        outcomes.set_schedule(counsellor, case, "phq9", 4)
        outcomes.set_schedule(counsellor, case, "who5", 4)
        counts["plans"] += 1

    # the demo resident's client: share the plan when their case is in recovery
    resident = user_named("resident")
    shared = False
    if resident is not None:
        for case in (improving, flat, deteriorating):
            if case.client.resident_user_id == resident.id:
                careplans.share(social, case)
                shared = True

    # closed cases with follow-ups due: one closed five weeks ago, one three months ago
    for case, days_ago, plan_goals, series in (
            (closed_recent, 35, [1, 7], {"phq9": [14, 9, 4], "who5": [9, 13, 17]}),
            (closed_earlier, 100, [2, 5], {"phq9": [11, 7]})):
        careplans.save_plan(social, case, 0, {"goals": [
            {**GOALS[i], "status": "achieved"} for i in plan_goals]})
        counts["plans"] += 1
        counts["screenings"] += _screen(counsellor, case, series)
        phases.request_closure(social, case, case.version, "Goals reached: benefits in place, back at work part "
                               "time, sleeping well. Knows how to reach us.", "goals_achieved")
        _backdate_closure(case, days_ago)
        counts["closed"] += 1
    first = db.session.scalar(select(FollowUp).where(FollowUp.case_id == closed_earlier.id, FollowUp.months == 1))
    if first is not None:
        followup.record_follow_up(social, closed_earlier, first, status="better",
                                  note="Phoned: working three days a week, sees friends at the weekend.")
        first.recorded_at = first.due_at + timedelta(days=2)

    # community groups
    group_specs = [
        (riverside, "Bereavement support circle", "bereavement", "Wing (social worker)", "Mondays 14:00-15:30, weekly",
         "Riverside Community Centre, room 2"),
        (riverside, "Carers' café", "carers", "Sam (supervisor)", "First Saturday of the month, 10:00-12:00",
         "Riverside library café"),
        (riverside, "Back to work club", "return_to_work", "Partner: Riverside Jobs Hub", "Thursdays 10:00-11:30",
         "Riverside Jobs Hub"),
        (riverside, "Peer support evening", "peer_support", "Two trained peer volunteers",
         "Tuesdays 18:00-19:30, fortnightly", "Riverside Community Centre, hall"),
    ]
    made = []
    for _team, name, kind, facilitator, schedule, location in group_specs:
        group = groups.create_group(social, {"name": name, "kind": kind, "facilitator": facilitator,
                                             "schedule": schedule, "location": location})
        made.append(group)
        counts["groups"] += 1
    hillside = teams.get("Hillside")
    lead_h = user_named("supervisor_h")
    if hillside is not None and lead_h is not None:
        made.append(groups.create_group(lead_h, {"name": "Hillside peer support", "kind": "peer_support",
                                                 "facilitator": "Hana (supervisor)", "schedule": "Wednesdays 19:00",
                                                 "location": "Hillside church hall"}))
        counts["groups"] += 1
    peer, work = made[3], made[2]
    for group, members in ((peer, [improving, flat, deteriorating]), (work, [improving])):
        for case in members:
            member = groups.enrol(social, group, case)
            member.joined_at = utcnow() - timedelta(weeks=9)
        for weeks_ago in (8, 6, 4, 2):
            when = utcnow() - timedelta(weeks=weeks_ago)
            session = groups.add_session(social, group, day=when.date().isoformat(), at="18:00",
                                         topic="Sleep and routines" if weeks_ago == 4 else None)
            statuses = {}
            for position, member in enumerate(groups.active_members(group)):
                statuses[str(member.id)] = "absent" if (position + weeks_ago) % 5 == 0 else "attended"
            groups.record_attendance(social, session, statuses)
        soon = utcnow() + timedelta(days=5)
        groups.add_session(social, group, day=soon.date().isoformat(), at="18:00", topic="Planning the summer outing")

    # Hillside: a recovery case led by the supervisor
    if hillside is not None and lead_h is not None:
        case_h = db.session.scalar(select(Case).where(Case.team_id == hillside.id,
                                                      Case.phase == Phase.RECOVERY.value).order_by(Case.opened_at))
        if case_h is not None:
            _plan(lead_h, case_h, [1, 3, 5], reviewed=False)
            counselor_h = db.session.get(User, case_h.assigned_counsellor_id) if case_h.assigned_counsellor_id \
                else lead_h
            counts["screenings"] += _screen(counselor_h, case_h, {"phq9": [15, 10]})
            counts["plans"] += 1
    db.session.commit()
    echo(f"recovery demo: {counts['plans']} care plans, {counts['screenings']} screenings on cases, "
         f"{counts['groups']} groups, {counts['closed']} closed cases with follow-ups due"
         f"{'; the resident account has a shared care plan' if shared else ''}")


EXTRA_LOADERS.append(load_recovery_demo)
