#!/usr/bin/env python
"""Soak: 50 clients of mixed work for 60 s, then every acknowledged write is looked for.

    .venv/bin/python bench/soak.py [--clients 50] [--seconds 60] [--workers 2 4]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

For each worker count, a throwaway instance (SQLite in a temp folder, or a database of its own on
the PostgreSQL server given): `carecycle db upgrade`, `carecycle demo load`, a bearer token for each
demo counsellor, and gunicorn with `--config python:carecycle.gunicorn_conf` as deployed. Each
client keeps one connection and loops over a mix: 45 % reads (GET /cases, GET /my-day, GET /triage
as a signed-in counsellor, GET /api/v1/cases with a token), 25 % contact notes written through the
API, 20 % anonymous self-screenings (one in four with a positive item 9) and 10 % claims: read the
triage queue and claim one of its open alerts (the demo data's; an anonymous screening raises none,
so claims run out early and then only the queue is read; a 409 for an alert someone claimed first
is the right answer, counted apart). Printed: requests, answers by status, p50/p95/p99; then every note and screening
answered 201 and every claim answered 200 is looked for in the database, and `carecycle audit
verify` checks the chain. Target (issue 18): 0 answers 5xx, 0 lost writes. Exit 1 when missed."""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import sqlalchemy as sa
from harness import HOST, Gunicorn, ThrowawayPostgres, carecycle, free_port, instance_env, loadavg, percentile, sign_in

DEMO_PASSWORD = "carecycle-demo"
COUNSELLORS = ("counsellor", "counsellor2", "counsellor_h")
READS = ("/cases", "/my-day", "/triage")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: collections.Counter = collections.Counter()
        self.by_kind: collections.Counter = collections.Counter()
        self.notes: list[str] = []
        self.screenings: list[str] = []
        self.claims: list[tuple[str, str]] = []   # (alert id, username)
        self.claim_conflicts = 0
        self.cut = 0                               # connections that failed or were cut

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1
            self.by_kind[kind] += 1


class Client(threading.Thread):
    def __init__(self, number: int, port: int, people: list[dict], tally: Tally, deadline: float):
        super().__init__(daemon=True)
        self.port, self.tally, self.deadline = port, tally, deadline
        self.person = people[number % len(people)]
        self.random = random.Random(number)
        self.conn: http.client.HTTPConnection | None = None

    def send(self, kind, method, path, body=None, headers=None):
        started = time.perf_counter()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2 or method != "GET":  # a write is never sent twice: its answer is unknown
                    with self.tally.lock:
                        self.tally.cut += 1
                    return 0, b""
        self.tally.add(kind, response.status, time.perf_counter() - started)
        return response.status, data

    def api(self, method, path, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        return self.send(f"{method} api", method, path, body, {
            "Authorization": f"Bearer {self.person['token']}", "Content-Type": "application/json"})

    def run(self):
        while time.perf_counter() < self.deadline:
            roll = self.random.random()
            if roll < 0.30:
                path = self.random.choice(READS)
                self.send(f"GET {path}", "GET", path, headers={"Cookie": self.person["cookie"]})
            elif roll < 0.45:
                self.api("GET", "/api/v1/cases?per_page=20")
            elif roll < 0.70:
                case_id = self.random.choice(self.person["cases"])
                status, data = self.api("POST", f"/api/v1/cases/{case_id}/notes", {
                    "kind": "casework", "mode": "phone", "duration_minutes": 10,
                    "body": f"soak note {uuid.uuid4().hex}"})
                if status == 201:
                    with self.tally.lock:
                        self.tally.notes.append(json.loads(data)["id"])
            elif roll < 0.90:
                answers = [self.random.randint(0, 3) for _ in range(8)] + [1 if self.random.random() < 0.25 else 0]
                body = json.dumps({"instrument": "phq9", "answers": answers}).encode()
                status, data = self.send("POST screening", "POST", "/api/v1/screenings", body,
                                         {"Content-Type": "application/json"})
                if status == 201:
                    with self.tally.lock:
                        self.tally.screenings.append(json.loads(data)["id"])
            else:
                status, data = self.api("GET", "/api/v1/triage?per_page=100")
                open_alerts = [a["id"] for a in json.loads(data)["alerts"] if a["state"] == "open"] \
                    if status == 200 else []
                if open_alerts:
                    alert_id = self.random.choice(open_alerts)
                    status, _data = self.api("POST", f"/api/v1/triage/{alert_id}/claim", {})
                    with self.tally.lock:
                        if status == 200:
                            self.tally.claims.append((alert_id, self.person["username"]))
                        elif status == 409:
                            self.tally.claim_conflicts += 1
        if self.conn is not None:
            self.conn.close()


def _engine(env) -> sa.Engine:
    url = env["DATABASE_URL"]
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith(
        "postgresql://") else url)


def lost_writes(env, tally: Tally) -> dict[str, int]:
    """Acknowledged writes not in the database, by kind."""
    md = sa.MetaData()
    note = sa.Table("contact_note", md, sa.Column("id", sa.Uuid, primary_key=True))
    result = sa.Table("screening_result", md, sa.Column("id", sa.Uuid, primary_key=True))
    alert = sa.Table("alert", md, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("claimed_by_id", sa.Uuid))
    user = sa.Table("user_account", md, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("username", sa.String))
    engine = _engine(env)
    lost = {}
    try:
        with engine.connect() as conn:
            for name, table, ids in (("notes", note, tally.notes), ("screenings", result, tally.screenings)):
                wanted = {uuid.UUID(i) for i in ids}
                found: set = set()
                chunk = sorted(wanted)
                for start in range(0, len(chunk), 500):
                    found.update(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(chunk[start:start + 500]))))
                lost[name] = len(wanted - found)
            users = dict(conn.execute(sa.select(user.c.username, user.c.id)).all())
            claimed = dict(conn.execute(sa.select(alert.c.id, alert.c.claimed_by_id)).all())
            lost["claims"] = sum(1 for alert_id, username in tally.claims
                                 if claimed.get(uuid.UUID(alert_id)) != users.get(username))
    finally:
        engine.dispose()
    return lost


def soak(args, database_url: str | None, workers: int) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="carecycle-soak-"))
    env = instance_env(folder, database_url, CARECYCLE_SCREENING_RATE_LIMIT=str(10 ** 9))
    engine_name = "PostgreSQL" if database_url else "SQLite"
    try:
        carecycle(env, "db", "upgrade")
        carecycle(env, "demo", "load")
        server = Gunicorn(env, free_port(), workers=workers, conf=True)
        try:
            people = []
            for username in COUNSELLORS:
                token = carecycle(env, "tokens", "create", username).strip().splitlines()[-1]
                conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
                conn.request("GET", "/api/v1/cases?per_page=100", headers={"Authorization": f"Bearer {token}"})
                cases = [c["id"] for c in json.loads(conn.getresponse().read())["cases"] if c["phase"] != "closed"]
                conn.close()
                if cases:
                    people.append({"username": username, "token": token, "cases": cases,
                                   "cookie": sign_in(server.port, username, DEMO_PASSWORD)})
            tally = Tally()
            deadline = time.perf_counter() + args.seconds
            started = time.perf_counter()
            clients = [Client(n, server.port, people, tally, deadline) for n in range(args.clients)]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
        lost = lost_writes(env, tally)
        audit = carecycle(env, "audit", "verify").strip()
        ordered = sorted(tally.latencies)
        errors = {status: n for status, n in sorted(tally.statuses.items()) if status >= 500}
        total = sum(tally.statuses.values())
        print(f"{engine_name}, {workers} workers, {args.clients} clients, {elapsed:.0f} s: {total} requests "
              f"({total / elapsed:.0f}/s), p50 {percentile(ordered, 0.5) * 1000:.1f} ms, "
              f"p95 {percentile(ordered, 0.95) * 1000:.1f} ms, p99 {percentile(ordered, 0.99) * 1000:.1f} ms",
              flush=True)
        print("  answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items()))
              + f"; connections cut: {tally.cut}", flush=True)
        print("  by kind: " + ", ".join(f"{k}: {n}" for k, n in sorted(tally.by_kind.items())), flush=True)
        print(f"  acknowledged: {len(tally.notes)} notes, {len(tally.screenings)} screenings, "
              f"{len(tally.claims)} claims ({tally.claim_conflicts} refused with 409: claimed first by another); lost: "
              + ", ".join(f"{k} {v}" for k, v in lost.items()), flush=True)
        print(f"  {audit}", flush=True)
        ok = not errors and not any(lost.values()) and not tally.cut and audit.startswith("audit chain intact")
        print(f"  target 0 5xx, 0 lost writes: {'met' if ok else 'MISSED'}", flush=True)
        return ok
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="soak a throwaway database of this PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    print(f"soak: {os.cpu_count()} CPUs, load average {loadavg()}", flush=True)
    results = []
    for workers in args.workers:
        with (ThrowawayPostgres(args.postgres) if args.postgres else nullcontext()) as url:
            results.append(soak(args, url, workers))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
