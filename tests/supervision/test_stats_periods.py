"""Statistics cannot be differenced: only whole ISO weeks, calendar months and calendar quarters are
offered, so 30 days against the same period minus one day (the review's attack) is refused everywhere."""
from __future__ import annotations

import csv
import io

from carecycle.alerts import raise_alert
from tests.conftest import sign_in
from tests.htmlform import submit

THIRTY = {"from": "2026-11-01", "to": "2026-11-30"}   # a calendar month: allowed
TWENTY_NINE = {"from": "2026-11-02", "to": "2026-11-30"}  # the same period minus one day: refused


def test_thirty_days_against_twenty_nine_is_refused_on_the_api(db, client, crew, bearer):
    c = crew()
    whole = client.get("/api/v1/stats", query_string=THIRTY, headers=bearer(c.supervisor))
    assert whole.status_code == 200
    for query in (TWENTY_NINE, {"from": "2026-11-01", "to": "2026-11-29"}, {"from": "2026-11-03", "to": "2026-12-02"},
                  {"from": "2026-11-01"}, {"period": "day", "date": "2026-11-15"}):
        answer = client.get("/api/v1/stats", query_string=query, headers=bearer(c.supervisor))
        assert answer.status_code == 422, query
        assert set(answer.get_json()["error"]["fields"]) & {"from", "to", "period"}, query


def test_thirty_days_against_twenty_nine_is_refused_on_the_page_and_csv(db, client, crew):
    c = crew()
    for _ in range(3):
        raise_alert("hotline", "crisis", team_id=c.team.id)
    db.session.commit()
    assert sign_in(client, c.supervisor.username).status_code == 302
    assert client.get("/supervision/stats", query_string=THIRTY).status_code == 200
    page = client.get("/supervision/stats", query_string=TWENTY_NINE)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "a whole week (Monday to Sunday)" in text
    assert "Showing this month instead." in text
    csv_answer = client.get("/supervision/stats.csv", query_string=TWENTY_NINE)
    assert csv_answer.status_code == 422 and not csv_answer.mimetype == "text/csv"
    assert client.get("/supervision/stats.csv", query_string=THIRTY).mimetype == "text/csv"


def test_the_page_form_chooses_a_whole_week_month_or_quarter(db, client, crew):
    c = crew()
    assert sign_in(client, c.supervisor.username).status_code == 302
    page = client.get("/supervision/stats")
    assert page.status_code == 200
    week = submit(client, page, "Show", {"period": "week", "date": "2026-11-18"})
    text = week.get_data(as_text=True)
    assert week.status_code == 200 and "Period: 16 Nov 2026 to 22 Nov 2026 (7 days)." in text
    assert 'href="/supervision/stats.csv?from=2026-11-16&amp;to=2026-11-22"' in text
    quarter = submit(client, week, "Show", {"period": "quarter", "date": "2026-11-18"})
    assert "Period: 1 Oct 2026 to 31 Dec 2026 (92 days)." in quarter.get_data(as_text=True)
    month = submit(client, quarter, "Show", {"period": "month", "date": "2026-02-03"})
    assert "Period: 1 Feb 2026 to 28 Feb 2026 (28 days)." in month.get_data(as_text=True)
    # The CSV link of the chosen period works and covers the same whole period.
    rows = list(csv.reader(io.StringIO(client.get("/supervision/stats.csv?from=2026-11-16&to=2026-11-22")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows
    bad = submit(client, month, "Show", {"period": "month", "date": "not a day"})
    assert bad.status_code == 400 and "Enter a real date" in bad.get_data(as_text=True)
