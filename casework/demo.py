"""Casework demo data: about 40 clients across both demo teams, cases in every phase and risk
level, a few walk-in and hotline alerts. Idempotent: a second run finds the first client and stops.
All names, phones and addresses are invented."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from carecycle.accounts.models import Team, User
from carecycle.alerts import raise_alert
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.messages import words
from casework.models import Client
from casework.service import cases as case_service
from casework.service import clients as client_service
from casework.service import phases

FIRST = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Leung", "Tam", "Yip", "Lam", "Choi", "Fung", "Kwok",
         "Mak", "Tsang", "Siu", "Poon", "Yuen", "Ma"]
GIVEN = ["Mei Ling", "Ka Wai", "Siu Ming", "Wing Yan", "Chi Keung", "Hoi Yan", "Tak Wah", "Suk Fan", "Man Kit",
         "Pui Shan", "Kwok Leung", "Yee Man", "Ho Yin", "Lai Kuen", "Chun Hei", "Wai Ling", "Tsz Ching", "Kin Fai",
         "Sau Ying", "Hiu Tung"]
STREETS = ["Riverside Road", "Hill Street", "Harbour View Lane", "Market Street", "Garden Terrace", "Station Road"]
HOUSEHOLDS = ["Lives alone", "Lives with spouse and two children", "Lives with elderly mother (carer)",
              "Lives with partner", "Shares a flat with two friends", "Lives with adult son"]
# (phase, risk) spread so every page has something real to show
PLAN = [("intake", "low"), ("crisis", "high"), ("crisis", "imminent"), ("crisis", "moderate"),
        ("recovery", "low"), ("recovery", "moderate"), ("closed", "none"), ("intake", "none"),
        ("recovery", "low"), ("crisis", "moderate")]

EXTRA_LOADERS: list = []  # other casework demo parts (notes, plans, recovery) add themselves here


def _staff(team: Team, username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username, User.team_id == team.id))


def load_demo(echo=print) -> None:
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    if "Riverside" not in teams or "Hillside" not in teams:
        echo("casework demo: demo teams missing; run the shell demo first")
        return
    first_name = f"{FIRST[0]} {GIVEN[0]}"
    probe = Client.full_name.index_for(first_name)
    if db.session.scalar(select(Client.id).where(Client.name_index == probe)):
        echo("casework demo: already loaded")
    else:
        _load_clients(teams, echo)
    from casework.demo_register import (
        load_group_plan_demo,
        load_household_demo,
        load_register_demo,
        load_shared_household_demo,
    )
    load_register_demo(echo)
    load_household_demo(echo)
    load_group_plan_demo(echo)
    for loader in EXTRA_LOADERS:
        loader(echo)
    load_shared_household_demo(echo)  # after the care demo links the resident's account


def _load_clients(teams, echo) -> None:
    rng = random.Random(2026)
    staff = {
        "Riverside": (["counsellor", "counsellor2"], "socialworker"),
        "Hillside": (["counsellor_h"], None),
    }
    made = 0
    for index in range(40):
        team_name = "Riverside" if index % 3 != 2 else "Hillside"
        team = teams[team_name]
        counsellors, social = staff[team_name]
        counsellor = _staff(team, counsellors[index % len(counsellors)])
        social_worker = _staff(team, social) if social else None
        if counsellor is None:
            continue
        name = f"{FIRST[index % 20]} {GIVEN[(index * 7) % 20]}"
        client = client_service.register_client(counsellor, {
            "full_name": name,
            "preferred_name": GIVEN[(index * 7) % 20].split()[0],
            "date_of_birth": f"{1940 + rng.randint(0, 65)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "sex": rng.choice(["female", "male"]),
            "phone": f"5{index:03d} {rng.randint(1000, 9999)}",
            "address": f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Flat {rng.randint(1, 30)}{rng.choice('ABCD')}",
            "preferred_language": rng.choice(["zh_Hant", "zh_Hant", "en"]),
            "household": rng.choice(HOUSEHOLDS),
            "emergency_contact": f"{rng.choice(['Sister', 'Son', 'Neighbour', 'Friend'])}, 6{rng.randint(100, 999)} "
                                 f"{rng.randint(1000, 9999)}",
        }, confirm_duplicate=True)
        client_service.record_consent(counsellor, client, "contact")
        client_service.record_consent(counsellor, client, "data_processing")
        if index % 2 == 0:
            client_service.record_consent(counsellor, client, "referral_sharing")
        if index >= 30:
            made += 1
            continue  # registered, no case yet
        phase, risk = PLAN[index % len(PLAN)]
        case = case_service.open_case(counsellor, client, risk_level=risk,
                                      source=rng.choice(["walk_in", "hotline", "screening", "inbound_referral"]))
        case.opened_at = utcnow() - timedelta(days=rng.randint(2, 90))
        if social_worker is not None and index % 2 == 0:
            case.assigned_social_worker_id = social_worker.id
        db.session.flush()
        if phase == "recovery":
            case.phase = "recovery"
        elif phase == "closed":
            phases.request_closure(counsellor, case, case.version, "Goals reached; client back at work and "
                                   "sleeping well. Knows how to reach us.", "goals_achieved")
        elif phase == "intake":
            case.phase = "intake"
        made += 1
    for team_name, kind, urgency, summary in [
        ("Riverside", "walk_in", "crisis", "Walk-in at the centre, very distressed after eviction notice."),
        ("Riverside", "hotline", "urgent", "Caller worried about her elderly father who stopped eating."),
        ("Hillside", "hotline", "crisis", "Caller says he cannot go on; gave first name only."),
        ("Hillside", "walk_in", "contact_request", "Asked for someone to call back about sleep problems."),
    ]:
        raise_alert(kind, urgency, team_id=teams[team_name].id, summary=words(summary))  # what a duty worker typed
    db.session.commit()
    echo(f"casework demo: {made} clients, their cases and 4 alerts created")


def register(app) -> None:
    from carecycle.demo import register_loader
    register_loader(app, load_demo)


from casework import demo_care  # noqa: E402,F401  (notes, assessments and safety plans add their loader)
