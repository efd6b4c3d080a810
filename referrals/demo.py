"""Referral demo data: a directory of 25 example organisations across the three tiers, three
partner agreements (one expiring within 60 days), reserves of the demo team (one low, one near its
expiry, one held by a partner under its agreement), two volunteer teams with members and
certificates (some expiring), and referrals from the casework
demo cases in every status, overdue ones included. Idempotent: each part checks whether it is
already there. Every organisation is marked as an example; the 555 numbers reach nobody."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from carecycle.accounts.models import Team, User
from carecycle.database import utcnow
from carecycle.extensions import db
from carecycle.localtime import today as local_today
from casework.enums import ConsentScope, Phase
from casework.models import Case
from casework.service.clients import has_consent
from referrals.models import (
    Activation,
    Organisation,
    PartnerAgreement,
    Referral,
    ReserveItem,
    Service,
    Training,
    VolunteerTeam,
)
from referrals.service import activations, agreements, directory, reserves, volunteers
from referrals.service import referrals as referral_service

DEMO_NAMESPACE = uuid.UUID("0b9f7e3a-5a2d-4c41-8f0e-7d6c5b4a3921")

ALWAYS = [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00", "closes_at": "23:59"}]
OFFICE = [{"byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:30"}]
OFFICE_SAT = OFFICE + [{"byday": "SA", "opens_at": "09:00", "closes_at": "13:00"}]
EVENING = [{"byday": "MO,TU,WE,TH,FR", "opens_at": "14:00", "closes_at": "22:00"}]
NIGHT = [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "20:00", "closes_at": "08:00"}]
LATE_NIGHT = [{"byday": "TH,FR,SA", "opens_at": "21:00", "closes_at": "03:00"}]

CHINESE = ["en", "yue", "cmn"]

# (name, tier, description, agreement (start, end) or None, services)
# service: (name, description, types, languages, hours, capacity, public, crisis_line, phone, eligibility)
ORGANISATIONS = [
    ("Example: District Police", 1, "Police emergency response and community liaison for the district.",
     (date(2023, 1, 1), None), [
         ("Police emergency response", "Immediate help when someone is in danger, including welfare checks.",
          ["police", "emergency_services"], CHINESE, ALWAYS, "open", True, False, "555-0199", None),
         ("Community liaison office", "Non-urgent advice, missing-person reports and safety talks.",
          ["police"], CHINESE, OFFICE, "open", False, False, "555-0198", None)]),
    ("Example: Fire and Ambulance Services", 1, "Fire, rescue and emergency ambulance.", (date(2023, 1, 1), None), [
        ("Emergency ambulance and rescue", "Ambulance, fire and rescue for life-threatening emergencies.",
         ["ambulance", "fire_rescue", "emergency_services"], CHINESE, ALWAYS, "open", True, False, "555-0197", None)]),
    ("Example: Riverside General Hospital", 1, "Acute general hospital serving Riverside and Hillside.",
     (date(2024, 4, 1), date(2027, 3, 31)), [
         ("Accident and emergency", "24-hour emergency department, including self-harm and overdose.",
          ["hospital", "emergency_services"], CHINESE, ALWAYS, "limited", True, False, "555-0150", None),
         ("Liaison psychiatry", "Psychiatric assessment for patients in the general hospital.",
          ["mental_health", "hospital"], ["en", "yue"], OFFICE, "limited", False, False, "555-0151", None)]),
    ("Example: Hillside Psychiatric Emergency Unit", 1, "Psychiatric emergency assessment and short admissions.",
     (date(2024, 1, 1), date(2026, 12, 31)), [
         ("Psychiatric emergency assessment", "Same-day assessment of people in acute mental-health crisis.",
          ["psychiatric_emergency", "mental_health"], CHINESE, ALWAYS, "open", False, False, "555-0152",
          "Adults 18 and over; referral by a professional or via the emergency department.")]),
    ("Example: City Mental Health Crisis Line", 1, "A free, confidential crisis line staffed by trained workers.",
     (date(2022, 7, 1), None), [
         ("24-hour crisis line", "Talk to a trained crisis worker now, about anything that feels too much.",
          ["crisis_line", "mental_health"], CHINESE, ALWAYS, "open", True, True, "555-0100", None)]),
    ("Example: Department of Health", 1, "Public health, including community mental-health teams.", None, [
        ("Community mental-health outreach", "Home visits by nurses for people with severe mental illness.",
         ["mental_health"], CHINESE, OFFICE, "full", False, False, "555-0153",
         "Residents with a diagnosed severe mental illness, referred by a doctor or social worker.")]),
    ("Example: Social Welfare Department", 1, "Statutory social services and family crisis support.",
     (date(2023, 6, 1), None), [
         ("Family crisis support line", "Phone support for families in crisis, any time of day or night.",
          ["crisis_line", "counselling"], CHINESE, ALWAYS, "open", True, True, "555-0160", None)]),
    ("Example: Befrienders Emotional Support", 1, "Volunteers who listen, any hour, without judging.", None, [
        ("Emotional support line", "Anonymous listening for anyone feeling low, lonely or suicidal.",
         ["crisis_line"], ["en", "yue"], ALWAYS, "open", True, True, "555-0101", None)]),
    ("Example: Water Supplies Office", 2, "Water supply and emergency repairs.", (date(2024, 1, 1), None), [
        ("Emergency water repairs", "Burst pipes and no water; priority for households with vulnerable people.",
         ["utilities"], CHINESE, ALWAYS, "open", False, False, "555-0210", None)]),
    ("Example: City Power Company", 2, "Electricity supply.", (date(2024, 1, 1), None), [
        ("Medical-equipment priority register", "Priority reconnection for people who rely on powered equipment.",
         ["utilities", "disability"], CHINESE, OFFICE, "open", False, False, "555-0211",
         "Households with home oxygen, dialysis or other powered medical equipment.")]),
    ("Example: Town Gas Company", 2, "Gas supply and leaks.", None, [
        ("Gas leak emergency", "Report a gas smell or leak at any time.", ["utilities", "emergency_services"],
         CHINESE, ALWAYS, "open", True, False, "555-0212", None)]),
    ("Example: Metro and Bus Operator", 2, "Public transport.", None, [
        ("Accessible transport booking", "Door-to-door minibus for people who cannot use buses or trains.",
         ["transport", "disability", "elderly"], CHINESE, OFFICE_SAT, "limited", False, False, "555-0213",
         "Wheelchair users and people with mobility problems; booking 2 days ahead.")]),
    ("Example: Telecom Co-operative", 2, "Phone and internet.", None, [
        ("Hardship phone top-up", "Free phone credit and data for people in crisis who cannot pay.",
         ["telecoms", "financial"], CHINESE, OFFICE, "open", False, False, "555-0214", None)]),
    ("Example: Housing Authority", 2, "Public housing.", (date(2023, 9, 1), date(2026, 8, 31)), [
        ("Emergency rehousing", "Temporary housing after fire, flood or eviction.", ["housing"], CHINESE, OFFICE,
         "limited", False, False, "555-0215", None)]),
    ("Example: Night Shelter Network", 2, "Emergency night shelters.", None, [
        ("Night shelter", "A bed, a shower and a meal for the night, no questions asked.", ["housing", "food"],
         CHINESE, NIGHT, "full", True, False, "555-0216", "Adults without a safe place to sleep tonight.")]),
    ("Example: Riverside Neighbourhood Centre", 3, "Community centre for older people and families.",
     (date(2024, 1, 1), date(2026, 12, 31)), [
         ("Elderly home visiting", "Volunteers visit older people living alone every week.",
          ["elderly", "community_group"], CHINESE, OFFICE, "open", True, False, "555-0310",
          "Residents aged 60 and over."),
         ("Drop-in café", "Somewhere warm to sit, talk and have tea.", ["community_group"], CHINESE, OFFICE_SAT,
          "open", True, False, "555-0311", None)]),
    ("Example: Hillside Family Services", 3, "Counselling for families and couples.", (date(2024, 3, 1), None), [
        ("Family counselling", "Counselling for families under strain, in Cantonese, Mandarin and English.",
         ["counselling"], CHINESE, EVENING, "limited", True, False, "555-0320", None)]),
    ("Example: Food Bank Alliance", 3, "Emergency food for households in need.", None, [
        ("Food parcels", "Food for a week, delivered to people who cannot leave home.", ["food"], CHINESE,
         OFFICE, "open", True, False, "555-0330", None)]),
    ("Example: Bereavement Care Society", 3, "Support after the death of someone close.", None, [
        ("Bereavement support groups", "Weekly groups and one-to-one support for bereaved families.",
         ["bereavement", "counselling"], ["en", "yue"], EVENING, "open", True, False, "555-0340", None)]),
    ("Example: Carers' Network", 3, "Support for unpaid carers.", None, [
        ("Carer respite and support", "Short breaks and a carers' group.", ["carers"], CHINESE, OFFICE, "full",
         False, False, "555-0350", "People caring for a family member at home.")]),
    ("Example: Youth Outreach Team", 3, "Street and online outreach for young people.", (date(2024, 9, 1), None), [
        ("Late-night youth outreach", "Youth workers on the street and online on weekend nights.", ["youth"],
         ["en", "yue"], LATE_NIGHT, "open", True, False, "555-0360", "Young people aged 12 to 24.")]),
    ("Example: Community Legal Aid Clinic", 3, "Free legal advice.", None, [
        ("Free legal advice", "Advice on housing, debt and family law.", ["legal"], ["en", "yue"], OFFICE,
         "limited", False, False, "555-0370", None)]),
    ("Example: Ethnic Minorities Support Centre", 3, "Support and interpretation for ethnic-minority residents.",
     (date(2024, 5, 1), None), [
         ("Interpretation and support", "Help in your language with forms, appointments and services.",
          ["community_group"], ["en", "ur", "hi", "ne", "tl", "id"], OFFICE_SAT, "open", True, False, "555-0380",
          None)]),
    ("Example: Riverside Crisis Response Volunteers", 3, "Trained resident volunteers for emergencies.",
     (date(2024, 1, 1), None), [
         ("Volunteer crisis support", "Trained volunteers who support evacuation, visits and check-ins.",
          ["volunteers"], CHINESE, OFFICE, "open", False, False, "555-0390", None)]),
    ("Example: Job Restart Project", 3, "Help back into work after illness or job loss.", None, [
        ("Back-to-work coaching", "Coaching, CV help and job matching.", ["employment"], ["en", "yue"], OFFICE,
         "open", False, False, "555-0395", None)]),
]


def _id(*parts) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, ":".join(parts))


def load_demo(echo=print) -> None:
    _load_directory(echo)
    _load_agreements(echo)
    _load_reserves(echo)
    _load_volunteers(echo)
    _load_referrals(echo)


def _load_directory(echo) -> None:
    first = _id("org", ORGANISATIONS[0][0])
    if db.session.get(Organisation, first) is not None:
        echo("referrals demo: directory already loaded")
        return
    services = 0
    for name, tier, description, agreement, service_rows in ORGANISATIONS:
        org = directory.create_organisation(None, {
            "name": name, "tier": str(tier), "description": description, "is_example": True,
            "phone": service_rows[0][8], "website": "https://example.org/",
            "has_agreement": agreement is not None,
            "agreement_start": agreement[0] if agreement else None,
            "agreement_end": agreement[1] if agreement else None,
            "agreement_note": "Standing cooperation agreement (example)." if agreement else None,
        }, org_id=_id("org", name))
        location = directory.save_location(None, org, {
            "name": "Main office", "address_1": f"{10 + tier * 7} Example Road", "city": "Riverside",
            "country": "HK"})
        for (sname, sdescription, types, languages, hours, capacity, public, crisis_line, phone,
             eligibility) in service_rows:
            directory.create_service(None, org, {
                "name": sname, "description": sdescription, "types": types, "languages": languages,
                "schedules": hours, "capacity": capacity, "public": public, "crisis_line": crisis_line,
                "phones": [{"number": phone, "type": "voice"}], "eligibility": eligibility,
                "service_area": "Riverside and Hillside districts", "status": "active",
                "location_ids": [str(location.id)],
            }, service_id=_id("service", name, sname))
            services += 1
    db.session.commit()
    echo(f"referrals demo: {len(ORGANISATIONS)} example organisations and {services} services created")


# (organisation, title, days since it started, days until it ends, days until its review (negative: due),
#  commitments (side, quantity, unit, what), contacts (name, phone, role))
AGREEMENTS = [
    ("Example: Social Welfare Department", "Memorandum of cooperation: emergency shelter and meals", 300, 400, 120,
     [("partner", 10, "beds", "emergency shelter"), ("partner", 200, "hot meals a day", "evacuated residents"),
      ("service", 40, "counselling hours a week", "psychological first aid and counselling")],
     [("Example: Ms Chan Mei Ling", "555-0161", "Duty officer, emergency relief"),
      ("Example: Mr Lee Ka Fai", "555-0162", "District social welfare officer")]),
    ("Example: Riverside Crisis Response Volunteers", "Transport and evacuation support", 330, 35, -5,
     [("partner", 2, "vans with drivers", "transport"), ("service", 1, "duty counsellor", "on-site support")],
     [("Example: Mr Wong Tak Wing", "555-0391", "Volunteer coordinator")]),
    ("Example: Riverside General Hospital", "Liaison psychiatry in major incidents", 100, 700, 300,
     [("partner", 1, "liaison psychiatrist on call", "psychiatric assessment"),
      ("service", 4, "counsellors on site", "support for families at the emergency department")],
     [("Example: Dr Ho Siu Ming", "555-0154", "Consultant, liaison psychiatry")]),
]


def _load_agreements(echo) -> None:
    if db.session.get(PartnerAgreement, _id("agreement", AGREEMENTS[0][1])) is not None:
        echo("referrals demo: partner agreements already loaded")
        return
    today = local_today()
    created = 0
    for org_name, title, since, until, review, commitments, contacts in AGREEMENTS:
        org = db.session.get(Organisation, _id("org", org_name))
        if org is None:
            continue
        agreements.create_agreement(None, org, {
            "title": title, "valid_from": today - timedelta(days=since), "valid_to": today + timedelta(days=until),
            "review_on": today + timedelta(days=review), "document_reference": f"EX-MOC-{created + 1:03d}",
            "commitments": [{"side": side, "quantity": quantity, "unit": unit, "what": what}
                            for side, quantity, unit, what in commitments],
            "contacts": [{"name": name, "phone": phone, "role": role} for name, phone, role in contacts],
        }, agreement_id=_id("agreement", title))
        created += 1
    db.session.commit()
    echo(f"referrals demo: {created} partner agreements created")


# (level, kind, name, unit, opening stock, low at, expires in days or None, where, partner's agreement,
#  stock drawn since)
RESERVES = [
    ("service", "water", "Bottled water 1.5 l", "bottles", 240, 60, 400, "Store room B", None, 0),
    ("service", "food", "Emergency food packs", "packs", 80, 20, 21, "Store room B", None, 10),
    ("service", "medicine", "First-aid kits", "kits", 12, 4, 700, "Duty office", None, 9),
    ("service", "equipment", "Camp beds", "beds", 15, None, None, "Community hall basement", None, 0),
    ("community", "shelter", "Emergency shelter beds", "beds", 10, 2, None, "Partner's hostel",
     "Memorandum of cooperation: emergency shelter and meals", 0),
    ("community", "transport", "Vans with drivers", "vans", 2, None, None, None, "Transport and evacuation support", 0),
]


# what two red-tier people on the register hold at home, as counted at outreach:
# (kind, name, unit, opening stock, low at, expires in days, where, found at the last count or None)
HOUSEHOLD_RESERVES = [
    ("medicine", "Blood-pressure tablets", "tablets", 28, 7, 120, "Kitchen drawer", 6),
    ("water", "Bottled water 1.5 l", "bottles", 12, 6, 300, "Under the stairs", None),
    ("medicine", "Insulin pens", "pens", 5, 2, 25, "Fridge door", None),
]


def _load_household_reserves(worker, echo) -> None:
    if db.session.get(ReserveItem, _id("reserve", "household 0")) is not None:
        return
    entries = sorted((e for e in reserves.household_choices(worker) if e.tier == "red"),
                     key=lambda e: (e.client.display_name or "").lower())[:2]
    if not entries:
        echo("referrals demo: no red-tier person on the social worker's register, household reserves skipped")
        return
    today = local_today()
    for n, (kind, name, unit, stock, low_at, expires, where, counted) in enumerate(HOUSEHOLD_RESERVES):
        item = reserves.create_item(worker, {
            "level": "household", "kind": kind, "name": name, "unit": unit, "quantity": stock, "low_at": low_at,
            "expires_on": today + timedelta(days=expires), "location": where,
            "register_entry_id": str(entries[n % len(entries)].id)}, item_id=_id("reserve", f"household {n}"))
        if counted is not None:
            reserves.record_movement(worker, item, {"kind": "counted", "quantity": counted,
                                                    "note": "Counted at the home visit"})
    db.session.commit()
    echo(f"referrals demo: {len(HOUSEHOLD_RESERVES)} household reserves created")


def _load_reserves(echo) -> None:
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    if worker is None or worker.team_id is None:
        echo("referrals demo: no demo social worker on a team, reserves skipped")
        return
    _load_household_reserves(worker, echo)
    if db.session.get(ReserveItem, _id("reserve", RESERVES[0][2])) is not None:
        echo("referrals demo: reserves already loaded")
        return
    today = local_today()
    created = 0
    for level, kind, name, unit, stock, low_at, expires, where, agreement_title, drawn in RESERVES:
        agreement = db.session.get(PartnerAgreement, _id("agreement", agreement_title)) if agreement_title else None
        if level == "community" and agreement is None:
            continue
        item = reserves.create_item(worker, {
            "level": level, "kind": kind, "name": name, "unit": unit, "quantity": stock, "low_at": low_at,
            "expires_on": today + timedelta(days=expires) if expires else None, "location": where,
            "organization_id": str(agreement.organisation_id) if agreement else None,
            "agreement_id": str(agreement.id) if agreement else None}, item_id=_id("reserve", name))
        if drawn:
            reserves.record_movement(worker, item, {"kind": "drawn", "quantity": drawn, "note": "Example draw"})
        created += 1
    db.session.commit()
    echo(f"referrals demo: {created} reserves created")


# The calls of a past emergency night: (agreement, commitment, whom, promised, hours after the switch,
#  outcome, how many arrived, note)
ACTIVATIONS = [
    ("Memorandum of cooperation: emergency shelter and meals", 0, "Example: Ms Chan Mei Ling, duty officer", 10, 3,
     "arrived", None, "Opened at the community hall at 22:00."),
    ("Memorandum of cooperation: emergency shelter and meals", 1, "Example: Ms Chan Mei Ling, duty officer", 200, 4,
     "partly", 120, "Their kitchen flooded: 120 meals the first night."),
    ("Transport and evacuation support", 0, "Example: Mr Wong Tak Wing, volunteer coordinator", 2, 5,
     "not_arrived", None, "Hill Road closed: the vans could not get through."),
]


def load_activations_demo(period_start, echo) -> None:
    """Called by the supervision demo while it replays a past emergency (its period is the current one):
    the Riverside social worker's calls of that night, their outcomes, and camp beds drawn from the store."""
    worker = db.session.scalar(select(User).where(User.username == "socialworker"))
    if worker is None or worker.team_id is None or db.session.scalar(select(Activation.id).limit(1)) is not None:
        return
    made = 0
    for title, index, contact, promised, hours, status, arrived, note in ACTIVATIONS:
        if db.session.get(PartnerAgreement, _id("agreement", title)) is None:
            continue
        row = activations.record_call(worker, {"agreement_id": str(_id("agreement", title)), "commitment": index,
                                               "contact": contact, "promised": promised})
        activations.record_outcome(worker, row, {"status": status, "arrived": arrived, "note": note})
        row.called_at = period_start + timedelta(hours=hours)
        row.outcome_at = row.called_at + timedelta(hours=2)
        made += 1
    beds = db.session.get(ReserveItem, _id("reserve", "Camp beds"))
    if beds is not None and beds.quantity >= 6:
        movement = reserves.record_movement(worker, beds, {"kind": "drawn", "quantity": 6,
                                                           "note": "To the community hall shelter"})
        movement.at = period_start + timedelta(hours=6)
    db.session.flush()
    echo(f"referrals demo: {made} activations of partner agreements in the past emergency")


TRAININGS = [
    ("Psychological first aid", 24, "crisis_response,community_care,medical_reserve"),
    ("First aid and CPR", 36, "crisis_response,medical_reserve"),
    ("Crisis response drill", 12, "crisis_response"),
    ("Safeguarding vulnerable adults", 36, "community_care"),
]

# (name, phone, role, skills, certificates: (training, days ago issued, days left; None = from validity))
TEAMS = [
    ("Riverside Crisis Response Team", "crisis_response", "Riverside", "Riverside Neighbourhood Centre, hall B", [
        ("Ho Wing Sze", "5550 1001", "leader", "Retired nurse; first-aid instructor",
         [("Psychological first aid", 200, None), ("First aid and CPR", 300, None),
          ("Crisis response drill", 60, None)]),
        ("Daniel Chow", "5550 1002", "deputy", "Teacher; speaks Mandarin",
         [("Psychological first aid", 690, 40), ("First aid and CPR", 400, None),
          ("Crisis response drill", 100, None)]),
        ("Priya Sharma", "5550 1003", "member", "Office worker; speaks Hindi and Urdu",
         [("Psychological first aid", 100, None), ("First aid and CPR", 1050, 45), ("Crisis response drill", 330, 35)]),
        ("Leung Ka Ho", "5550 1004", "member", "Retired fire officer",
         [("Psychological first aid", 800, -70), ("First aid and CPR", 500, None)]),
        ("Maria Santos", "5550 1005", "member", "Domestic helper; speaks Tagalog",
         [("Psychological first aid", 30, None), ("First aid and CPR", 30, None), ("Crisis response drill", 30, None)]),
        ("Tse Yuk Lan", "5550 1006", "member", "Retired social worker", []),
    ]),
    ("Hillside Community Care Team", "community_care", "Hillside", "Hillside Family Services, ground floor", [
        ("Chan Siu Fong", "5550 2001", "leader", "Retired teacher",
         [("Psychological first aid", 150, None), ("Safeguarding vulnerable adults", 200, None)]),
        ("Ahmed Khan", "5550 2002", "member", "Shop owner; speaks Urdu",
         [("Psychological first aid", 700, 25), ("Safeguarding vulnerable adults", 1000, 50)]),
        ("Wong Mei Kuen", "5550 2003", "member", "Church volunteer",
         [("Psychological first aid", 90, None)]),
        ("Grace Lim", "5550 2004", "member", "Nurse (part-time)",
         [("Psychological first aid", 60, None), ("Safeguarding vulnerable adults", 60, None),
          ("First aid and CPR", 60, None)]),
        ("Lau Chi Wai", "5550 2005", "deputy", "Retired civil servant",
         [("Psychological first aid", 400, None), ("Safeguarding vulnerable adults", 1090, 5)]),
    ]),
]


def _load_volunteers(echo) -> None:
    if db.session.scalar(select(VolunteerTeam.id).where(VolunteerTeam.name == TEAMS[0][0])):
        echo("referrals demo: volunteer teams already loaded")
        return
    trainings = {}
    for name, months, kinds in TRAININGS:
        trainings[name] = db.session.scalar(select(Training).where(Training.name == name)) or \
            volunteers.save_training(None, {"name": name, "validity_months": months, "required_for": kinds})
    staff_teams = {t.name: t for t in db.session.scalars(select(Team))}
    today = local_today()
    members = 0
    for name, kind, staff_team, meeting_point, people in TEAMS:
        team = volunteers.save_team(None, {"name": name, "kind": kind, "meeting_point": meeting_point,
                                           "team_id": str(staff_teams[staff_team].id) if staff_team in staff_teams
                                           else None,
                                           "description": "Example team of trained resident volunteers."})
        for index, (full_name, phone, role, skills, certificates) in enumerate(people):
            member = volunteers.save_member(None, team, {
                "full_name": full_name, "phone": phone, "role": role, "skills": skills,
                "joined_on": (today - timedelta(days=400 + index * 30)).isoformat(), "active": True})
            members += 1
            for training_name, issued_ago, days_left in certificates:
                issued = today - timedelta(days=issued_ago)
                data = {"training_id": str(trainings[training_name].id), "issued_on": issued.isoformat(),
                        "reference": f"EX-{1000 + members * 10 + len(member.certificates)}"}
                if days_left is not None:
                    data["expires_on"] = (today + timedelta(days=days_left)).isoformat()
                volunteers.add_certificate(None, member, data)
    db.session.commit()
    echo(f"referrals demo: {len(TEAMS)} volunteer teams with {members} members created")


def _load_referrals(echo) -> None:
    if db.session.scalar(select(func.count()).select_from(Referral)):
        echo("referrals demo: referrals already there")
        return
    counsellor = db.session.scalar(select(User).where(User.username == "counsellor"))
    if counsellor is None:
        echo("referrals demo: no demo counsellor; referrals skipped")
        return
    cases = db.session.scalars(select(Case).where(Case.assigned_counsellor_id == counsellor.id,
                                                  Case.phase != Phase.CLOSED.value).order_by(Case.opened_at)).all()
    consenting = [c for c in cases if has_consent(c.client, ConsentScope.REFERRAL_SHARING)]
    team_cases = db.session.scalars(select(Case).where(Case.team_id == counsellor.team_id,
                                                       Case.assigned_counsellor_id.is_not(None),
                                                       Case.phase != Phase.CLOSED.value)
                                    .order_by(Case.opened_at)).all()
    without = [c for c in team_cases if not has_consent(c.client, ConsentScope.REFERRAL_SHARING)
               and c.risk_level in ("high", "imminent")]
    if not consenting:
        echo("referrals demo: no casework demo cases with consent; referrals skipped (load casework demo first)")
        return

    def goal_of(case: Case):
        goals = referral_service.goal_choices(case)
        return str(goals[0].id) if goals else None

    def service(org_name: str, service_name: str) -> Service:
        return db.session.get(Service, _id("service", org_name, service_name))

    plan = [
        # (service, status path, minutes since sending, urgency, reason)
        (("Example: Hillside Family Services", "Family counselling"), [], None, "routine",
         "Family under strain after the father's job loss; asks for couple counselling."),
        (("Example: Food Bank Alliance", "Food parcels"), ["sent"], 30, "urgent",
         "No food at home since the weekend; cannot leave the flat."),
        (("Example: Housing Authority", "Emergency rehousing"), ["sent"], 60 * 30, "urgent",
         "Eviction notice for the end of the month; lives alone and is very anxious about it."),
        (("Example: Riverside General Hospital", "Liaison psychiatry"), ["sent"], 60 * 3, "urgent",
         "Needs a psychiatric review of medication; has not slept for a week."),
        (("Example: Bereavement Care Society", "Bereavement support groups"), ["sent", "acknowledged"], 60 * 48,
         "routine", "Lost her husband in the floods; would like to join a group in Cantonese."),
        (("Example: Riverside Neighbourhood Centre", "Elderly home visiting"), ["sent", "acknowledged", "accepted"],
         60 * 72, "routine", "Lives alone, 82, rarely goes out; weekly visits would help."),
        (("Example: Carers' Network", "Carer respite and support"), ["sent", "acknowledged", "declined"], 60 * 96,
         "routine", "Cares for her mother with dementia and is exhausted."),
        (("Example: Job Restart Project", "Back-to-work coaching"),
         ["sent", "acknowledged", "accepted", "in_service"], 60 * 24 * 10, "routine",
         "Ready to look for work again after three months of recovery."),
        (("Example: Community Legal Aid Clinic", "Free legal advice"),
         ["sent", "acknowledged", "accepted", "in_service", "completed"], 60 * 24 * 20, "routine",
         "Debt letters he does not understand; needs advice on a repayment plan."),
        (("Example: Telecom Co-operative", "Hardship phone top-up"), ["sent", "closed:withdrawn"], 60 * 24 * 3,
         "routine", "Phone cut off; needs credit to stay in contact with us."),
        (("Example: Metro and Bus Operator", "Accessible transport booking"), ["sent", "closed:expired"],
         60 * 24 * 8, "routine", "Needs transport to weekly hospital appointments."),
    ]
    notes = {"declined": "Our carers' group is full until next quarter; we suggest the Neighbourhood Centre.",
             "completed": "Advice given twice; repayment plan agreed with the creditor.",
             "closed": "No longer needed."}
    made = 0
    now = utcnow()
    for index, ((org_name, service_name), path, minutes_ago, urgency, reason) in enumerate(plan):
        case = consenting[index % len(consenting)]
        svc = service(org_name, service_name)
        if svc is None:
            continue
        referral = referral_service.create_referral(counsellor, case, {
            "service_id": str(svc.id), "urgency": urgency, "reason": reason,
            "goal_id": goal_of(case), "share": ["preferred_name", "phone", "preferred_language"]})
        for step in path:
            status, _sep, close_reason = step.partition(":")
            if status == "sent":
                referral_service.send(counsellor, referral)
                sent_at = now - timedelta(minutes=minutes_ago)
                referral.sent_at = sent_at
                referral.respond_by = referral_service.response_deadline(referral.tier, sent_at)
                referral.created_at = sent_at - timedelta(minutes=20)
            else:
                referral_service.change_status(counsellor, referral, status, note=notes.get(status),
                                               close_reason=close_reason or None)
        made += 1
    if without:
        case = without[0]
        worker = db.session.get(User, case.assigned_counsellor_id)
        svc = service("Example: Hillside Psychiatric Emergency Unit", "Psychiatric emergency assessment")
        referral = referral_service.create_referral(worker, case, {
            "service_id": str(svc.id), "urgency": "emergency",
            "reason": "Acute suicidal crisis tonight; needs same-day psychiatric assessment.",
            "share": ["full_name", "date_of_birth", "phone", "address", "risk_level"]})
        referral_service.send(worker, referral, override_reason=(
            "Client in acute crisis, cannot give consent now; assessment cannot wait until tomorrow."))
        made += 1
    db.session.commit()
    echo(f"referrals demo: {made} referrals created in every status (two overdue, one consent override)")
