"""Metrics for operators at `/metrics`, in Prometheus' text format (the `prometheus_client` library).

Served only to the addresses and networks in `CARECYCLE_METRICS_ALLOW` (comma-separated, for
example `127.0.0.1, 10.0.0.0/8`; empty, the default: to nobody). Under gunicorn every worker process
counts its own requests into files in `PROMETHEUS_MULTIPROC_DIR` (carecycle/gunicorn_conf.py sets
one up) and a scrape adds them up, whichever worker answers it. No metric or label carries personal
data: requests are labelled by the route's endpoint name (never the path, which can hold an id),
method and status; the rest are counts read from the database when scraped:

- `carecycle_http_requests_total{endpoint,method,status}`, `carecycle_http_request_duration_seconds{endpoint,method}`
- `carecycle_alerts_open{urgency}`: open and claimed triage alerts
- `carecycle_overdue_items{kind}`: overdue alerts and what areas count (tasks, referrals, outreach)
- `carecycle_outbox_waiting`: notification e-mails not yet sent (nor given up)
- `carecycle_audit_checkpoint_age_seconds`: since the last audit checkpoint (absent before the first)
- `carecycle_job_last_success_age_seconds{job}`, `carecycle_job_failures_total{job}` (carecycle worker)"""
from __future__ import annotations

import ipaddress
import os
import time

from flask import current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# registered in no registry of their own: a scrape builds one (carecycle.metrics.exposition)
REQUESTS = Counter("carecycle_http_requests", "HTTP requests answered", ["endpoint", "method", "status"],
                   registry=None)
LATENCY = Histogram("carecycle_http_request_duration_seconds", "Time to answer a request", ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=None)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# prometheus_client chose, when imported, to keep its values in shared files or in this process
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def allowed_networks(value: str | None) -> list:
    """The networks of CARECYCLE_METRICS_ALLOW; a malformed entry stops the app with its name."""
    networks = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SystemExit(f"CareCycle will not start: CARECYCLE_METRICS_ALLOW: {part!r} is not an address "
                             "or network (like 127.0.0.1 or 10.0.0.0/8)") from None
    return networks


def may_scrape(address: str | None) -> bool:
    networks = current_app.extensions.get("carecycle_metrics_allow") or []
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _start() -> None:
    g.carecycle_started = time.perf_counter()


_children: dict[tuple, tuple] = {}  # (endpoint, method, status) -> (its counter, its histogram): labelled once


def _count(response):
    started = g.pop("carecycle_started", None)
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        key = (endpoint, method, response.status_code)
        children = _children.get(key)
        if children is None:
            children = _children[key] = (REQUESTS.labels(endpoint, method, str(response.status_code)),
                                         LATENCY.labels(endpoint, method))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
    return response


class DatabaseCollector(Collector):
    """The counts an operator watches, read when scraped (a handful of indexed COUNTs)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from sqlalchemy import func, select

        from carecycle.alerts import Alert, AlertState
        from carecycle.areas import hooks
        from carecycle.audit import AuditHead
        from carecycle.database import utcnow
        from carecycle.extensions import db
        from carecycle.jobs import WorkerJob
        from carecycle.notifications import OutboxMessage
        now = utcnow()
        active = [AlertState.OPEN.value, AlertState.CLAIMED.value]
        alerts = GaugeMetricFamily("carecycle_alerts_open", "Open and claimed triage alerts", labels=["urgency"])
        for urgency, count in db.session.execute(select(Alert.urgency, func.count()).where(Alert.state.in_(active))
                                                 .group_by(Alert.urgency)).all():
            alerts.add_metric([urgency], count)
        yield alerts
        overdue = GaugeMetricFamily("carecycle_overdue_items", "Items past their deadline", labels=["kind"])
        overdue.add_metric(["alerts"], db.session.scalar(select(func.count()).select_from(Alert).where(
            Alert.state.in_(active), Alert.deadline < now)) or 0)
        for count_overdue in hooks("metrics_overdue"):
            for kind, count in count_overdue(now).items():
                overdue.add_metric([kind], count)
        yield overdue
        yield GaugeMetricFamily("carecycle_outbox_waiting", "Notification e-mails waiting to be sent",
                                value=db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                                    OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None))) or 0)
        checkpointed = db.session.scalar(select(AuditHead.checkpointed_at).where(AuditHead.id == 1))
        if checkpointed is not None:
            yield GaugeMetricFamily("carecycle_audit_checkpoint_age_seconds", "Seconds since the last audit checkpoint",
                                    value=(now - checkpointed).total_seconds())
        success = GaugeMetricFamily("carecycle_job_last_success_age_seconds",
                                    "Seconds since a periodic job last finished without error", labels=["job"])
        failures = CounterMetricFamily("carecycle_job_failures", "Failed passes of a periodic job", labels=["job"])
        for row in db.session.scalars(select(WorkerJob).order_by(WorkerJob.name)):
            if row.finished_at is not None and row.last_error is None:
                success.add_metric([row.name], (now - row.finished_at).total_seconds())
            failures.add_metric([row.name], row.failures)
        yield success
        yield failures


def exposition() -> tuple[bytes, str]:
    """The metrics page's body and content type."""
    registry = CollectorRegistry()
    if MULTIPROCESS:  # every worker process's counts, added up
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry)
    else:  # one process (the development server, tests)
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector(current_app))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def install(app) -> None:
    app.extensions["carecycle_metrics_allow"] = allowed_networks(app.config.get("METRICS_ALLOW"))
    app.before_request(_start)
    app.after_request(_count)
