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
import http.client
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = ("/healthz", "/cases", "/my-day")
COOKIE = "carecycle_session"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def carecycle(env, *args, stdin: str | None = None) -> str:
    done = subprocess.run([str(BIN / "carecycle"), *args], env=env, input=stdin, capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"carecycle {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Gunicorn:
    def __init__(self, env, port: int, workers: int = 2):
        self.port = port
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
             "--log-level", "warning", "wsgi:app"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.process.stderr.read()}")
            try:
                status, _ = request(port, "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def request(port, method, path, body=None, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, (response, data)
    finally:
        if own:
            conn.close()


def session_cookie(response) -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(COOKIE + "="):
            return value.split(";", 1)[0]
    return None


def sign_in(port: int, username: str, password: str) -> str:
    """Sign in through /login like a browser; returns the Cookie header to reuse."""
    status, (response, page) = request(port, "GET", "/login")
    cookie = session_cookie(response)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or not cookie or not token:
        raise SystemExit(f"GET /login answered {status} without a session cookie or CSRF token")
    body = urlencode({"username": username, "password": password, "csrf_token": token.group(1).decode()})
    status, (response, _) = request(port, "POST", "/login", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    signed_in = session_cookie(response)
    if status != 302 or not signed_in:
        raise SystemExit(f"sign-in as {username} failed ({status})")
    return signed_in


def load(port: int, path: str, cookie: str, threads: int, max_requests: int, max_seconds: float) -> dict:
    """`threads` clients send GET `path` until `max_requests` are done or `max_seconds` have passed."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    issued = [0]
    deadline = time.perf_counter() + max_seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                started = time.perf_counter()
                try:
                    status, _ = request(port, "GET", path, headers={"Cookie": cookie}, conn=conn)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    status = 0
                elapsed = time.perf_counter() - started
                with lock:
                    (latencies if status == 200 else failures).append(elapsed if status == 200 else status)
        finally:
            conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"count": len(latencies), "failures": failures, "wall": wall,
            "p50": statistics.median(latencies) * 1000 if latencies else float("nan"), "p90": pct(0.9),
            "throughput": len(latencies) / wall if wall else 0.0}


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000], help="cases (= clients) to measure at")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients of the load generator")
    parser.add_argument("--requests", type=int, default=600, help="at most this many requests per page and size")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per page and size")
    parser.add_argument("--warmup", type=int, default=30, help="requests per page before measuring")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="carecycle-bench-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "CARECYCLE_KEYS", "CARECYCLE_KEY_FILE", "DATABASE_URL")}
    env.update(CARECYCLE_ENV="development", CARECYCLE_INSTANCE_PATH=str(tmp), DATABASE_URL=f"sqlite:///{tmp}/bench.db",
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    password = secrets.token_urlsafe(18)
    results: dict[int, dict[str, dict]] = {}
    seeding: list[tuple[int, float]] = []
    print(f"instance {tmp}; load average at start {loadavg()}; {os.cpu_count()} CPUs", flush=True)
    try:
        carecycle(env, "db", "upgrade")
        for size in sorted(args.sizes):
            out = carecycle(env, "bench", "seed", "--clients", str(size), "--password-stdin", stdin=password + "\n")
            match = re.search(r"seeded (\d+) clients .* in ([\d.]+) s: (\d+) clients/s", out)
            if match:
                seeding.append((int(match.group(1)), float(match.group(2))))
                print(f"seeded to {size} clients: {match.group(1)} added at {match.group(3)} clients/s", flush=True)
            server = Gunicorn(env, free_port())
            try:
                cookie = sign_in(server.port, "bench_counsellor1", password)
                results[size] = {}
                for path in PAGES:
                    for _ in range(args.warmup):
                        request(server.port, "GET", path, headers={"Cookie": cookie})
                    results[size][path] = figures = load(server.port, path, cookie, args.threads, args.requests,
                                                         args.seconds)
                    print(f"  {size:>7} cases  {path:<9} p50 {figures['p50']:7.1f} ms  p90 {figures['p90']:7.1f} ms  "
                          f"{figures['throughput']:7.1f} req/s  ({figures['count']} ok, "
                          f"{len(figures['failures'])} failed)", flush=True)
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
        bare = results[s]["/healthz"]["throughput"]
        shares = ", ".join(f"{p} {results[s][p]['throughput'] / bare:.1%}" for p in PAGES[1:])
        print(f"throughput vs /healthz at {s:,} cases: {shares}")
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
