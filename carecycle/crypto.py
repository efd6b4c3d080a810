"""Field encryption: the one column type for encrypted text and JSON, and blind indexes.

A value is sealed with AES-256-GCM under the active key, a random 96-bit nonce and the
associated data `table|column|primary key`, so a ciphertext copied to another row or column
fails to open. The stored envelope is `ccv1:<key id>:<base64(nonce + ciphertext)>`.

A field can also bind plain columns of its row that decide who may read it (a note's kind and
case, a case's team): `Encrypted("_body", bind=("kind", "case_id"))` adds their values to the
associated data, so a database edit of one of them makes the value fail to open instead of
showing it to people it was never meant for. Changing a bound column through the ORM re-seals
the row's values under the new binding.

Models declare the stored column with the `Sealed` type and the readable attribute with
`Encrypted`:

    _phone: Mapped[str | None] = mapped_column("phone", Sealed)
    phone = Encrypted("_phone", blind_index="phone_index", normalise=normalise_phone)
    phone_index: Mapped[str | None] = mapped_column(BlindIndex, index=True)
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import String, Text, TypeDecorator, event, inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

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


Bound = Sequence[tuple[str, Any]]


def bound_value(value: Any) -> str | None:
    """A bound column's value as it enters the associated data (an enum by its code, a UUID as text)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value)


def _binding_key(bound: Bound) -> tuple:
    return tuple(bound_value(value) for _name, value in bound)


def _aad(table: str, column: str, row_id: Any, bound: Bound = ()) -> bytes:
    aad = f"{table}|{column}|{row_id}"
    if bound:  # JSON, so that no value can pose as another column's
        aad += "|" + json.dumps([[name, bound_value(value)] for name, value in bound], separators=(",", ":"))
    return aad.encode()


def seal(plaintext: bytes, table: str, column: str, row_id: Any, ring: KeyRing | None = None,
         bound: Bound = ()) -> str:
    ring = ring or keyring()
    nonce = secrets.token_bytes(12)
    body = _cipher(ring.keys[ring.active]).encrypt(nonce, plaintext, _aad(table, column, row_id, bound))
    return f"{PREFIX}:{ring.active}:{base64.b64encode(nonce + body).decode()}"


def key_id_of(envelope: str) -> str | None:
    parts = envelope.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def open_sealed(envelope: str, table: str, column: str, row_id: Any, ring: KeyRing | None = None,
                bound: Bound = ()) -> bytes:
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
            return _cipher(ring.keys[parts[1]]).decrypt(raw[:12], raw[12:], _aad(table, column, row_id, bound))
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


ENCRYPTED_FIELDS: list[tuple[type, Encrypted]] = []


class Encrypted:
    """Readable attribute over a `Sealed` column: assigning seals, reading opens."""

    def __init__(self, column_attr: str, kind: str = "text", blind_index: str | None = None,
                 normalise: Callable[[str], str] = normalise_text, bind: Sequence[str] = ()):
        if kind not in ("text", "json"):
            raise ValueError("kind is 'text' or 'json'")
        self.column_attr, self.kind = column_attr, kind
        self.blind_index_attr, self.normalise = blind_index, normalise
        self.bind = tuple(bind)  # plain attributes of the row bound into the associated data

    def __set_name__(self, owner, name):
        self.name = name
        self.owner = owner
        ENCRYPTED_FIELDS.append((owner, self))

    @cached_property
    def table(self) -> str:
        return self.owner.__tablename__

    @cached_property
    def column(self) -> str:
        """The sealed column's name, found once per class (every read of the attribute needs it)."""
        return inspect(self.owner).attrs[self.column_attr].columns[0].name

    def bound(self, obj, **replaced) -> tuple[tuple[str, Any], ...]:
        """The bound attributes' values (`replaced` gives some other than the row's current ones)."""
        return tuple((name, replaced[name] if name in replaced else getattr(obj, name)) for name in self.bind)

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
        bound = self.bound(obj)
        hit = cache.get(self.name)
        if hit is not None and hit[0] == (stored, _binding_key(bound)):  # a bound column edited: open again
            value = hit[1]
        else:
            value = self._decode(open_sealed(stored, self.table, self.column, obj.id, bound=bound))
            cache[self.name] = ((stored, _binding_key(bound)), value)
        return json.loads(json.dumps(value)) if self.kind == "json" else value

    def __set__(self, obj, value):
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()
        if value is None or (self.kind == "text" and value == ""):
            stored, cached = None, None
        else:
            plain = self._encode(value)
            bound = self.bound(obj)
            stored = seal(plain, self.table, self.column, obj.id, bound=bound)
            # what was sealed, not the caller's (mutable) object
            cached = ((stored, _binding_key(bound)), self._decode(plain))
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

    def reseal(self, obj, ring: KeyRing) -> tuple[str, str] | None:
        """The stored envelope and the same value sealed under the active key, or None when it already
        is (nothing is set: `keys reencrypt` writes it only where the row still holds what was read)."""
        stored = getattr(obj, self.column_attr)
        if stored is None or key_id_of(stored) == ring.active:
            return None
        bound = self.bound(obj)
        plain = open_sealed(stored, self.table, self.column, obj.id, ring, bound)
        return stored, seal(plain, self.table, self.column, obj.id, ring, bound)

    def rebind(self, obj, name: str, old, new) -> None:
        """Bound attribute `name` goes from `old` to `new`: re-seal the stored value to match."""
        stored = getattr(obj, self.column_attr)
        if stored is None or bound_value(old) == bound_value(new):
            return
        plain = open_sealed(stored, self.table, self.column, obj.id, bound=self.bound(obj, **{name: old}))
        bound = self.bound(obj, **{name: new})
        resealed = seal(plain, self.table, self.column, obj.id, bound=bound)
        setattr(obj, self.column_attr, resealed)
        obj.__dict__.setdefault("_carecycle_plain", {})[self.name] = ((resealed, _binding_key(bound)),
                                                                      self._decode(plain))


@event.listens_for(Mapper, "mapper_configured")
def _rebind_on_change(mapper, cls) -> None:
    """Setting a bound attribute (a note's kind, say) re-seals the row's fields bound to it."""
    fields = [f for owner, f in ENCRYPTED_FIELDS if f.bind and owner is cls]
    for name in {name for f in fields for name in f.bind}:
        bound_here = [f for f in fields if name in f.bind]

        def changed(target, value, oldvalue, _initiator, name=name, bound_here=bound_here):
            if oldvalue in (NO_VALUE, NEVER_SET):
                return
            for field in bound_here:
                field.rebind(target, name, oldvalue, value)

        event.listen(getattr(cls, name), "set", changed, active_history=True)
