#!/usr/bin/env python
"""Where a route's time goes: pyinstrument over many requests in one process, summed by library.

    .venv/bin/pip install pyinstrument      # (the `bench` extra)
    .venv/bin/python bench/profile.py [--requests 300] [--tree] [ROUTE ...]

ROUTE is `GET /cases`, `GET /`, `GET /my-day`, `GET /api/v1/cases` or `POST /api/v1/screenings`
(default: all). In a throwaway instance with the demo data (SQLite), signed in as the demo
counsellor (a bearer token for the API), each route is warmed up, then profiled for `--requests`
requests through Flask's test client (no server, no network: only the app's own work). Prints
per route the time per request and the share of the samples' own time by library (Jinja2,
SQLAlchemy, the database driver, Werkzeug, Flask, cryptography, CareCycle's packages, ...);
`--tree` also prints pyinstrument's call tree."""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import carecycle, instance_env

DEMO_PASSWORD = "carecycle-demo"
SCREENING = json.dumps({"instrument": "phq9", "answers": [1, 0, 2, 1, 0, 1, 0, 0, 0]})
ROUTES = ["GET /cases", "GET /", "GET /my-day", "GET /api/v1/cases", "POST /api/v1/screenings"]
GROUPS = [("jinja2", "Jinja2 (templates)"), ("sqlalchemy", "SQLAlchemy"), ("sqlite3", "sqlite3 driver"),
          ("psycopg", "psycopg driver"), ("werkzeug", "Werkzeug"), ("flask_babel", "Flask-Babel"),
          ("babel", "Babel"), ("flask_login", "Flask-Login"), ("flask_wtf", "Flask-WTF"), ("wtforms", "WTForms"),
          ("flask", "Flask"), ("cryptography", "cryptography"), ("argon2", "argon2"), ("markupsafe", "MarkupSafe"),
          ("/templates/", "Jinja2 (templates)"), ("/carecycle/", "carecycle (shell)"),
          ("/screening/", "screening"), ("/casework/", "casework"), ("/referrals/", "referrals"),
          ("/supervision/", "supervision"), ("json", "json"), ("logging", "logging")]


def group_of(path: str) -> str:
    for needle, name in GROUPS:
        if re.search(rf"[/\\]{re.escape(needle.strip('/'))}[/\\.]", path) or needle in path:
            return name
    return "Python and other"


def by_library(frame, totals: collections.Counter, parent_path: str = "") -> None:
    """Each frame's own time, added to its library's total (pyinstrument keeps a function's own time
    in a synthetic child frame without a file: it counts for the function's library)."""
    path = frame.file_path or parent_path
    if frame.is_synthetic_leaf:
        totals[group_of(parent_path)] += frame.time
    for child in frame.children:
        by_library(child, totals, path)


def main() -> int:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routes", nargs="*", default=ROUTES, metavar="ROUTE")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="carecycle-profile-"))
    try:
        env = instance_env(folder, None, CARECYCLE_SCREENING_RATE_LIMIT=str(10 ** 9))
        carecycle(env, "db", "upgrade")
        carecycle(env, "demo", "load")
        token = carecycle(env, "tokens", "create", "counsellor").strip().splitlines()[-1]
        os.environ.update(env)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from carecycle import create_app
        app = create_app()
        client = app.test_client()
        page = client.get("/login").text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        signed = client.post("/login", data={"username": "counsellor", "password": DEMO_PASSWORD, "csrf_token": csrf})
        if signed.status_code != 302:
            raise SystemExit(f"sign-in failed ({signed.status_code})")
        for route in args.routes:
            method, path = route.split(" ", 1)
            kwargs: dict = {}
            if path.startswith("/api/"):
                kwargs["headers"] = {"Authorization": f"Bearer {token}"}
            if method == "POST":
                kwargs.update(data=SCREENING, content_type="application/json")
            for _ in range(30):
                answer = client.open(path, method=method, **kwargs)
                if answer.status_code >= 400:
                    raise SystemExit(f"{route} answered {answer.status_code}")
            profiler = Profiler(interval=0.0002)
            started = time.perf_counter()
            profiler.start()
            for _ in range(args.requests):
                client.open(path, method=method, **kwargs)
            profiler.stop()
            elapsed = time.perf_counter() - started
            totals: collections.Counter = collections.Counter()
            root = profiler.last_session.root_frame()
            if root is not None:
                by_library(root, totals)
            whole = sum(totals.values()) or 1.0
            print(f"{route}: {elapsed / args.requests * 1000:.2f} ms per request in-process "
                  f"({args.requests} requests, profiled)")
            for name, seconds in totals.most_common(10):
                print(f"  {seconds / whole:6.1%}  {name}")
            if args.tree:
                print(profiler.output_text(unicode=False, color=False, show_all=False))
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
