"""Webhooks: every event of the outbox (:mod:`zohokit.events`) sent to the user's endpoints
in the Standard Webhooks format, retried for at least 24 hours, with a delivery log.

::

    endpoint, secret = await zoho.webhooks.add("https://app.example.com/hooks/zoho",
                                               event_types=["booking.created"])
    await zoho.webhooks.run_due()          # what the worker's webhooks.deliver job does
    for d in await zoho.webhooks.deliveries(endpoint_id=endpoint.id):
        print(d.status, d.attempts, d.last_status_code)

Each request is a POST of ``{"id", "type", "tenant", "timestamp", "data"}`` with the
headers ``webhook-id`` (the event id, the same on every retry: de-duplicate on it),
``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``). See
``docs/webhooks.md`` for each event type and how to verify a signature.
"""

from __future__ import annotations

from ._deliver import DeliveryRound, WebhookSender
from ._errors import DeliveryNotFound, EndpointNotFound, EndpointRefused, WebhookError
from ._job import DELIVER, deliver_job, register
from ._models import Attempt, Delivery, DeliveryStatus, Endpoint
from ._policy import DeliveryPolicy, is_success, next_attempt_at
from ._service import ROTATION_OVERLAP, WebhookConfig, Webhooks
from ._signing import InvalidSecret, generate_secret, sign, signed_headers
from ._tables import webhook_attempts, webhook_deliveries, webhook_endpoints
from ._urls import Resolver, check_url, system_resolver

__all__ = [
    "DELIVER",
    "ROTATION_OVERLAP",
    "Attempt",
    "Delivery",
    "DeliveryNotFound",
    "DeliveryPolicy",
    "DeliveryRound",
    "DeliveryStatus",
    "Endpoint",
    "EndpointNotFound",
    "EndpointRefused",
    "InvalidSecret",
    "Resolver",
    "WebhookConfig",
    "WebhookError",
    "WebhookSender",
    "Webhooks",
    "check_url",
    "deliver_job",
    "generate_secret",
    "is_success",
    "next_attempt_at",
    "register",
    "sign",
    "signed_headers",
    "system_resolver",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
]
