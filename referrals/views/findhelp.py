"""The public "Find help" page: services marked public, crisis lines first, in the reader's language."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import get_locale

from carecycle.permissions import PUBLIC, requires
from referrals.service import directory
from referrals.service.directory import LANGUAGE_CODE_RE
from referrals.views import bp
from screening.service import crisis


@bp.route("/help")
@requires(PUBLIC)
def find_help():
    locale = str(get_locale())
    language = (request.args.get("language") or "").strip()
    language = language if LANGUAGE_CODE_RE.match(language) else ""
    crisis_services, services = directory.public_services(locale, language)
    resources = crisis.for_language(locale)
    return render_template("referrals/help.html", crisis_services=crisis_services, services=services,
                           resources=resources, locale=locale, language=language,
                           language_choices=directory.language_options(), is_open=directory.is_open,
                           now=directory.local_now(), speaks=directory.speaks_locale)
