"""Configuration from the environment: a base class and its development, testing and
production variants. No secret has a default literal here; development creates what it
lacks once in the instance folder (see `carecycle.keyring`)."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


def instance_path() -> Path:
    return Path(os.environ.get("CARECYCLE_INSTANCE_PATH", "instance")).resolve()


def with_driver(url: str) -> str:
    """PostgreSQL URLs without a driver go through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def whole_number(name: str, default: int, minimum: int = 0, maximum: int = 10**9) -> int:
    """An integer setting from the environment; a bad value stops the start with a one-line reason."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < minimum or value > maximum:
        bounds = f"of at least {minimum}" if maximum == 10**9 else f"from {minimum} to {maximum}"
        raise SystemExit(f"CareCycle will not start: {name} must be a whole number {bounds}, not {raw!r}")
    return value


API_TOKEN_MAX_DAYS = 365


class BaseConfig:
    ENV_NAME = "development"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "carecycle_session"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_IDLE_TIMEOUT = timedelta(minutes=15)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    # sign-in: 5 failures for one account from one address lock that pair for 15 minutes; past 20
    # failures for one account from anywhere within 15 minutes, addresses the account has not
    # signed in from (within 90 days) get one attempt per 30 seconds for it; its usual ones are
    # never slowed
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_DURATION = timedelta(minutes=15)
    LOGIN_ACCOUNT_SLOW_AFTER = 20
    LOGIN_ACCOUNT_WINDOW = timedelta(minutes=15)
    LOGIN_ACCOUNT_SLOW_INTERVAL = timedelta(seconds=30)
    LOGIN_USUAL_ADDRESS_LIFETIME = timedelta(days=90)
    LOGIN_ADDRESS_LIMIT = 20  # attempts per address per window
    LOGIN_ADDRESS_WINDOW = timedelta(minutes=5)
    BREAK_GLASS_DURATION = timedelta(minutes=60)
    BREAK_GLASS_MIN_REASON = 20
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).parent / "translations")
    LANGUAGES = {"en": "English", "zh_Hant": "繁體中文", "zh_Hans": "简体中文"}
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256
    REFUSE_WEAK_SECRETS = False
    HSTS: str | None = None  # Strict-Transport-Security header value, sent when set

    def __init__(self) -> None:
        self.INSTANCE_PATH = str(instance_path())
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        default_db = "sqlite:///" + str(Path(self.INSTANCE_PATH) / "carecycle.db")
        self.SQLALCHEMY_DATABASE_URI = with_driver(os.environ.get("DATABASE_URL", default_db))
        self.KEY_FILE = os.environ.get(
            "CARECYCLE_KEY_FILE", str(Path(self.INSTANCE_PATH) / "keys.json")
        )
        # audit checkpoints: appended to this file (best on another machine or a write-once
        # store), else written to the log; every N events or M minutes (0 turns either off)
        self.AUDIT_CHECKPOINT_FILE = os.environ.get("CARECYCLE_AUDIT_CHECKPOINT_FILE") or None
        self.AUDIT_CHECKPOINT_EVERY = whole_number("CARECYCLE_AUDIT_CHECKPOINT_EVERY", 1000)
        self.AUDIT_CHECKPOINT_MINUTES = whole_number("CARECYCLE_AUDIT_CHECKPOINT_MINUTES", 60)
        # addresses and networks allowed to read /metrics (comma-separated; empty: nobody)
        self.METRICS_ALLOW = os.environ.get("CARECYCLE_METRICS_ALLOW", "")
        # proxies in front of the app whose X-Forwarded-* headers are believed (0: none)
        self.TRUSTED_PROXIES = whole_number("CARECYCLE_TRUSTED_PROXIES", 0)
        # service-wide ceiling on alerts raised from public forms (contact requests, inbound
        # referrals) per window; past it alerts are still stored but marked as a possible flood
        self.PUBLIC_ALERT_CEILING = whole_number("CARECYCLE_PUBLIC_ALERT_CEILING", 30, minimum=1)
        self.PUBLIC_ALERT_WINDOW_MINUTES = whole_number("CARECYCLE_PUBLIC_ALERT_WINDOW_MINUTES", 10, minimum=1)
        # a break-glass reason needs this many different words besides BREAK_GLASS_MIN_REASON characters
        self.BREAK_GLASS_MIN_WORDS = whole_number("CARECYCLE_BREAK_GLASS_MIN_WORDS", 4, minimum=1)
        # days an API token lasts unless `carecycle tokens create --days N` says otherwise
        self.API_TOKEN_DAYS = whole_number("CARECYCLE_API_TOKEN_DAYS", 90, minimum=1, maximum=API_TOKEN_MAX_DAYS)
        # the service's time zone (an IANA name) and the order English dates are written in (dmy, mdy)
        self.TIMEZONE = (os.environ.get("CARECYCLE_TIMEZONE") or "").strip() or None
        self.DATE_ORDER = (os.environ.get("CARECYCLE_DATE_ORDER") or "dmy").strip().lower()
        self.LOG_FORMAT = (os.environ.get("CARECYCLE_LOG_FORMAT") or "text").strip().lower()


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    GENERATE_MISSING_SECRETS = True


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    GENERATE_MISSING_SECRETS = True


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    GENERATE_MISSING_SECRETS = False
    REFUSE_WEAK_SECRETS = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = "max-age=31536000; includeSubDomains"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> BaseConfig:
    name = name or os.environ.get("CARECYCLE_ENV", "development")
    if name not in CONFIGS:
        raise SystemExit(f"CARECYCLE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]()
