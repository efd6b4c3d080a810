#!/usr/bin/env python
"""Casework at scale: the counsellor's caseload page (/cases) and "My day" (/my-day) at 1,000 and
at 100,000 cases, against the bare route /healthz of the same app, under gunicorn.

    .venv/bin/python bench/casework.py                 # 1,000 and 100,000 cases
    .venv/bin/python bench/casework.py --sizes 1000 20000 --requests 300 --seconds 15

What it does, in a throwaway instance folder (temp dir: SQLite database, generated keys):
`carecycle db upgrade`; `carecycle bench seed --clients N` (timed: clients per second, with
encryption); gunicorn with 2 workers on a free loopback port; sign in as bench_counsellor1
through /login and reuse the session cookie; warm up; then a small load generator (threads +
http.client, bounded by a request count and a time limit) on each page in turn. Prints p50/p90
latency and throughput per page and size, the p50 ratio between sizes and each page's throughput
as a share of the bare route's. The seeder spreads the cases over 4 counsellors, so the
measured counsellor holds a quarter of them (250 and 25,000 open or closed cases).

Targets (issue 4): the same number of SQL queries per page at both sizes (asserted in
tests/casework/test_tasks.py), p50 at 100,000 within 1.5x of 1,000, caseload throughput >= 15%
of the bare route's. Figures depend on the machine and on whatever else runs on it: the load
average is printed with them."""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from harness import (
    Gunicorn,
    bare_route,
    carecycle,
    describe,
    free_port,
    instance_env,
    loadavg,
    measure,
    seed,
    sign_in,
    size_arguments,
)

PAGES = ("/healthz", "/cases", "/my-day")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size_arguments(parser, requests=600)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="carecycle-bench-"))
    env = instance_env(tmp)
    password = secrets.token_urlsafe(18)
    results: dict[int, dict[str, dict]] = {}
    seeding: list[tuple[int, float]] = []
    print(f"instance {tmp}; load average at start {loadavg()}; {os.cpu_count()} CPUs", flush=True)
    bare = bare_route(args.seconds)
    print(f"bare Flask route /hello: {bare['throughput']:.0f} req/s (the denominator of the shares)", flush=True)
    try:
        carecycle(env, "db", "upgrade")
        for size in sorted(args.sizes):
            seeded = seed(env, size, password)
            if seeded:
                seeding.append(seeded)
            server = Gunicorn(env, free_port())
            try:
                cookie = sign_in(server.port, "bench_counsellor1", password)
                results[size] = {}
                for path in PAGES:
                    results[size][path] = figures = measure(server.port, path, cookie, args)
                    print(describe(size, path, figures, 9), flush=True)
            finally:
                server.stop()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    sizes = sorted(results)
    print(f"\nResults (gunicorn 2 workers, {args.threads} client threads, SQLite; load average at end {loadavg()})")
    print(f"{'page':<10}" + "".join(f"{f'p50 @ {s:,}':>16}{'req/s':>9}" for s in sizes)
          + (f"{'p50 ratio':>11}" if len(sizes) > 1 else ""))
    for path in PAGES:
        line = f"{path:<10}" + "".join(f"{results[s][path]['p50']:>13.1f} ms{results[s][path]['throughput']:>9.1f}"
                                       for s in sizes)
        if len(sizes) > 1:
            line += f"{results[sizes[-1]][path]['p50'] / results[sizes[0]][path]['p50']:>10.2f}x"
        print(line)
    for s in sizes:
        shares = ", ".join(f"{p} {results[s][p]['throughput'] / bare['throughput']:.1%}" for p in PAGES)
        print(f"throughput as a share of the bare route at {s:,} cases: {shares}")
    if seeding:
        added = sum(n for n, _ in seeding)
        seconds = sum(t for _, t in seeding)
        print(f"seeding: {added:,} clients (each with a case, its timeline event and tasks) in {seconds:.1f} s "
              f"= {added / seconds:,.0f} clients/s")
    failed = sum(len(results[s][p]["failures"]) for s in sizes for p in PAGES)
    if failed:
        print(f"WARNING: {failed} requests did not answer 200")
        sys.exit(1)


if __name__ == "__main__":
    main()
