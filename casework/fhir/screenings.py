"""The screenings counted on a case as FHIR `QuestionnaireResponse` (the answers) and `Observation`
(the total score, or the level of a level instrument, with the band as its interpretation).

Both carry the id of the case's screening link (`case_screening`), so the Observation's
`derivedFrom` names the QuestionnaireResponse with the same id. The item answers are clinical (PHQ-9
item 9 asks about thoughts of self-harm, and no page shows the answers after they are entered): only
roles that write risk assessments (Permission.RISK_ASSESS: counsellors and supervisors) receive a
QuestionnaireResponse, never social workers. The total and its band follow the case's outcomes page
(Permission.CASES_VIEW). Every read is audited as a view of the `case_screening`.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from carecycle.audit import record_view
from carecycle.extensions import db
from carecycle.fhir import (
    Concept,
    FhirError,
    Page,
    base_url,
    code_system_url,
    instant,
    ref,
    ref_id,
    register_code_system,
    register_resource,
    token_value,
)
from carecycle.lifecycle import NotFound, load_visible
from carecycle.permissions import Permission, role_has
from carecycle.roles import Role
from carecycle.urls import as_uuid
from casework.models import Case, CaseScreening
from casework.service.access import visible_cases
from screening.fhir import LOINC, answer_code, answer_coding, questionnaire_url
from screening.models import ScreeningResult
from screening.service import get_instrument, instruments, text
from screening.service import translations as packs
from screening.service.definitions import Instrument

TOTAL_SYSTEM = "screening-total"
BAND_SYSTEM = "screening-band"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
UCUM = "http://unitsofmeasure.org"


def _clinical(user) -> bool:
    return role_has(Role(user.role), Permission.RISK_ASSESS)


def _rows_stmt(user):
    """(link, result, client id) of the screenings on the cases `user` may see."""
    return (select(CaseScreening, ScreeningResult, Case.client_id)
            .join(ScreeningResult, ScreeningResult.id == CaseScreening.result_id)
            .join(Case, Case.id == CaseScreening.case_id)
            .where(visible_cases(user))
            .options(joinedload(CaseScreening.recorded_by)))


def _answered(result: ScreeningResult, cache: dict) -> tuple[Instrument | None, str]:
    """The instrument as the result was answered (a pack's text when one was used) and its language."""
    key = (result.instrument, result.language, result.translation_sha256)
    if key not in cache:
        definition = get_instrument(result.instrument)
        if definition is None:
            cache[key] = (None, "en")
        elif definition.offered_in(result.language):
            cache[key] = (definition, result.language)
        elif result.translation_sha256:
            cache[key] = (packs.answered_in(definition, result.language, result.translation_sha256),
                          result.language)
        else:
            cache[key] = (definition, "en")  # the items were shown in English
    return cache[key]


def _author(link: CaseScreening, client_id) -> dict:
    if link.source == "self":
        return ref("Patient", client_id)
    return {"display": link.recorded_by.name} if link.recorded_by else {"display": "CareCycle"}


def _answer(options, value, language: str) -> dict:
    option = next((o for o in options if o.value == value), None)
    if option is None:
        return {"valueCoding": {"code": answer_code(value)}}
    return {"valueCoding": answer_coding(option, language)}


# ------------------------------------------------------------------ QuestionnaireResponse
def questionnaire_response(link: CaseScreening, result: ScreeningResult, client_id, cache: dict) -> dict:
    instrument, language = _answered(result, cache)
    items: list[dict] = []
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": str(link.id),
        "questionnaire": f"{questionnaire_url(result.instrument, language)}|{result.instrument_version}",
        "status": "completed", "subject": ref("Patient", client_id), "authored": instant(result.created_at),
        "author": _author(link, client_id),
    }
    if link.source == "self":
        resource["source"] = ref("Patient", client_id)
    if instrument is not None:
        for item, value in zip(instrument.items, result.answers or [], strict=False):
            if value is None:
                continue  # not asked (skip logic) or left out
            items.append({"linkId": str(item.number), "text": text(item.text, language),
                          "answer": [_answer(item.options, value, language)]})
        given = result.unscored or {}
        for question in instrument.unscored:
            if given.get(question.code) is not None:
                items.append({"linkId": question.code, "text": text(question.text, language),
                              "answer": [_answer(question.options, given[question.code], language)]})
        respondent = result.respondent or {}
        for field in instrument.respondent:
            if respondent.get(field.name) is not None:
                items.append({"linkId": field.name, "text": text(field.label, language),
                              "answer": [_answer(field.options, respondent[field.name], language)]})
    if items:
        resource["item"] = items
    return resource


def _patient_filter(stmt, params: dict[str, str]):
    value = params.get("patient") or params.get("subject")
    if value is None:
        return stmt
    client_id = as_uuid(ref_id(value, "Patient"))
    if client_id is None:
        raise FhirError(400, "patient must be a Patient reference (Patient/<id>) or an id.")
    return stmt.where(Case.client_id == client_id)


def _questionnaire_filter(stmt, value: str):
    url = value.partition("|")[0]
    prefix = f"{base_url()}/Questionnaire/"
    ident = url[len(prefix):] if url.startswith(prefix) else ref_id(url, "Questionnaire")
    key, _sep, language = (ident or "").partition("-")
    if not key or not language or get_instrument(key) is None:
        raise FhirError(400, "questionnaire must be the canonical URL of a Questionnaire this server serves.")
    return stmt.where(ScreeningResult.instrument == key, ScreeningResult.language == language.replace("-", "_"))


def _page(stmt, page: Page) -> tuple[list, bool]:
    rows = list(db.session.execute(stmt.order_by(ScreeningResult.created_at.desc(), CaseScreening.id)
                                   .offset(page.offset).limit(page.count + 1)).unique())
    return page.window(rows)


def _one(record_id: str, user):
    link_id = as_uuid(record_id)
    row = db.session.execute(_rows_stmt(user).where(CaseScreening.id == link_id)).unique().first() if link_id else None
    if row is None:
        raise NotFound("case_screening")
    load_visible("case", row[0].case_id, user, audit=False)  # notes a break-glass grant in use
    record_view("case_screening", row[0].id)
    return row


def read_questionnaire_response(record_id: str, user) -> dict:
    link, result, client_id = _one(record_id, user)
    return questionnaire_response(link, result, client_id, {})


def search_questionnaire_responses(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _patient_filter(_rows_stmt(user), params)
    if "questionnaire" in params:
        stmt = _questionnaire_filter(stmt, params["questionnaire"])
    shown, more = _page(stmt, page)
    cache: dict = {}
    return [questionnaire_response(link, result, client_id, cache) for link, result, client_id in shown], more


# ------------------------------------------------------------------ Observation
def _band_code(instrument_id: str, band: str) -> str:
    return f"{instrument_id}-{band}"


def observation(link: CaseScreening, result: ScreeningResult, client_id) -> dict:
    definition = get_instrument(result.instrument)
    name = definition.name if definition else result.instrument
    codings = []
    if definition is not None and definition.loinc.get("total"):
        codings.append({"system": LOINC, "code": definition.loinc["total"], "display": f"{name} total score"})
    codings.append({"system": code_system_url(TOTAL_SYSTEM), "code": result.instrument,
                    "display": _total_display(name, definition)})
    band = definition.band(result.band) if definition else None
    band_coding = {"system": code_system_url(BAND_SYSTEM), "code": _band_code(result.instrument, result.band),
                   "display": text(band.label, "en") if band else result.band}
    interpretation: list[dict] = [{"coding": [band_coding], "text": band_coding["display"]}]
    if result.crisis:
        interpretation.append({"coding": [{"system": INTERPRETATION, "code": "AA", "display": "Critical abnormal"}],
                               "text": "The instrument's crisis rule was met"})
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": str(link.id), "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": codings, "text": _total_display(name, definition)},
        "subject": ref("Patient", client_id), "effectiveDateTime": instant(result.created_at),
        "performer": [_author(link, client_id)],
        "interpretation": interpretation,
        "derivedFrom": [ref("QuestionnaireResponse", link.id)],
    }
    if result.score is not None:
        resource["valueQuantity"] = {"value": result.score, "unit": "{score}", "system": UCUM, "code": "{score}"}
    else:
        resource["valueCodeableConcept"] = {"coding": [band_coding], "text": band_coding["display"]}
    return resource


def _total_display(name: str, definition: Instrument | None) -> str:
    if definition is not None and definition.method != "sum":
        return f"{name} level"
    return f"{name} total score"


def _code_filter(stmt, value: str):
    system, code = token_value(value)
    wanted: set[str] = set()
    if system in (None, LOINC):
        wanted |= {i.id for i in instruments().values() if i.loinc.get("total") == code}
    if system in (None, code_system_url(TOTAL_SYSTEM)) and code in instruments():
        wanted.add(code)
    if not wanted:
        raise FhirError(400, f"code must be an instrument's LOINC total code ({LOINC}|44261-6) or its "
                             f"{code_system_url(TOTAL_SYSTEM)} code (phq9, gad7...).")
    return stmt.where(ScreeningResult.instrument.in_(sorted(wanted)))


def read_observation(record_id: str, user) -> dict:
    link, result, client_id = _one(record_id, user)
    return observation(link, result, client_id)


def search_observations(params: dict[str, str], user, page: Page) -> tuple[list[dict], bool]:
    stmt = _patient_filter(_rows_stmt(user), params)
    if "code" in params:
        stmt = _code_filter(stmt, params["code"])
    shown, more = _page(stmt, page)
    return [observation(link, result, client_id) for link, result, client_id in shown], more


# ------------------------------------------------------------------ $everything and registration
def everything(client, user) -> list[dict]:
    if not role_has(Role(user.role), Permission.CASES_VIEW):
        return []
    rows = list(db.session.execute(_rows_stmt(user).where(Case.client_id == client.id)
                                   .order_by(ScreeningResult.created_at, CaseScreening.id)).unique())
    clinical, cache = _clinical(user), {}
    resources: list[dict] = []
    for link, result, client_id in rows:
        record_view("case_screening", link.id)
        if clinical:
            resources.append(questionnaire_response(link, result, client_id, cache))
        resources.append(observation(link, result, client_id))
    return resources


def _totals() -> list[Concept]:
    return [Concept(i.id, _total_display(i.name, i)) for i in instruments().values()]


def _bands() -> list[Concept]:
    return [Concept(_band_code(i.id, b.code), f"{i.name}: {text(b.label, 'en')}", text(b.meaning, "en"))
            for i in instruments().values() for b in i.bands]


def register(app) -> None:
    from carecycle.fhir import add_everything

    register_code_system(app, TOTAL_SYSTEM, "CareCycle screening totals",
                         "The total score (or level) of each screening instrument (Observation.code), beside the "
                         "LOINC total code where one is confirmed.", _totals)
    register_code_system(app, BAND_SYSTEM, "CareCycle screening bands",
                         "The band of a screening result, as the instrument's definition names it "
                         "(Observation.interpretation).", _bands)
    patient = {"patient": "The client's (Patient reference or id).", "subject": "The same as patient."}
    types = {"patient": "reference", "subject": "reference"}
    register_resource(
        app, "QuestionnaireResponse", permission=Permission.RISK_ASSESS, read=read_questionnaire_response,
        search=search_questionnaire_responses,
        params={**patient, "questionnaire": "The Questionnaire's canonical URL (…/Questionnaire/phq9-en)."},
        param_types={**types, "questionnaire": "reference"}, audit_as="case_screening",
        doc="The answers of a screening counted on a case. Clinical: counsellors and supervisors only, never "
            "social workers.")
    register_resource(
        app, "Observation", permission=Permission.CASES_VIEW, read=read_observation, search=search_observations,
        params={**patient, "code": f"LOINC total code ({LOINC}|44261-6) or {TOTAL_SYSTEM} code (phq9)."},
        param_types=types, audit_as="case_screening",
        doc="The total score (or level) of a screening counted on a case, its band as the interpretation, "
            "derived from the QuestionnaireResponse.")
    add_everything(app, everything)
