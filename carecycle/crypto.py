"""Field encryption: the one column type for encrypted text and JSON, and blind indexes.

A value is sealed with AES-256-GCM under the active key, a random 96-bit nonce and the
associated data `table|column|primary key`, so a ciphertext copied to another row or column
fails to open. The stored envelope is `ccv1:<key id>:<base64(nonce + ciphertext)>`.

Models declare the stored column with the `Sealed` type and the readable attribute with
`Encrypted`:

    _phone: Mapped[str | None] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone", blind_index="phone_index", normalise=normalise_phone)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import unicodedata
import uuid
from functools import lru_cache
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import String, Text, TypeDecorator, inspect

from carecycle.keyring import KeyRing

log = logging.getLogger("carecycle.crypto")
PREFIX = "ccv1"


class DecryptionError(Exception):
    """A stored value could not be opened: tampered, moved to another row, or key missing."""

    def __init__(self, table: str, column: str, row_id: Any, why: str):
        super().__init__(f"cannot decrypt {table}.{column} row {row_id}: {why}")
        self.table, self.column, self.row_id, self.why = table, column, row_id, why


def keyring() -> KeyRing:
    return current_app.extensions["carecycle_keyring"]


@lru_cache(maxsize=64)
def _cipher(key: bytes) -> AESGCM:
    """One AESGCM object per key (it is stateless between calls; making one expands the key)."""
    return AESGCM(key)


def _aad(table: str, column: str, row_id: Any) -> bytes:
    return f"{table}|{column}|{row_id}".encode()


def seal(plaintext: bytes, table: str, column: str, row_id: Any, ring: KeyRing | None = None) -> str:
    ring = ring or keyring()
    nonce = secrets.token_bytes(12)
    body = _cipher(ring.keys[ring.active]).encrypt(nonce, plaintext, _aad(table, column, row_id))
    return f"{PREFIX}:{ring.active}:{base64.b64encode(nonce + body).decode()}"


def key_id_of(envelope: str) -> str | None:
    parts = envelope.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def open_sealed(envelope: str, table: str, column: str, row_id: Any, ring: KeyRing | None = None) -> bytes:
    ring = ring or keyring()
    parts = envelope.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        why = "not an envelope"
    elif parts[1] not in ring.keys:
        why = f"key {parts[1]} is not in the key ring"
    else:
        try:
            raw = base64.b64decode(parts[2], validate=True)
            if base64.b64encode(raw).decode() != parts[2]:
                raise ValueError("not canonical base64")  # unused bits changed: still a tampered envelope
            return _cipher(ring.keys[parts[1]]).decrypt(raw[:12], raw[12:], _aad(table, column, row_id))
        except (InvalidTag, ValueError):
            why = "authentication failed"
    log.error("decryption failed: table=%s column=%s row=%s (%s)", table, column, row_id, why)
    raise DecryptionError(table, column, row_id, why)


class Sealed(TypeDecorator):
    """The column type of every encrypted field: it stores only envelopes and refuses plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and key_id_of(value) is None:
            raise ValueError("plaintext given to an encrypted column; assign through the Encrypted attribute")
        return value


class BlindIndex(TypeDecorator):
    """Hex HMAC-SHA256 of a normalised value, for exact lookup of an encrypted field."""

    impl = String(64)
    cache_ok = True


def normalise_text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def normalise_phone(value: str) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value))
    return digits


def blind_index(field: str, value: str | None, normalise: Callable[[str], str] = normalise_text,
                ring: KeyRing | None = None) -> str | None:
    """Index of `value` for the field named `table.column`; the same value in another field differs."""
    if value is None:
        return None
    normalised = normalise(value)
    if not normalised:
        return None
    ring = ring or keyring()
    cache = ring._derived
    key = cache.get(field)
    if key is None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"carecycle blind index " + field.encode()).derive(ring.index_key)
        cache[field] = key
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


ENCRYPTED_FIELDS: list[tuple[type, "Encrypted"]] = []


class Encrypted:
    """Readable attribute over a `Sealed` column: assigning seals, reading opens."""

    def __init__(self, column_attr: str, kind: str = "text", blind_index: str | None = None,
                 normalise: Callable[[str], str] = normalise_text):
        if kind not in ("text", "json"):
            raise ValueError("kind is 'text' or 'json'")
        self.column_attr, self.kind = column_attr, kind
        self.blind_index_attr, self.normalise = blind_index, normalise

    def __set_name__(self, owner, name):
        self.name = name
        self.owner = owner
        ENCRYPTED_FIELDS.append((owner, self))

    @property
    def table(self) -> str:
        return self.owner.__tablename__

    @property
    def column(self) -> str:
        return inspect(self.owner).attrs[self.column_attr].columns[0].name

    def _encode(self, value) -> bytes:
        if self.kind == "json":
            return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        if not isinstance(value, str):
            raise TypeError(f"{self.name} takes text")
        return value.encode()

    def _decode(self, raw: bytes):
        text = raw.decode()
        return json.loads(text) if self.kind == "json" else text

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        stored = getattr(obj, self.column_attr)
        if stored is None:
            return None
        cache = obj.__dict__.setdefault("_carecycle_plain", {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] == stored:
            value = hit[1]
        else:
            value = self._decode(open_sealed(stored, self.table, self.column, obj.id))
            cache[self.name] = (stored, value)
        return json.loads(json.dumps(value)) if self.kind == "json" else value

    def __set__(self, obj, value):
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()
        if value is None or (self.kind == "text" and value == ""):
            stored, cached = None, None
        else:
            plain = self._encode(value)
            stored = seal(plain, self.table, self.column, obj.id)
            cached = (stored, self._decode(plain))  # what was sealed, not the caller's (mutable) object
        setattr(obj, self.column_attr, stored)
        obj.__dict__.setdefault("_carecycle_plain", {})[self.name] = cached
        if self.blind_index_attr:
            index = None
            if stored and self.kind == "text":
                index = blind_index(f"{self.table}.{self.column}", value, self.normalise)
            setattr(obj, self.blind_index_attr, index)

    def index_for(self, value: str) -> str:
        """The blind index to query with: `Model.phone_index == Model.phone.index_for(x)`.

        A value that normalises to nothing gives "", which matches no row (None would match
        every row whose field is empty)."""
        return blind_index(f"{self.table}.{self.column}", value, self.normalise) or ""

    def reseal(self, obj, ring: KeyRing) -> bool:
        """Re-encrypt under the active key; False when it already is."""
        stored = getattr(obj, self.column_attr)
        if stored is None or key_id_of(stored) == ring.active:
            return False
        plain = open_sealed(stored, self.table, self.column, obj.id, ring)
        setattr(obj, self.column_attr, seal(plain, self.table, self.column, obj.id, ring))
        return True
