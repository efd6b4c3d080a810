"""Translation packs: the file checked against its instrument (at start-up and on entry), the
two-person workflow (enter, compare side by side, approve; a changed file withdrawn), and what
residents get: an approved pack only, never one in review."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carecycle.audit import AuditEvent
from carecycle.extensions import db as _db
from screening.models import ScreeningResult, TranslationPack
from screening.service import get_instrument, instruments
from screening.service import translations as packs
from screening.service.charts import score_chart
from screening.service.scoring import score
from tests.conftest import csrf_from, dispose, form_post, make_app, sign_in
from tests.htmlform import find_form, submit

FIXTURE = Path(__file__).parent / "fixtures" / "translations" / "phq9.zh_Hans.json"
PLACEHOLDER = "【测试夹具·占位】PHQ-9 第1题"  # the fixture's item 1: placeholder text, never real wording
ENGLISH_ITEM_1 = "Little interest or pleasure in doing things"
DIFFICULTY = "【测试夹具·占位】困难程度问题"  # the fixture's unscored question


def fixture_data() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def as_bytes(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def choose(client, language: str) -> None:
    token = csrf_from(client.get("/"))
    client.post("/language", data={"csrf_token": token, "language": language, "next": "/"})


def enter(runner, user, path: Path = FIXTURE):
    return runner.invoke(args=["instruments", "translation", "import", str(path), "--by", user.username])


def packs_in(db) -> list[TranslationPack]:
    db.session.expire_all()
    return list(db.session.scalars(select(TranslationPack).order_by(TranslationPack.entered_at)))


def events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "translation_pack",
                                                            AuditEvent.action == action)))


def approve_through_page(client, row, tick=None):
    """Open the review page, tick the rows (all of them unless told), press Approve."""
    page = client.get(f"/screening/translations/{row.id}")
    assert page.status_code == 200
    form = find_form(page.get_data(as_text=True), button="Approve this translation")
    keys = [c.attrs["value"] for c in form.controls if c.name == "checked"]
    return submit(client, page, "Approve this translation", {"checked": keys if tick is None else tick(keys)})


# ------------------------------------------------------------------ the file
def test_the_fixture_is_placeholder_text_marked_as_a_test_fixture():
    data = fixture_data()
    texts = [data["title"], data["instructions"], *(i["text"] for i in data["items"]),
             *(o["label"] for o in data["options"]), data["unscored"][0]["text"]]
    assert all("占位" in text and ("placeholder" in text.lower() or "TEST FIXTURE" in text or "测试" in text)
               for text in texts)
    assert all("TEST FIXTURE" in data[key] for key in ("source", "licence", "citation"))


def test_a_matching_pack_adds_its_text_and_changes_no_value_code_or_score(app):
    with app.app_context():
        definition = get_instrument("phq9")
        pack = packs.parse(FIXTURE.read_bytes(), instruments(), FIXTURE.name, ("en", "zh_Hant", "zh_Hans"))
        view = packs.translated(definition, pack)
        assert view.items[0].text == {"en": ENGLISH_ITEM_1, "zh_Hans": PLACEHOLDER +
                                      " (TEST FIXTURE placeholder, item 1; not a translation)"}
        assert [item.values for item in view.items] == [item.values for item in definition.items]
        assert view.loinc == definition.loinc and view.items[8].loinc == "44260-8"
        assert view.bands == definition.bands and view.crisis_when == definition.crisis_when
        answers = [3, 2, 1, 0, 1, 2, 3, 0, 1]
        assert score(view, answers) == score(definition, answers)
        assert "zh_Hans" not in definition.items[0].text  # the loaded definition is never changed
        assert pack.sha256 == packs.sha256_of(FIXTURE.read_bytes())


def _items_missing(d):
    d["items"].pop()


def _value_changed(d):
    d["options"][2]["value"] = 5


def _option_missing(d):
    d["options"].pop()


def _options_reordered(d):
    d["options"][0], d["options"][1] = d["options"][1], d["options"][0]


def _item_numbered_wrong(d):
    d["items"][3]["number"] = 7


def _older_version(d):
    d["translates"] = "1.0"


def _unknown_instrument(d):
    d["instrument"] = "epds"


def _unscored_missing(d):
    d["unscored"] = []


def _empty_item(d):
    d["items"][4]["text"] = "  "


def _item_option_given(d):
    d["items"][2]["options"] = d["options"]


def _english(d):
    d["language"] = "en"


def _no_source(d):
    del d["source"]


def _unscored_value(d):
    d["unscored"][0]["options"][3]["value"] = 4


@pytest.mark.parametrize("change, where, problem", [
    (_items_missing, "items", "item 9 is missing"),
    (_value_changed, "options[2].value", "5 is not a value of this question"),
    (_option_missing, "options", "the option with value 3 is missing"),
    (_options_reordered, "options", "in the printed order 0, 1, 2, 3"),
    (_item_numbered_wrong, "items[3]", "'number' must be 4"),
    (_older_version, "translates", "translates version 1.0 of PHQ-9, but the definition is version 1.1"),
    (_unknown_instrument, "instrument", "there is no instrument 'epds'"),
    (_unscored_missing, "unscored", "the unscored question 'difficulty' is missing"),
    (_empty_item, "item 5.text", "must be non-empty text"),
    (_item_option_given, "item 3.options", "uses the common options"),
    (_english, "language", "other than en"),
    (_no_source, "", "'source' is missing"),
    (_unscored_value, "unscored[0].options[3].value", "4 is not a value"),
])
def test_a_pack_that_does_not_match_is_refused_naming_item_and_problem(app, change, where, problem):
    data = fixture_data()
    change(data)
    with app.app_context(), pytest.raises(packs.PackError) as refused:
        packs.parse(as_bytes(data), instruments(), "phq9.zh_Hans.json", ("en", "zh_Hant", "zh_Hans"))
    message = str(refused.value)
    assert message.startswith("phq9.zh_Hans.json: ")
    assert where in message and problem in message, message


def test_a_pack_in_a_language_the_service_does_not_offer_is_refused(app):
    data = fixture_data()
    data["language"] = "fr"
    with app.app_context(), pytest.raises(packs.PackError, match="'fr' is not a language this service offers"):
        packs.parse(as_bytes(data), instruments(), "phq9.fr.json", ("en", "zh_Hant", "zh_Hans"))


def _folder_app(tmp_path, data: dict | None, name="phq9.zh_Hans.json", db_name="packs.db"):
    folder = tmp_path / "instruments"
    (folder / "translations").mkdir(parents=True, exist_ok=True)
    if data is not None:
        (folder / "translations" / name).write_bytes(as_bytes(data))
    return make_app(tmp_path, SCREENING_INSTRUMENT_DIRS=[str(folder)],
                    SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / db_name}"), folder


def test_a_pack_file_that_does_not_match_its_instrument_stops_start_up(tmp_path):
    data = fixture_data()
    data["items"][6]["text"] = ""
    with pytest.raises(SystemExit) as stopped:
        _folder_app(tmp_path, data)
    message = str(stopped.value)
    assert message.startswith("CareCycle will not start: translation pack invalid: ")
    assert "translations/phq9.zh_Hans.json: item 7.text: must be non-empty text" in message


def test_a_pack_file_must_be_named_after_its_instrument_and_language(tmp_path):
    with pytest.raises(SystemExit, match="the file name must be phq9.zh_Hans.json"):
        _folder_app(tmp_path, fixture_data(), name="phq9-chinese.json")


# ------------------------------------------------------------------ entering a pack
def test_the_command_enters_a_pack_for_review_and_residents_keep_the_english_version(runner, client, db,
                                                                                    make_user):
    counsellor = make_user("counsellor")
    result = enter(runner, counsellor)
    assert result.exit_code == 0, result.output
    assert "entered for review: phq9 zh_Hans" in result.output
    [row] = packs_in(db)
    assert (row.entered_by_id, row.approved_at, row.withdrawn_at) == (counsellor.id, None, None)
    assert row.sha256 == packs.sha256_of(FIXTURE.read_bytes()) and row.translates == "1.1"
    assert len(events(db, "import")) == 1
    # in review: never shown to a visitor or a resident reading Chinese
    choose(client, "zh_Hans")
    page = client.get("/screening/phq9").get_data(as_text=True)
    assert ENGLISH_ITEM_1 in page and "测试夹具" not in page and 'name="translation"' not in page
    resident = make_user("resident")
    sign_in(client, resident.username)
    choose(client, "zh_Hans")
    page = client.get("/screening/phq9").get_data(as_text=True)
    assert ENGLISH_ITEM_1 in page and "测试夹具" not in page
    assert client.get("/screening/translations").status_code == 403
    assert client.get(f"/screening/translations/{row.id}").status_code == 403
    # the same file again changes nothing
    again = enter(runner, counsellor)
    assert again.exit_code == 0 and "unchanged" in again.output
    assert len(packs_in(db)) == 1 and len(events(db, "import")) == 1


@pytest.mark.parametrize("role", ["social_worker", "admin", "resident"])
def test_only_clinical_staff_enter_a_pack(runner, db, make_user, role):
    user = make_user(role)
    result = enter(runner, user)
    assert result.exit_code == 1
    assert "Only clinical staff (a counsellor or a supervisor) enter questionnaire translations." in result.output
    assert packs_in(db) == []


def test_the_command_refuses_a_file_that_does_not_match(runner, db, make_user, tmp_path):
    data = fixture_data()
    data["items"].pop(3)
    broken = tmp_path / "phq9.zh_Hans.json"
    broken.write_bytes(as_bytes(data))
    result = enter(runner, make_user("counsellor"), broken)
    assert result.exit_code == 1
    assert "items[3]: 'number' must be 4" in result.output
    assert packs_in(db) == []


def test_a_supervisor_enters_a_pack_on_the_upload_page(client, db, login_as):
    supervisor = login_as("supervisor")
    page = client.get("/screening/translations")
    assert page.status_code == 200 and "No translations yet" in page.get_data(as_text=True)
    response = form_post(client, "/screening/translations/upload",
                         {"file": (io.BytesIO(FIXTURE.read_bytes()), "phq9.zh_Hans.json")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    [row] = packs_in(db)
    assert response.headers["Location"].endswith(f"/screening/translations/{row.id}")
    assert row.entered_by_id == supervisor.id and row.file_name == "phq9.zh_Hans.json"
    listing = client.get("/screening/translations").get_data(as_text=True)
    assert "In review: not shown to residents" in listing and "PHQ-9" in listing


def test_the_upload_page_names_the_problem_and_enters_nothing(client, db, login_as):
    login_as("supervisor")
    data = fixture_data()
    data["options"][1]["value"] = 9
    response = form_post(client, "/screening/translations/upload",
                         {"file": (io.BytesIO(as_bytes(data)), "phq9.zh_Hans.json")},
                         content_type="multipart/form-data")
    assert response.status_code == 400
    assert "options[1].value: 9 is not a value of this question" in response.get_data(as_text=True)
    empty = form_post(client, "/screening/translations/upload", {}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "Choose a JSON file." in empty.get_data(as_text=True)
    assert packs_in(db) == []


@pytest.mark.parametrize("role", ["counsellor", "social_worker", "admin", "resident"])
def test_only_supervisors_reach_the_upload_page(client, login_as, role):
    login_as(role)
    assert client.get("/screening/translations/upload").status_code == 403


# ------------------------------------------------------------------ the second person
def test_the_person_who_entered_a_pack_cannot_approve_it(client, db, login_as):
    supervisor = login_as("supervisor")
    form_post(client, "/screening/translations/upload", {"file": (io.BytesIO(FIXTURE.read_bytes()), "p.json")},
              content_type="multipart/form-data")
    [row] = packs_in(db)
    page = client.get(f"/screening/translations/{row.id}").get_data(as_text=True)
    assert "another supervisor checks and approves it" in page and "Approve this translation" not in page
    token = csrf_from(client.get(f"/screening/translations/{row.id}"))
    keys = [r.key for r in _rows(row)]
    response = client.post(f"/screening/translations/{row.id}/approve",
                           data={"csrf_token": token, "sha256": row.sha256, "checked": keys})
    assert response.status_code == 403
    assert "a second person must check and approve it" in response.get_data(as_text=True)
    [row] = packs_in(db)
    assert row.approved_at is None and row.approved_by_id is None
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                                         AuditEvent.actor_id == supervisor.id)).all()
    assert denied and denied[-1].object_type == "translation_pack"


def _submit_label(page) -> str:
    """The questionnaire's own button, in the page's language."""
    return find_form(page.get_data(as_text=True), action="/screening/phq9").button_texts()[0]


def _rows(row):
    from flask import current_app
    with current_app.test_request_context():
        return packs.review_rows(row)


def test_approving_needs_every_row_compared(client, db, runner, make_user):
    enter(runner, make_user("counsellor"))
    [row] = packs_in(db)
    sign_in(client, make_user("supervisor").username)
    response = approve_through_page(client, row, tick=lambda keys: [k for k in keys if k != "item-9"])
    assert response.status_code == 400
    assert "Not ticked: Item 9." in response.get_data(as_text=True)
    assert packs_in(db)[0].approved_at is None


@pytest.mark.parametrize("role", ["counsellor", "social_worker"])
def test_staff_read_a_pack_in_review_but_only_a_supervisor_approves(client, db, runner, make_user, role):
    enter(runner, make_user("counsellor"))
    [row] = packs_in(db)
    sign_in(client, make_user(role).username)
    page = client.get(f"/screening/translations/{row.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert ENGLISH_ITEM_1 in text and PLACEHOLDER in text and "Approve this translation" not in text
    token = csrf_from(page)
    response = client.post(f"/screening/translations/{row.id}/approve",
                           data={"csrf_token": token, "sha256": row.sha256, "checked": ["title"]})
    assert response.status_code == 403
    assert packs_in(db)[0].approved_at is None
    refused = client.post(f"/screening/translations/{row.id}/withdraw",
                          data={"csrf_token": token, "reason": "not mine to withdraw"})
    assert refused.status_code == 403
    assert packs_in(db)[0].withdrawn_at is None


def test_the_whole_workflow_up_to_a_screening_in_chinese_and_a_changed_file(app, client, db, runner, make_user,
                                                                           tmp_path):
    counsellor, supervisor = make_user("counsellor"), make_user("supervisor")
    assert enter(runner, counsellor).exit_code == 0
    [row] = packs_in(db)
    sign_in(client, supervisor.username)
    review = client.get(f"/screening/translations/{row.id}").get_data(as_text=True)
    # side by side: the English item, the translated item, and the source document named
    assert ENGLISH_ITEM_1 in review and PLACEHOLDER in review
    assert "TEST FIXTURE: no source document" in review and row.sha256 in review
    response = approve_through_page(client, row)
    assert response.status_code == 302
    [row] = packs_in(db)
    assert row.approved_by_id == supervisor.id and row.entered_by_id == counsellor.id
    assert row.approved_at is not None and len(events(db, "approve")) == 1
    assert row.sha256 in events(db, "approve")[0].reason or row.sha256[:12] in events(db, "approve")[0].reason
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/"))})

    # a visitor choosing Simplified Chinese now answers the approved pack
    visitor = app.test_client()
    choose(visitor, "zh_Hans")
    page = visitor.get("/screening/phq9")
    text = page.get_data(as_text=True)
    assert PLACEHOLDER in text and ENGLISH_ITEM_1 not in text
    assert f'name="translation" value="{row.sha256}"' in text
    assert "TEST FIXTURE: placeholder text written for CareCycle" in text  # the licence, in the about box
    answers = {f"item-{n}": "1" for n in range(1, 10)}
    answers["item-9"] = "0"
    answers["unscored-difficulty"] = "1"
    done = submit(visitor, page, _submit_label(page), answers, action="/screening/phq9")
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    stored = db.session.scalars(select(ScreeningResult)).one()
    assert (stored.language, stored.translation_sha256, stored.score) == ("zh_Hans", row.sha256, 8)
    result_page = visitor.get(done.headers["Location"]).get_data(as_text=True)
    assert row.sha256[:12] in result_page and DIFFICULTY in result_page

    # a changed file withdraws the approved pack: residents get English until it is approved again
    changed = fixture_data()
    changed["items"][0]["text"] = "【测试夹具·占位】PHQ-9 第1题 (changed placeholder)"
    path = tmp_path / "phq9.zh_Hans.json"
    path.write_bytes(as_bytes(changed))
    assert enter(runner, counsellor, path).exit_code == 0
    old, new = packs_in(db)
    assert old.withdrawn_at is not None and "replaced by" in old.withdrawn_reason
    assert new.approved_at is None and new.withdrawn_at is None
    assert len(events(db, "withdraw")) == 1
    again = visitor.get("/screening/phq9").get_data(as_text=True)
    assert ENGLISH_ITEM_1 in again and "测试夹具" not in again
    # the earlier result still shows the text it was answered in (the withdrawn pack's, by its hash)
    assert DIFFICULTY in visitor.get(done.headers["Location"]).get_data(as_text=True)


def test_a_page_opened_before_a_replacement_records_the_pack_it_showed(app, client, db, runner, make_user,
                                                                       tmp_path):
    counsellor = make_user("counsellor")
    enter(runner, counsellor)
    [row] = packs_in(db)
    sign_in(client, make_user("supervisor").username)
    approve_through_page(client, row)
    visitor = app.test_client()
    choose(visitor, "zh_Hans")
    page = visitor.get("/screening/phq9")
    changed = fixture_data()
    changed["items"][1]["text"] = "【测试夹具·占位】changed"
    path = tmp_path / "phq9.zh_Hans.json"
    path.write_bytes(as_bytes(changed))
    enter(runner, counsellor, path)
    done = submit(visitor, page, _submit_label(page), {f"item-{n}": "0" for n in range(1, 10)},
                  action="/screening/phq9")
    assert done.status_code == 302
    stored = db.session.scalars(select(ScreeningResult)).one()
    assert (stored.language, stored.translation_sha256) == ("zh_Hans", row.sha256)


def test_a_supervisor_withdraws_a_pack_with_a_reason(client, db, runner, make_user):
    enter(runner, make_user("counsellor"))
    [row] = packs_in(db)
    sign_in(client, make_user("supervisor").username)
    approve_through_page(client, row)
    page = client.get(f"/screening/translations/{row.id}")
    refused = submit(client, page, "Withdraw", {"reason": "   "})
    assert refused.status_code == 400 and "Say why the translation is withdrawn." in refused.get_data(as_text=True)
    assert packs_in(db)[0].withdrawn_at is None
    done = submit(client, page, "Withdraw", {"reason": "The publisher issued a corrected file."})
    assert done.status_code == 302
    [row] = packs_in(db)
    assert row.withdrawn_reason == "The publisher issued a corrected file." and len(events(db, "withdraw")) == 1
    choose(client, "zh_Hans")
    assert "测试夹具" not in client.get("/screening/phq9").get_data(as_text=True)


def test_a_file_in_the_folder_changed_after_approval_is_not_offered(tmp_path):
    from flask_migrate import upgrade

    from carecycle.accounts.models import User
    from carecycle.roles import Role
    first, folder = _folder_app(tmp_path, fixture_data())
    try:
        with first.app_context():
            upgrade()
            counsellor = User(username="entering", role=Role.COUNSELLOR, password_hash="x")
            supervisor = User(username="checking", role=Role.SUPERVISOR, password_hash="x")
            _db.session.add_all([counsellor, supervisor])
            _db.session.flush()
            listed = packs.overview()
            assert [(i.instrument.id, i.language, i.status) for i in listed] == [
                ("phq9", "zh_Hans", packs.PackState.NOT_ENTERED)]
            row, _created = packs.import_pack((folder / "translations" / "phq9.zh_Hans.json").read_bytes(),
                                              "phq9.zh_Hans.json", counsellor)
            with first.test_request_context():
                packs.approve(row, supervisor, sha256=row.sha256, checked={r.key for r in packs.review_rows(row)})
                assert packs.offered(get_instrument("phq9"), "zh_Hans") is not None
            _db.session.commit()
    finally:
        dispose(first)
    changed = fixture_data()
    changed["title"] = "【测试夹具·占位】changed title"
    second, _folder = _folder_app(tmp_path, changed)
    try:
        with second.test_request_context():
            row = _db.session.scalars(select(TranslationPack)).one()
            assert packs.status(row) is packs.PackState.FILE_CHANGED
            assert packs.offered(get_instrument("phq9"), "zh_Hans") is None
    finally:
        dispose(second)


# ------------------------------------------------------------------ the API and the charts
def test_the_api_offers_an_approved_language_only(client, db, runner, make_user):
    body = {"instrument": "phq9", "answers": [0] * 9, "language": "zh_Hans"}
    enter(runner, make_user("counsellor"))
    [row] = packs_in(db)
    assert client.post("/api/v1/screenings", json=body).status_code == 422  # in review
    listed = {i["id"]: i for i in client.get("/api/v1/instruments").get_json()["instruments"]}
    assert listed["phq9"]["languages"] == ["en"]
    sign_in(client, make_user("supervisor").username)
    approve_through_page(client, row)
    listed = {i["id"]: i for i in client.get("/api/v1/instruments").get_json()["instruments"]}
    assert listed["phq9"]["languages"] == ["en", "zh_Hans"] and listed["gad7"]["languages"] == ["en"]
    created = client.post("/api/v1/screenings", json=body)
    assert created.status_code == 201
    stored = db.session.get(ScreeningResult, __import__("uuid").UUID(created.get_json()["id"]))
    assert (stored.language, stored.translation_sha256) == ("zh_Hans", row.sha256)


def test_charts_mark_a_change_of_language_between_two_scores(client, db, login_as):
    from datetime import timedelta

    from carecycle.database import utcnow
    resident = login_as("resident")
    now = utcnow()
    for days, language in ((20, "en"), (10, "en"), (1, "zh_Hans")):
        result = ScreeningResult(instrument="phq9", instrument_version="1.1", score=5, band="mild",
                                 language=language, user_id=resident.id, created_at=now - timedelta(days=days))
        result.answers = [1] * 5 + [0] * 4
        db.session.add(result)
    db.session.commit()
    rows = db.session.scalars(select(ScreeningResult).order_by(ScreeningResult.created_at)).all()
    chart = score_chart(get_instrument("phq9"), rows)
    assert [p.language_changed for p in chart.points] == [False, False, True]
    assert chart.language_changes[0].previous_language == "en"
    page = client.get("/screening/history").get_data(as_text=True)
    assert page.count('class="language-ring"') == 1
    assert "another language than the score before" in page and "English → " in page


def test_nothing_is_stored_twice(db, runner, make_user):
    counsellor = make_user("counsellor")
    enter(runner, counsellor)
    enter(runner, counsellor)
    assert db.session.scalar(select(func.count()).select_from(TranslationPack)) == 1


def test_a_pack_in_review_waits_in_the_supervisors_approvals_queue(client, db, runner, make_user):
    counsellor = make_user("counsellor", display_name="Chan Entering")
    enter(runner, counsellor)
    [row] = packs_in(db)
    sign_in(client, make_user("supervisor").username)
    queue = client.get("/supervision/approvals?kind=translation").get_data(as_text=True)
    assert "Questionnaire translation to check" in queue and "Chan Entering" in queue
    item = client.get(f"/supervision/approvals/translation/{row.id}")
    assert item.status_code == 200
    text = item.get_data(as_text=True)
    assert f'href="/screening/translations/{row.id}"' in text and "PHQ-9" in text
    assert 'name="decision"' not in text  # decided on the review page only, after the row-by-row comparison
    token = csrf_from(item)
    refused = client.post(f"/supervision/approvals/translation/{row.id}",
                          data={"csrf_token": token, "decision": "approve"})
    assert refused.status_code == 400 and packs_in(db)[0].approved_at is None
    approve_through_page(client, row)
    assert "Questionnaire translation to check" not in client.get("/supervision/approvals").get_data(as_text=True)
