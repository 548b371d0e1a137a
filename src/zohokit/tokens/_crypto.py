"""Encryption at rest for tokens: AES-256-GCM with key ids, so keys can rotate.

A stored value looks like ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``. The additional
authenticated data binds each ciphertext to its tenant, provider and column, so a value copied
into another row or column fails to decrypt instead of handing one tenant another's token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._files import private_dir
from ..errors import ConfigurationError

__all__ = ["Cipher", "DecryptionError", "generate_key", "load_or_create_key_file", "parse_keys"]

logger = logging.getLogger("zohokit.tokens")

_PREFIX = "v1"
KEY_FILE_NAME = "encryption.key"


class DecryptionError(ConfigurationError):
    """A stored value cannot be decrypted: its key is not configured, or it was tampered with."""


def generate_key() -> str:
    """A new random 256-bit key, base64url-encoded, as ``ZOHOKIT_ENCRYPTION_KEYS`` takes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _key_id(key: bytes) -> str:
    # Derived, not chosen: the same key always gets the same id on every host.
    return hashlib.sha256(b"zohokit-key-id:" + key).hexdigest()[:8]


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(
            "an encryption key is not valid base64", variables=("ZOHOKIT_ENCRYPTION_KEYS",)
        ) from exc
    if len(raw) != 32:
        raise ConfigurationError(
            "each encryption key must be 32 bytes (base64url), e.g. from `zohokit tokens gen-key`",
            variables=("ZOHOKIT_ENCRYPTION_KEYS",),
        )
    return raw


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """Parse ``ZOHOKIT_ENCRYPTION_KEYS``: comma-separated ``[kid:]base64key``, first is primary."""
    keys: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kid, sep, text = item.partition(":")
        raw = _decode_key(text if sep else kid)
        keys.append(((kid if sep else _key_id(raw)), raw))
    if not keys:
        raise ConfigurationError(
            "ZOHOKIT_ENCRYPTION_KEYS is set but holds no key",
            variables=("ZOHOKIT_ENCRYPTION_KEYS",),
        )
    return keys


def load_or_create_key_file(data_dir: Path) -> str:
    """Read the generated key in ``data_dir``, creating it (mode 0600) if it does not exist.

    Several processes may start at once on a fresh machine: the key is written to a private
    temporary file and hard-linked into place, so exactly one key wins and nobody reads a
    half-written file.
    """
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        private_dir(data_dir)
        tmp = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (generate_key() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            logger.warning(
                "generated a new token encryption key in %s; set ZOHOKIT_ENCRYPTION_KEYS to manage "
                "keys yourself and back this file up: without it stored tokens cannot be read",
                path,
                extra={"event": "token.key_generated"},
            )
        except FileExistsError:
            pass  # a peer created it first; use theirs
        finally:
            tmp.unlink()
    return path.read_text().strip()


class Cipher:
    """Encrypts and decrypts token columns with a primary key and any number of older keys."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._primary_kid = keys[0][0]
        self._keys = {kid: AESGCM(raw) for kid, raw in keys}
        # Derived, so an equality hash never reveals anything about the encryption key.
        self._lookup = [hashlib.sha256(b"zohokit-lookup:" + raw).digest() for _, raw in keys]

    @classmethod
    def from_spec(cls, spec: str) -> Cipher:
        """Build from the ``ZOHOKIT_ENCRYPTION_KEYS`` format."""
        return cls(parse_keys(spec))

    def __repr__(self) -> str:
        return f"Cipher(primary={self._primary_kid!r}, keys={len(self._keys)})"

    @property
    def primary_key_id(self) -> str:
        """The id of the key new values are encrypted with."""
        return self._primary_kid

    @staticmethod
    def key_id_of(stored: str) -> str | None:
        """The key id a stored value was encrypted with (``None`` if it is not ours)."""
        parts = stored.split(".", 2)
        return parts[1] if len(parts) == 3 and parts[0] == _PREFIX else None

    def lookup_keys(self, value: str, *, context: str) -> list[str]:
        """Keyed hashes of ``value`` for equality lookups on an encrypted column: HMAC-SHA256
        (hex) under a key derived from each configured key, the primary key's first. Store the
        first; look up with all of them, so rows not yet re-keyed after a rotation still match.
        ``context`` (e.g. the tenant) keeps equal values of two contexts apart."""
        message = context.encode() + b"\x00" + value.encode("utf-8", "surrogatepass")
        return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in self._lookup]

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` bound to ``context`` (tenant, provider and column)."""
        nonce = secrets.token_bytes(12)
        sealed = self._keys[self._primary_kid].encrypt(nonce, plaintext.encode(), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_PREFIX}.{self._primary_kid}.{blob}"

    def decrypt(self, stored: str, *, context: str) -> str:
        """Decrypt a value from :meth:`encrypt`; :class:`DecryptionError` names the key id."""
        kid = self.key_id_of(stored)
        if kid is None:
            raise DecryptionError("a stored token is not in zohokit's encrypted format")
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptionError(
                f"a stored token was encrypted with key {kid!r}, which is not configured; "
                "add it to ZOHOKIT_ENCRYPTION_KEYS",
                variables=("ZOHOKIT_ENCRYPTION_KEYS",),
            )
        blob = stored.split(".", 2)[2]
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError(
                "a stored token failed authentication (wrong key, or moved between rows)"
            ) from exc
