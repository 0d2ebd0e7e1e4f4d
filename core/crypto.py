"""Envelope encryption for personal data: each lead has its own random data key, stored only
wrapped (AES-256-GCM) under a master key from CLINIC_DATA_KEY. Destroying a data key makes
every copy of what it sealed unreadable (crypto-shredding).

The master key ring holds the current key and, during a rotation, the previous ones; every
wrapped value names the master key that wrapped it."""

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from core.config import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT = b"\x01"  # leading byte of every sealed value, so the format can change later


class CryptoKeyError(Exception):
    """A key is missing, malformed, or does not open the value."""


def new_key() -> bytes:
    """A fresh random AES-256 key."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """A key as CLINIC_DATA_KEY holds it (base64)."""
    return base64.b64encode(key).decode()


def decode_key(text: str) -> bytes:
    """Parse a base64 master key; it must be 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise CryptoKeyError("CLINIC_DATA_KEY is not base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoKeyError(f"CLINIC_DATA_KEY must be {KEY_BYTES} bytes, base64-encoded")
    return key


def seal(key: bytes, plaintext: bytes, *, context: bytes) -> bytes:
    """Encrypt and authenticate; `context` (e.g. the lead id) must match when opening."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_sealed(key: bytes, sealed: bytes, *, context: bytes) -> bytes:
    """Decrypt what `seal` produced; raises CryptoKeyError when the key or context is wrong."""
    if sealed[:1] != FORMAT:
        raise CryptoKeyError("unknown sealed format")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, context)
    except InvalidTag:
        raise CryptoKeyError("the key does not open this value") from None


@dataclass(frozen=True)
class MasterKey:
    """A master key and its public id (a digest prefix; it reveals nothing of the key)."""

    key: bytes

    @property
    def id(self) -> str:
        """Names the key in every value it wrapped."""
        return hashlib.sha256(b"clinic-master-key-id" + self.key).hexdigest()[:16]

    def derive(self, label: str) -> bytes:
        """A subkey for one purpose (blind index, endpoint secrets), so no key serves two."""
        return hmac.new(self.key, label.encode(), hashlib.sha256).digest()


class KeyRing:
    """The current master key and, while a rotation runs, the ones it replaces."""

    def __init__(self, current: bytes, previous: list[bytes] | None = None) -> None:
        self.current = MasterKey(current)
        self._by_id = {k.id: k for k in (MasterKey(p) for p in previous or [])}
        self._by_id[self.current.id] = self.current

    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[str, bytes]:
        """(master key id, wrapped data key) under the current master key."""
        return self.current.id, seal(self.current.key, data_key, context=context)

    def unwrap(self, master_id: str, wrapped: bytes, *, context: bytes) -> bytes:
        """The data key, with whichever master key wrapped it."""
        return open_sealed(self._master(master_id).key, wrapped, context=context)

    def blind_index(self, value: str) -> str:
        """A keyed hash for exact-match search of an encrypted value (e.g. an email)."""
        return _index(self.current, value)

    def blind_indexes(self, value: str) -> list[str]:
        """The value's index under every configured master key: during a rotation, rows not
        yet re-indexed still carry the old key's index."""
        return [_index(master, value) for master in self._by_id.values()]

    def seal_secret(self, secret: str, *, context: bytes) -> tuple[str, bytes]:
        """A short secret (a webhook signing secret) sealed under the current master key."""
        key = self.current.derive("secrets")
        return self.current.id, seal(key, secret.encode(), context=context)

    def open_secret(self, master_id: str, sealed: bytes, *, context: bytes) -> str:
        """A secret sealed by `seal_secret` under any configured master key."""
        master = self._master(master_id)
        return open_sealed(master.derive("secrets"), sealed, context=context).decode()

    def signing_keys(self, label: str) -> list[bytes]:
        """Subkeys for one signing purpose: the current master key's first (it signs), then
        those of the keys being rotated away from (still accepted while configured)."""
        masters = [self.current, *(m for m in self._by_id.values() if m is not self.current)]
        return [m.derive(label) for m in masters]

    def _master(self, master_id: str) -> MasterKey:
        master = self._by_id.get(master_id)
        if master is None:
            raise CryptoKeyError(f"master key {master_id} is not configured")
        return master


def _index(master: MasterKey, value: str) -> str:
    return hmac.new(master.derive("blind-index"), value.encode(), "sha256").hexdigest()


def load_or_create_key_file(path: Path) -> bytes:
    """The local development master key, created once with owner-only permissions."""
    if path.exists():
        return decode_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a private name, then linked into place: several workers starting
    # at once all end up with the one key that was linked first.
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(new_key()) + "\n")
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another process was first; use its key
    finally:
        temp.unlink()
    return decode_key(path.read_text())


POSTGRES_NEEDS_A_KEY = (
    "CLINIC_DATA_KEY is required with PostgreSQL: personal data is encrypted under it, and a "
    "key file on one machine's disk cannot be shared. Create one with `python -m cli "
    "new-data-key` and keep it in your secret store."
)


def key_ring(settings: "Settings") -> KeyRing:
    """The master keys from settings; a local key file for SQLite when none is set."""
    previous = [decode_key(k.get_secret_value()) for k in settings.data_key_previous]
    if settings.data_key is not None:
        return KeyRing(decode_key(settings.data_key.get_secret_value()), previous)
    if settings.uses_sqlite:
        return KeyRing(load_or_create_key_file(settings.data_key_file), previous)
    raise CryptoKeyError(POSTGRES_NEEDS_A_KEY)  # Settings refuse this; a copy may not
