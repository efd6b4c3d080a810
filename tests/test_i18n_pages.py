"""Every page of the walk (each role's header pages, a case with its sections, the forms used on
visits, the resident's pages) rendered in Traditional and Simplified Chinese: no catalogue string
is left in English (a translated message whose English text still shows, in the page's text or in
an accessible name)."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from carecycle.database import utcnow
from casework.service import tasks as task_service

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")
# English that is also the text of a translated message but legitimately stays English on a page:
# the service's name, instrument names and the English name in the language list.
ALLOWED = {"CareCycle", "English"}


@lru_cache(maxsize=2)
def english_messages(locale: str) -> list[str]:
    """The literal English runs of every message translated differently in `locale`: long enough
    to be words (a letter run of 2+ words or 8+ characters), placeholders split out."""
    with open(ROOT / "carecycle" / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    runs = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        string = message.string if isinstance(message.string, str) else message.string[0]
        if msgid == string:
            continue
        whole = msgid.strip(" .,:;·()—-")
        for run in PLACEHOLDER.split(msgid):
            run = run.strip(" .,:;·()—-")
            if run in ALLOWED or not re.search(r"[A-Za-z]", run):
                continue
            # a phrase, or a one-word message such as a button ("Save") or a heading ("Cases");
            # one word cut out of a longer message ("every") is too common to tell
            if len(run.split()) >= 2 or (run == whole and len(run) >= 4):
                runs.add(run)
    return sorted(runs, key=len, reverse=True)


def readable(page: str) -> str:
    """What a reader meets: the text and the accessible names, without scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    names = " | ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " | ", page)
    return html.unescape(re.sub(r"\s+", " ", text + " | " + names))


def left_in_english(page: str, locale: str, data=()) -> list[str]:
    """The catalogue strings still in English on `page`; `data`: the records' own words (a team's
    name), which are not the catalogue's to translate."""
    text = readable(page)
    for value in data:
        text = text.replace(value, " ")
    return [run for run in english_messages(locale) if re.search(rf"(?<![A-Za-z]){re.escape(run)}(?![A-Za-z])", text)]


def header_links(page: str) -> list[str]:
    nav = re.search(r'<nav aria-label="[^"]*" class="wide">(.*?)</nav>', page, re.S)
    return re.findall(r'<a href="(/[^"#]*)"', nav.group(1)) if nav else []


@pytest.mark.parametrize("locale", ["zh_Hant", "zh_Hans"])
@pytest.mark.parametrize("role", [None, "resident", "counsellor", "social_worker", "supervisor", "admin"])
def test_no_page_of_the_walk_is_left_in_english(client, login_as, make_user, make_client, make_case, db, role,
                                                locale):
    from tests.conftest import form_post
    pages = ["/", "/login", "/refer", "/screening/phq9"] if role is None else ["/"]
    data: list[str] = []
    if role:
        user = login_as(role, locale=locale)
        data = [user.team.name] if user.team else []
        if role in ("counsellor", "social_worker", "supervisor"):
            counsellor = user if role != "social_worker" else make_user("counsellor", team=user.team)
            case = make_case(counsellor, make_client(user.team, counsellor, full_name="陳大文"), risk_level="high",
                             social_worker=user if role == "social_worker" else None)
            task_service.set_next_contact(user, case, utcnow() + timedelta(days=1), "Call after work")
            db.session.commit()
            pages += [f"/cases/{case.id}", f"/cases/{case.id}/notes", f"/cases/{case.id}/next-contact",
                      f"/cases/{case.id}/care-plan", f"/clients/{case.client_id}", f"/cases/{case.id}/referrals/new",
                      f"/cases/{case.id}/safety-plan", f"/cases/{case.id}/outcomes",
                      f"/clients/{case.client_id}/vulnerable-register"]
            if role != "social_worker":
                pages += [f"/cases/{case.id}/assessments/new", f"/cases/{case.id}/safety-plan/edit"]
    else:
        from tests.test_screening_pages import take_phq9
        form_post(client, "/language", {"language": locale, "next": "/"}, page="/")
        result = take_phq9(client, [1] * 8 + [2]).headers["Location"]  # item 9 positive: the crisis box
        pages += [result, result + "/contact", "/screening/"]
    if role == "resident":
        pages += ["/my/link"]
    first = client.get("/")
    assert first.status_code == 200
    pages += header_links(first.get_data(as_text=True))
    problems = {}
    for path in dict.fromkeys(pages):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found = left_in_english(response.get_data(as_text=True), locale, data)
        if found:
            problems[path] = found
    assert problems == {}, problems


def test_the_check_finds_english_when_it_is_there(client, login_as):
    """The detector itself: the same pages in English are full of catalogue strings."""
    login_as("counsellor", locale="en")
    found = left_in_english(client.get("/").get_data(as_text=True), "zh_Hant")
    assert "Overdue tasks" in found and "Directory & referrals" in found
    assert left_in_english("<p>Mrs Chan, 5550 1234</p>", "zh_Hant") == []
