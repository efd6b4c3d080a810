"""The header: at most seven top-level entries for every role, grouped by what the role does; every
link in it opens for that role (none leads to a refusal); an administrator's header has no case
page, and an account whose access waits for a supervisor loses the case pages until confirmed."""
from __future__ import annotations

import re

import pytest

from carecycle.roles import Role

WIDE_NAV = re.compile(r'<nav aria-label="Main" class="wide"><ul class="nav">(.*?)</ul></nav>', re.S)


def header(body: str) -> str:
    found = WIDE_NAV.search(body)
    assert found, "no header navigation"
    return found.group(1)


def top_level(nav: str) -> list[str]:
    """The top-level entries: a group's summary or a plain link outside any group."""
    entries, depth = [], 0
    for token in re.finditer(r"<details[^>]*>|</details>|<summary>(.*?)</summary>|<a [^>]*>(.*?)</a>", nav, re.S):
        text = token.group(0)
        if text.startswith("<details"):
            depth += 1
        elif text == "</details>":
            depth -= 1
        elif token.group(1) is not None:
            entries.append(token.group(1).strip())
        elif depth == 0:
            entries.append(token.group(2).strip())
    return entries


def links(nav: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', nav)


@pytest.mark.parametrize("role", [None, *[r.value for r in Role]])
def test_every_role_has_at_most_seven_entries_and_every_link_opens(client, login_as, role):
    if role:
        login_as(role)
    nav = header(client.get("/").get_data(as_text=True))
    entries = top_level(nav)
    assert 2 <= len(entries) <= 7, entries
    for href in links(nav):
        assert client.get(href).status_code == 200, (role, href)


def test_the_groups_follow_the_work(client, login_as):
    login_as("supervisor")
    nav = header(client.get("/").get_data(as_text=True))
    assert top_level(nav) == ["My day", "Triage", "Cases", "Community", "Directory & referrals", "Library",
                              "Supervision"]
    assert 'href="/supervision/approvals"' in nav
    # one queue: the single-kind pages and the plain alert list are not in the header
    for gone in ("/cases/closure-approvals", "/cases/risk-acknowledgements", "/break-glass", "/alerts"):
        assert f'href="{gone}"' not in nav


def test_a_social_worker_gets_the_alert_list_where_a_counsellor_gets_the_queue(client, login_as):
    login_as("social_worker")
    nav = header(client.get("/").get_data(as_text=True))
    assert 'href="/alerts"' in nav and 'href="/triage"' not in nav


def test_residents_see_their_pages_side_by_side(client, login_as):
    login_as("resident")
    nav = header(client.get("/").get_data(as_text=True))
    assert "<details" not in nav
    assert top_level(nav) == ["Home", "Self-screening", "Library", "My screenings", "My safety plan", "My plan",
                              "Find help"]


def test_an_administrators_header_holds_no_case_page(client, login_as):
    login_as("admin")
    nav = header(client.get("/").get_data(as_text=True))
    assert 'href="/admin/users"' in nav and 'href="/admin/teams"' in nav
    for case_page in ("/cases", "/clients", "/triage", "/vulnerable-register", "/supervision/approvals", "/alerts"):
        assert f'href="{case_page}"' not in nav
        assert client.get(case_page).status_code == 403


def test_an_account_waiting_for_confirmation_has_no_case_pages_in_its_header(client, login_as, db):
    user = login_as("counsellor")
    user.access_pending = True
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    nav = header(body)
    assert "<h1>My day</h1>" not in body  # the plain home page, with the reason
    for case_page in ("/cases", "/clients", "/triage", "/vulnerable-register"):
        assert f'href="{case_page}"' not in nav
    assert 'href="/library/"' in nav
