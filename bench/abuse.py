"""Benchmark: can anonymous clients sending the largest bodies the public endpoints accept slow the
service down for everyone else?

Starts the app under gunicorn (2 workers) with a throwaway SQLite database, then measures one
client that alternates GET /login and a valid POST /api/v1/screenings (each from a fresh loopback
address, as different residents), first alone and then while 4 abusive clients send, as fast as
they can, bodies at the public limit (16 KiB: a screening with thousands of answers, a referral
form, a sign-in form) and bodies far over it (1.95 MB, the review's attack). Prints p50/p99 of
both measured requests with and without the abuse. Target: p99 with abuse within 2x of without.

    .venv/bin/python bench/abuse.py [--seconds 10] [--rotate]

--rotate: each abusive request comes from another address, so no per-address limit helps and
only the body limits and early refusals protect the service (the default is one address per
abusive client, which the rate limits soon answer with 429)."""
from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from harness import BIN, ROOT, Gunicorn, free_port, instance_env, percentile, timed_request

LIMIT = 16 * 1024


def abusive_bodies() -> list[tuple[str, bytes, str]]:
    """The largest bodies each public endpoint accepts, and one far over the limit."""
    answers = json.dumps({"instrument": "phq9", "answers": [0] * 8000}).encode()[:LIMIT - 2]
    answers = answers[:answers.rfind(b",")] + b"]}"
    form = lambda **fields: urlencode(fields).encode()  # noqa: E731
    return [
        ("/api/v1/screenings", answers, "application/json"),
        ("/api/v1/screenings", b'{"instrument": "phq9", "answers": [' + b"0," * 650_000 + b"0]}", "application/json"),
        ("/refer", form(concern="x" * (LIMIT - 200), relation="self"), "application/x-www-form-urlencoded"),
        ("/login", form(username="x" * (LIMIT - 200), password="y"), "application/x-www-form-urlencoded"),
    ]


def addresses(prefix: int):
    """Loopback addresses 127.<prefix>.x.y, round and round."""
    return itertools.cycle(f"127.{prefix}.{x}.{y}" for x in range(256) for y in range(1, 255))


def measure(port: int, seconds: float) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"GET /login": [], "POST /api/v1/screenings": []}
    failures = 0
    source = addresses(10)
    deadline = time.monotonic() + seconds
    screening = json.dumps({"instrument": "phq9", "answers": [1, 0, 2, 1, 0, 1, 0, 0, 0]}).encode()
    while time.monotonic() < deadline:
        status, elapsed = timed_request(port, "GET", "/login", None, None, next(source))
        if status == 200:
            latencies["GET /login"].append(elapsed)
        else:
            failures += 1
        status, elapsed = timed_request(port, "POST", "/api/v1/screenings", screening, "application/json", next(source))
        if status == 201:
            latencies["POST /api/v1/screenings"].append(elapsed)
        else:
            failures += 1
    latencies["failures"] = [failures]
    return latencies


def abuse(port: int, stop, index: int, rotate: bool, counts) -> None:
    """One abusive client (a process of its own, so it does not share the measuring client's GIL)."""
    bodies = itertools.cycle(abusive_bodies())
    source = addresses(20 + index) if rotate else itertools.repeat(f"127.{20 + index}.0.1")
    mine: dict[int, int] = {}
    while not stop.is_set():
        path, body, content_type = next(bodies)
        status, _elapsed = timed_request(port, "POST", path, body, content_type, next(source))
        mine[status] = mine.get(status, 0) + 1
    counts.put(mine)


def percentiles(values: list[float]) -> str:
    if not values:
        return "no successful requests"
    values = sorted(values)
    return (f"p50 {percentile(values, 0.5) * 1000:7.1f} ms  p99 {percentile(values, 0.99) * 1000:7.1f} ms  "
            f"({len(values)} requests)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured phase")
    parser.add_argument("--rotate", action="store_true", help="abusive requests from ever new addresses")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="carecycle-abuse-"))
    env = instance_env(folder)
    server = None
    try:
        subprocess.run([str(BIN / "carecycle"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Gunicorn(env, free_port())
        measure(server.port, min(2.0, args.seconds))  # warm up
        print(f"CareCycle abuse benchmark: gunicorn 2 workers, SQLite, 4 abusive clients "
              f"({'a new address per request' if args.rotate else 'one address each'}), "
              f"{args.seconds:.0f} s per phase (cpu count {os.cpu_count()})")
        quiet = measure(server.port, args.seconds)
        stop, answered = multiprocessing.Event(), multiprocessing.Queue()
        abusers = [multiprocessing.Process(target=abuse, args=(server.port, stop, i, args.rotate, answered))
                   for i in range(4)]
        for process in abusers:
            process.start()
        time.sleep(0.5)
        loud = measure(server.port, args.seconds)
        stop.set()
        counts: dict[int, int] = {}
        for _process in abusers:
            for status, count in answered.get(timeout=60).items():
                counts[status] = counts.get(status, 0) + count
        for process in abusers:
            process.join()
        worst = 0.0
        for name in ("GET /login", "POST /api/v1/screenings"):
            print(f"{name:<26} without abuse: {percentiles(quiet[name])}")
            print(f"{'':<26} with abuse:    {percentiles(loud[name])}")
            if quiet[name] and loud[name]:
                q99 = sorted(quiet[name])[min(len(quiet[name]) - 1, int(len(quiet[name]) * 0.99))]
                l99 = sorted(loud[name])[min(len(loud[name]) - 1, int(len(loud[name]) * 0.99))]
                worst = max(worst, l99 / q99)
        print(f"abusive requests answered: {dict(sorted(counts.items()))}; measured failures: "
              f"{quiet['failures'][0]} without, {loud['failures'][0]} with abuse")
        print(f"worst p99 with abuse / without: {worst:.2f}x (target <= 2x)")
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
