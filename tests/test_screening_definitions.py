"""Instrument files are validated at start-up: an invalid file stops the app with a message that
names the file and the problem; a valid added file is a new instrument, with no code."""
from __future__ import annotations

import copy
import json

import pytest

from carecycle.extensions import db as _db
from screening.service.definitions import BUILTIN_DIR, DefinitionError, build_instrument, load_instruments
from tests.conftest import dispose, make_app

PHQ2 = json.loads((BUILTIN_DIR / "phq2.json").read_text())


def variant(**changes) -> dict:
    data = copy.deepcopy(PHQ2)
    data["id"] = "extra"
    data.pop("follow_up")
    data.update(changes)
    return data


def write(folder, name, data):
    path = folder / f"{name}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_builtin_definitions_load():
    assert len(load_instruments([BUILTIN_DIR])) == 10


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("items"), "'items' is required"),
    (lambda d: d.update(colour="blue"), "unknown key(s) colour"),
    (lambda d: d.update(id="Bad Id"), "lowercase"),
    (lambda d: d["bands"].pop(), "no band covers total 3"),
    (lambda d: d["bands"][1].update(min=2), "more than one band"),
    (lambda d: d["bands"][0].update(max=9), "reaches outside"),
    (lambda d: d["items"][0].update(text={"en": "x", "zh_Hant": "機器翻譯"}), "which 'languages' does not declare"),
    (lambda d: d.update(languages=["en", "zh_Hant"]), "has no text in zh_Hant"),
    (lambda d: d["options"].append({"value": 1, "label": {"en": "again"}}), "appears twice"),
    (lambda d: d["items"][1].update(ask_when={"test": "item", "item": 1, "op": "==", "value": 1}),
     "'sum' needs numbered options on every item and no skip logic"),
    (lambda d: d.update(crisis_when={"test": "item", "item": 5, "op": ">=", "value": 1}), "item number from 1 to 2"),
    (lambda d: d.update(crisis_when={"test": "band", "in": ["nope"]}), "unknown band(s) nope"),
    (lambda d: d.update(crisis_when={"test": "magic"}), "unknown test 'magic'"),
    (lambda d: d.update(scoring={"method": "average"}), "must be one of sum, levels"),
    (lambda d: d["title"].pop("en"), "needs English text"),
    (lambda d: d.update(minutes="two"), "minutes: must be a whole number"),
    (lambda d: d.update(notes=[{"when": {"test": "magic"}, "text": {"en": "x"}}]), "notes[0].when"),
    (lambda d: d.update(notes=[{"when": {"test": "total", "op": ">=", "value": 1}, "text": {"zh_Hant": "x"}}]),
     "needs English text"),
    (lambda d: d.update(notes=[{"when": {"test": "total", "op": ">=", "value": 1}, "text": {"en": "x"},
                                "score": 1}]), "unknown key(s) score"),
])
def test_schema_problems_are_named(change, problem):
    data = variant()
    change(data)
    with pytest.raises(DefinitionError) as error:
        build_instrument(data)
    assert problem in str(error.value)


def test_skip_logic_may_only_look_back():
    data = json.loads((BUILTIN_DIR / "cssrs.json").read_text())
    data["items"][1]["ask_when"] = {"test": "item", "item": 3, "op": "==", "value": True}
    with pytest.raises(DefinitionError) as error:
        build_instrument(data)
    assert "items[1].ask_when.item: may refer only to items before item 2" in str(error.value)


def test_levels_need_a_fallback():
    data = json.loads((BUILTIN_DIR / "cssrs.json").read_text())
    data["bands"].pop()
    with pytest.raises(DefinitionError) as error:
        build_instrument(data)
    assert "fallback" in str(error.value)


def test_file_name_must_match_id(tmp_path):
    write(tmp_path, "other", variant())
    with pytest.raises(DefinitionError) as error:
        load_instruments([tmp_path])
    assert "other.json" in str(error.value) and "must match the file name" in str(error.value)


def test_invalid_json_names_file_and_line(tmp_path):
    write(tmp_path, "broken", '{"id": "broken",\n  "name": }')
    with pytest.raises(DefinitionError) as error:
        load_instruments([tmp_path])
    assert "broken.json" in str(error.value) and "line 2" in str(error.value)


def test_duplicate_id_across_folders(tmp_path):
    data = variant(id="phq2")
    write(tmp_path, "phq2", data)
    with pytest.raises(DefinitionError) as error:
        load_instruments([BUILTIN_DIR, tmp_path])
    assert "defined twice" in str(error.value)


def test_invalid_file_stops_start_up_naming_file_and_problem(tmp_path):
    folder = tmp_path / "instruments"
    folder.mkdir()
    data = variant()
    data["bands"][1]["min"] = 4
    write(folder, "extra", data)
    with pytest.raises(SystemExit) as stop:
        make_app(tmp_path, SCREENING_INSTRUMENT_DIRS=[str(folder)])
    message = str(stop.value)
    assert "extra.json" in message and "no band covers total 3" in message


def test_adding_a_licensed_instrument_is_adding_a_file(tmp_path):
    folder = tmp_path / "instruments"
    folder.mkdir()
    write(folder, "extra", variant(name="EXTRA-2", title={"en": "A licensed extra questionnaire"}))
    app = make_app(tmp_path, SCREENING_INSTRUMENT_DIRS=[str(folder)],
                   SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'extra.db'}")
    try:
        with app.app_context():
            _db.create_all()  # the catalogue lists the languages of approved translations (none here)
        client = app.test_client()
        listing = client.get("/api/v1/instruments").get_json()["instruments"]
        assert {"id": "extra", "name": "EXTRA-2", "title": "A licensed extra questionnaire", "item_count": 2,
                "languages": ["en"]} in listing
        page = client.get("/screening/extra")
        assert page.status_code == 200
        assert "A licensed extra questionnaire" in page.get_data(as_text=True)
    finally:
        dispose(app)
