"""Working lists name each person by preferred name, family-name initial and a short client
reference (the full name and the reference when there is no preferred name), so two people both
called "Mei" cannot be confused: My day, the supervisor's worker page (with an accessible name on
each reassignment checkbox), the register and the surge view."""
from datetime import timedelta

import pytest

from carecycle.database import utcnow
from casework.models.clients import list_label, split_family_name
from casework.service import register
from tests.conftest import sign_in
from tests.htmlform import find_form


@pytest.mark.parametrize("full, preferred, shown", [
    ("Mei Chan", "Mei", "Mei C. · C-7F3A"),
    ("Mei Chan", None, "Mei Chan · C-7F3A"),
    ("CHAN Tai Man", "Tai Man", "Tai Man C. · C-7F3A"),
    ("陳美玲", "阿玲", "阿玲 陳 · C-7F3A"),
    ("陳美玲", None, "陳美玲 · C-7F3A"),
    ("Mei Wong", "Mei Wong", "Mei Wong · C-7F3A"),
    ("Mei", None, "Mei · C-7F3A"),
])
def test_list_label_is_preferred_name_family_initial_and_reference(full, preferred, shown):
    assert list_label(full, preferred, "C-7F3A") == shown


def test_family_name_is_told_from_the_way_the_name_is_written():
    assert split_family_name("Mei Chan") == ("Mei", "Chan")
    assert split_family_name("CHAN Tai Man") == ("Tai Man", "CHAN")
    assert split_family_name("陳美玲") == ("美玲", "陳")


@pytest.fixture
def two_meis(db, make_user, make_client, make_case):
    """Two clients of one counsellor, both called Mei, both overdue on the red tier of the register."""
    counsellor = make_user("counsellor")
    cases = []
    for full in ("Mei Chan", "Mei Wong"):
        person = make_client(counsellor.team, counsellor, full_name=full, preferred_name="Mei")
        cases.append(make_case(counsellor, person))
        entry = register.add_to_register(counsellor, person, {"tier": "red", "flags": ["bereaved"]})
        entry.created_at = entry.due_from = utcnow() - timedelta(days=10)
    db.session.commit()
    labels = [case.client.list_label for case in cases]
    assert labels[0].startswith("Mei C. · C-") and labels[1].startswith("Mei W. · C-")
    assert labels[0].split(" · ")[1] == "C-" + cases[0].client.id.hex[:4].upper()
    return counsellor, cases, labels


def signed_in(app, user):
    browser = app.test_client()
    assert sign_in(browser, user.username).status_code == 302
    return browser


def test_my_day_and_the_register_tell_the_two_meis_apart(app, two_meis):
    counsellor, _cases, labels = two_meis
    browser = signed_in(app, counsellor)
    for path in ("/my-day", "/vulnerable-register"):
        html = browser.get(path).get_data(as_text=True)
        for label in labels:
            assert label in html, (path, label)


def test_the_worker_page_and_the_surge_view_tell_the_two_meis_apart(app, make_user, two_meis):
    counsellor, cases, labels = two_meis
    supervisor = signed_in(app, make_user("supervisor"))
    page = supervisor.get(f"/supervision/caseload/workers/{counsellor.id}")
    html = page.get_data(as_text=True)
    for label in labels:
        assert label in html
    # each reassignment checkbox has its own accessible name, naming the case's person
    form = find_form(html, action="/reassign")
    for case, label in zip(cases, labels, strict=True):
        box = [c for c in form.controls if c.name == "case_ids" and c.attrs.get("value") == str(case.id)]
        assert len(box) == 1
        assert form.labels[box[0].attrs["id"]] == f"Choose the case of {label}"
    surge = supervisor.get("/supervision/surge").get_data(as_text=True)
    for label in labels:
        assert label in surge
