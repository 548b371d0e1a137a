"""Webhooks: every event of the outbox (:mod:`zohokit.events`) sent to the user's
endpoints in the Standard Webhooks format (``docs/webhooks.md``)."""

from __future__ import annotations

from ._tables import webhook_attempts, webhook_deliveries, webhook_endpoints

__all__ = ["webhook_attempts", "webhook_deliveries", "webhook_endpoints"]
