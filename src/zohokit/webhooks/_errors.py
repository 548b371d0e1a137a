"""The webhook errors, under :class:`~zohokit.errors.ZohoError`::

WebhookError               webhook endpoints or deliveries refused an operation
├── EndpointRefused        a URL or filter zohokit will not use (also a ValueError)
├── EndpointNotFound       no endpoint with that id
└── DeliveryNotFound       no delivery with that id
"""

from __future__ import annotations

from ..errors import ZohoError

__all__ = ["DeliveryNotFound", "EndpointNotFound", "EndpointRefused", "WebhookError"]


class WebhookError(ZohoError):
    """A webhook operation was refused."""


class EndpointRefused(WebhookError, ValueError):
    """A webhook URL or event filter zohokit will not use; the message says what to change."""


class EndpointNotFound(WebhookError):
    """No webhook endpoint has that id."""


class DeliveryNotFound(WebhookError):
    """No webhook delivery has that id."""
