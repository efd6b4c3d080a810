"""Demo data for the vulnerable-person register: about a third of the demo clients, every tier in
each team, a few outreach logs (some people overdue, one red-tier concern on the triage queue).
Idempotent: once the register has an entry, it does nothing. All notes are invented."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from carecycle.accounts.models import User
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.permissions import Permission, role_has
from casework.enums import OutreachOutcome, RegisterFlag, Tier
from casework.models import Client, RegisterChange, RegisterEntry
from casework.service import register as service

TIER_CYCLE = [Tier.RED, Tier.ORANGE, Tier.YELLOW, Tier.GREEN]
OTHER_REASONS = ["Recently discharged from hospital", "Housing insecure after eviction notice",
                 "Isolated since moving to the area"]
NOTES = {
    OutreachOutcome.CONTACTED: ["Spoke by phone; sleeping better, daughter visits at weekends.",
                                "Phone call: managing, asked about the community lunch club.",
                                "Called; low mood this week but eating and going out daily."],
    OutreachOutcome.VISITED: ["Home visit: flat tidy, medication in order, neighbour checks in daily.",
                              "Visited with the housing officer; heating repaired."],
    OutreachOutcome.NO_ANSWER: ["No answer at 10:00; will try again tomorrow afternoon.", None],
    OutreachOutcome.DECLINED: ["Politely declined a call this month; says family is around."],
}
CONCERN_NOTE = ("Home visit: has not left the flat for a week according to the neighbour, not eating, "
                "said 'there is no point any more'.")


def _worker(team_id) -> User | None:
    """A social worker of the team if there is one, else any staff member who may manage the register."""
    staff = db.session.scalars(select(User).where(User.team_id == team_id, User.active.is_(True))
                               .order_by(User.username)).all()
    staff = [u for u in staff if role_has(u.role, Permission.REGISTER_MANAGE)]
    staff.sort(key=lambda u: (u.role != "social_worker", u.role == "supervisor", u.username))
    return staff[0] if staff else None


def _backdate(entry: RegisterEntry, days: float) -> None:
    when = utcnow() - timedelta(days=days)
    entry.created_at = entry.updated_at = entry.due_from = when
    for change in db.session.scalars(select(RegisterChange).where(RegisterChange.entry_id == entry.id)):
        change.at = when


def load_register_demo(echo=print) -> None:
    if db.session.scalar(select(RegisterEntry.id).limit(1)) is not None:
        echo("register demo: already loaded")
        return
    clients = db.session.scalars(select(Client).order_by(Client.created_at, Client.id)).all()
    if not clients:
        echo("register demo: no clients yet, nothing to put on the register")
        return
    rng = random.Random(4041)
    by_team: dict = defaultdict(list)
    for client in clients:
        by_team[client.team_id].append(client)
    by_team = {team_id: members[::3] for team_id, members in by_team.items()}  # a third of each team
    flags = [f for f in RegisterFlag if f is not RegisterFlag.OTHER]
    added = logged = 0
    concern_raised = False
    for team_id, team_clients in by_team.items():
        worker = _worker(team_id)
        if worker is None:
            continue
        for index, client in enumerate(team_clients):
            tier = TIER_CYCLE[index % len(TIER_CYCLE)]
            chosen = rng.sample(flags, rng.randint(1, 3))
            other = rng.choice(OTHER_REASONS) if rng.random() < 0.2 else None
            entry = service.add_to_register(worker, client, {
                "tier": tier.value, "flags": [f.value for f in chosen], "flag_other": other,
                "note": "Added after a community outreach session." if index % 2 else None})
            db.session.flush()
            interval_days = service.DEFAULT_OUTREACH_DAYS[tier]
            age = rng.uniform(0.5, 2.5) * interval_days  # some entries are older than an interval: overdue
            _backdate(entry, age)
            added += 1
            # a few outreach attempts between the entry's creation and now
            for _n in range(rng.randint(0, 3)):
                outcome = rng.choice([OutreachOutcome.CONTACTED, OutreachOutcome.CONTACTED, OutreachOutcome.VISITED,
                                      OutreachOutcome.NO_ANSWER, OutreachOutcome.DECLINED])
                when = entry.created_at + timedelta(days=rng.uniform(0, age))
                if entry.last_outreach_at and when <= entry.last_outreach_at:
                    when = entry.last_outreach_at + timedelta(hours=rng.randint(2, 48))
                if when > utcnow():
                    break
                service.log_outreach(worker, entry, outcome.value, rng.choice(NOTES[outcome]), False, at=when)
                logged += 1
            if tier is Tier.RED and not concern_raised:
                service.log_outreach(worker, entry, OutreachOutcome.VISITED.value, CONCERN_NOTE, True,
                                     at=utcnow() - timedelta(hours=3))
                logged += 1
                concern_raised = True
    db.session.commit()
    echo(f"register demo: {added} people on the register, {logged} outreach logs"
         f"{', one red-tier concern on the triage queue' if concern_raised else ''}")


# Signed household emergency plans of the Riverside social worker's red-tier people:
# (who checks, how often, medicines (name, days held), equipment, if phones fail, where to go, key holder)
HOUSEHOLD_PLANS = [
    ("Mrs Lee next door (flat 12B), then our duty team", "twice a day, morning and evening",
     [("Insulin pens", 5), ("Blood-pressure tablets", 28)], "Glucose meter; walking frame",
     "Knock at the door; the caretaker has a radio", "Her daughter's flat in Block 4, else the community hall",
     "The caretaker, and her daughter"),
    ("Her son (calls every evening), then our duty team", "once a day", [("Heart tablets", 12)],
     "Oxygen concentrator: needs power, 4 hours of battery",
     "Ask the neighbour in flat 3A to knock", "The community hall (has a generator)", "Her son"),
]


def load_household_demo(echo=print) -> None:
    """Idempotent: once any household plan exists, it does nothing."""
    from casework.models import HouseholdPlanVersion
    from casework.service import household
    if db.session.scalar(select(HouseholdPlanVersion.id).limit(1)) is not None:
        return
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    if worker is None or worker.team_id is None:
        return
    entries = sorted(db.session.scalars(select(RegisterEntry).where(
        RegisterEntry.team_id == worker.team_id, RegisterEntry.tier == Tier.RED.value,
        RegisterEntry.removed_at.is_(None))), key=lambda e: (e.client.display_name or "").lower())[:2]
    for entry, (checker, often, medicines, equipment, phones, go_to, key) in zip(entries, HOUSEHOLD_PLANS,
                                                                                   strict=False):
        household.save_draft(worker, entry.client, {
            "checker": checker, "check_every": often, "equipment": equipment, "phones_fail": phones,
            "go_to": go_to, "key_holder": key, "medicines": [{"name": n, "days": d} for n, d in medicines]})
        household.sign(worker, entry.client)
    db.session.commit()
    echo(f"casework demo: {len(entries)} signed household emergency plans")


# The plan of the client the demo resident account is linked to, shared with that account.
SHARED_HOUSEHOLD_PLAN = {
    "checker": "My sister Ah Fong, then the team's duty line", "check_every": "every evening by phone",
    "equipment": "Reading glasses; a torch by the bed", "phones_fail": "My sister comes round; the caretaker knows me",
    "go_to": "My sister's flat in Block 2", "key_holder": "My sister",
    "medicines": [{"name": "Sleeping tablets (as prescribed)", "days": 14}]}


def load_shared_household_demo(echo=print) -> None:
    """Idempotent: the demo resident's linked client gets a signed household plan shared with them
    (after the care demo has linked the account), once."""
    from casework.models import Client
    from casework.service import household
    resident = db.session.scalar(select(User).where(User.username == "resident"))
    client = db.session.scalar(select(Client).where(Client.resident_user_id == resident.id)) if resident else None
    if client is None or household.versions(client):
        return
    writer = db.session.scalar(select(User).where(User.username == "socialworker", User.team_id == client.team_id))
    if writer is None:
        return
    household.save_draft(writer, client, SHARED_HOUSEHOLD_PLAN)
    household.sign(writer, client)
    household.share(writer, client)
    db.session.commit()
    echo("casework demo: the resident account has a shared household plan")


GROUP_PLAN = {
    "name": "Riverside day centre", "kind": "other",
    "meeting_point": "The car park behind the centre, else the Riverside Primary School hall",
    "leader": "The centre manager, then our duty social worker",
    "checks": "Each volunteer warden checks their own floor\nThe kitchen staff check the wheelchair users",
    "others": "18"}


def load_group_plan_demo(echo=print) -> None:
    """Idempotent: once any group plan exists, it does nothing. The day centre's plan covers the two
    red-tier people with household plans (supervision's demo names the drill it was practised in)."""
    from casework.models import GroupPlan, HouseholdPlanVersion
    from casework.service import groupplans
    if db.session.scalar(select(GroupPlan.id).limit(1)) is not None:
        return
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    if worker is None or worker.team_id is None:
        return
    plan = groupplans.create(worker, GROUP_PLAN)
    covered = db.session.scalars(select(Client).join(HouseholdPlanVersion, HouseholdPlanVersion.client_id == Client.id)
                                 .join(RegisterEntry, RegisterEntry.client_id == Client.id)
                                 .where(RegisterEntry.tier == Tier.RED.value, Client.team_id == worker.team_id)
                                 .distinct()).all()
    for client in covered:
        groupplans.add_member(worker, plan, client)
    db.session.commit()
    echo(f"casework demo: a group plan covering {len(covered)} clients and {plan.others} others")
