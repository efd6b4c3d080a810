"""The journeys of each person, through the pages only, in Chromium: on every page visited axe-core
finds no critical or serious violation, nothing scrolls sideways at 390 px, no console error and no
CSP violation (tests.browser.conftest.Walk). Screenshots of each step go to tests/artifacts/.

- anonymous resident: a library article, the PHQ-9 with item 9 positive (the crisis box before the
  score), asks to be called back;
- counsellor: claims that alert, turns it into a crisis case, records a C-SSRS assessment, signs a
  safety plan and shares it with a link code, signs a note and adds an addendum, sets the next contact;
- resident: links the account with the code and sees the shared safety plan;
- social worker: adds someone to the register, logs outreach, a care plan with goals, a referral
  with consent that the partner completes through the partner link;
- supervisor: emergency mode on and off through the page, a closure approved, a case reassigned,
  the statistics;
- administrator: a team and a user created; a case's address is refused."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from carecycle.alerts import Alert
from casework.models import Case, ContactNote
from tests.browser.conftest import Walk, answer_phq9_with_item9_positive, ask_to_be_called, sign_in_page
from tests.test_library import published_article

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def test_a_resident_in_crisis_is_called_back_and_gets_a_safety_plan(live_server, open_page, db, make_user,
                                                                     make_crisis_resource):
    make_crisis_resource(name="Night Line", phone="555-0199", hours="24 hours, every day")
    published_article(db, title="Sleep after a shock", topics=["self_care"], tags=[("phq9", "minimal")])
    counsellor = make_user("counsellor", display_name="Chan Counsellor").username
    resident = make_user("resident", display_name="Ann Resident").username
    db.session.remove()

    # ---- anonymous resident
    page, problems = open_page()
    walk = Walk(page, problems, "resident-anonymous")
    page.goto(live_server + "/")
    walk.check("home")
    page.get_by_role("link", name="Read and learn").click()
    walk.check("library")
    page.get_by_role("link", name="Sleep after a shock").click()
    walk.check("article")
    page.get_by_role("link", name="Self-screening").first.click()
    walk.check("screening-list")
    page.get_by_role("link", name="Depression check (PHQ-9)").click()
    answer_phq9_with_item9_positive(page)
    walk.check("phq9")
    page.get_by_role("button", name="See my result").click()
    crisis, score = page.locator("section.crisis"), page.get_by_text("Score: 1 out of 27")
    assert crisis.bounding_box()["y"] + crisis.bounding_box()["height"] <= score.bounding_box()["y"]
    walk.check("crisis-result")
    ask_to_be_called(crisis, page)
    walk.check("called-back")
    walk.done()

    # ---- counsellor
    page, problems = open_page()
    walk = Walk(page, problems, "counsellor")
    sign_in_page(page, live_server, counsellor)
    walk.check("my-day")
    walk.menu("Triage", "Triage queue")
    walk.check("triage")
    page.locator("table.triage tbody tr").first.get_by_role("button", name="Claim").click()
    walk.check("claimed")
    page.get_by_role("link", name="Turn into a crisis case").click()
    new_client = page.get_by_role("group", name="Client")
    assert new_client.get_by_label("Full name").input_value() == "Ann"  # from the call-back request
    new_client.get_by_label("Full name").fill("Ann Lee")
    page.get_by_label("Risk level").select_option("high")
    walk.check("convert")
    page.get_by_role("button", name="Open the crisis case").click()
    assert "/cases/" in page.url
    case_url = page.url
    walk.check("case")

    page.get_by_role("link", name="New risk assessment").click()
    for number, answer in ((1, "Yes"), (2, "Yes"), (3, "No"), (4, "No"), (5, "No"), (6, "No")):
        page.get_by_role("group", name=f"{number}.", exact=False).get_by_label(answer, exact=True).check()
    page.get_by_label("Risk level", exact=True).select_option("high")
    page.get_by_label("Rationale for this risk level").fill("Wishes to be dead, thoughts of killing herself; no plan.")
    walk.check("assessment")
    page.get_by_role("button", name="Save assessment").click()
    walk.check("assessment-saved")

    page.goto(case_url)
    page.get_by_role("link", name="Write a safety plan").click()
    page.get_by_label("My warning signs").fill("Not sleeping; stopping to eat.")
    page.get_by_label("Professionals and crisis services").fill("Night Line 555-0199, 24 hours.")
    walk.check("safety-plan")
    page.get_by_role("button", name="Save and sign").click()
    walk.check("safety-plan-signed")
    page.get_by_role("button", name="Make a link code for the client").click()
    code = CODE_RE.search(page.inner_text("main")).group(0)
    walk.check("link-code")

    page.goto(case_url)
    page.locator("section.case-notes summary", has_text="Write a contact note").click()
    page.get_by_label("Duration in minutes").fill("25")
    page.get_by_label("Note", exact=True).fill("Called back; agreed the safety plan together.")
    page.get_by_role("button", name="Save and sign").click()
    walk.check("note-signed")
    page.get_by_label("Addendum").fill("She asked for a call tomorrow evening.")
    page.get_by_role("button", name="Sign and add the addendum").click()
    walk.check("addendum")

    page.goto(case_url)
    page.get_by_label("Next contact on").fill((date.today() + timedelta(days=2)).isoformat())
    page.get_by_label("At", exact=True).fill("18:30")
    page.get_by_role("button", name="Schedule next contact").click()
    assert page.get_by_text("Next contact scheduled.").is_visible()
    walk.check("next-contact")
    counsellor_page, counsellor_walk = page, walk

    db.session.remove()
    case = db.session.scalar(select(Case))
    assert case.risk_level == "high" and case.client.full_name == "Ann Lee"
    assert db.session.scalar(select(Alert.state)) == "converted"
    notes = db.session.scalars(select(ContactNote).where(ContactNote.case_id == case.id)).all()
    assert len(notes) == 2 and all(n.signed_at is not None for n in notes)  # the note and its addendum
    db.session.remove()

    # ---- the resident links the account and reads the plan
    page, problems = open_page()
    walk = Walk(page, problems, "resident")
    sign_in_page(page, live_server, resident)
    page.locator("header.site nav.wide").get_by_role("link", name="My safety plan").click()
    walk.check("not-linked")
    page.get_by_role("link", name="Link my account with a code").click()
    page.get_by_label("Code from your counsellor").fill(code)
    walk.check("link")
    page.get_by_role("button", name="Link my account").click()
    walk.check("linked")
    resident_page = page

    # ---- the counsellor shares the signed plan with the linked account; the resident reads it
    page, walk = counsellor_page, counsellor_walk
    page.goto(case_url + "/safety-plan")
    page.get_by_role("button", name="Share version 1 with the client").click()
    walk.check("shared")
    walk.done()
    page, walk = resident_page, Walk(resident_page, problems, "resident-plan")
    page.reload()
    assert page.get_by_text("Not sleeping; stopping to eat.").is_visible()
    walk.check("my-safety-plan")
    walk.done()


def test_a_social_worker_registers_reaches_out_plans_and_refers(live_server, open_page, db, make_user, make_client,
                                                                  make_case, make_org, make_service):
    """Social worker: adds someone to the register, logs an outreach from the register's row action,
    writes a care plan with goals, records consent and refers to a partner; the partner completes
    the referral through the partner link."""
    social = make_user("social_worker", display_name="Siu Social")
    counsellor = make_user("counsellor", team=social.team)
    client = make_client(social.team, counsellor, full_name="Lam Ka-yan", phone="5550 7788")
    case = make_case(counsellor, client, risk_level="low", social_worker=social)
    case.phase = "recovery"
    make_service(make_org(3, name="Harbour Housing Help"), name="Housing advice", public=True)
    db.session.commit()
    username, case_id = social.username, case.id
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "social-worker")
    sign_in_page(page, live_server, username)
    walk.check("my-day")
    walk.menu("Cases", "Clients")
    page.get_by_label("Full name").fill("Lam Ka-yan")
    page.get_by_role("button", name="Find").click()
    walk.check("clients")
    page.get_by_role("link", name="Lam Ka-yan", exact=False).first.click()
    walk.check("client")
    page.get_by_role("link", name="Add to the vulnerable-person register").click()
    page.get_by_label("Red", exact=True).check()
    page.get_by_label("Lives alone (elderly)").check()
    walk.check("register-add")
    page.get_by_role("button", name="Add to the register").click()
    walk.check("registered")

    walk.menu("Community", "Vulnerable-person register")
    row = page.locator("table.register tbody tr", has_text="Lam Ka-yan")
    row.locator("summary", has_text="Log outreach").click()
    row.get_by_label("Note").fill("Visited at home; fridge empty, asked for food help.")
    walk.check("register-outreach")
    row.get_by_role("button", name="Visited").click()
    walk.check("outreach-logged")

    page.goto(f"{live_server}/cases/{case_id}")
    page.locator("nav.case-sections").get_by_role("link", name="Care plan, outcomes and groups").click()
    page.get_by_role("link", name="Open the care plan").click()
    for title in ("Find a flat with no stairs", "Back to part-time work"):
        page.get_by_role("link", name="Add a goal").click()
        page.get_by_label("Goal", exact=True).fill(title)
        walk.check("goal")
        page.locator("main form button[type=submit]").last.click()
    assert page.get_by_text("Back to part-time work").is_visible()
    walk.check("care-plan")

    page.goto(f"{live_server}/cases/{case_id}")
    page.get_by_role("link", name="Client record").click()
    page.get_by_label("Consent").select_option(label="Sharing with referral partners")
    page.get_by_role("button", name="Record consent").click()
    walk.check("consent")
    page.goto(f"{live_server}/cases/{case_id}")
    page.get_by_role("link", name="Refer to a partner service").click()
    walk.check("referral-form")
    service = page.get_by_label("Service", exact=True)
    service.select_option(service.locator("option", has_text="Housing advice").get_attribute("value"))
    page.get_by_role("group", name="Share with the partner").get_by_label("Full name").check()
    page.get_by_role("group", name="Share with the partner").get_by_label("Phone").check()
    page.get_by_label("Reason for the referral").fill("Needs a ground-floor flat; walks with a stick.")
    walk.check("referral-new")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_role("button", name="Send the referral").click()
    partner_url = page.locator("#partner-url").input_value()
    walk.check("referral-sent")
    walk.done()

    partner, partner_problems = open_page()
    partner_walk = Walk(partner, partner_problems, "partner")
    partner.goto(partner_url)
    partner_walk.check("partner-page")
    partner.get_by_role("button", name="We have received it").click()
    partner.get_by_role("button", name="Accept").click()
    partner_walk.check("accepted")
    partner.get_by_role("button", name="Service has started").click()
    partner.get_by_label("Note").fill("Moved to a ground-floor flat in Harbour Court.")
    partner.get_by_role("button", name="Service completed").click()
    assert partner.get_by_text("Your answer is recorded").is_visible()
    assert "Lam Ka-yan" not in partner.content()  # the link closes: the client's details are gone
    partner_walk.check("completed")
    partner_walk.done()

    from referrals.models import Referral
    db.session.remove()
    assert db.session.scalar(select(Referral.status)) == "completed"
    db.session.remove()


def test_a_supervisor_runs_the_service_through_a_crisis(live_server, open_page, db, make_user, make_case):
    """Supervisor: switches to emergency operation and back through the mode page, approves a
    closure in the approvals queue, reassigns a case from the worker page, opens the statistics."""
    from casework.service import phases
    from casework.service.cases import update_case

    supervisor = make_user("supervisor", display_name="Sam Supervisor")
    worker = make_user("counsellor", team=supervisor.team, display_name="Wen Worker")
    make_user("counsellor", team=supervisor.team, display_name="Kit Colleague")
    closing = make_case(worker, risk_level="high")
    update_case(worker, closing, closing.version, {"risk_level": "low"})
    phases.request_closure(worker, closing, closing.version, "Back at work and sleeping.", "goals_achieved")
    moving = make_case(worker, risk_level="moderate")
    db.session.commit()
    username, closing_id, moving_id = supervisor.username, closing.id, moving.id
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "supervisor")
    sign_in_page(page, live_server, username)
    walk.check("my-day")
    walk.menu("Supervision", "Operating mode")
    page.get_by_label("Reason").fill("Typhoon signal 8 raised")
    walk.check("mode")
    page.get_by_role("button", name="Switch to emergency operation").click()
    assert page.locator(".banner.emergency").is_visible()
    walk.check("emergency")
    page.get_by_label("Reason").fill("Signal lowered")
    page.get_by_label("What happened").fill("Flooding in the low estates.")
    page.get_by_label("What worked").fill("The call tree reached everyone in an hour.")
    page.get_by_label("What to change").fill("Print the red-tier list for the shelter.")
    page.get_by_role("button", name="Switch back to normal operation").click()
    assert page.locator(".banner.emergency").count() == 0
    walk.check("review")

    walk.menu("Supervision", "Approvals")
    walk.check("approvals")
    page.locator("table.approvals tbody tr", has_text="Case closure to approve").get_by_role("link").click()
    walk.check("closure-item")
    page.get_by_role("button", name="Approve closure").click()
    assert page.get_by_text("Decision recorded.").is_visible()
    walk.check("approved")

    walk.menu("Supervision", "Team caseload")
    walk.check("caseload")
    page.get_by_role("link", name="Wen Worker").click()
    page.locator(f"#case-{moving_id}").check()
    page.get_by_label("Move to").select_option(label="Kit Colleague")
    page.get_by_label("Reason", exact=True).fill("Wen is on leave from Monday.")
    walk.check("worker")
    page.get_by_role("button", name="Reassign").click()
    walk.check("reassigned")

    walk.menu("Supervision", "Statistics")
    walk.check("statistics")
    walk.done()

    db.session.remove()
    assert db.session.get(Case, closing_id).phase == "closed"
    moved = db.session.get(Case, moving_id)
    assert moved.counsellor.name == "Kit Colleague"
    db.session.remove()


def test_an_administrator_manages_accounts_and_never_sees_a_case(live_server, open_page, db, make_user, make_case):
    admin = make_user("admin", display_name="Ada Admin").username
    case_id = make_case(make_user("counsellor")).id
    db.session.commit()
    db.session.remove()

    page, problems = open_page()
    walk = Walk(page, problems, "admin")
    sign_in_page(page, live_server, admin)
    walk.check("home")
    walk.menu("Administration", "Teams")
    page.get_by_label("Team name").fill("Harbourside")
    walk.check("teams")
    page.get_by_role("button", name="Create team").click()
    assert page.get_by_text("Harbourside").first.is_visible()
    walk.check("team-created")
    walk.menu("Administration", "Users")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Username").fill("mei.harbour")
    page.get_by_label("Display name").fill("Mei Harbour")
    page.get_by_label("Role").select_option(label="Counsellor")
    page.get_by_label("Team").select_option(label="Harbourside")
    page.get_by_label("Temporary password").fill("a long temporary passphrase")
    walk.check("user-new")
    page.get_by_role("button", name="Create account").click()
    walk.check("user-created")

    refused = page.goto(f"{live_server}/cases/{case_id}")
    assert refused.status == 403
    assert page.locator("h1").count() == 1 and page.locator("main").inner_text()  # a page that says why
    walk.check("case-refused")
    problems.console_errors = [e for e in problems.console_errors if "status of 403" not in e]
    walk.done()

    from carecycle.accounts.models import User
    db.session.remove()
    created = db.session.scalar(select(User).where(User.username == "mei.harbour"))
    assert created.team.name == "Harbourside" and created.role == "counsellor" and created.access_pending
    db.session.remove()
