"""Schemathesis against a served demo instance: every /api/v1 operation of GET /api/v1/openapi.json,
called with a bearer token of each role (and none), must never answer 5xx and must conform to the
document (status, content type, body schema). Bounded: a fixed number of examples per operation
and a fixed seed, so CI stays short and a failure can be replayed.

    .venv/bin/python .ci/api_contract.py [--examples N] [--database-url URL] [--keep]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import BIN, HOST, Gunicorn, carecycle, free_port, instance_env  # noqa: E402

ROLES = ["counsellor", "socialworker", "supervisor", "admin", "resident"]  # demo accounts, one per role
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=8, help="examples per operation and role")
    parser.add_argument("--database-url", help="serve this database instead of a new SQLite file")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and the reports")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="carecycle-contract-"))
    env = instance_env(folder, args.database_url)
    server = None
    failed: list[str] = []
    try:
        carecycle(env, "db", "upgrade")
        carecycle(env, "demo", "load")
        tokens = {role: carecycle(env, "tokens", "create", role).strip().splitlines()[-1] for role in ROLES}
        port = free_port()
        server = Gunicorn(env, port, workers=2, conf=True)
        schema = f"http://{HOST}:{port}/api/v1/openapi.json"
        for role in [None, *ROLES]:
            command = [str(BIN / "st"), "run", schema, "--checks", CHECKS, "--max-examples", str(args.examples),
                       "--seed", str(args.seed), "--no-shrink", "--phases", "examples,coverage,fuzzing",
                       "--request-timeout", "30", "--report", "junit", "--report-dir", str(folder / f"report-{role}")]
            if role is not None:
                command += ["--header", f"Authorization: Bearer {tokens[role]}"]
            print(f"== schemathesis as {role or 'anonymous'}", flush=True)
            done = subprocess.run(command, cwd=ROOT, env=env)
            if done.returncode != 0:
                failed.append(role or "anonymous")
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print(f"schemathesis failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("schemathesis: every role conforms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
