"""What the benchmarks share: a throwaway instance folder, the `carecycle` command, gunicorn on a
free loopback port, signing in through /login like a browser, and a small load generator
(threads + http.client, bounded by a request count and a time limit)."""
from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
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
    def __init__(self, env, port: int, workers: int = 2):
        self.port = port
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"{HOST}:{port}", "--timeout", "120",
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


def load(port: int, path: str, cookie: str, threads: int, max_requests: int, max_seconds: float) -> dict:
    """`threads` clients send GET `path` until `max_requests` are done or `max_seconds` have passed."""
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
                    status, _ = request(port, "GET", path, headers={"Cookie": cookie}, conn=conn)
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
            "p90": percentile(latencies, 0.9) * 1000,
            "throughput": len(latencies) / wall if wall else 0.0}


def measure(port: int, path: str, cookie: str, args) -> dict:
    """Warm `path` up, then load it (bounded by the run's --threads, --requests and --seconds)."""
    for _ in range(args.warmup):
        request(port, "GET", path, headers={"Cookie": cookie})
    return load(port, path, cookie, args.threads, args.requests, args.seconds)


def describe(size: int, name: str, figures: dict, width: int) -> str:
    return (f"  {size:>7} cases  {name:<{width}} p50 {figures['p50']:7.1f} ms  p90 {figures['p90']:7.1f} ms  "
            f"{figures['throughput']:7.1f} req/s  ({figures['count']} ok, {len(figures['failures'])} failed)")


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"
