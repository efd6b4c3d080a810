"""The real server for tests: gunicorn with `--config python:carecycle.gunicorn_conf` (as `make run`
starts it) on the test database, with the test app's keys."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app, folder: Path, workers: int = 1, env: dict | None = None, access_log: Path | None = None):
    """Serve the test app's database and keys from `folder`; yields the base URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "PYTHONPATH": str(ROOT), "CARECYCLE_ENV": "development",
               "CARECYCLE_INSTANCE_PATH": str(folder), "SECRET_KEY": app.config["SECRET_KEY"],
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CARECYCLE_KEY_FILE": app.config["KEY_FILE"],
               **(env or {})}
    errors = folder / "error.log"
    command = [str(GUNICORN), "--config", "python:carecycle.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--error-logfile", str(errors), "wsgi:app"]
    if access_log is not None:
        command[-1:-1] = ["--access-logfile", str(access_log)]
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(300):
            if process.poll() is not None:
                pytest.fail("gunicorn exited:\n" + errors.read_text())
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer /healthz")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
