"""Manage links: signed, expiring URLs that let a customer cancel or move their booking.

A link's token is ``<claims>.<signature>``: the claims are the tenant, the booking id, the
action (``cancel`` or ``reschedule``) and the expiry (epoch seconds), as base64url JSON; the
signature is HMAC-SHA256 over them under a key derived from the token keys
(``ZOHOKIT_ENCRYPTION_KEYS``, :meth:`~zohokit.tokens.Cipher.lookup_keys`): no new secret to
keep, and after a key rotation links signed with an older key still listed stay valid. A
link expires when the booking starts (a meeting that began cannot be moved any more).

:meth:`ManageLinks.verify` refuses a token whose signature does not match (changed in any
character, or signed with a key no longer configured: :class:`LinkInvalid`) or that expired
(:class:`LinkExpired`), before anything is read from the database.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from zohokit.scheduling._errors import BookingError
from zohokit.scheduling._models import Booking
from zohokit.scheduling._tables import BookingRow
from zohokit.tokens import Cipher

__all__ = ["ACTIONS", "LinkClaims", "LinkExpired", "LinkInvalid", "ManageLinks", "event_extra"]

Action = Literal["cancel", "reschedule"]
ACTIONS: tuple[Action, ...] = ("cancel", "reschedule")
_CONTEXT = "zohokit\x00manage-link"


class LinkInvalid(BookingError):
    """A manage link that zohokit did not sign, or that was changed (403)."""


class LinkExpired(BookingError):
    """A manage link past its expiry: the booking has started, or the link is old (410)."""


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link says: whose booking, which action, until when."""

    tenant: str
    booking_id: str
    action: Action
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class ManageLinks:
    """Signs and verifies manage-link tokens with the token keys."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    def __repr__(self) -> str:
        return "ManageLinks()"

    def token(self, tenant: str, booking_id: str, action: Action, expires_at: datetime) -> str:
        """A signed token for one action on one booking, valid until ``expires_at``."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        claims = {"t": tenant, "b": booking_id, "a": action, "e": int(expires_at.timestamp())}
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._cipher.lookup_keys(body, context=_CONTEXT)[0]}"

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        """The claims of a token zohokit signed and that has not expired at ``now``.

        Raises :class:`LinkInvalid` or :class:`LinkExpired`.
        """
        body, _, signature = token.partition(".")
        expected = self._cipher.lookup_keys(body, context=_CONTEXT) if body else []
        if not any(hmac.compare_digest(signature, key) for key in expected):
            raise LinkInvalid("this link is not valid: it was changed or not made by us")
        try:
            raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            claims = LinkClaims(
                str(raw["t"]),
                str(raw["b"]),
                raw["a"],
                datetime.fromtimestamp(int(raw["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise LinkInvalid("this link is not valid: it cannot be read") from exc
        if claims.action not in ACTIONS:
            raise LinkInvalid("this link is not valid: unknown action")
        if now >= claims.expires_at:
            raise LinkExpired(
                f"this link expired at {claims.expires_at:%Y-%m-%d %H:%M} UTC", tenant=claims.tenant
            )
        return claims

    def for_booking(self, base_url: str, booking: Booking) -> dict[str, str]:
        """A booking's manage links under ``base_url`` (the service's public URL), by action
        (``{"cancel": ..., "reschedule": ...}``), valid until the booking starts."""
        return self.links(base_url, booking.tenant, booking.id, booking.start)

    def links(
        self, base_url: str, tenant: str, booking_id: str, expires_at: datetime
    ) -> dict[str, str]:
        """The manage links of one booking under ``base_url`` (``""``: paths only)."""
        base = base_url.rstrip("/")
        return {
            action: f"{base}/manage/{self.token(tenant, booking_id, action, expires_at)}"
            for action in ACTIONS
        }


def event_extra(
    links: ManageLinks, public_url: str | None
) -> Callable[[str, BookingRow], dict[str, Any]]:
    """What a booking's events add to their data: the hosts, and (but for
    ``booking.cancelled``) the manage links under ``public_url`` (``None``: as paths)."""

    def extra(type_: str, row: BookingRow) -> dict[str, Any]:
        added: dict[str, Any] = {"hosts": [h["id"] for h in row.hosts or []]}
        if type_ != "booking.cancelled":
            base = public_url or ""
            added["manage_links"] = links.links(base, row.tenant, row.id, row.start_utc)
        return added

    return extra
