"""Gunicorn settings for serving CareCycle: `gunicorn --config python:carecycle.gunicorn_conf wsgi:app`.

The access log must never hold a secret or a person's data. Pages already keep them out of URLs
(searches are POSTed, a partner link's token is moved into a cookie on first use), but an old
bookmark, a hand-typed URL or an API call can still carry one, so the logger masks, in every
logged value (request line, path, query, referrer, headers, environ): whatever follows `/p/` and
the values of query parameters whose names can carry personal data or a secret."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote

from gunicorn.glogging import Logger

MASK = "***"

# Query parameter names whose values are masked (compared case-insensitively, after %-decoding).
SENSITIVE_PARAMS = frozenset({
    "name", "full_name", "preferred_name", "family", "given", "phone", "telecom", "id_number", "identifier",
    "birthdate", "date_of_birth", "address", "email", "q", "token", "code", "link_code", "key", "secret",
    "password", "carecycle_partner",
})

_PARTNER_PATH = re.compile(r"(/|%2[fF])p(/|%2[fF])[^/?#\s\"]+")
_QUERY_PAIR = re.compile(r"(?P<sep>^|[?&;])(?P<name>[^=&;?#\s\"]+)=(?P<value>[^&;#\s\"]*)")


def _mask_query_pair(match: re.Match) -> str:
    name = unquote(match.group("name").replace("+", " ")).strip().lower()
    if name in SENSITIVE_PARAMS and match.group("value"):
        return f"{match.group('sep')}{match.group('name')}={MASK}"
    return match.group(0)


def mask(value: str) -> str:
    """The value with partner tokens and sensitive query values replaced by ***."""
    value = _PARTNER_PATH.sub(lambda m: f"{m.group(1)}p{m.group(2)}{MASK}", value)
    return _QUERY_PAIR.sub(_mask_query_pair, value)


class MaskingLogger(Logger):
    """Gunicorn's logger, with every access-log atom passed through `mask`."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = MaskingLogger

# /metrics adds up the counts of every worker process from files in this folder (carecycle.metrics).
# It is set before any worker imports the app; its files are removed at each start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="carecycle-metrics-")


def on_starting(server):
    """Counts of processes from an earlier run are not this run's."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # only prometheus_client's own files
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    """A worker that has gone: its live gauges are dropped (its counters are kept in the totals)."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Each worker records that it is alive and which key it seals with (carecycle.workers), so that
    `carecycle keys reencrypt` waits until every worker has been restarted after a rotation."""
    from carecycle.workers import start_heartbeat
    worker.carecycle_heartbeat = start_heartbeat(worker.wsgi)


def worker_exit(server, worker):
    heartbeat = getattr(worker, "carecycle_heartbeat", None)
    if heartbeat is not None:
        try:
            heartbeat.stop()
        except Exception:  # exiting anyway; the row ages out of "live" in 90 seconds
            server.log.warning("worker heartbeat not closed", exc_info=True)
