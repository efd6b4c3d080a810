#!/usr/bin/env python
"""Supervision at scale: the team dashboard (/supervision/caseload) and the drill-down to one worker
(/supervision/caseload/workers/<id>) at 1,000 and at 100,000 cases, against the bare route
/healthz of the same app, under gunicorn.

    .venv/bin/python bench/supervision.py                 # 1,000 and 100,000 cases
    .venv/bin/python bench/supervision.py --sizes 1000 20000 --requests 200 --seconds 15

What it does, in a throwaway instance folder (temp dir: SQLite database, generated keys):
`carecycle db upgrade`; `carecycle bench seed --clients N` (casework's seeder: every case is in the
team "Bench", spread over 4 counsellors); a supervisor of that team (`bench_supervisor`); then, per
size, the SQL statements one dashboard request runs (counted in-process with the Flask test client),
and gunicorn with 2 workers on a free loopback port: sign in as the supervisor, warm up, and a small
load generator (threads + http.client) on each page in turn. Prints p50/p90 latency and throughput
per page and size, and the p50 ratio between the sizes.

Targets (issue 7): the same number of statements at both sizes (also asserted in
tests/supervision/test_caseload.py at two sizes) and the dashboard's p50 at 100,000 cases within
2x of its p50 at 1,000. Every figure of the dashboard is read up to a cap from an index range
(supervision.service.caseload), so the work is bounded whatever the size. Figures depend on the
machine and on what else runs on it: the load average is printed with them."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import harness  # bench/harness.py: instance, gunicorn, sign-in and load generator

SUPERVISOR = "bench_supervisor"

# Run inside the instance (a fresh process): statements of one dashboard and one drill-down request.
COUNT_STATEMENTS = r"""
import json, re, sys
from sqlalchemy import event, select
from carecycle import create_app
from carecycle.accounts.models import User
from carecycle.extensions import db
app = create_app()
client = app.test_client()
page = client.get("/login").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
signed_in = client.post("/login", data={"username": sys.argv[1], "password": sys.argv[2], "csrf_token": token})
assert signed_in.status_code == 302
with app.app_context():
    worker = db.session.scalar(select(User.id).where(User.username == "bench_counsellor1"))
seen = []
with app.app_context():
    engine = db.engine
event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
out = {"worker": str(worker)}
for name, path in (("dashboard", "/supervision/caseload"), ("drilldown", f"/supervision/caseload/workers/{worker}")):
    client.get(path)  # warm
    seen.clear()
    status = client.get(path).status_code
    out[name] = len(seen) if status == 200 else -status
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.size_arguments(parser, requests=400)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="carecycle-bench-supervision-"))
    env = harness.instance_env(tmp)
    password = secrets.token_urlsafe(18)
    results: dict[int, dict[str, dict]] = {}
    statements: dict[int, dict] = {}
    print(f"instance {tmp}; load average at start {harness.loadavg()}; {os.cpu_count()} CPUs", flush=True)
    bare = harness.bare_route(args.seconds)
    print(f"bare Flask route /hello: {bare['throughput']:.0f} req/s (the denominator of the shares)", flush=True)
    try:
        harness.carecycle(env, "db", "upgrade")
        for size in sorted(args.sizes):
            harness.seed(env, size, password)
            if size == min(args.sizes):
                harness.carecycle(env, "users", "create", SUPERVISOR, "--role", "supervisor", "--team", "Bench",
                                 stdin=password + "\n")
            counted = subprocess.run([sys.executable, "-c", COUNT_STATEMENTS, SUPERVISOR, password], env=env,
                                     cwd=harness.ROOT, capture_output=True, text=True)
            if counted.returncode != 0:
                raise SystemExit(f"counting statements failed:\n{counted.stderr[-3000:]}")
            statements[size] = json.loads(counted.stdout.strip().splitlines()[-1])
            worker_path = f"/supervision/caseload/workers/{statements[size]['worker']}"
            pages = ("/healthz", "/supervision/caseload", worker_path)
            print(f"  {size:>7} cases  statements per request: dashboard {statements[size]['dashboard']}, "
                  f"drill-down {statements[size]['drilldown']}", flush=True)
            server = harness.Gunicorn(env, harness.free_port())
            try:
                cookie = harness.sign_in(server.port, SUPERVISOR, password)
                results[size] = {}
                for path in pages:
                    name = "/supervision/caseload/workers/<id>" if path == worker_path else path
                    results[size][name] = figures = harness.measure(server.port, path, cookie, args)
                    print(harness.describe(size, name, figures, 36), flush=True)
            finally:
                server.stop()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    sizes = sorted(results)
    names = list(results[sizes[0]])
    print(f"\nResults (gunicorn 2 workers, {args.threads} client threads, SQLite; "
          f"load average at end {harness.loadavg()})")
    print(f"{'page':<38}" + "".join(f"{f'p50 @ {s:,}':>16}{'req/s':>9}" for s in sizes)
          + (f"{'p50 ratio':>11}" if len(sizes) > 1 else ""))
    for name in names:
        line = f"{name:<38}" + "".join(f"{results[s][name]['p50']:>13.1f} ms{results[s][name]['throughput']:>9.1f}"
                                       for s in sizes)
        if len(sizes) > 1:
            line += f"{results[sizes[-1]][name]['p50'] / results[sizes[0]][name]['p50']:>10.2f}x"
        print(line)
    for s in sizes:
        print(f"share of the bare route at {s:,} cases: " + ", ".join(
            f"{n} {results[s][n]['throughput'] / bare['throughput']:.1%}" for n in names))
    print("statements per request: " + "; ".join(
        f"{s:,} cases: dashboard {statements[s]['dashboard']}, drill-down {statements[s]['drilldown']}" for s in sizes))
    failed = sum(len(results[s][n]["failures"]) for s in sizes for n in names)
    verdict = []
    if len(sizes) > 1:
        ratio = results[sizes[-1]]["/supervision/caseload"]["p50"] / results[sizes[0]]["/supervision/caseload"]["p50"]
        same = len({statements[s]["dashboard"] for s in sizes}) == 1
        verdict.append(f"dashboard p50 ratio {ratio:.2f}x (target <= 2x): {'met' if ratio <= 2 else 'NOT met'}")
        verdict.append(f"same number of statements at every size: {'yes' if same else 'NO'}")
    for line in verdict:
        print(line)
    if failed:
        print(f"WARNING: {failed} requests did not answer 200")
        sys.exit(1)


if __name__ == "__main__":
    main()
