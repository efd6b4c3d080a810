"""Self-screening pages: the catalogue, accessible forms, server-side C-SSRS steps, results,
anonymity, bad input that stores nothing, history with a server-made chart."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from carecycle.audit import AuditEvent
from screening.models import ScreeningResult
from tests.conftest import csrf_from, sign_in


def count_results(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ScreeningResult))


def post_form(client, path, answers: dict, extra=None, shown=None):
    """Submit the instrument form like a browser: CSRF token, answers as item-N, the shown items."""
    token = csrf_from(client.get(path))
    data = {"csrf_token": token, **{f"item-{n}": v for n, v in answers.items()}, **(extra or {})}
    data["shown"] = [str(n) for n in (shown if shown is not None else answers)]
    return client.post(path, data=data)


def take_phq9(client, values, extra=None):
    return post_form(client, "/screening/phq9", dict(enumerate(values, start=1)), extra,
                     shown=list(range(1, 10)))


def test_catalogue_lists_every_instrument_with_time_and_purpose(client):
    page = client.get("/screening/").get_data(as_text=True)
    for ident in ("phq9", "phq2", "gad7", "gad2", "k10", "k6", "who5", "pcl5", "auditc", "cssrs"):
        assert f'href="/screening/{ident}"' in page
    assert "9 questions" in page and "about 3 min" in page


def test_public_home_links_to_self_screening(client):
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/screening/"><strong>Check how you are doing</strong></a>' in page
    assert '<a href="/library/"><strong>Read and learn</strong></a>' in page


def test_form_has_a_fieldset_and_legend_per_item_and_a_label_per_radio(client):
    page = client.get("/screening/phq9").get_data(as_text=True)
    # nine scored items and the form's unscored difficulty question, each its own fieldset
    assert page.count("<fieldset") == 10 and page.count("<legend") == 10
    assert page.count('name="unscored-difficulty"') == 4 and "Not part of the score." in page
    radios = re.findall(r'<input type="radio" name="item-(\d)" id="([^"]+)"', page)
    assert len(radios) == 36
    for _number, radio_id in radios:
        assert f'<label class="option" for="{radio_id}">' in page
    assert "Thoughts that you would be better off dead" in page
    assert "style=" not in page and "<script" not in page


def test_unknown_instrument_is_404(client):
    assert client.get("/screening/nope").status_code == 404


def test_valid_answers_are_scored_stored_anonymously_and_shown(client, db):
    response = take_phq9(client, [1, 1, 1, 1, 1, 1, 1, 0, 0])
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Score: 7 out of 27" in page and "Mild" in page
    assert "A screen is not a diagnosis" in page
    row = db.session.scalar(select(ScreeningResult))
    assert (row.instrument, row.score, row.band, row.crisis, row.user_id, row.language) == \
        ("phq9", 7, "mild", False, None, "en")
    assert row.answers == [1, 1, 1, 1, 1, 1, 1, 0, 0]
    raw = db.session.execute(text("SELECT answers FROM screening_result")).scalar_one()
    assert raw.startswith("ccv1:") and "1, 1" not in raw
    # anonymous: no audit event names it, nothing links it to a person
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.object_type == "screening_result")) == 0


def test_missing_item_reshows_the_form_with_a_message_and_stores_nothing(client, db):
    answers = {n: "0" for n in range(1, 9)}  # item 9 left out
    response = post_form(client, "/screening/phq9", answers, shown=range(1, 10))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="item-9-error"' in page and "Choose an answer for this question." in page
    assert 'id="item-1-error"' not in page
    assert 'value="0" checked' in page  # the given answers are kept
    assert count_results(db) == 0


def test_out_of_range_value_is_rejected_per_item(client, db):
    answers = {n: "0" for n in range(1, 10)}
    answers[4] = "7"
    response = post_form(client, "/screening/phq9", answers)
    assert response.status_code == 400
    assert 'id="item-4-error"' in response.get_data(as_text=True)
    assert count_results(db) == 0


def test_tampered_value_is_rejected(client, db):
    answers = {n: "0" for n in range(1, 10)}
    answers[2] = "<script>"
    response = post_form(client, "/screening/phq9", answers)
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)
    assert count_results(db) == 0


def test_post_without_csrf_token_changes_nothing(client, db):
    data = {f"item-{n}": "0" for n in range(1, 10)}
    assert client.post("/screening/phq9", data=data).status_code == 400
    assert count_results(db) == 0


def test_crisis_result_shows_resources_before_the_score_and_offers_contact(client, db, make_crisis_resource):
    make_crisis_resource(name="Night Line", phone="555-0199")
    response = take_phq9(client, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Night Line" in page and 'href="tel:5550199"' in page
    assert page.index("Night Line") < page.index("Score: 1 out of 27")
    assert page.index("Ask the duty counsellor to call you") < page.index("Score: 1 out of 27")
    assert 'action="/screening/results/' in page and 'name="consent"' in page
    assert db.session.scalar(select(ScreeningResult.crisis)) is True


def test_non_crisis_result_shows_no_crisis_section(client, make_crisis_resource):
    make_crisis_resource(name="Night Line")
    response = take_phq9(client, [0] * 9)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Night Line" not in page and "Ask to be contacted" in page


def test_a_result_is_visible_only_in_the_session_that_took_it(app, client):
    location = take_phq9(client, [0] * 9).headers["Location"]
    assert client.get(location).status_code == 200
    stranger = app.test_client()
    assert stranger.get(location).status_code == 404
    assert client.get("/screening/results/not-a-uuid").status_code == 404


def test_cssrs_steps_work_without_javascript(client, db):
    first = client.get("/screening/cssrs").get_data(as_text=True)
    assert re.findall(r'name="shown" value="(\d)"', first) == ["1", "2"]
    token = csrf_from(client.get("/screening/cssrs"))
    step2 = client.post("/screening/cssrs", data={"csrf_token": token, "item-1": "yes", "item-2": "no",
                                                   "shown": ["1", "2"]})
    assert step2.status_code == 200
    body = step2.get_data(as_text=True)
    assert re.findall(r'name="shown" value="(\d)"', body) == ["6"]
    assert '<input type="hidden" name="item-1" value="yes">' in body
    step3 = client.post("/screening/cssrs", data={"csrf_token": token, "item-1": "yes", "item-2": "no",
                                                   "item-6": "yes", "shown": ["6"]})
    assert re.findall(r'name="shown" value="(\d)"', step3.get_data(as_text=True)) == ["7"]
    assert count_results(db) == 0
    done = client.post("/screening/cssrs", data={"csrf_token": token, "item-1": "yes", "item-2": "no",
                                                  "item-6": "yes", "item-7": "no", "shown": ["7"]})
    assert done.status_code == 302
    row = db.session.scalar(select(ScreeningResult))
    assert (row.band, row.crisis, row.score) == ("moderate", True, None)
    assert row.answers == [True, False, None, None, None, True, False]
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Risk level" in page and "Moderate risk" in page


def test_cssrs_yes_to_item2_asks_3_to_6(client):
    token = csrf_from(client.get("/screening/cssrs"))
    step = client.post("/screening/cssrs", data={"csrf_token": token, "item-1": "no", "item-2": "yes",
                                                  "shown": ["1", "2"]})
    assert re.findall(r'name="shown" value="(\d)"', step.get_data(as_text=True)) == ["3", "4", "5", "6"]


def test_cssrs_answer_to_a_skipped_question_is_tampering(client, db):
    token = csrf_from(client.get("/screening/cssrs"))
    response = client.post("/screening/cssrs", data={"csrf_token": token, "item-1": "no", "item-2": "no",
                                                      "item-3": "yes", "item-6": "no", "shown": ["6"]})
    assert response.status_code == 400
    assert "not asked after your earlier" in response.get_data(as_text=True)
    assert count_results(db) == 0


def test_auditc_uses_the_sex_given(client, db):
    response = post_form(client, "/screening/auditc", {1: "1", 2: "1", 3: "1"}, extra={"sex": "female"})
    assert response.status_code == 302
    row = db.session.scalar(select(ScreeningResult))
    assert row.band == "positive" and row.respondent == {"sex": "female"}


@pytest.mark.parametrize("sex, band, says_threshold", [
    (None, "negative", True), ("other", "negative", True), ("male", "negative", False), ("female", "positive", False)])
def test_auditc_result_says_which_threshold_applied(client, db, sex, band, says_threshold):
    """Sex other or not given: the men's threshold (4 or more) is used, and the result page says so."""
    response = post_form(client, "/screening/auditc", {1: "1", 2: "1", 3: "1"}, extra={"sex": sex} if sex else None)
    assert response.status_code == 302
    assert db.session.scalar(select(ScreeningResult)).band == band
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("so the threshold for men was used" in page) is says_threshold


def test_auditc_rejects_a_tampered_sex(client, db):
    response = post_form(client, "/screening/auditc", {1: "1", 2: "1", 3: "1"}, extra={"sex": "robot"})
    assert response.status_code == 400
    assert count_results(db) == 0


def test_who5_result_shows_percentage_and_flag(client):
    response = post_form(client, "/screening/who5", {1: "5", 2: "5", 3: "5", 4: "5", 5: "0"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "As a percentage: 80 out of 100." in page
    assert "A depression check is advised" in page and 'href="/screening/phq9"' in page


def test_phq2_positive_offers_the_phq9(client):
    response = post_form(client, "/screening/phq2", {1: "2", 2: "1"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Take the full PHQ-9" in page


def test_chinese_chrome_with_english_items_says_so(client):
    token = csrf_from(client.get("/"))
    client.post("/language", data={"csrf_token": token, "language": "zh_Hant", "next": "/"})
    page = client.get("/screening/phq9").get_data(as_text=True)
    assert 'class="flash info"' in page  # the English-only note
    assert "抑鬱自我檢查" in page        # our own title, in Traditional Chinese
    response = take_phq9(client, [1, 1, 1, 1, 1, 0, 0, 0, 0])
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "輕度" in result


def test_rate_limit_per_address_stores_nothing_more(app, client, db):
    app.config["SCREENING_RATE_LIMIT"] = 2
    try:
        assert take_phq9(client, [0] * 9).status_code == 302
        assert take_phq9(client, [0] * 9).status_code == 302
        assert take_phq9(client, [0] * 9).status_code == 429
        assert count_results(db) == 2
    finally:
        app.config["SCREENING_RATE_LIMIT"] = 30


# ------------------------------------------------------------------ signed-in residents and history
def test_signed_in_resident_result_is_linked_and_audited(client, db, login_as):
    resident = login_as("resident")
    take_phq9(client, [2] * 9)
    row = db.session.scalar(select(ScreeningResult))
    assert row.user_id == resident.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "screening_result",
                                                       AuditEvent.action == "create"))
    assert event.object_id == str(row.id) and event.actor_id == resident.id


def test_history_shows_a_server_made_chart_and_a_table(client, db, login_as):
    login_as("resident")
    take_phq9(client, [2] * 9)
    take_phq9(client, [1] * 9)
    post_form(client, "/screening/cssrs", {1: "no", 2: "no", 6: "no"}, shown=[6])
    page = client.get("/screening/history").get_data(as_text=True)
    assert page.count("<svg") == 1  # C-SSRS has no score to chart
    assert page.count("<circle") == 2 and "<polyline" in page
    assert "Score" in page and "18 / 27" in page and "9 / 27" in page
    assert "No risk identified" in page
    assert "style=" not in page


def test_history_is_private(app, client, db, login_as, make_user):
    login_as("resident")
    take_phq9(client, [2] * 9)
    location = f"/screening/results/{db.session.scalar(select(ScreeningResult.id))}"
    other_client = app.test_client()
    other = make_user("resident")
    sign_in(other_client, other.username)
    assert other_client.get(location).status_code == 404
    assert "18 / 27" not in other_client.get("/screening/history").get_data(as_text=True)


def test_a_linked_result_stays_hidden_even_when_another_session_lists_it(app, client, db, login_as, make_user):
    """A result linked to an account is its owner's alone: knowing its id, even in the session, is not enough."""
    login_as("resident")
    take_phq9(client, [2] * 9)
    result_id = str(db.session.scalar(select(ScreeningResult.id)))
    for other_role in (None, "resident"):
        other = app.test_client()
        if other_role:
            sign_in(other, make_user(other_role).username)
        with other.session_transaction() as session:
            session["screening_results"] = [result_id]
        assert other.get(f"/screening/results/{result_id}").status_code == 404, other_role
        assert other.get(f"/screening/results/{result_id}/contact").status_code == 404, other_role


def test_history_needs_a_resident(client, login_as):
    assert client.get("/screening/history").status_code == 302
    login_as("counsellor")
    assert client.get("/screening/history").status_code == 403


def test_empty_history_says_so(client, login_as):
    login_as("resident")
    assert "You have no saved screenings yet." in client.get("/screening/history").get_data(as_text=True)


def test_crisis_with_a_low_total_does_not_reassure_and_offers_the_suicide_article_first(client, db,
                                                                                       make_crisis_resource):
    from tests.htmlform import submit
    from tests.test_library import published_article

    make_crisis_resource(name="Night Line")
    published_article(db, title="Everyday habits that help", topics=["self_care"], tags=[("phq9", "minimal")])
    published_article(db, title="If you are thinking about suicide", topics=["crisis", "depression"],
                      tags=[("cssrs", "low")])
    answers = {f"item-{n}": "0" for n in range(1, 9)} | {"item-9": "1"}
    response = submit(client, "/screening/phq9", "See my result", answers)
    assert response.status_code == 302
    assert db.session.scalar(select(ScreeningResult.crisis)) is True
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    card = page[page.index('class="score-box'):page.index("What this result means")]
    assert "Score: 1 out of 27" in card and "concern-3" in card
    assert "Few or no signs" not in page and "Keep doing what helps you feel well" not in page
    assert "Those answers matter more than the total score" in card
    reading = page[page.index("Read more"):]
    assert reading.index("If you are thinking about suicide") < reading.index("Everyday habits that help")

    # the same low total without the answer on self-harm keeps the band's own words and reading
    response = submit(client, "/screening/phq9", "See my result", answers | {"item-9": "0", "item-1": "1"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Few or no signs of depression right now" in page and "matter more than the total" not in page
    assert "If you are thinking about suicide" not in page and "Everyday habits that help" in page


def test_phq9_difficulty_question_is_stored_and_never_scored(client, db):
    """The PHQ-9's closing question: optional, kept (encrypted) with the result, shown on the
    result page, and the same score and band whatever the answer."""
    scores = []
    for difficulty in (None, "0", "3"):
        extra = {"unscored-difficulty": difficulty} if difficulty is not None else None
        response = post_form(client, "/screening/phq9", {n: "2" for n in range(1, 10)}, extra=extra)
        assert response.status_code == 302
        row = db.session.scalars(select(ScreeningResult).order_by(ScreeningResult.created_at.desc())).first()
        scores.append((row.score, row.band))
        assert row.unscored == ({"difficulty": int(difficulty)} if difficulty else None)
        if difficulty == "3":
            assert "difficulty" not in (row._unscored or "")  # encrypted at rest
            page = client.get(response.headers["Location"]).get_data(as_text=True)
            assert "Extremely difficult" in page and "not part of the score" in page
    assert scores == [(18, "moderately_severe")] * 3


def test_a_difficulty_answer_that_is_not_a_choice_is_refused(client, db):
    response = post_form(client, "/screening/phq9", {n: "1" for n in range(1, 10)},
                         extra={"unscored-difficulty": "7"})
    assert response.status_code == 400
    assert "This answer is not one of the choices" in response.get_data(as_text=True)
    assert count_results(db) == 0
