"""No personal data in a URL: the client search and the triage client lookup are POSTed with CSRF,
their results shown on the POST response and paged by POST; a GET carrying phone, ID number or name
(an old link or bookmark) searches nothing."""
import re

from tests.conftest import form_post

PERSON = {"full_name": "Lee Siu Ming", "phone": "9123 4567", "id_number": "Z9988776"}


def _links_and_actions(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def test_the_search_form_posts_with_csrf_and_the_results_are_on_the_post_response(client, login_as, make_client):
    worker = login_as("counsellor")
    make_client(worker.team, worker, **PERSON)
    page = client.get("/clients").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/clients" class="search"', page)
    assert 'method="get"' not in page
    for field, value in (("phone", "91234567"), ("id_number", "Z9988776"), ("name", "lee siu ming")):
        response = form_post(client, "/clients", {field: value})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "Search results" in html and "Lee Siu Ming" in html, field
        assert all(value not in url and "9123" not in url for url in _links_and_actions(html)), field


def test_a_search_without_csrf_is_refused_and_shows_no_result(client, login_as, make_client):
    worker = login_as("counsellor")
    make_client(worker.team, worker, **PERSON)
    response = client.post("/clients", data={"phone": "91234567"})
    assert response.status_code == 400
    assert "Lee Siu Ming" not in response.get_data(as_text=True)


def test_an_old_search_link_searches_nothing(client, login_as, make_client):
    worker = login_as("counsellor")
    make_client(worker.team, worker, full_name="Lee Siu Ming", phone="9123 4567", id_number="Z9988776",
                preferred_name="Ah Ming")
    for query in ("phone=91234567", "id_number=Z9988776", "name=Lee+Siu+Ming"):
        response = client.get(f"/clients?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert "Search results" not in html and "not taken from the address" in html, query
        for value in ("91234567", "Z9988776", "Lee+Siu+Ming", "Lee Siu Ming"):  # not even echoed back
            assert value not in html, (query, value)


def test_an_empty_search_says_what_to_enter(client, login_as):
    login_as("counsellor")
    response = form_post(client, "/clients", {"phone": "", "name": " "})
    assert response.status_code == 400 and "Enter a phone number" in response.get_data(as_text=True)


def test_search_results_are_paged_by_post_carrying_the_criteria_in_the_body(client, login_as, make_client):
    worker = login_as("counsellor")
    for n in range(30):  # namesakes: the exact-name search finds them all
        make_client(worker.team, worker, full_name="Chan Tai Man", phone=f"9000 {n:04d}")
    first = form_post(client, "/clients", {"name": "Chan Tai Man"}).get_data(as_text=True)
    assert first.count("<li><a href=\"/clients/") == 20 and "Page 1 of 2" in first
    pager = first[first.index('aria-label="Pages of search results"'):]
    next_form = re.search(r'<form method="post" action="/clients" class="inline">(.*?)</form>', pager, re.DOTALL).group(
        1
    )
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', next_form))
    assert fields["name"] == "Chan Tai Man" and fields["page"] == "2" and fields["csrf_token"]
    second = client.post("/clients", data=fields).get_data(as_text=True)
    assert second.count("<li><a href=\"/clients/") == 10 and "Page 2 of 2" in second
    # the recent-clients pager stays a plain link: its page number is no personal data
    assert 'href="/clients?page=2"' in first and "Chan" not in "".join(
        u for u in _links_and_actions(first) if "?" in u)


def test_the_triage_lookup_posts_and_keeps_the_criteria_out_of_the_url(client, login_as, make_client, db):
    from tests.casework.test_triage import _alert, _claim
    worker = login_as("counsellor")
    make_client(worker.team, worker, full_name="Existing Person", phone="9222 3333", id_number="Q1112223")
    alert = _alert(db)
    _claim(client, alert)
    path = f"/triage/{alert.id}/convert"
    page = client.get(path).get_data(as_text=True)
    assert 'method="get"' not in page
    found = form_post(client, path, {"find": "1", "find-id_number": "Q1112223"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "Existing Person" in html
    assert all("Q1112223" not in url for url in _links_and_actions(html))
    assert 'name="find-id_number" value="Q1112223"' in html  # carried to the case form in its body
    old = client.get(f"{path}?id_number=Q1112223")
    assert old.status_code == 400 and "Existing Person" not in old.get_data(as_text=True)
    refused = client.post(path, data={"find": "1", "find-id_number": "Q1112223"})  # no CSRF token
    assert refused.status_code == 400 and "Existing Person" not in refused.get_data(as_text=True)


def test_a_link_code_is_never_taken_from_a_url(app, db, make_user, make_case):
    """The resident types the code into a POST form; a code in the query string links nothing."""
    from sqlalchemy import select

    from casework.models import ResidentLinkCode
    from casework.service import safety
    from tests.conftest import sign_in
    counsellor = make_user("counsellor")
    case = make_case(counsellor)
    _row, code = safety.issue_link_code(counsellor, case)
    resident = make_user("resident")
    db.session.commit()
    browser = app.test_client()
    assert sign_in(browser, resident.username).status_code == 302
    for query in (f"code={code}", f"link_code={code}"):
        response = browser.get(f"/my/link?{query}")
        assert response.status_code == 200 and "Your account is linked" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(ResidentLinkCode)).used_at is None
    assert not safety.resident_linked(db.session.get(type(resident), resident.id))
    page = browser.get("/my/link").get_data(as_text=True)
    assert re.search(r'<form method="post" action="" novalidate>', page)


def test_a_search_posted_with_a_page_too_large_for_the_database_answers_without_an_error(client, login_as,
                                                                                        make_client):
    worker = login_as("counsellor")
    make_client(worker.team, worker, **PERSON)
    response = form_post(client, "/clients", {"name": "lee siu ming", "page": "1" + "0" * 24})
    assert response.status_code == 200  # the page number is capped (PAGE_MAX), never an OFFSET overflow
    assert "Search results" in response.get_data(as_text=True)
