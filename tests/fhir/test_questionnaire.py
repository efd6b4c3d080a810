"""Questionnaire: one per instrument and language it is offered in (the definition's and approved
translation packs only), public, with LOINC codes where the definition has them and answer codes
that are the stored values."""
from __future__ import annotations

from pathlib import Path

from screening.service import instruments
from screening.service import translations as packs
from tests.fhir.helpers import entries, get

FIXTURE = Path(__file__).parent.parent / "fixtures" / "translations" / "phq9.zh_Hans.json"


def _all(client, **params) -> list[dict]:
    found, page = [], get(client, "Questionnaire", _count=100, **params)
    found += entries(page)
    assert not [link for link in page["link"] if link["relation"] == "next"]
    return found


def test_every_instrument_is_served_in_its_own_languages_without_a_token(client, db):
    found = _all(client)
    expected = {f"{i.id}-{lang.replace('_', '-')}" for i in instruments().values() for lang in i.languages}
    assert {q["id"] for q in found} == expected
    phq9 = get(client, "Questionnaire/phq9-en")
    assert phq9["url"].endswith("/fhir/R4/Questionnaire/phq9-en") and phq9["version"] == instruments()["phq9"].version
    assert phq9["code"] == [{"system": "http://loinc.org", "code": "44249-1", "display": "PHQ-9"}]
    scored = [item for item in phq9["item"] if item["linkId"].isdigit()]
    assert [item["linkId"] for item in scored] == [str(n) for n in range(1, 10)]
    assert scored[8]["code"] == [{"system": "http://loinc.org", "code": "44260-8"}]
    options = scored[0]["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == ["0", "1", "2", "3"]
    assert options[3]["valueCoding"]["display"] == "Nearly every day"
    assert options[3]["valueCoding"]["extension"][0]["valueDecimal"] == 3
    assert any(item["linkId"] == "difficulty" and item["required"] is False for item in phq9["item"])


def test_skip_logic_becomes_enable_when(client, db):
    cssrs = get(client, "Questionnaire/cssrs-en")
    items = {item["linkId"]: item for item in cssrs["item"]}
    assert items["3"]["enableWhen"] == [{"question": "2", "operator": "=", "answerCoding": {"code": "true"}}]
    assert items["3"]["required"] is False and items["1"]["required"] is True
    assert "code" not in cssrs  # no LOINC code confirmed in the definition: none invented


def test_searches_by_url_code_name_and_language(client, db):
    by_code = _all(client, code="http://loinc.org|44249-1")
    assert [q["id"] for q in by_code] == ["phq9-en"]
    url = get(client, "Questionnaire/gad7-en")["url"]
    assert [q["id"] for q in _all(client, url=url)] == ["gad7-en"]
    assert {q["id"] for q in _all(client, name="phq")} == {"phq9-en", "phq2-en"}
    assert _all(client, language="zh-Hans") == []
    get(client, "Questionnaire", status=400, code="http://snomed.info/sct|123")
    get(client, "Questionnaire", status=400, author="x")
    get(client, "Questionnaire/phq9-zh-Hans", status=404)


def test_only_an_approved_pack_adds_a_language(client, db, make_user):
    entered_by, supervisor = make_user("counsellor"), make_user("supervisor")
    row, _created = packs.import_pack(FIXTURE.read_bytes(), FIXTURE.name, entered_by)
    db.session.commit()
    get(client, "Questionnaire/phq9-zh-Hans", status=404)  # in review: not offered to anyone
    assert _all(client, language="zh-Hans") == []
    packs.approve(row, supervisor, sha256=row.sha256, checked={r.key for r in packs.review_rows(row)})
    db.session.commit()
    chinese = get(client, "Questionnaire/phq9-zh-Hans")
    assert chinese["language"] == "zh-Hans"
    first = next(item for item in chinese["item"] if item["linkId"] == "1")
    assert first["text"].startswith("【测试夹具·占位】PHQ-9 第1题")
    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == ["0", "1", "2", "3"]
    assert chinese["code"][0]["code"] == "44249-1"
    assert [q["id"] for q in _all(client, language="zh-Hans")] == ["phq9-zh-Hans"]
    packs.withdraw(row, supervisor, "Wrong wording")
    db.session.commit()
    get(client, "Questionnaire/phq9-zh-Hans", status=404)
