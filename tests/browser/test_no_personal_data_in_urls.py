"""In Chromium: a worker searches clients by pressing the search button, and a partner opens the
link from the letter; afterwards the address bar holds none of the name, phone, ID number or token."""
from carecycle.extensions import db
from tests.browser.conftest import sign_in_page

PERSON = {"full_name": "Wong Siu Ming", "preferred_name": "Ming", "phone": "5123 4567", "id_number": "A1234567"}


def _url_holds(url: str, value: str) -> bool:
    from urllib.parse import unquote_plus
    return any(form in text for text in (url, unquote_plus(url)) for form in (value, value.replace(" ", "")))


def test_a_search_by_the_button_keeps_personal_data_out_of_the_address(make_user, make_client, live_server,
                                                                        open_page):
    worker = make_user("counsellor")
    make_client(worker.team, worker, **PERSON)
    username = worker.username
    db.session.commit()
    db.session.remove()

    page, problems = open_page()
    sign_in_page(page, live_server, username)
    page.goto(f"{live_server}/clients")
    for label, value in (("Phone", PERSON["phone"]), ("ID number", PERSON["id_number"]),
                         ("Full name", PERSON["full_name"])):
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name="Find").click()
        page.wait_for_load_state()
        results = page.locator("main")
        assert "Search results" in results.inner_text() and PERSON["full_name"] in results.inner_text(), label
        assert page.url == f"{live_server}/clients", page.url
        for secret in PERSON.values():
            assert not _url_holds(page.url, secret), (label, page.url)
        page.get_by_label(label, exact=True).fill("")
    problems.assert_none()


def test_a_partner_link_leaves_no_token_in_the_address(make_user, make_case, make_client, make_referral,
                                                       live_server, open_page):
    worker = make_user("counsellor")
    case = make_case(worker, client=make_client(worker.team, worker, **PERSON))
    token = make_referral(worker, "sent", case=case, share=("preferred_name",)).partner_token
    db.session.commit()
    db.session.remove()

    page, problems = open_page()
    page.goto(f"{live_server}/p/{token}")
    assert page.url == f"{live_server}/p/" and token not in page.url
    assert "Ming" in page.inner_text("main")
    page.get_by_role("button", name="We have received it").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server}/p/" and "Thank you, recorded" in page.inner_text("main")
    problems.assert_none()
