"""Benchmark: throughput of POST /api/v1/screenings against a bare route of the same app.

Starts the app under gunicorn (2 workers) on a loopback port with a throwaway SQLite database
and instance folder (made by `carecycle db upgrade` in a temporary directory), drives the bare
route (GET /healthz) and then the screening endpoint with a threaded load generator bounded in
time and count, and prints both throughputs and their ratio. Target: screening >= 30 % of bare.

    .venv/bin/python bench/screening.py [--seconds 10] [--threads 8] [--max-requests 100000]
                                        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

The per-address screening limit is raised for the run through CARECYCLE_SCREENING_RATE_LIMIT.
Only loopback addresses are contacted; the server is stopped and the folder removed at the end."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import BIN, ROOT, Gunicorn, ThrowawayPostgres, free_port, instance_env, percentile, timed_request


def drive(port: int, make_request, seconds: float, threads: int, max_requests: int, expect: int) -> dict:
    """Run `threads` workers for at most `seconds` and `max_requests` requests in all."""
    lock = threading.Lock()
    stats = {"ok": 0, "errors": 0, "latencies": []}
    budget = [max_requests]
    stop_at = time.monotonic() + seconds

    def worker(index: int):
        rng = random.Random()
        source = f"127.0.0.{2 + index}"  # each client its own loopback address, as distinct residents
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            method, path, body = make_request(rng)
            status, latency = timed_request(port, method, path, body,
                                            "application/json" if body is not None else None, source, timeout=10)
            with lock:
                if status == expect:
                    stats["ok"] += 1
                    stats["latencies"].append(latency)
                else:
                    stats["errors"] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    stats["elapsed"] = time.monotonic() - started
    stats["rate"] = stats["ok"] / stats["elapsed"] if stats["elapsed"] else 0.0
    return stats


def bare(_rng):
    return "GET", "/healthz", None


def screening(rng):
    answers = [rng.randint(0, 3) for _ in range(9)]
    return "POST", "/api/v1/screenings", json.dumps({"instrument": "phq9", "answers": answers}).encode()


def describe(name: str, stats: dict) -> str:
    latencies = sorted(stats["latencies"])
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    return (f"{name:<28} {stats['rate']:8.1f} req/s   {stats['ok']:6d} ok  {stats['errors']:4d} errors   "
            f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured phase")
    parser.add_argument("--threads", type=int, default=8, choices=range(1, 201), metavar="1..200",
                        help="concurrent clients, each from its own loopback address")
    parser.add_argument("--max-requests", type=int, default=100_000, help="cap per phase")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="run on a throwaway database of this PostgreSQL server instead of SQLite, "
                             "e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.postgres:
        with ThrowawayPostgres(args.postgres) as url:
            return run(args, url, "PostgreSQL")
    return run(args, None, "SQLite")


def run(args, database_url: str | None, engine: str) -> int:
    folder = Path(tempfile.mkdtemp(prefix="carecycle-bench-"))
    env = instance_env(folder, database_url, CARECYCLE_SCREENING_RATE_LIMIT=str(10 ** 9))
    server = None
    try:
        subprocess.run([str(BIN / "carecycle"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Gunicorn(env, free_port())
        port = server.port
        warm = min(2.0, args.seconds)
        drive(port, bare, warm, args.threads, 2000, 200)
        drive(port, screening, warm, args.threads, 2000, 201)
        print(f"CareCycle screening benchmark: gunicorn 2 workers, {engine}, {args.threads} client threads, "
              f"{args.seconds:.0f} s per phase (cpu count {os.cpu_count()})")
        plain = drive(port, bare, args.seconds, args.threads, args.max_requests, 200)
        print(describe("GET /healthz (bare route)", plain))
        scored = drive(port, screening, args.seconds, args.threads, args.max_requests, 201)
        print(describe("POST /api/v1/screenings", scored))
        ratio = scored["rate"] / plain["rate"] if plain["rate"] else 0.0
        print(f"ratio screening / bare: {ratio:.1%} (target >= 30%)")
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
