"""The journeys of each person, through the pages only, in Chromium: on every page visited axe-core
finds no critical or serious violation, nothing scrolls sideways at 390 px, no console error and no
CSP violation (tests.browser.conftest.Walk). Screenshots of each step go to tests/artifacts/.

- anonymous resident: a library article, the PHQ-9 with item 9 positive (the crisis box before the
  score), asks to be called back;
- counsellor: claims that alert, turns it into a crisis case, records a C-SSRS assessment, signs a
  safety plan and shares it with a link code, signs a note and adds an addendum, sets the next contact;
- resident: links the account with the code and sees the shared safety plan."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from carecycle.alerts import Alert
from casework.models import Case, ContactNote
from tests.browser.conftest import Walk, sign_in_page
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
    for number in range(1, 9):
        page.get_by_role("group", name=f"{number}.", exact=False).get_by_label("Not at all").check()
    page.locator("#item-9").get_by_label("Several days").check()
    walk.check("phq9")
    page.get_by_role("button", name="See my result").click()
    crisis, score = page.locator("section.crisis"), page.get_by_text("Score: 1 out of 27")
    assert crisis.bounding_box()["y"] + crisis.bounding_box()["height"] <= score.bounding_box()["y"]
    walk.check("crisis-result")
    crisis.get_by_label("Your name", exact=True).fill("Ann")
    crisis.get_by_label("Phone number", exact=True).fill("555 0123 456")
    crisis.get_by_label("Evening (17:00–20:00)").check()
    crisis.get_by_label("I agree that the service stores my name").check()
    crisis.get_by_role("button", name="Please call me").click()
    assert page.get_by_text("We have your request").is_visible()
    walk.check("called-back")
    walk.done()

    # ---- counsellor
    page, problems = open_page()
    walk = Walk(page, problems, "counsellor")
    sign_in_page(page, live_server, counsellor)
    walk.check("my-day")
    page.locator("header.site nav.wide summary", has_text="Triage").click()
    page.locator("header.site nav.wide").get_by_role("link", name="Triage queue").click()
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
