"""The `datetime` template filter parses its patterns once, and must say exactly what Flask-Babel's
format_datetime says, in every language, format and time zone."""
from datetime import UTC, datetime, timedelta, timezone

import flask_babel
import pytest
from flask_babel import force_locale

from carecycle.templating import format_datetime
from tests.conftest import dispose, make_app

MOMENTS = [datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2026, 6, 30, 15, 4, 5, tzinfo=UTC),
           datetime(2026, 11, 28, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
           datetime(2026, 3, 8, 9, 30)]  # naive: UTC
FORMATS = ["short", "medium", "long", "full", "yyyy-MM-dd HH:mm", "EEEE d MMMM"]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Hong_Kong", "America/New_York"])
def test_the_filter_says_what_flask_babel_says(tmp_path, zone):
    app = make_app(tmp_path, BABEL_DEFAULT_TIMEZONE=zone)
    try:
        with app.test_request_context("/"):
            assert (format_datetime(MOMENTS[0], "HH:mm") == "00:00") == (zone == "UTC")  # the zone applies
            for language in ("en", "zh_Hant", "zh_Hans"):
                with force_locale(language):
                    for moment in MOMENTS:
                        for fmt in FORMATS:
                            assert format_datetime(moment, fmt) == flask_babel.format_datetime(moment, fmt), \
                                (language, zone, moment, fmt)
    finally:
        dispose(app)


def test_empty_values_print_nothing_and_the_default_is_medium(app):
    moment = MOMENTS[1]
    with app.test_request_context("/"):
        assert format_datetime(None) == "" and format_datetime(moment) == flask_babel.format_datetime(moment, "medium")
        assert app.jinja_env.from_string("{{ v|datetime('short') }}").render(v=moment) == \
            flask_babel.format_datetime(moment, "short")


def test_url_maker_builds_what_url_for_builds(app):
    import uuid

    from flask import url_for

    from carecycle.urls import url_maker
    with app.test_request_context("/"):
        case_url = url_maker("casework.case_detail", "case_id")
        for value in (uuid.UUID(int=7), "a b/c?d", "ünï"):
            assert case_url(value) == url_for("casework.case_detail", case_id=value)
        task_url = url_maker("casework.task_done", "task_id", case_id=uuid.UUID(int=1))
        assert task_url(5) == url_for("casework.task_done", case_id=uuid.UUID(int=1), task_id=5)
