"""What the benchmarks share: a throwaway instance folder, the `carecycle` command, gunicorn on a
free loopback port, signing in through /login like a browser, and a small load generator
(threads + http.client, bounded by a request count and a time limit)."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
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
HOST = "127.0.0.1"
COOKIE = "carecycle_session"


def instance_env(folder: Path, database_url: str | None = None, **extra: str) -> dict:
    """The environment of a throwaway development instance in `folder` (its own keys, SQLite there unless
    `database_url` is given); nothing of the caller's keys or database is passed on."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "CARECYCLE_KEYS", "CARECYCLE_KEY_FILE", "DATABASE_URL")}
    env.update(CARECYCLE_ENV="development", CARECYCLE_INSTANCE_PATH=str(folder),
               DATABASE_URL=database_url or f"sqlite:///{folder}/bench.db", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])), **extra)
    return env


def size_arguments(parser: argparse.ArgumentParser, *, requests: int) -> None:
    """The options of the benchmarks that seed an instance to several sizes and load its pages."""
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000], help="cases (= clients) to measure at")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients of the load generator")
    parser.add_argument("--requests", type=int, default=requests, help="at most this many requests per page and size")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per page and size")
    parser.add_argument("--warmup", type=int, default=30, help="requests per page before measuring")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def carecycle(env, *args, stdin: str | None = None) -> str:
    done = subprocess.run([str(BIN / "carecycle"), *args], env=env, input=stdin, capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"carecycle {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed(env, size: int, password: str) -> tuple[int, float] | None:
    """`carecycle bench seed` up to `size` clients; (clients added, seconds) as the seeder reports them."""
    out = carecycle(env, "bench", "seed", "--clients", str(size), "--password-stdin", stdin=password + "\n")
    match = re.search(r"seeded (\d+) clients .* in ([\d.]+) s: (\d+) clients/s", out)
    if not match:
        return None
    print(f"seeded to {size} clients: {match.group(1)} added at {match.group(3)} clients/s", flush=True)
    return int(match.group(1)), float(match.group(2))


class Gunicorn:
    def __init__(self, env, port: int, workers: int = 2, conf: bool = False):
        """`conf`: with `--config python:carecycle.gunicorn_conf`, as deployed (masking logger, worker
        heartbeats, multi-process metrics)."""
        self.port = port
        config = ["--config", "python:carecycle.gunicorn_conf"] if conf else []
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), *config, "--workers", str(workers), "--bind", f"{HOST}:{port}", "--timeout", "120",
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
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, (response, data)
    finally:
        if own:
            conn.close()


def timed_request(port: int, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                  source: str = HOST, timeout: float = 30) -> tuple[int, float]:
    """One request on a new connection from address `source`: (status, seconds); status 0 when the
    connection failed or was cut."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers={"Content-Type": content_type} if content_type else {})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except (OSError, http.client.HTTPException):
        return 0, time.perf_counter() - started
    finally:
        connection.close()


def percentile(ordered: list[float], fraction: float) -> float:
    """The value at `fraction` (0.5, 0.9, 0.99) of an ascending list, nan when empty."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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


def load(port: int, path: str, cookie: str, threads: int, max_requests: int, max_seconds: float,
         headers: dict | None = None) -> dict:
    """`threads` clients send GET `path` until `max_requests` are done or `max_seconds` have passed
    (with the Cookie `cookie`, or with `headers` when given: a bearer token)."""
    sent = headers if headers is not None else {"Cookie": cookie}
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    issued = [0]
    deadline = time.perf_counter() + max_seconds

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                started = time.perf_counter()
                try:
                    status, _ = request(port, "GET", path, headers=sent, conn=conn)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
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

    return {"count": len(latencies), "failures": failures, "wall": wall,
            "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "p90": percentile(latencies, 0.9) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "throughput": len(latencies) / wall if wall else 0.0}


def measure(port: int, path: str, cookie: str, args, headers: dict | None = None) -> dict:
    """Warm `path` up, then load it: with wrk (-t2 -c16) for --seconds when it is installed, else with
    the Python load generator (bounded by --threads, --requests and --seconds). `headers` replace
    the Cookie (a bearer token)."""
    sent = headers if headers is not None else ({"Cookie": cookie} if cookie else {})
    for _ in range(args.warmup):
        request(port, "GET", path, headers=sent)
    if not wrk_missing():
        return wrk(port, path, seconds=args.seconds, headers=sent or None)
    return load(port, path, cookie, args.threads, args.requests, args.seconds, headers=sent)


def describe(size: int, name: str, figures: dict, width: int) -> str:
    return (f"  {size:>7} cases  {name:<{width}} p50 {figures['p50']:7.1f} ms  p99 {figures['p99']:7.1f} ms  "
            f"{figures['throughput']:7.1f} req/s  ({figures['count']} ok, {len(figures['failures'])} failed)")


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# ------------------------------------------------------------------ wrk and the bare route
WRK_THREADS, WRK_CONNECTIONS = 2, 16


def wrk_missing() -> str | None:
    """None when wrk is installed; otherwise what to do about it, in one line."""
    if shutil.which("wrk"):
        return None
    return ("wrk is not installed (Debian: apt-get install -y wrk); falling back to the Python load "
            "generator, whose client cannot drive a fast route at its speed: shares will read too kind")


class BareApp(Gunicorn):
    """bench/bare.py under gunicorn: one `return "hello"` route, the same workers as CareCycle."""

    def __init__(self, port: int, workers: int = 2):
        self.port = port
        env = {k: v for k, v in os.environ.items()}
        env["PYTHONPATH"] = str(ROOT / "bench")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"{HOST}:{port}", "--log-level", "warning",
             "bare:app"], env=env, cwd=ROOT / "bench", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(port, "GET", "/hello")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("the bare app did not answer /hello within 30 s")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk(port: int, path: str, *, seconds: float = 10.0, headers: dict | None = None, method: str = "GET",
        body: bytes | None = None, content_type: str | None = None) -> dict:
    """`wrk -t2 -c16 --latency` on `path` for `seconds`: req/s, p50/p99 (ms) and the non-2xx/3xx count."""
    script = None
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if method != "GET" or body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(f"wrk.method = {json.dumps(method)}\n")
        if body is not None:
            script.write(f"wrk.body = {json.dumps(body.decode())}\n")
        if content_type:
            script.write(f'wrk.headers["Content-Type"] = {json.dumps(content_type)}\n')
        script.close()
        command += ["-s", script.name]
    command.append(f"http://{HOST}:{port}{path}")
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        if script is not None:
            os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"throughput": float(rate.group(1)) if rate else 0.0,
            "p50": _ms(p50.group(1)) if p50 else float("nan"), "p99": _ms(p99.group(1)) if p99 else float("nan"),
            "p90": float("nan"),
            "count": int(done.group(1)) if (done := re.search(r"(\d+) requests in", out)) else 0,
            "failures": [0] * ((int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0))}


def bare_route(seconds: float = 10.0, workers: int = 2) -> dict:
    """The bare Flask app's /hello under the same load: the denominator of every share."""
    server = BareApp(free_port(), workers)
    try:
        if wrk_missing():
            return load(server.port, "/hello", "", 4, 10**9, seconds)
        return wrk(server.port, "/hello", seconds=seconds)
    finally:
        server.stop()


def describe_route(name: str, figures: dict, bare: dict, width: int = 34) -> str:
    share = figures["throughput"] / bare["throughput"] if bare.get("throughput") else float("nan")
    return (f"  {name:<{width}} {figures['throughput']:8.0f} req/s  p50 {figures['p50']:6.1f} ms  "
            f"p99 {figures['p99']:6.1f} ms  {share:6.1%} of bare  ({len(figures['failures'])} failed)")


class ThrowawayPostgres:
    """A database of its own on the PostgreSQL server given, dropped at the end."""

    def __init__(self, server_url: str):
        import psycopg

        self.psycopg = psycopg
        self.server_url = server_url
        self.name = f"carecycle_bench_{os.getpid()}_{random.randint(0, 10 ** 6)}"

    def _admin(self, statement: str) -> None:
        with self.psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(statement)

    def __enter__(self) -> str:
        self._admin(f'CREATE DATABASE "{self.name}"')
        base, _, _ = self.server_url.rpartition("/")
        return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + self.name

    def __exit__(self, *exc) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
