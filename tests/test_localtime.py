"""The service's time zone (CARECYCLE_TIMEZONE) and its one date style: times shown and typed are
local, "today" runs from local midnight, a next contact at 09:00 is 09:00 local on both sides of a
change of clocks, and every language writes a date one way."""
import logging
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from carecycle import localtime
from carecycle.localtime import day_bounds, format_day, format_month, format_when, to_utc, written_day
from carecycle.validation import iso_date
from casework.models import Task
from casework.service.tasks import today_bounds
from tests.conftest import dispose, form_post, make_app

ZONES = ["Asia/Hong_Kong", "America/New_York", "Europe/London"]


@contextmanager
def zone(app, name, order="dmy"):
    before = app.config["TIMEZONE"], app.config["DATE_ORDER"]
    app.config["TIMEZONE"], app.config["DATE_ORDER"] = name, order
    try:
        yield
    finally:
        app.config["TIMEZONE"], app.config["DATE_ORDER"] = before


def march_change(year: int) -> date:
    """The last Sunday of March: clocks go forward in Europe."""
    last = date(year, 3, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def next_march_change(today: date) -> date:
    """The next change whose day before is still to come (within a year: next contacts are)."""
    change = march_change(today.year)
    return change if change - timedelta(days=1) > today else march_change(today.year + 1)


# ------------------------------------------------------------------ the one style
MOMENT = datetime(2026, 12, 2, 4, 33, 7, tzinfo=UTC)  # 12:33:07 in Hong Kong


@pytest.mark.parametrize("language,order,when,day,month", [
    ("en", "dmy", "2 Dec 2026, 12:33", "2 Dec 2026", "Dec 2026"),
    ("en", "mdy", "Dec 2, 2026, 12:33 PM", "Dec 2, 2026", "Dec 2026"),
    ("zh_Hant", "dmy", "2026年12月2日 12:33", "2026年12月2日", "2026年12月"),
    ("zh_Hans", "mdy", "2026年12月2日 12:33", "2026年12月2日", "2026年12月"),
])
def test_one_date_style_per_language_in_the_services_zone(app, language, order, when, day, month):
    with app.test_request_context("/"), zone(app, "Asia/Hong_Kong", order), force_locale(language):
        assert format_when(MOMENT) == when and ":07" not in format_when(MOMENT)  # never seconds
        assert format_day(MOMENT) == day and format_day(MOMENT.date()) == day
        assert format_month(MOMENT.date()) == month
        assert format_when(None) == format_day(None) == ""
        rendered = app.jinja_env.from_string("{{ m|datetime }}|{{ m|day }}|{{ d|month }}").render(m=MOMENT, d=MOMENT)
        assert rendered == f"{when}|{day}|{month}"


def test_the_day_of_a_moment_is_the_local_day(app):
    late = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 01:00 on 3 December in Hong Kong, noon in New York
    with app.test_request_context("/"):
        with zone(app, "Asia/Hong_Kong"):
            assert format_day(late) == "3 Dec 2026"
        with zone(app, "America/New_York"):
            assert format_day(late) == "2 Dec 2026" and format_when(late) == "2 Dec 2026, 12:00"


@pytest.mark.parametrize("text,expected", [
    ("2026-12-02", date(2026, 12, 2)), ("2 Dec 2026", date(2026, 12, 2)), ("2 december 2026", date(2026, 12, 2)),
    ("Dec 2, 2026", date(2026, 12, 2)), ("2026年12月2日", date(2026, 12, 2)), (" 2026 年 1 月 9 日 ", date(2026, 1, 9)),
])
def test_a_date_written_in_the_style_is_read_back(text, expected):
    assert iso_date(text) == expected


@pytest.mark.parametrize("text", ["12/2/26", "31 Feb 2026", "2 Foo 2026", "2026年13月2日", "yesterday", "1 Jan 1800"])
def test_other_writings_are_refused(text):
    with pytest.raises(ValueError):
        iso_date(text)


def test_written_day_alone_reads_only_the_style():
    with pytest.raises(ValueError):
        written_day("2026-12-02")


# ------------------------------------------------------------------ zone arithmetic
@pytest.mark.parametrize("name", ZONES)
def test_a_wall_time_is_stored_as_utc_and_shown_back_as_typed(app, name):
    with app.test_request_context("/"), zone(app, name):
        stored = to_utc(date(2027, 1, 15), time(10, 30))
        assert stored.tzinfo is UTC
        assert format_when(stored) == "15 Jan 2027, 10:30"
        start, end = day_bounds(date(2027, 1, 15))
        assert end - start == timedelta(hours=24) and format_when(start) == "15 Jan 2027, 00:00"


def test_days_around_the_march_change_in_london(app):
    with app.test_request_context("/"), zone(app, "Europe/London"):
        change = date(2027, 3, 28)
        before, after = to_utc(change - timedelta(days=1), time(9)), to_utc(change, time(9))
        assert before == datetime(2027, 3, 27, 9, tzinfo=UTC) and after == datetime(2027, 3, 28, 8, tzinfo=UTC)
        start, end = day_bounds(change)
        assert end - start == timedelta(hours=23)
        # 01:30 does not exist that night: read as the same wall time after the change, never an error
        assert format_when(to_utc(change, time(1, 30))) == "28 Mar 2027, 02:30"


@pytest.mark.parametrize("name", ZONES)
def test_today_runs_from_local_midnight(app, name):
    with app.test_request_context("/"), zone(app, name):
        now = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
        start, end = today_bounds(now)
        local_day = now.astimezone(localtime.service_zone()).date()
        assert format_when(start) == f"{format_day(local_day)}, 00:00" and start <= now < end


# ------------------------------------------------------------------ through the page
def _due_at(db, case):
    db.session.expire_all()
    return db.session.scalar(select(Task.due_at).where(Task.case_id == case.id, Task.kind == "next_contact",
                                                       Task.done_at.is_(None)))


@pytest.mark.parametrize("name", ZONES)
def test_a_next_contact_tomorrow_at_nine_is_nine_local(app, client, login_as, make_case, db, name):
    with zone(app, name):
        case = make_case(login_as("counsellor"))
        with app.test_request_context("/"):
            tomorrow = localtime.today() + timedelta(days=1)
        response = form_post(client, f"/cases/{case.id}/next-contact",
                             {"due_date": tomorrow.isoformat(), "due_time": "09:00"}, page=f"/cases/{case.id}")
        assert response.status_code == 302
        due = _due_at(db, case)
        with app.test_request_context("/"):
            assert due == to_utc(tomorrow, time(9)) and format_when(due) == f"{format_day(tomorrow)}, 09:00"
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert f"{format_day_en(tomorrow)}, 09:00" in page and " UTC" not in page


def format_day_en(day: date) -> str:
    return f"{day.day} {day.strftime('%b')} {day.year}"


def test_nine_oclock_on_both_sides_of_the_march_change(app, client, login_as, make_case, db):
    """A task due at 09:00 the day before and the day of London's change of clocks is due at 09:00
    local both times (09:00 and 08:00 UTC), and the page and the edit form give 09:00 back."""
    change = next_march_change(date.today())
    with zone(app, "Europe/London"):
        worker = login_as("counsellor")
        seen = []
        for day in (change - timedelta(days=1), change):
            case = make_case(worker)
            response = form_post(client, f"/cases/{case.id}/next-contact",
                                 {"due_date": day.isoformat(), "due_time": "09:00"}, page=f"/cases/{case.id}")
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            due = _due_at(db, case)
            seen.append(due.astimezone(UTC).hour)
            assert f"{format_day_en(day)}, 09:00" in client.get(f"/cases/{case.id}").get_data(as_text=True)
            edit = client.get(f"/cases/{case.id}/next-contact").get_data(as_text=True)
            assert 'value="09:00"' in edit and f'value="{day.isoformat()}"' in edit
        assert seen == [9, 8]


def test_a_written_date_is_taken_by_the_next_contact_form(app, client, login_as, make_case, db):
    with zone(app, "Asia/Hong_Kong"):
        case = make_case(login_as("counsellor"))
        with app.test_request_context("/"):
            day = localtime.today() + timedelta(days=3)
        written = f"{day.year}年{day.month}月{day.day}日"
        response = form_post(client, f"/cases/{case.id}/next-contact", {"due_date": written, "due_time": "10:30"},
                             page=f"/cases/{case.id}")
        assert response.status_code == 302
        with app.test_request_context("/"):
            assert _due_at(db, case) == to_utc(day, time(10, 30))


# ------------------------------------------------------------------ settings
def test_an_unknown_zone_or_order_stops_the_start(tmp_path):
    with pytest.raises(SystemExit, match="CARECYCLE_TIMEZONE must be an IANA"):
        make_app(tmp_path, TIMEZONE="Mars/Olympus_Mons")
    with pytest.raises(SystemExit, match="CARECYCLE_DATE_ORDER must be dmy or mdy"):
        make_app(tmp_path, DATE_ORDER="ymd")


def test_the_zone_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECYCLE_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("CARECYCLE_DATE_ORDER", "mdy")
    from carecycle.config import config_for
    settings = vars(config_for("testing"))
    app = make_app(tmp_path, TIMEZONE=settings["TIMEZONE"], DATE_ORDER=settings["DATE_ORDER"])
    try:
        assert app.config["TIMEZONE"] == "Asia/Shanghai" and app.config["DATE_ORDER"] == "mdy"
        assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    finally:
        dispose(app)


def test_production_warns_when_no_zone_is_set(caplog):
    from carecycle import check_time_settings

    class Fake:
        config = {"TIMEZONE": None, "DATE_ORDER": "dmy", "ENV_NAME": "production"}
    with caplog.at_level(logging.WARNING, logger="carecycle"):
        check_time_settings(Fake())
    assert "CARECYCLE_TIMEZONE is not set" in caplog.text and Fake.config["TIMEZONE"] == "UTC"
    caplog.clear()
    Fake.config.update(TIMEZONE="Asia/Hong_Kong")
    with caplog.at_level(logging.WARNING, logger="carecycle"):
        check_time_settings(Fake())
    assert caplog.text == ""


def test_url_maker_builds_what_url_for_builds(app):
    from flask import url_for

    from carecycle.urls import url_maker
    with app.test_request_context("/"):
        case_url = url_maker("casework.case_detail", "case_id")
        for value in (uuid.UUID(int=7), "a b/c?d", "ünï"):
            assert case_url(value) == url_for("casework.case_detail", case_id=value)
        task_url = url_maker("casework.task_done", "task_id", case_id=uuid.UUID(int=1))
        assert task_url(5) == url_for("casework.task_done", case_id=uuid.UUID(int=1), task_id=5)
        done_url = url_maker("casework.task_done", "case_id", "task_id")
        for case, task in ((uuid.UUID(int=2), uuid.UUID(int=3)), ("a b", "c/d")):
            assert done_url(case, task) == url_for("casework.task_done", case_id=case, task_id=task)
        with pytest.raises(TypeError, match="takes 2 value"):
            done_url(uuid.UUID(int=2))
        with pytest.raises(ValueError, match="does not put nothing in the URL"):
            url_maker("casework.case_detail", "case_id", "nothing")


def test_timeline_details_are_words_not_codes(app, db, make_user):
    from casework.service.cases import describe_event
    from supervision.service.reassign import EVENT
    old = make_user("counsellor", username="counsellor2", display_name="Chan Tai Man")
    new = make_user("counsellor", username="counsellor9", display_name="Lee Mei Ling")
    with app.test_request_context("/"), zone(app, "Asia/Hong_Kong"):
        assert describe_event("phase_changed", "goals_achieved") == "Closed: Goals achieved"
        assert describe_event("next_contact_set", "2026-12-02T04:33+00:00") == "2 Dec 2026, 12:33"
        assert describe_event("next_contact_moved", "2026-12-02 04:33 UTC") == "2 Dec 2026, 12:33"  # older rows
        assert describe_event("care_plan_review_scheduled", "2027-01-05") == "5 Jan 2027"
        moved = describe_event(EVENT, "counsellor2 -> counsellor9: leave cover")
        assert moved == f"{old.name} → {new.name}: leave cover" and "counsellor2" not in moved
