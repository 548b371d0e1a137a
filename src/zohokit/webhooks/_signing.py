"""Standard Webhooks signatures, pure: secrets, the signed content and the headers.

A secret is ``whsec_`` + base64 of 32 random bytes. A message is signed as
``v1,`` + base64(HMAC-SHA256(secret bytes, ``"{id}.{timestamp}.{body}"``)), the timestamp
being integer seconds since the epoch; while a rotated secret is still honoured, the header
carries one signature per secret, space-separated (the newest first), so a receiver that
still has the old secret keeps verifying. ``standardwebhooks.Webhook(secret).verify(body,
headers)`` accepts what :func:`signed_headers` makes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from ..errors import ZohoError

__all__ = [
    "InvalidSecret",
    "generate_secret",
    "secret_bytes",
    "sign",
    "signed_headers",
]

PREFIX = "whsec_"
#: Standard Webhooks asks for 24 to 64 bytes; 32 is HMAC-SHA256's own block of strength.
SECRET_BYTES = 32


class InvalidSecret(ZohoError, ValueError):
    """A signing secret that is not ``whsec_`` followed by base64 of 24 to 64 bytes."""


def generate_secret() -> str:
    """A new endpoint secret, ``whsec_...``."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret (the prefix is optional, as the reference
    libraries accept). Raises :class:`InvalidSecret`, never quoting the secret."""
    text = secret.removeprefix(PREFIX)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("a webhook secret is whsec_ followed by base64") from exc
    if not 24 <= len(raw) <= 64:
        raise InvalidSecret("a webhook secret holds 24 to 64 bytes (whsec_ + base64)")
    return raw


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` sent as ``msg_id`` at ``timestamp``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers, signed
    with each of ``secrets_`` (current first)."""
    if not secrets_:
        raise InvalidSecret("an endpoint needs a secret to sign with")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }
