"""The screening instruments as FHIR R4 `Questionnaire` (registered with carecycle.fhir).

One Questionnaire per instrument and language a resident may take it in: the definition's own
languages and every approved translation pack (a withdrawn or unapproved pack is not served). Public,
like `/api/v1/instruments`: an instrument holds nothing about anyone.

Each scored item's `linkId` is its number ("1".."9"), an unscored question's its code, a respondent
field's its name, so a QuestionnaireResponse's answers map back to the definition. Answer options
carry the stored value as the code (`0`, `1`, `true`...) with its label and, where the value is a
number, the FHIR `ordinalValue` extension (what it adds to the total). LOINC codes appear where the
definition has them (panel on `Questionnaire.code`, item codes such as PHQ-9 item 9 on the item); a
condition "ask when item N is X" becomes `enableWhen`.
"""
from __future__ import annotations

import json
import re
from typing import Any

from carecycle.fhir import FhirError, Page, base_url, register_resource, token_value
from carecycle.lifecycle import NotFound
from carecycle.permissions import PUBLIC
from screening.service import instruments, text
from screening.service import translations as packs
from screening.service.definitions import Instrument, Option
from screening.service.results import catalogue

LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def bcp47(language: str) -> str:
    """A stored language (`zh_Hant`) as the BCP 47 tag FHIR uses (`zh-Hant`)."""
    return language.replace("_", "-")


def questionnaire_id(key: str, language: str) -> str:
    """The FHIR id of instrument `key`'s Questionnaire in `language` (e.g. `phq9-zh-Hant`)."""
    return f"{key}-{bcp47(language)}"


def questionnaire_url(key: str, language: str) -> str:
    """The Questionnaire's canonical URL (what QuestionnaireResponse.questionnaire names)."""
    return f"{base_url()}/Questionnaire/{questionnaire_id(key, language)}"


def answer_code(value: Any) -> str:
    """An answer's stored value as its code: `0`, `3`, `true`, `false`, `female`..."""
    return value if isinstance(value, str) else json.dumps(value)


def answer_coding(option: Option, language: str) -> dict:
    coding: dict[str, Any] = {"code": answer_code(option.value), "display": text(option.label, language)}
    if isinstance(option.value, int) and not isinstance(option.value, bool):
        coding["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": option.value}]
    return coding


def _enable_when(condition: dict | None) -> list[dict] | None:
    """`ask when item N == value` as enableWhen; other conditions are left to the form (None)."""
    if not condition or condition.get("test") != "item" or condition.get("op") != "==":
        return None
    return [{"question": str(condition["item"]), "operator": "=",
             "answerCoding": {"code": answer_code(condition["value"])}}]


def questionnaire(instrument: Instrument, language: str) -> dict:
    """`instrument` (with the pack's text added when `language` comes from one) in `language`."""
    items: list[dict] = []
    instructions = text(instrument.instructions, language)
    if instructions:
        items.append({"linkId": "instructions", "type": "display", "text": instructions})
    for item in instrument.items:
        entry: dict[str, Any] = {"linkId": str(item.number), "prefix": f"{item.number}.",
                                 "text": text(item.text, language), "type": "choice",
                                 "required": item.ask_when is None,
                                 "answerOption": [{"valueCoding": answer_coding(o, language)} for o in item.options]}
        if item.loinc:
            entry["code"] = [{"system": LOINC, "code": item.loinc}]
        enable = _enable_when(item.ask_when)
        if enable:
            entry["enableWhen"] = enable
        items.append(entry)
    for question in instrument.unscored:
        items.append({"linkId": question.code, "text": text(question.text, language), "type": "choice",
                      "required": False,
                      "answerOption": [{"valueCoding": answer_coding(o, language)} for o in question.options]})
    for field in instrument.respondent:
        items.append({"linkId": field.name, "text": text(field.label, language), "type": "choice",
                      "required": True,
                      "answerOption": [{"valueCoding": answer_coding(o, language)} for o in field.options]})
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire", "id": questionnaire_id(instrument.id, language),
        "url": questionnaire_url(instrument.id, language), "version": instrument.version,
        "name": re.sub(r"[^A-Za-z0-9_]", "", instrument.name.upper()) or "Instrument",
        "title": text(instrument.title, language), "status": "active", "language": bcp47(language),
        "subjectType": ["Patient"], "publisher": "CareCycle",
        "description": text(instrument.purpose, language),
        "item": items,
    }
    copyright_text = " ".join(t for t in (text(instrument.attribution, language),
                                          text(instrument.licence, language)) if t)
    if copyright_text:
        resource["copyright"] = copyright_text
    if instrument.loinc.get("panel"):
        resource["code"] = [{"system": LOINC, "code": instrument.loinc["panel"], "display": instrument.name}]
    return resource


def served() -> list[tuple[Instrument, str]]:
    """(instrument as shown in the language, language) for every instrument and language served."""
    approved = packs.approved_languages()
    found = []
    for instrument in catalogue(instruments()):
        for language in packs.offered_languages(instrument, approved):
            if instrument.offered_in(language):
                found.append((instrument, language))
                continue
            pack = packs.offered(instrument, language)
            if pack is not None:
                found.append((packs.translated(instrument, pack), language))
    return found


def read_questionnaire(record_id: str, _user) -> dict:
    for instrument, language in served():
        if questionnaire_id(instrument.id, language) == record_id:
            return questionnaire(instrument, language)
    raise NotFound("questionnaire")


def search_questionnaires(params: dict[str, str], _user, page: Page) -> tuple[list[dict], bool]:
    found = served()
    if "language" in params:
        wanted = bcp47(params["language"]).lower()
        found = [(i, lang) for i, lang in found if bcp47(lang).lower() == wanted]
    if "name" in params:
        wanted = params["name"].lower()
        found = [(i, lang) for i, lang in found if i.name.lower().startswith(wanted)
                 or i.id.lower().startswith(wanted)]
    if "code" in params:
        system, code = token_value(params["code"])
        if system not in (None, LOINC):
            raise FhirError(400, f"code takes LOINC panel codes ({LOINC}|<code>).")
        found = [(i, lang) for i, lang in found if i.loinc.get("panel") == code]
    if "url" in params:
        url = params["url"].partition("|")[0]
        found = [(i, lang) for i, lang in found if questionnaire_url(i.id, lang) == url]
    shown = found[page.offset:page.offset + page.count]
    return [questionnaire(i, lang) for i, lang in shown], len(found) > page.offset + page.count


def register(app) -> None:
    register_resource(
        app, "Questionnaire", permission=PUBLIC, read=read_questionnaire, search=search_questionnaires,
        params={"url": "The canonical URL (a QuestionnaireResponse's questionnaire).",
                "name": "The instrument's name or id, from the start (phq9, PHQ-9...).",
                "code": f"The LOINC panel code ({LOINC}|44249-1 for the PHQ-9).",
                "language": "The language (en, zh-Hant, zh-Hans)."},
        param_types={"url": "uri", "name": "string", "code": "token", "language": "token"},
        doc="One per screening instrument and language it is offered in (the definition's and approved "
            "translations): items, answer options with their values, LOINC codes where known. Public.")
