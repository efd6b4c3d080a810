"""Request ids and JSON logs.

Every response carries `X-Request-Id` (the caller's own, when it sends a plain one, else a new
one), and every line the app logs during a request names it, so a person's report ("it failed at
10:32") leads to the lines of that request. With `CARECYCLE_LOG_FORMAT=json` each line is one JSON
object (time, level, logger, message, request id) and each request adds one line with its method,
masked path, status and duration. No line holds a person's data or a token: messages name records
by type and id, paths are masked as in the access log (carecycle.gunicorn_conf.mask), query
strings and bodies are never logged."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request

FORMATS = ("text", "json")
HEADER = "X-Request-Id"
_GIVEN = re.compile(r"[A-Za-z0-9._-]{8,64}")
log = logging.getLogger("carecycle")


def request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", "-")}
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0]:
            # the error's type and where it was raised, never its message (it can hold values)
            line["error"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                line["at"] = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        return json.dumps(line, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def _begin() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if _GIVEN.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    rid = getattr(g, "request_id", None)
    if rid:
        response.headers[HEADER] = rid
    if log_requests_enabled():
        from carecycle.gunicorn_conf import mask
        log.info("request", extra={"method": request.method, "path": mask(request.path),
                                   "status": response.status_code,
                                   "ms": round((time.perf_counter() - g.get("request_started", time.perf_counter()))
                                               * 1000, 1)})
    return response


def log_requests_enabled() -> bool:
    from flask import current_app
    return bool(current_app.extensions.get("carecycle_json_logs"))


def install(app) -> None:
    """Request ids on every app; with CARECYCLE_LOG_FORMAT=json, JSON lines (to standard error)."""
    app.before_request(_begin)
    app.after_request(_finish)
    fmt = app.config.get("LOG_FORMAT") or "text"
    if fmt not in FORMATS:
        raise SystemExit(f"CareCycle will not start: CARECYCLE_LOG_FORMAT must be text or json, not {fmt!r}")
    logger = logging.getLogger("carecycle")
    if fmt == "json" and not app.testing:
        use_json(app, sys.stderr)
    elif not logger.handlers and not app.testing:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def use_json(app, stream) -> logging.Handler:
    """Log the app's lines as JSON to `stream`, with a line per request; returns the handler."""
    logger = logging.getLogger("carecycle")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    app.extensions["carecycle_json_logs"] = True
    return handler
