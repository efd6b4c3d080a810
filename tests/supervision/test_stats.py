"""Statistics: the figures of a period, the small-count rule on every surface (page, chart, CSV, API,
monthly report), team scope, server-made SVG charts with tables beside them."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from carecycle.alerts import raise_alert
from carecycle.audit import AuditEvent
from carecycle.database import utcnow
from casework.models import Case, CaseScreening, Task
from screening.models import ScreeningResult
from supervision.service import stats
from supervision.service.common import period_from
from tests.conftest import sign_in


def recently(ago: timedelta):
    """`ago` before now, but never before this month began: the statistics default to this month,
    so a test run on the 1st still finds its data inside the period."""
    now = utcnow()
    return max(now - ago, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))


def _screenings(db, instrument, band, n, *, crisis=False, score=5, at=None):
    for _ in range(n):
        row = ScreeningResult(instrument=instrument, instrument_version="1", band=band, score=score, crisis=crisis,
                              language="en", created_at=at or recently(timedelta(days=1)))
        row.answers = [0]
        db.session.add(row)
    db.session.commit()


def _api(client, bearer, user, query=""):
    return client.get(f"/api/v1/stats{query}", headers=bearer(user))


def test_counts_below_five_are_shown_as_less_than_five_everywhere(db, client, crew, bearer, make_case):
    c = crew()
    _screenings(db, "phq9", "mild", 3)
    _screenings(db, "gad7", "minimal", 7)
    _screenings(db, "gad7", "moderate", 6, crisis=True)
    for _ in range(2):
        raise_alert("hotline", "crisis", team_id=c.team.id)
    make_case(c.counsellor, risk_level="low")
    db.session.commit()

    data = _api(client, bearer, c.supervisor).get_json()
    phq9 = next(r for r in data["screenings"]["by_instrument"] if r["instrument"] == "phq9")
    gad7 = next(r for r in data["screenings"]["by_instrument"] if r["instrument"] == "gad7")
    assert phq9["total"] == "<5" and phq9["bands"][0]["count"] == "<5"
    assert gad7["total"] == 13 and {b["band"]: b["count"] for b in gad7["bands"]} == {"minimal": 7, "moderate": 6}
    assert data["screenings"]["total"] == 16 and data["screenings"]["crisis"] == 6
    assert data["screenings"]["crisis_rate"] == 37.5
    assert data["alerts"]["total"] == "<5"
    assert {r["urgency"]: r["count"] for r in data["alerts"]["by_urgency"]}["crisis"] == "<5"
    assert data["alerts"]["time_to_claim"]["median"] is None  # fewer than 5 claimed
    assert data["cases"]["opened"] == "<5"
    assert all(r["sent"] == "<5" and r["completion_rate"] is None for r in data["referrals"]["by_tier"])
    raw = _api(client, bearer, c.supervisor).get_data(as_text=True)
    assert not re.search(r'"(total|count|opened|closed|crisis|sent|completed|measured|improved|n)": [0-4][,}]', raw)

    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/stats").get_data(as_text=True)
    assert "&lt;5" in page and ">13<" in page
    assert "style=" not in page and "<script" not in page
    assert page.count('<svg role="img"') == 4 and "<title" in page
    # a hidden count draws no bar: PHQ-9's row has text "<5" and no rect of its own
    chart = page[
        page.index('id="chart-screenings-title"') : page.index("</svg>", page.index('id="chart-screenings-title"'))
    ]
    assert chart.count("<rect") == 1 and "&lt;5" in chart

    rows = list(csv.reader(io.StringIO(client.get("/supervision/stats.csv").get_data(as_text=True).lstrip("\ufeff"))))
    values = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert values[("Screenings", "PHQ-9")] == "<5" and values[("Screenings", "GAD-7")] == "13"
    assert values[("Alerts", "Total")] == "<5" and values[("Cases", "Opened")] == "<5"
    assert not any(r[2] in {"0", "1", "2", "3", "4"} for r in rows[1:])

    month = utcnow().strftime("%Y-%m")
    report = client.get(f"/supervision/stats/monthly?month={month}").get_data(as_text=True)
    assert "&lt;5" in report and "Monthly report" in report and "style=" not in report
    db.session.expire_all()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export",
                                                      AuditEvent.object_type == "statistics"))


def test_figures_of_a_period(db, crew, app, make_case, make_client):
    c = crew()
    now = utcnow()
    for i in range(6):  # alerts turned into cases, claimed after 10 minutes, first contact after 30
        alert = raise_alert("walk_in", "crisis", team_id=c.team.id)
        alert.created_at = recently(timedelta(hours=5))
        alert.claimed_at = alert.created_at + timedelta(minutes=10 * (i + 1))
        case = make_case(c.counsellor, risk_level="high")
        case.alert_id = alert.id
        task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.kind == "first_contact"))
        task.done_at = alert.created_at + timedelta(minutes=30)
    old = make_case(c.counsellor, risk_level="low")
    old.opened_at = now - timedelta(days=90)
    db.session.commit()
    with app.test_request_context():
        figures = stats.compute(stats.scope_for(c.supervisor), period_from(None, None))
        shown = stats.present(figures)
    assert figures.cases_opened == 6
    assert shown["alerts"]["time_to_claim"]["median_minutes"] == 30.0  # 10..60 min: nearest-rank median
    assert shown["alerts"]["time_to_claim"]["p90_minutes"] == 60.0
    assert shown["cases"]["alert_to_first_contact"]["median_minutes"] == 30.0
    assert shown["cases"]["alert_to_first_contact"]["n"] == 6


def test_recovery_share_with_reliable_improvement(db, crew, app, make_case):
    c = crew()
    for i in range(6):
        case = make_case(c.counsellor, risk_level="low")
        case.phase = "recovery"
        for at, score in ((utcnow() - timedelta(days=40), 17), (recently(timedelta(days=5)), 8 if i < 3 else 15)):
            result = ScreeningResult(instrument="phq9", instrument_version="1", band="x", score=score, language="en",
                                     created_at=at)
            result.answers = [0]
            db.session.add(result)
            db.session.flush()
            db.session.add(CaseScreening(case_id=case.id, result_id=result.id, source="worker",
                                         recorded_by_id=c.counsellor.id))
    db.session.commit()
    with app.test_request_context():
        shown = stats.present(stats.compute(stats.scope_for(c.supervisor), period_from(None, None)))
    assert shown["recovery"]["measured"] == 6
    assert shown["recovery"]["improved"] == "<5" and shown["recovery"]["improved_rate"] is None  # 3 of 6


def test_a_supervisor_sees_only_their_team_and_an_admin_the_service(db, client, crew, bearer, make_case, make_user):
    ours, theirs = crew("Ours"), crew("Theirs")
    for _ in range(5):
        make_case(theirs.counsellor, risk_level="low")
    for _ in range(6):
        raise_alert("hotline", "urgent", team_id=theirs.team.id)
    db.session.commit()
    mine = _api(client, bearer, ours.supervisor).get_json()
    assert mine["cases"]["opened"] == "<5" and mine["alerts"]["total"] == "<5"
    assert mine["scope"]["team_id"] == str(ours.team.id)
    other = _api(client, bearer, theirs.supervisor).get_json()
    assert other["cases"]["opened"] == 5 and other["alerts"]["total"] == 6
    admin = make_user("admin")
    everyone = _api(client, bearer, admin).get_json()
    assert everyone["cases"]["opened"] == 5 and everyone["scope"]["team_id"] is None


def test_the_stats_api_checks_its_parameters(db, client, crew, bearer, make_user):
    c = crew()
    bad = _api(client, bearer, c.supervisor, "?from=2026-02-30&to=soon")
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"from", "to"}
    assert _api(client, bearer, c.supervisor, "?from=2026-03-01&to=2026-02-01").status_code == 422
    week = _api(client, bearer, c.supervisor, "?period=week&date=2026-03-11")
    assert week.status_code == 200 and week.get_json()["period"] == {"from": "2026-03-09", "to": "2026-03-15"}
    assert "period" in _api(client, bearer, c.supervisor, "?period=day&date=2026-03-11").get_json()["error"]["fields"]
    assert _api(client, bearer, c.supervisor, "?team=other").status_code == 422
    good = _api(client, bearer, c.supervisor, "?from=2026-01-01&to=2026-01-31")
    assert good.status_code == 200 and good.get_json()["period"] == {"from": "2026-01-01", "to": "2026-01-31"}
    assert _api(client, bearer, c.counsellor).status_code == 403
    assert client.get("/api/v1/stats").status_code == 401


def test_bad_dates_on_the_page_show_a_message(db, client, crew):
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/stats?from=tomorrow&to=2026-01-31")
    assert page.status_code == 400 and "Enter a real date" in page.get_data(as_text=True)
    assert client.get("/supervision/stats?period=week&date=soon").status_code == 400
    assert client.get("/supervision/stats/monthly?month=2026-13").status_code == 400
    assert client.get("/supervision/stats.csv?from=x").status_code == 422


def test_cases_closed_count(db, crew, app, make_case):
    c = crew()
    for _ in range(5):
        case = make_case(c.counsellor, risk_level="low")
        case.phase, case.closed_at = "closed", utcnow()
    db.session.commit()
    with app.test_request_context():
        shown = stats.present(stats.compute(stats.scope_for(c.supervisor), period_from(None, None)))
    assert shown["cases"]["closed"] == 5 and shown["cases"]["opened"] == 5
    assert db.session.scalar(select(Case.id).where(Case.phase == "closed")) is not None


def test_workers_have_no_statistics(client, login_as):
    login_as("counsellor")
    for path in ("/supervision/stats", "/supervision/stats.csv", "/supervision/stats/monthly", "/supervision/reviews"):
        assert client.get(path).status_code == 403, path


def test_a_bad_month_keeps_what_was_typed(db, client, crew):
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    response = client.get("/supervision/stats/monthly?month=2026-13")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Choose a month, for example Dec 2026." in body and 'value="2026-13"' in body


def test_emergency_figures_are_the_whole_services(db, crew, make_case, make_referral):
    ours, theirs = crew("Ours"), crew("Theirs")
    start = utcnow() - timedelta(minutes=1)
    raise_alert("hotline", "crisis", team_id=ours.team.id)
    raise_alert("hotline", "urgent", team_id=theirs.team.id)
    make_case(theirs.counsellor, risk_level="low")
    make_referral(ours.social_worker, "sent", tier=1)
    make_referral(theirs.social_worker, "draft", tier=2)  # never sent: not counted
    db.session.commit()
    figures = stats.emergency_figures(start, utcnow() + timedelta(minutes=1))
    assert figures["alerts"] == {"crisis": 1, "urgent": 1}
    assert figures["cases_opened"] == 3
    assert figures["referrals"] == {"1": {"sent": 1, "completed": 0}}


def _complementary_case(db, c):
    """PHQ-9: 21 minimal and 2 mild; alerts: 21 crisis, 10 urgent, 3 contact requests, 12 routine.
    The 2 and the 3 are small; the 21 and the 10 are hidden with them so they cannot be worked out."""
    _screenings(db, "phq9", "minimal", 21)
    _screenings(db, "phq9", "mild", 2)
    for urgency, n in (("crisis", 21), ("urgent", 10), ("contact_request", 3), ("routine", 12)):
        for _ in range(n):
            raise_alert("hotline", urgency, team_id=c.team.id)
    db.session.commit()


def test_a_count_hidden_to_protect_a_small_one_says_hidden_never_less_than_five(db, client, crew, bearer):
    c = crew()
    _complementary_case(db, c)

    data = _api(client, bearer, c.supervisor).get_json()
    by_urgency = {r["urgency"]: r["count"] for r in data["alerts"]["by_urgency"]}
    assert by_urgency == {"crisis": 21, "urgent": "hidden", "contact_request": "<5", "routine": 12}
    assert data["alerts"]["total"] == 46
    phq9 = next(r for r in data["screenings"]["by_instrument"] if r["instrument"] == "phq9")
    assert {b["band"]: b["count"] for b in phq9["bands"]} == {"minimal": "hidden", "mild": "<5"}
    assert set(data["markers"]) == {"<5", "hidden"} and "5 or more" in data["markers"]["hidden"]

    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/stats").get_data(as_text=True)
    table = page[page.index("Alerts raised, by urgency"):]
    table = table[:table.index("</table>")]
    cells = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">(.*?)</td>', table))
    assert cells["Urgent"] == '<span class="marker-hidden">hidden</span>' and cells["Contact request"] == "&lt;5"
    assert cells["Crisis"] == "21" and cells["Routine"] == "12"
    chart = page[page.index('id="chart-alerts-title"'):page.index("</svg>", page.index('id="chart-alerts-title"'))]
    assert chart.count("<rect") == 2 and ">hidden</text>" in chart and ">&lt;5</text>" in chart  # no bar for either
    assert "A count of 5 or more that is hidden so that a count below 5 cannot be worked out" in page

    rows = list(csv.reader(io.StringIO(client.get("/supervision/stats.csv").get_data(as_text=True).lstrip("\ufeff"))))
    values = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert values[("Alerts", "Urgent")] == "hidden" and values[("Alerts", "Contact request")] == "<5"
    assert values[("Alerts", "Crisis")] == "21" and values[("Alerts", "Total")] == "46"
    phq9_bands = {k[1]: v for k, v in values.items() if k[1].startswith("PHQ-9: ")}
    assert sorted(phq9_bands.values()) == ["<5", "hidden"]

    with client.session_transaction() as session:
        session["locale"] = "zh_Hant"
    chinese = client.get("/supervision/stats.csv").get_data(as_text=True)
    zh = {(r[0], r[1]): r[2] for r in list(csv.reader(io.StringIO(chinese.lstrip("\ufeff"))))[1:]}
    assert "hidden" not in zh.values() and list(zh.values()).count("已隱藏") == 2  # PHQ-9 minimal, urgent alerts
