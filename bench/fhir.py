#!/usr/bin/env python
"""FHIR R4 at scale: `Patient/<id>/$everything` for a client with 50 contact notes, 20 screenings
and 10 referrals, and `Patient?identifier=` (an exact blind-index search) at 1,000 and at 100,000
clients, under gunicorn, against the bare route of the same load generator.

    .venv/bin/python bench/fhir.py                      # 1,000 and 100,000 clients
    .venv/bin/python bench/fhir.py --sizes 1000 20000 --seconds 10

What it does, in a throwaway instance folder (temp dir: SQLite database, generated keys):
`carecycle db upgrade`; `carecycle demo load` (the partner directory the referrals go to);
`carecycle bench seed --clients N`; then, once, the rich client (this script run with `rich`
inside the instance: a client of the bench team with one case of bench_counsellor1, 50 signed
contact notes, 20 PHQ-9 screenings on the case, referral-sharing consent and 10 sent referrals)
and a bearer token of bench_counsellor1; gunicorn with 2 workers; warm-up; then the load generator
(wrk when installed) on each request in turn, with the token. Prints p50/p99 latency and
throughput per request and size, the p50 ratio between sizes, each request's share of the bare
route's throughput, and the size of the $everything Bundle.

The SQL statements per request are the same at 1,000 and 100,000 clients: asserted in
tests/fhir/test_scale.py. Figures depend on the machine and on whatever else runs on it: the
load average is printed with them."""
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

from harness import (
    BIN,
    ROOT,
    Gunicorn,
    bare_route,
    carecycle,
    describe,
    free_port,
    instance_env,
    loadavg,
    measure,
    request,
    seed,
    size_arguments,
)

RICH_ID_NUMBER = "BENCH-FHIR-0001"
NOTES, SCREENINGS, REFERRALS = 50, 20, 10


def seed_rich() -> None:
    """Inside the instance (`fhir.py rich`): the rich client, once; prints its id, ID number and a
    new token of bench_counsellor1 as JSON."""
    from datetime import timedelta

    here = Path(__file__).resolve().parent  # bench/casework.py would shadow the casework package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from sqlalchemy import select

    from carecycle import create_app
    from carecycle.accounts.models import User
    from carecycle.accounts.service import create_token
    from carecycle.database import utcnow
    from carecycle.extensions import db
    from casework.models import Client
    from casework.service import cases as case_service
    from casework.service import clients as client_service
    from casework.service import notes as note_service
    from casework.service import outcomes
    from referrals.models import Service
    from referrals.service import referrals as referral_service

    app = create_app()
    with app.app_context():
        counsellor = db.session.scalar(select(User).where(User.username == "bench_counsellor1"))
        if counsellor is None:
            raise SystemExit("no bench_counsellor1: run `carecycle bench seed` first")
        client = db.session.scalar(select(Client).where(Client.id_number_index == Client.id_number.index_for(
            RICH_ID_NUMBER)))
        if client is None:
            client = Client(team_id=counsellor.team_id, created_by_id=counsellor.id)
            client.full_name, client.id_number, client.phone = "Rich Bench Client", RICH_ID_NUMBER, "5550001234"
            db.session.add(client)
            db.session.flush()
            case = case_service.open_case(counsellor, client, risk_level="moderate", source="walk_in")
            client_service.record_consent(counsellor, client, "referral_sharing")
            for n in range(NOTES):
                note_service.create_note(counsellor, case, {
                    "kind": "clinical", "mode": "phone", "duration_minutes": 20,
                    "body": f"Contact {n + 1}: talked through the week, sleep and the plan for the next days."},
                    sign=True)
            start = utcnow() - timedelta(days=7 * SCREENINGS)
            for n in range(SCREENINGS):
                total = max(0, 20 - n)
                answers = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
                outcomes.record_screening(counsellor, case, "phq9", answers, taken_at=start + timedelta(days=7 * n),
                                          raise_alerts=False)
            services = db.session.scalars(select(Service).order_by(Service.name).limit(REFERRALS)).all()
            for n in range(REFERRALS):
                referral = referral_service.create_referral(counsellor, case, {
                    "service_id": str(services[n % len(services)].id), "urgency": "routine",
                    "reason": f"Referral {n + 1}: support at home.", "share": ["preferred_name", "phone"]})
                referral_service.send(counsellor, referral)
            db.session.commit()
        token = create_token(counsellor)
        db.session.commit()
        print(json.dumps({"id": str(client.id), "identifier": RICH_ID_NUMBER, "token": token}))


def rich(env) -> dict:
    done = subprocess.run([str(BIN / "python"), str(Path(__file__).resolve()), "rich"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seeding the rich client failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size_arguments(parser, requests=400)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="carecycle-bench-"))
    env = instance_env(tmp)
    password = secrets.token_urlsafe(18)
    results: dict[int, dict[str, dict]] = {}
    print(f"instance {tmp}; load average at start {loadavg()}; {os.cpu_count()} CPUs", flush=True)
    bare = bare_route(args.seconds)
    print(f"bare Flask route /hello: {bare['throughput']:.0f} req/s (the denominator of the shares)", flush=True)
    person: dict | None = None
    requests: dict[str, str] = {}
    try:
        carecycle(env, "db", "upgrade")
        carecycle(env, "demo", "load")
        for size in sorted(args.sizes):
            seed(env, size, password)
            if person is None:
                person = rich(env)
                requests = {"Patient?identifier=": f"/fhir/R4/Patient?identifier={person['identifier']}",
                            "$everything": f"/fhir/R4/Patient/{person['id']}/$everything"}
            headers = {"Authorization": f"Bearer {person['token']}", "Accept": "application/fhir+json"}
            server = Gunicorn(env, free_port())
            try:
                status, (_response, body) = request(server.port, "GET", requests["$everything"], headers=headers)
                if status != 200:
                    raise SystemExit(f"$everything answered {status}: {body[:300]!r}")
                bundle = json.loads(body)
                kinds: dict[str, int] = {}
                for entry in bundle["entry"]:
                    kinds[entry["resource"]["resourceType"]] = kinds.get(entry["resource"]["resourceType"], 0) + 1
                print(f"  $everything: {len(bundle['entry'])} resources, {len(body) / 1024:.0f} KiB: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())), flush=True)
                results[size] = {}
                for name, path in requests.items():
                    results[size][name] = figures = measure(server.port, path, "", args, headers=headers)
                    print(describe(size, name, figures, 20), flush=True)
            finally:
                server.stop()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    sizes = sorted(results)
    print(f"\nResults (gunicorn 2 workers, SQLite; load average at end {loadavg()})")
    print(f"{'request':<22}" + "".join(f"{f'p50 @ {s:,}':>16}{'req/s':>9}" for s in sizes)
          + (f"{'p50 ratio':>11}" if len(sizes) > 1 else ""))
    for name in requests:
        line = f"{name:<22}" + "".join(f"{results[s][name]['p50']:>13.1f} ms{results[s][name]['throughput']:>9.1f}"
                                       for s in sizes)
        if len(sizes) > 1:
            line += f"{results[sizes[-1]][name]['p50'] / results[sizes[0]][name]['p50']:>10.2f}x"
        print(line)
    for s in sizes:
        shares = ", ".join(f"{n} {results[s][n]['throughput'] / bare['throughput']:.1%}" for n in requests)
        print(f"throughput as a share of the bare route at {s:,} clients: {shares}")
    failed = sum(len(results[s][n]["failures"]) for s in sizes for n in requests)
    if failed:
        print(f"WARNING: {failed} requests did not answer 200")
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1:] == ["rich"]:
        seed_rich()
    else:
        main()
