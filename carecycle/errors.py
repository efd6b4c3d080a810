"""Error pages in the site layout, and JSON errors under /api/. No stack trace reaches a user."""
from __future__ import annotations

import logging

from flask import jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from carecycle.crypto import DecryptionError
from carecycle.extensions import db
from carecycle.permissions import is_api_request

log = logging.getLogger("carecycle")

MESSAGES = {
    400: (_l("The request could not be understood"),
          _l("Something in what was sent is missing or not valid. Go back, check the form and try again.")),
    401: (_l("Please sign in"), _l("This needs a signed-in account.")),
    403: (_l("Not allowed"),
          _l("Your role does not allow this. If you think it should, ask your supervisor or an administrator.")),
    404: (_l("Not found"),
          _l("There is nothing here, or it is not yours to see. Check the address, or go back to the start page.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Changed by someone else"),
          _l("This record changed since you opened it. Reload it to see the current version; "
             "nothing was overwritten.")),
    413: (_l("Too large"), _l("What you sent is larger than allowed. Send less, or a smaller file.")),
    422: (_l("Not valid"), _l("The data was understood but is not valid.")),
    429: (_l("Too many attempts"), _l("Wait a few minutes and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing you did caused this. It has been logged. Try again; if it happens again, "
             "tell your administrator.")),
}

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "unprocessable", 429: "too_many_requests", 500: "server_error"}


def json_error(status: int, message: str | None = None, fields: dict | None = None, code: str | None = None):
    from carecycle.fhir import is_fhir_request, outcome_response
    if is_fhir_request():  # FHIR's own error shape, an OperationOutcome
        text = message or str(MESSAGES.get(status, MESSAGES[500])[1])
        if fields:
            text += " " + "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        return outcome_response(status, text)
    body: dict[str, dict[str, object]] = {"error": {"code": code or CODES.get(status, "error"),
                      "message": message or str(MESSAGES.get(status, MESSAGES[500])[1])}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


def render_error(status: int, detail: str | None = None, code: str | None = None):
    if is_api_request():
        return json_error(status, detail, code=code)
    title, text = MESSAGES.get(status, MESSAGES[500])
    return render_template("errors/error.html", status=status, title=title, text=detail or text), status


def register_error_handlers(app) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, CSRFError):
            return render_error(400, str(_l("The form expired or was sent from elsewhere. "
                                            "Reload the page and try again.")))
        if error.response is not None and not is_api_request():
            return error.response
        detail = getattr(error, "detail_message", None)
        return render_error(error.code, detail, getattr(error, "api_code", None))

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError):
        """Two people saved the same record at once: the second is told, nothing is overwritten."""
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(DecryptionError)
    def decryption_error(error: DecryptionError):
        db.session.rollback()
        return render_error(500, str(_l("This record could not be opened safely. It has been logged for the "
                                         "administrator; no data was shown.")))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        """Any other exception: logged and rolled back, a 500 page (HTTP errors go to `http_error`)."""
        log.exception("unhandled error")
        db.session.rollback()
        return render_error(500)
