"""/metrics: only for CARECYCLE_METRICS_ALLOW, Prometheus' own parser reads it, the counts follow the
data, no personal data in any metric or label, and under gunicorn the workers' counts add up."""
from __future__ import annotations

import ipaddress
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from carecycle.alerts import raise_alert
from carecycle.database import utcnow
from carecycle.notifications import OutboxMessage
from tests.conftest import make_app, sign_in
from tests.served import gunicorn


@pytest.fixture
def allow(app, monkeypatch):
    def set_allowed(*networks):
        monkeypatch.setitem(app.extensions, "carecycle_metrics_allow", [ipaddress.ip_network(n) for n in networks])
    return set_allowed


def samples(body: str) -> dict:
    """{(name, frozenset(labels)): value} as Prometheus' own parser reads the page."""
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def test_metrics_are_refused_to_addresses_not_allowed(client, allow):
    refused = client.get("/metrics")
    assert refused.status_code == 403 and "CARECYCLE_METRICS_ALLOW" in refused.text
    assert "carecycle_" not in refused.text
    allow("10.0.0.0/8")
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_a_malformed_allow_list_stops_the_app(tmp_path):
    with pytest.raises(SystemExit, match="CARECYCLE_METRICS_ALLOW: 'intranet' is not an address"):
        make_app(tmp_path, METRICS_ALLOW="127.0.0.1, intranet")


def test_the_counts_follow_the_data_and_hold_no_personal_data(app, db, client, allow, make_user, make_client,
                                                               make_case):
    allow("127.0.0.1/32")
    worker = make_user("counsellor", display_name="Counsellor Secretname")
    person = make_client(worker.team, worker, full_name="Wong Siu Ming", phone="5123 4567")
    case = make_case(worker, client=person)
    raise_alert("hotline", "crisis", team_id=worker.team.id, summary="Wong Siu Ming called")
    late = raise_alert("walk_in", "urgent", team_id=worker.team.id)
    late.deadline = utcnow() - timedelta(minutes=1)
    message = OutboxMessage(user_id=worker.id, subject="s", body="b", created_at=utcnow())
    message.to_address = "secret@example.org"
    db.session.add(message)
    db.session.commit()
    ids = (str(case.id), str(person.id), worker.username)
    assert sign_in(client, worker.username).status_code == 302
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain; version=")
    found = samples(page.text)
    assert found[("carecycle_alerts_open", frozenset({("urgency", "crisis")}))] == 1
    assert found[("carecycle_alerts_open", frozenset({("urgency", "urgent")}))] == 1
    assert found[("carecycle_overdue_items", frozenset({("kind", "alerts")}))] == 1
    assert ("carecycle_overdue_items", frozenset({("kind", "tasks")})) in found
    assert ("carecycle_overdue_items", frozenset({("kind", "referrals")})) in found
    assert found[("carecycle_outbox_waiting", frozenset())] == 1
    viewed = found[("carecycle_http_requests_total", frozenset({("endpoint", "casework.case_detail"),
                                                                ("method", "GET"), ("status", "200")}))]
    assert viewed >= 1
    assert found[("carecycle_http_requests_total", frozenset({("endpoint", "unmatched"), ("method", "GET"),
                                                              ("status", "404")}))] >= 1
    # the page's words (names, labels, help) hold none of it; the digits of a phone number may turn
    # up inside a sample's value (a timestamp, a sum of seconds), so numbers are left out of the check
    words = "\n".join(line.rsplit(" ", 1)[0] if not line.startswith("#") else line for line in page.text.splitlines())
    for secret in ("Wong", "Siu Ming", "5123", "secret@example.org", "Secretname", *ids):
        assert secret not in words
    assert all(secret not in value for (_name, labels) in found for _label, value in labels
               for secret in ("5123", *ids))


def test_job_metrics_and_checkpoint_age(app, db, client, allow, runner):
    allow("127.0.0.1/32")
    assert "carecycle_audit_checkpoint_age_seconds" not in client.get("/metrics").text
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    found = samples(client.get("/metrics").text)
    assert 0 <= found[("carecycle_audit_checkpoint_age_seconds", frozenset())] < 60
    assert 0 <= found[("carecycle_job_last_success_age_seconds", frozenset({("job", "notify-overdue")}))] < 60
    assert found[("carecycle_job_failures_total", frozenset({("job", "notify-overdue")}))] == 0


def test_under_gunicorn_the_workers_counts_add_up(app, db, tmp_path):
    db.session.commit()
    db.session.remove()
    env = {"CARECYCLE_METRICS_ALLOW": "127.0.0.1"}
    with gunicorn(app, tmp_path, workers=2, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}) as base:
        def hit(_n):
            with urllib.request.urlopen(base + "/readyz", timeout=30) as response:
                return response.status
        with ThreadPoolExecutor(8) as pool:  # in parallel, so both workers answer some
            assert set(pool.map(hit, range(40))) == {200}
        totals = set()
        for _ in range(6):  # whichever worker answers the scrape, it counts every worker's requests
            with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
                found = samples(response.read().decode())
            totals.add(found[("carecycle_http_requests_total", frozenset({("endpoint", "web.readyz"),
                                                                          ("method", "GET"), ("status", "200")}))])
        assert totals == {40.0}
