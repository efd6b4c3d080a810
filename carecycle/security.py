"""Response headers, CSRF for forms (not for bearer API calls), deny-by-default routing."""
from __future__ import annotations

from flask import abort, current_app, request

from carecycle.extensions import csrf
from carecycle.permissions import PUBLIC, is_api_request, requires

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def register_security(app) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.view_functions["static"] = requires(PUBLIC)(app.view_functions["static"])

    @app.before_request
    def deny_undeclared_and_check_csrf():
        view = current_app.view_functions.get(request.endpoint)
        if view is not None and getattr(view, "required_permission", None) is None:
            current_app.logger.error("route %s declares no permission; refused", request.endpoint)
            abort(403)
        if not is_api_request():
            csrf.protect()

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if current_app.config.get("HSTS"):  # production: browsers keep to HTTPS for a year
            response.headers["Strict-Transport-Security"] = current_app.config["HSTS"]
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response
