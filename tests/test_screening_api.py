"""Screening API: public catalogue and POST /api/v1/screenings (anonymous or linked by a resident's
token), 422 naming each bad item, invalid tokens still refused on public endpoints."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carecycle.accounts import service as accounts
from screening.models import ScreeningResult
from tests.conftest import make_app


def count_results(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ScreeningResult))


def token_for(db, user) -> str:
    token = accounts.create_token(user)
    db.session.commit()
    return token


def test_instrument_list_is_public(client):
    response = client.get("/api/v1/instruments")
    assert response.status_code == 200
    listing = response.get_json()["instruments"]
    assert [i["id"] for i in listing][:2] == ["phq9", "phq2"] and len(listing) == 10
    phq9 = listing[0]
    assert phq9 == {"id": "phq9", "name": "PHQ-9", "title": "Depression check (PHQ-9)", "item_count": 9,
                    "languages": ["en"]}


def test_instrument_definition_is_public(client):
    body = client.get("/api/v1/instruments/cssrs").get_json()
    assert body["id"] == "cssrs" and len(body["items"]) == 7
    assert body["items"][2]["ask_when"] == {"test": "item", "item": 2, "op": "==", "value": True}
    missing = client.get("/api/v1/instruments/nope")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_post_screening_answers_201_with_the_result_shape(client, db):
    response = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 1]})
    assert response.status_code == 201
    body = response.get_json()
    row = db.session.scalar(select(ScreeningResult))
    note = ("Some of your answers are about thoughts of death or of hurting yourself. Those answers matter more "
            "than the total score: whatever the score, please talk to someone today.")
    assert body == {"id": str(row.id), "instrument": "phq9", "score": 1, "max_score": 27, "band": "minimal",
                    "flags": [], "crisis": True, "crisis_note": note, "crisis_articles": []}
    assert row.user_id is None and row.answers == [0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_a_crisis_result_with_a_low_total_puts_the_suicide_article_first(client, db):
    from tests.test_library import published_article

    habits = published_article(db, title="Everyday habits that help", topics=["self_care"],
                               tags=[("phq9", "minimal")])
    suicide = published_article(db, title="If you are thinking about suicide", topics=["crisis"])
    crisis = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0] * 8 + [1]}).get_json()
    assert crisis["band"] == "minimal" and crisis["crisis"] is True
    assert "matter more than the total score" in crisis["crisis_note"]
    assert [a["title"] for a in crisis["crisis_articles"]] == [suicide.title, habits.title]
    assert crisis["crisis_articles"][0]["url"] == f"/library/{suicide.id}"
    calm = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0] * 9}).get_json()
    assert calm["crisis"] is False and "crisis_note" not in calm and "crisis_articles" not in calm


def test_cssrs_answers_include_risk(client):
    body = client.post("/api/v1/screenings", json={"instrument": "cssrs",
                                                   "answers": [True, True, False, False, False, True, True]}).get_json()
    assert body["risk"] == "high" and body["band"] == "high" and body["crisis"] is True
    assert body["score"] is None and body["max_score"] is None


def test_who5_answers_include_percentage_and_flag(client):
    body = client.post("/api/v1/screenings", json={"instrument": "who5", "answers": [2, 2, 2, 2, 2]}).get_json()
    assert body["percentage"] == 40 and body["flags"] == ["depression_screen_advised"] and body["band"] == "poor"


def test_auditc_sex_changes_the_threshold(client):
    female = client.post("/api/v1/screenings", json={"instrument": "auditc", "answers": [1, 1, 1], "sex": "female"})
    other = client.post("/api/v1/screenings", json={"instrument": "auditc", "answers": [1, 1, 1]})
    assert female.get_json()["band"] == "positive" and other.get_json()["band"] == "negative"


def test_invalid_answers_answer_422_naming_each_item_and_store_nothing(client, db):
    response = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [0, 0, 0, 0, 5, 0, 0, 0]})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unprocessable"
    assert set(error["fields"]) == {"answers[4]", "answers[8]"}
    assert "Item 9 is missing." == error["fields"]["answers[8]"]
    assert count_results(db) == 0


def test_cssrs_skip_logic_violation_is_422(client, db):
    response = client.post("/api/v1/screenings", json={"instrument": "cssrs",
                                                       "answers": [False, False, True, None, None, False, None]})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"answers[2]"}
    assert count_results(db) == 0


def test_unknown_instrument_language_sex_and_keys_are_422(client, db):
    cases = [({"instrument": "nope", "answers": []}, "instrument"),
             ({"answers": [0] * 9}, "instrument"),
             ({"instrument": "phq9", "answers": [0] * 9, "language": "fr"}, "language"),
             ({"instrument": "phq9", "answers": [0] * 9, "language": "zh_Hant"}, "language"),
             ({"instrument": "auditc", "answers": [0, 0, 0], "sex": 1}, "sex"),
             ({"instrument": "phq9", "answers": [0] * 9, "name": "Ann"}, "name"),
             ({"instrument": "phq9", "answers": "000000000"}, "answers")]
    for body, field in cases:
        response = client.post("/api/v1/screenings", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], body
    assert count_results(db) == 0


def test_body_must_be_json(client, db):
    response = client.post("/api/v1/screenings", data="instrument=phq9")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"
    assert client.post("/api/v1/screenings", json=[1, 2]).status_code == 400
    assert count_results(db) == 0


def test_resident_token_links_the_screening_to_the_account(client, db, make_user):
    resident = make_user("resident")
    token = token_for(db, resident)
    response = client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [1, 2]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    row = db.session.scalar(select(ScreeningResult))
    assert row.user_id == resident.id and response.headers["Location"].endswith(str(row.id))


def test_staff_token_does_not_link_a_screening(client, db, make_user):
    token = token_for(db, make_user("counsellor"))
    response = client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [1, 2]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    assert db.session.scalar(select(ScreeningResult.user_id)) is None


def test_invalid_token_on_a_public_endpoint_is_still_401(client, db, make_user):
    for header in ("Bearer cct_not-a-real-token", "Basic abc", "Bearer ", ""):
        response = client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [1, 2]},
                               headers={"Authorization": header})
        assert response.status_code == 401, header
        assert client.get("/api/v1/instruments", headers={"Authorization": header}).status_code == 401
    assert count_results(db) == 0


def test_revoked_token_on_a_public_endpoint_is_401(client, db, make_user):
    resident = make_user("resident")
    token = token_for(db, resident)
    accounts.revoke_tokens(resident)
    db.session.commit()
    response = client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [1, 2]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert count_results(db) == 0


def test_non_public_endpoints_still_need_a_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_screenings_are_limited_per_client_address(app, client, db):
    app.config["SCREENING_RATE_LIMIT"] = 3
    try:
        codes = [client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [0, 0]}).status_code
                 for _ in range(4)]
        other = client.post("/api/v1/screenings", json={"instrument": "gad2", "answers": [0, 0]},
                            environ_base={"REMOTE_ADDR": "10.9.9.9"})
    finally:
        app.config["SCREENING_RATE_LIMIT"] = 30
    assert codes == [201, 201, 201, 429]
    assert other.status_code == 201
    assert count_results(db) == 4


def test_the_bare_route_of_the_benchmark_answers_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    assert "Set-Cookie" not in response.headers


def test_an_invalid_rate_limit_setting_stops_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECYCLE_SCREENING_RATE_LIMIT", "lots")
    with pytest.raises(SystemExit) as stop:
        make_app(tmp_path)
    assert "CARECYCLE_SCREENING_RATE_LIMIT must be a whole number" in str(stop.value)


def test_the_phq9_difficulty_answer_is_taken_stored_and_never_scored(client, db):
    import uuid

    plain = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [1] * 9}).get_json()
    rated = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [1] * 9,
                                                    "unscored": {"difficulty": 2}})
    assert rated.status_code == 201
    assert (rated.get_json()["score"], rated.get_json()["band"]) == (plain["score"], plain["band"])
    stored = db.session.get(ScreeningResult, uuid.UUID(rated.get_json()["id"]))
    assert stored.unscored == {"difficulty": 2}
    for bad, field in (({"difficulty": 9}, "unscored.difficulty"), ({"difficulty": 2.0}, "unscored.difficulty"),
                       ({"difficulty": True}, "unscored.difficulty"), ({"mood": 1}, "unscored.mood"),
                       ([2], "unscored")):
        refused = client.post("/api/v1/screenings", json={"instrument": "phq9", "answers": [1] * 9,
                                                          "unscored": bad})
        assert refused.status_code == 422 and field in refused.get_json()["error"]["fields"], bad
    assert len(db.session.scalars(select(ScreeningResult)).all()) == 2  # the refused ones stored nothing
