#!/usr/bin/env python
"""Benchmark: the routes people meet, as shares of a truly bare route served the same way in the same run.

    .venv/bin/python bench/routes.py [--seconds 10] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

In a throwaway instance (SQLite in a temp folder, or a database of its own on the PostgreSQL server
given): `carecycle db upgrade`, `carecycle demo load`, a bearer token for the demo counsellor, and
gunicorn with 2 workers. The denominator is bench/bare.py (one `return "hello"` route) under
gunicorn with 2 workers. Load comes from wrk (-t2 -c16, Debian's package; the Python generator is
the fallback, with a warning). Prints req/s, p50 and p99 for each route and its share of the bare
route's req/s.

Targets (issue 19): /healthz >= 80 %; GET /cases, GET / and GET /my-day >= 15 %; GET /api/v1/cases
>= 20 %; POST /api/v1/screenings >= 20 % on SQLite and >= 30 % on PostgreSQL."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from harness import (
    Gunicorn,
    ThrowawayPostgres,
    bare_route,
    carecycle,
    describe_route,
    free_port,
    instance_env,
    load,
    loadavg,
    request,
    sign_in,
    wrk,
    wrk_missing,
)

DEMO_PASSWORD = "carecycle-demo"
SCREENING = json.dumps({"instrument": "phq9", "answers": [1, 0, 2, 1, 0, 1, 0, 0, 0]}).encode()
TARGETS = {"/healthz": 0.80, "GET /cases": 0.15, "GET /": 0.15, "GET /my-day": 0.15, "GET /api/v1/cases": 0.20}


def run(args, database_url: str | None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="carecycle-routes-"))
    env = instance_env(folder, database_url, CARECYCLE_SCREENING_RATE_LIMIT=str(10 ** 9))
    engine = "PostgreSQL" if database_url else "SQLite"
    try:
        carecycle(env, "db", "upgrade")
        carecycle(env, "demo", "load")
        token = carecycle(env, "tokens", "create", "counsellor").strip().splitlines()[-1]
        print(f"CareCycle routes vs a bare Flask route: gunicorn 2 workers each, {engine}, demo data, "
              f"{'wrk -t2 -c16' if not wrk_missing() else 'Python load generator'}, {args.seconds:.0f} s per route, "
              f"{os.cpu_count()} CPUs, load average {loadavg()}", flush=True)
        if wrk_missing():
            print("WARNING: " + wrk_missing(), flush=True)
        bare = bare_route(args.seconds)
        print(describe_route("bare Flask app GET /hello", bare, bare), flush=True)
        server = Gunicorn(env, free_port())
        try:
            cookie = sign_in(server.port, "counsellor", DEMO_PASSWORD)
            routes = [
                ("/healthz", "GET", "/healthz", {}, None),
                ("POST /api/v1/screenings", "POST", "/api/v1/screenings", {}, SCREENING),
                ("GET /cases", "GET", "/cases", {"Cookie": cookie}, None),
                ("GET /", "GET", "/", {"Cookie": cookie}, None),
                ("GET /my-day", "GET", "/my-day", {"Cookie": cookie}, None),
                ("GET /api/v1/cases", "GET", "/api/v1/cases", {"Authorization": f"Bearer {token}"}, None),
            ]
            target_post = 0.30 if database_url else 0.20
            missed = []
            for name, method, path, headers, body in routes:
                for _ in range(20):  # warm up
                    request(server.port, method, path, body, {**headers, "Content-Type": "application/json"})
                if wrk_missing():
                    figures = load(server.port, path, headers.get("Cookie", ""), 4, 10 ** 9, args.seconds)
                else:
                    figures = wrk(server.port, path, seconds=args.seconds, headers=headers, method=method, body=body,
                                  content_type="application/json" if body else None)
                print(describe_route(name, figures, bare), flush=True)
                target = target_post if method == "POST" else TARGETS.get(name)
                share = figures["throughput"] / bare["throughput"] if bare["throughput"] else 0.0
                if target is not None and share < target:
                    missed.append(f"{name} {share:.1%} < {target:.0%}")
                if figures["failures"]:
                    missed.append(f"{name}: {len(figures['failures'])} answers were not 2xx/3xx")
            print("targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
            return 0
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured route")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="measure on a throwaway database of this PostgreSQL server instead of SQLite, "
                             "e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with (ThrowawayPostgres(args.postgres) if args.postgres else nullcontext()) as url:
        return run(args, url)


if __name__ == "__main__":
    sys.exit(main())
