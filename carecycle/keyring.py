"""The key ring (encryption keys, blind-index key, audit key) and the session secret.

Keys live outside the database: in the key file (0600) or in the `CARECYCLE_KEYS`
environment variable (the same JSON). Development creates what is missing once and says
so; production refuses to start instead."""
from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path


class KeyRingError(Exception):
    """The key ring is missing, malformed or unsafe; the message is one line."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyRingError(f"{what} is not valid base64") from exc
    if len(raw) != 32:
        raise KeyRingError(f"{what} must be 32 bytes")
    return raw


@dataclass
class KeyRing:
    active: str
    keys: dict[str, bytes]
    index_key: bytes
    audit_key: bytes
    path: Path | None = None
    from_environment: bool = False
    unsaved: bool = False  # generated at this start-up and not yet written (settle_new_keyring)
    _derived: dict = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls, path: Path | None = None) -> KeyRing:
        return cls(
            active="k1",
            keys={"k1": secrets.token_bytes(32)},
            index_key=secrets.token_bytes(32),
            audit_key=secrets.token_bytes(32),
            path=path,
        )

    @classmethod
    def from_json(cls, text: str, path: Path | None = None, from_environment=False) -> KeyRing:
        try:
            data = json.loads(text)
            active = data["active"]
            keys = {kid: _unb64(val, f"key {kid}") for kid, val in data["keys"].items()}
            ring = cls(
                active=active,
                keys=keys,
                index_key=_unb64(data["index_key"], "index_key"),
                audit_key=_unb64(data["audit_key"], "audit_key"),
                path=path,
                from_environment=from_environment,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(f"the key ring is malformed ({exc.__class__.__name__}: {exc})") from exc
        if active not in keys:
            raise KeyRingError(f"the active key {active!r} is not in the key ring")
        for kid in keys:
            if not kid.isalnum():
                raise KeyRingError(f"key id {kid!r} must be letters and digits")
        return ring

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active,
                "keys": {kid: _b64(raw) for kid, raw in self.keys.items()},
                "index_key": _b64(self.index_key),
                "audit_key": _b64(self.audit_key),
            },
            indent=2,
        )

    def save(self) -> None:
        if self.from_environment or self.path is None:
            raise KeyRingError("the key ring comes from CARECYCLE_KEYS; change it there")
        write_private_file(self.path, self.to_json())

    def rotate(self) -> str:
        """Add a new key and make it the active one; returns its id."""
        numbers = [int(k[1:]) for k in self.keys if k.startswith("k") and k[1:].isdigit()]
        kid = f"k{max(numbers, default=0) + 1}"
        self.keys[kid] = secrets.token_bytes(32)
        self.active = kid
        return kid

    def retire(self, kid: str) -> None:
        if kid not in self.keys:
            raise KeyRingError(f"no key {kid!r} in the key ring")
        if kid == self.active:
            raise KeyRingError(f"{kid} is the active key; rotate first")
        del self.keys[kid]


def write_private_file(path: Path, text: str) -> None:
    """Write atomically with 0600 permissions from the first byte, and durably: values get
    sealed under a new key right after it is written, so the key must survive a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyRingError(f"key file {path} is readable by others; run: chmod 600 {path}")


def load_keyring(key_file: str, generate: bool) -> KeyRing:
    """The key ring from CARECYCLE_KEYS or the key file. A missing file is generated only when
    `generate` (development): the new ring is returned unsaved, and `settle_new_keyring` writes it
    once the database is known to hold nothing sealed under another ring."""
    env = os.environ.get("CARECYCLE_KEYS")
    if env:
        return KeyRing.from_json(env, from_environment=True)
    path = Path(key_file)
    if path.exists():
        if not generate:
            _check_private(path)
        return KeyRing.from_json(path.read_text(), path=path)
    if not generate:
        raise KeyRingError(f"no key ring: set CARECYCLE_KEYS or create {path} (mode 0600)")
    ring = KeyRing.generate(path)
    ring.unsaved = True
    return ring


def settle_new_keyring(ring: KeyRing, stored_values: int) -> None:
    """Save a key ring generated at start-up, or refuse when the database already holds values sealed
    (or an audit chain signed) with another one: a new ring would open none of them, and the audit
    check would blame edited events instead of the missing key file."""
    if not getattr(ring, "unsaved", False):
        return
    if stored_values:
        raise KeyRingError(
            f"the key ring is missing: {ring.path} does not exist, but the database holds at least {stored_values} "
            "encrypted value(s) and audit event(s) made with a key ring. Restore the key file from your backup "
            "(or set CARECYCLE_KEYS); a new key ring would open none of them, so none was made.")
    ring.save()
    ring.unsaved = False
    print(f"CareCycle: created a new key ring at {ring.path} (mode 0600). Keep it safe and backed up.",
          file=sys.stderr)


SECRET_KEY_MIN_BYTES = 32


def check_strength(secret_key: str, ring: KeyRing) -> None:
    """Production refuses secrets a person made up or left at a placeholder: a short SECRET_KEY,
    a key that is one byte value repeated (all zeros, say), or two keys that are the same."""
    if len(secret_key.encode()) < SECRET_KEY_MIN_BYTES:
        raise KeyRingError(f"SECRET_KEY is shorter than {SECRET_KEY_MIN_BYTES} bytes; make one with "
                           "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    named = [(f"encryption key {kid}", raw) for kid, raw in ring.keys.items()]
    named += [("index_key", ring.index_key), ("audit_key", ring.audit_key)]
    seen: dict[bytes, str] = {}
    for name, raw in named:
        if len(set(raw)) == 1:
            raise KeyRingError(f"the key ring's {name} is one byte value repeated; generate random keys")
        if raw in seen:
            raise KeyRingError(f"the key ring's {name} is the same as its {seen[raw]}; every key must differ")
        seen[raw] = name


def load_secret_key(configured: str | None, instance_path: str, generate: bool) -> str:
    if configured:
        return configured
    if not generate:
        raise KeyRingError("SECRET_KEY is not set")
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    write_private_file(path, value)
    print(f"CareCycle: created a new SECRET_KEY in {path} (mode 0600).", file=sys.stderr)
    return value
