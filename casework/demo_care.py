"""Demo data for contact notes, risk assessments and safety plans on the demo cases: signed and
draft notes (clinical and casework), assessments at each case's risk level (high and imminent ones
waiting on the supervisors' lists, one already acknowledged), signed safety plans (one with a
draft next version), and the demo `resident` account linked to one client with a shared plan.
Idempotent: once any contact note exists, it does nothing. All text is invented."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.roles import Role
from casework.demo import EXTRA_LOADERS
from casework.enums import Phase, RiskLevel
from casework.models import Case, Client, ContactNote
from casework.service import assessments, notes, safety

CLINICAL = [
    "Reviewed sleep and mood since last week. Sleeping about 5 hours; appetite returning. Practised the "
    "breathing exercise together; agreed to keep the mood diary.",
    "Client described the night of the crisis in more detail. Thoughts of not wanting to wake up are less "
    "frequent. Went through the safety plan; sister remains the first person to call.",
    "Low mood after the anniversary of the loss. No plan or intent. Agreed on two small activities for the "
    "week and a call on Thursday.",
    "Anxiety about the tribunal hearing. Worked on what she can and cannot control. Denies thoughts of self-harm.",
]
CASEWORK = [
    "Helped complete the housing benefit form; copies of the tenancy agreement sent to the housing office.",
    "Accompanied the client to the job centre; appointment with the employment adviser on Monday.",
    "Food bank referral made; parcel collected by the neighbour.",
    "Phoned the landlord with the client's consent; repairs to the heating booked for next week.",
]
CSSRS = {
    RiskLevel.NONE: [False, False, None, None, None, False, None],
    RiskLevel.LOW: [True, False, None, None, None, False, None],
    RiskLevel.MODERATE: [True, True, True, False, False, False, None],
    RiskLevel.HIGH: [True, True, True, True, False, True, False],
    RiskLevel.IMMINENT: [True, True, True, True, True, True, True],
}
RATIONALE = {
    RiskLevel.NONE: "No current ideation; coping well, good support at home.",
    RiskLevel.LOW: "Passive wish to be dead at times, no active thoughts; engaged and future-oriented.",
    RiskLevel.MODERATE: "Active thoughts with a method but no intent; protective factors strong (children).",
    RiskLevel.HIGH: "Thoughts with some intent and a past attempt; lives alone. Daily contact until reviewed.",
    RiskLevel.IMMINENT: "Plan with intent and access to means; agreed to stay with sister tonight, crisis team "
                        "informed.",
}
PLAN = {
    "warning_signs": "Not sleeping for two nights\nStaying in bed all day\nThinking that everyone is better off "
                     "without me",
    "on_my_own": "Walk by the river\nHot shower and music\nWrite in my diary",
    "distractions": "Tea with Mrs Lau next door\nThe library on Market Street",
    "people_to_ask": "My sister Mei, 6123 4567\nMy friend Ka Wai, 6987 6543",
    "professionals": "My counsellor at the centre, 2345 6789 (weekdays 9-18)\nCrisis line 2389 2222 (24 hours)\n"
                     "Emergency: 999",
    "safer_surroundings": "My sister keeps my medication and gives me one week at a time",
    "reasons_for_living": "My daughter\nMy cat\nSeeing the sea again in summer",
}


def user_named(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo(echo=print) -> None:
    if db.session.scalar(select(ContactNote.id).limit(1)) is not None:
        echo("notes and plans demo: already loaded")
        return
    rng = random.Random(4)
    cases = db.session.scalars(select(Case).where(Case.assigned_counsellor_id.is_not(None))
                               .order_by(Case.opened_at)).all()
    counts = {"notes": 0, "assessments": 0, "plans": 0}
    shared = False
    # the notes of a closed case were written before it closed: `allow_closed` loads them as such
    for index, case in enumerate(cases):
        counsellor = db.session.get(User, case.assigned_counsellor_id)
        worker = db.session.get(User, case.assigned_social_worker_id) if case.assigned_social_worker_id else None
        age = max(utcnow() - case.opened_at, timedelta(days=1))
        for n in range(rng.randint(1, 3)):
            when = case.opened_at + age * rng.uniform(0.1, 0.95)
            note = notes.create_note(counsellor, case, {
                "kind": "clinical", "mode": rng.choice(["phone", "office", "online", "home_visit"]),
                "body": rng.choice(CLINICAL), "duration_minutes": rng.choice([20, 30, 45, 50]), "at": when},
                sign=True, allow_closed=True)
            counts["notes"] += 1
            if index % 7 == 0 and n == 0:
                notes.add_addendum(counsellor, note, "Addendum: the client called back to say the GP appointment "
                                                     "is confirmed for Friday.")
        if worker is not None:
            notes.create_note(worker, case, {
                "kind": "casework", "mode": rng.choice(["home_visit", "phone", "office"]),
                "body": rng.choice(CASEWORK), "duration_minutes": rng.choice([15, 30, 60]),
                "at": case.opened_at + age * rng.uniform(0.2, 0.9)}, sign=True, allow_closed=True)
            counts["notes"] += 1
        if index % 4 == 1:  # an unfinished draft, seen only by its author
            notes.create_note(counsellor, case, {"kind": "clinical", "mode": "phone", "duration_minutes": 10,
                                                 "body": "Short call; to be completed after supervision.",
                                                 "at": utcnow() - timedelta(hours=2)}, allow_closed=True)
            counts["notes"] += 1
        if case.phase == Phase.CLOSED.value or case.phase == Phase.INTAKE.value:
            continue
        level = RiskLevel(case.risk_level)
        assessment = assessments.record_assessment(
            counsellor, case, cssrs=CSSRS[level], risk_level=level.value, rationale=RATIONALE[level],
            judgement="Engaged in the conversation, good eye contact; mood low but reactive.",
            risk_factors=["hopelessness", "isolation"] if level.rank >= RiskLevel.MODERATE.rank else [],
            protective_factors=["family_support", "engaged_in_care"])
        assessment.assessed_at = utcnow() - age * 0.05
        counts["assessments"] += 1
        if assessment.needs_acknowledgement and index % 3 == 0:
            supervisor = db.session.scalar(select(User).where(User.team_id == case.team_id,
                                                              User.role == Role.SUPERVISOR))
            if supervisor is not None:
                assessments.acknowledge(supervisor, assessment, "Discussed at the morning huddle.")
        if level.rank >= RiskLevel.MODERATE.rank or case.phase == Phase.RECOVERY.value:
            plan = safety.save_draft(counsellor, case, PLAN)
            safety.sign(counsellor, case, plan)
            counts["plans"] += 1
            if index % 5 == 0:
                safety.save_draft(counsellor, case, {**PLAN, "on_my_own": PLAN["on_my_own"] + "\nCall the cat "
                                                     "sitter app to book a visit"})
            resident = user_named("resident")
            if not shared and resident is not None and case.phase == Phase.CRISIS.value:
                client = db.session.get(Client, case.client_id)
                client.resident_user_id = resident.id
                db.session.flush()
                safety.share_current(counsellor, case)
                shared = True
    db.session.commit()
    echo(f"notes and plans demo: {counts['notes']} notes, {counts['assessments']} risk assessments, "
         f"{counts['plans']} signed safety plans{'; the resident account has a shared plan' if shared else ''}")


EXTRA_LOADERS.append(load_demo)
