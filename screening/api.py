"""Screening endpoints under /api/v1: the instrument catalogue and taking a screening. Public:
no token is needed; a resident's token links the screening to the account."""
from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from carecycle import ratelimit
from carecycle.api import ApiError, area_api, json_body
from carecycle.openapi import described
from carecycle.permissions import PUBLIC, requires
from screening import api_schemas as schemas
from screening.service import get_instrument, instruments, results, text, translations
from screening.service.scoring import InvalidAnswers

api = area_api("screening")



@api.get("/instruments")
@described(public=True, responses={200: schemas.InstrumentList})
@requires(PUBLIC)
def list_instruments():
    approved = translations.approved_languages()
    return jsonify({"instruments": [
        {"id": i.id, "name": i.name, "title": text(i.title, "en"), "item_count": i.item_count,
         "languages": translations.offered_languages(i, approved)}
        for i in results.catalogue(instruments())]})


@api.get("/instruments/<instrument_id>")
@described(public=True, responses={200: schemas.Instrument})
@requires(PUBLIC)
def instrument_definition(instrument_id):
    instrument = get_instrument(instrument_id)
    if instrument is None:
        raise ApiError(404, f"There is no instrument '{instrument_id[:40]}'.")
    return jsonify(instrument.data)


@api.post("/screenings")
@described(public=True, body=schemas.ScreeningNew, responses={201: schemas.ScreeningResult})
@requires(PUBLIC)
@ratelimit.counted("screening", "SCREENING_RATE_LIMIT", "SCREENING_RATE_WINDOW")
def create_screening():
    if not ratelimit.within_limit():
        raise ApiError(429, "Too many screenings from this address; wait a few minutes.")
    body = json_body()
    instrument = get_instrument(body.get("instrument"))
    if instrument is None:
        raise ApiError(422, "Unknown instrument.", fields={
            "instrument": "Use one of: " + ", ".join(sorted(instruments())) + "."})
    language = body.get("language", "en")
    pack = translations.offered(instrument, language) if isinstance(language, str) else None
    if language not in instrument.languages and pack is None:
        raise ApiError(422, "The instrument is not offered in that language.", fields={
            "language": f"{instrument.name} is offered in: {', '.join(translations.offered_languages(instrument))}."})
    try:
        result, outcome = results.submit(instrument, body.get("answers"), sex=body.get("sex"), language=language,
                                         user=current_user if current_user.is_authenticated else None,
                                         unscored=body.get("unscored"),
                                         translation=pack.sha256 if pack else None)
    except InvalidAnswers as invalid:
        raise ApiError(422, "The answers are not valid; nothing was stored.",
                       fields={key: str(message) for key, message in invalid.fields.items()}) from invalid
    result_id, linked = result.id, result.user_id is not None
    body = outcome.as_dict(result_id)
    if outcome.crisis:
        body.update(results.crisis_guidance(instrument.id, outcome.band))
    response = jsonify(body)
    response.status_code = 201
    if linked:
        response.headers["Location"] = url_for("screening.result", result_id=result_id)
    return response
