"""Normal times: resident self-screening (instruments defined as data) and the psychoeducation library."""
from __future__ import annotations

import os
import re

from flask_babel import lazy_gettext as _l

from carecycle.areas import add_alert_subject, add_home_link, add_labels, add_nav_link
from carecycle.demo import register_loader
from carecycle.permissions import PUBLIC, Permission
from screening.api import api  # noqa: F401 (nested under /api/v1 by create_app)

DEFAULTS = {
    "SCREENING_RATE_LIMIT": 30,             # screenings stored per client address per window
    "SCREENING_RATE_WINDOW": 600,           # seconds
    "SCREENING_CONTACT_RATE_LIMIT": 5,      # contact requests per address per window
    "SCREENING_CONTACT_RATE_WINDOW": 3600,
    "SCREENING_REGISTER_RATE_LIMIT": 5,     # resident sign-ups per address per window
    "SCREENING_REGISTER_RATE_WINDOW": 3600,
}


def configure(app) -> None:
    """Defaults, overridable in the app config or the environment (CARECYCLE_SCREENING_RATE_LIMIT, ...)."""
    for key, default in DEFAULTS.items():
        env = os.environ.get("CARECYCLE_" + key)
        if env is not None and not env.strip().isdigit():
            raise SystemExit(f"CareCycle will not start: CARECYCLE_{key} must be a whole number, not {env!r}")
        if key not in app.config:
            app.config[key] = int(env) if env is not None else default
    if "SCREENING_EMERGENCY_NUMBER" not in app.config:
        number = " ".join(os.environ.get("CARECYCLE_SCREENING_EMERGENCY_NUMBER", "").split())
        if number and not re.fullmatch(r"\+?[0-9][0-9 -]{0,19}", number):
            raise SystemExit("CareCycle will not start: CARECYCLE_SCREENING_EMERGENCY_NUMBER must be a phone number "
                             f"such as 999 or 112, not {number!r}")
        app.config["SCREENING_EMERGENCY_NUMBER"] = number  # "" -> pages say "your local emergency number"
    extra = os.environ.get("CARECYCLE_INSTRUMENTS_DIR")
    app.config.setdefault("SCREENING_INSTRUMENT_DIRS", [])
    if extra and extra not in app.config["SCREENING_INSTRUMENT_DIRS"]:
        app.config["SCREENING_INSTRUMENT_DIRS"] = [*app.config["SCREENING_INSTRUMENT_DIRS"], extra]


def load_definitions(app) -> None:
    """Validate every instrument file; an invalid one stops start-up naming the file and the problem."""
    from screening.service import EXTENSION_KEY
    from screening.service.definitions import BUILTIN_DIR, DefinitionError, load_instruments

    try:
        app.extensions[EXTENSION_KEY] = load_instruments([BUILTIN_DIR, *app.config["SCREENING_INSTRUMENT_DIRS"]])
    except DefinitionError as error:
        raise SystemExit(f"CareCycle will not start: instrument definition invalid: {error}") from error
    from screening.service.translations import FILES_KEY, PackError, load_files
    try:
        app.extensions[FILES_KEY] = load_files(app, app.extensions[EXTENSION_KEY])
    except PackError as error:
        raise SystemExit(f"CareCycle will not start: translation pack invalid: {error}") from error


def _band_words(instrument_id: str, code: str) -> str:
    """A result band in the reader's language, for messages written earlier (an alert summary)."""
    from screening.service import get_instrument
    from screening.views import localized
    band = get_instrument(instrument_id).band(code) if get_instrument(instrument_id) else None
    return localized(band.label) if band is not None else code


def init_app(app) -> None:
    from screening.fhir import register as register_fhir
    register_fhir(app)  # its resources under /fhir/R4
    from carecycle.messages import add_message_function
    from screening import models  # noqa: F401 (tables)
    from screening.models import PREFERRED_TIMES
    add_message_function(app, "screening_band", _band_words)
    add_labels(app, "contact_time", PREFERRED_TIMES)
    from screening.demo import load_demo
    from screening.service import contact
    from screening.service.kinds import register_kinds
    from screening.views import library, screening, session_results

    configure(app)
    register_kinds(app, session_ids=session_results)
    from screening.models import ArticleStatus
    app.jinja_env.globals["ArticleStatus"] = ArticleStatus
    from screening.service.translations import PackState
    app.jinja_env.globals["PackState"] = PackState
    load_definitions(app)
    app.register_blueprint(screening)
    app.register_blueprint(library)
    add_alert_subject(app, "contact_request", contact.alert_subject)
    add_nav_link(app, PUBLIC, "screening.index", _l("Self-screening"), "library")
    add_nav_link(app, PUBLIC, "library.index", _l("Library"), "library")
    add_nav_link(app, Permission.SCREENING_HISTORY, "screening.history", _l("My screenings"), "mine")
    add_nav_link(app, Permission.ALERTS_VIEW, "screening.contact_requests", _l("Contact requests"), "triage")
    add_nav_link(app, Permission.ARTICLES_WRITE, "library.manage", _l("Articles"), "library")
    add_nav_link(app, Permission.CRISIS_RESOURCES_EDIT, "screening.crisis_resources", _l("Crisis resources"), "library")
    add_nav_link(app, Permission.TRANSLATIONS_VIEW, "screening.translations", _l("Questionnaire translations"),
                 "library")
    add_home_link(app, PUBLIC, "screening.index", _l("Check how you are doing"),
                  _l("Short private questionnaires about mood, anxiety, stress, sleep after hard events and "
                     "alcohol. No account needed; a PHQ-9 takes about 3 minutes."))
    add_home_link(app, PUBLIC, "library.index", _l("Read and learn"),
                  _l("Short articles on anxiety, low mood, sleep, grief, stress after disasters, and how to "
                     "support someone else."))
    add_home_link(app, Permission.SCREENING_HISTORY, "screening.history", _l("My screenings"),
                  _l("Your results over time, with a chart per questionnaire."))
    register_loader(app, load_demo)
    from screening.cli import instruments_cli
    app.cli.add_command(instruments_cli)
