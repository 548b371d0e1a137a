"""Zoho CRM's Notification API, for one tenant: enable (and so renew), list and disable.

Thin calls through the tenant's request path (``/crm/v8/actions/watch``). Enabling a
(channel, module) again replaces it at Zoho, so the call is safe to retry and is how a
channel is renewed. Zoho gives a channel one hour when ``channel_expiry`` is missing *or past
its limit* (a week in v8), silently: the expiry Zoho answers is the one that counts, and
:func:`enable` returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..crm import ZohoCRMService
from ..errors import RecordError

__all__ = ["WATCH_PATH", "disable", "enable", "listing"]

WATCH_PATH = "/crm/v8/actions/watch"


def _failed(crm: ZohoCRMService, what: str, element: Any) -> RecordError:
    element = element if isinstance(element, dict) else {}
    code = element.get("code")
    return RecordError(
        f"Zoho refused to {what}: {code} {element.get('message', '')}".strip(),
        code=code,
        details=element.get("details") if isinstance(element.get("details"), dict) else {},
        tenant=crm.tenant,
        provider=crm.provider,
    )


async def enable(
    crm: ZohoCRMService,
    *,
    channel_id: str,
    module: str,
    operations: Sequence[str],
    notify_url: str,
    token: str,
    expiry: datetime,
) -> datetime:
    """Enable (or renew) ``channel_id`` on ``module``; returns the expiry Zoho granted."""
    item = {
        "channel_id": channel_id,
        "events": [f"{module}.{op}" for op in operations],
        "notify_url": notify_url,
        "token": token,
        "channel_expiry": expiry.isoformat(timespec="seconds"),
        "notify_on_related_action": False,
    }
    answer = await crm._call("POST", WATCH_PATH, json={"watch": [item]}, idempotent=True)
    body = answer.body if isinstance(answer.body, dict) else {}
    results = body.get("watch") or [{}]
    result = results[0]
    if not isinstance(result, dict) or result.get("status") != "success":
        raise _failed(crm, f"enable notifications on {module}", result)
    events = (result.get("details") or {}).get("events") or []
    granted = [e.get("channel_expiry") for e in events if isinstance(e, dict)]
    times = [datetime.fromisoformat(t) for t in granted if isinstance(t, str)]
    if not times:
        raise _failed(crm, f"enable notifications on {module} (no channel_expiry)", result)
    return min(times)


async def listing(
    crm: ZohoCRMService, *, module: str | None = None, channel_id: str | None = None
) -> list[dict[str, Any]]:
    """The tenant's live channels at Zoho, one entry per (channel, module)."""
    params = {k: v for k, v in (("module", module), ("channel_id", channel_id)) if v}
    answer = await crm._call("GET", WATCH_PATH, params=params or None)
    body = answer.body if isinstance(answer.body, dict) else {}
    return [w for w in body.get("watch") or [] if isinstance(w, dict)]


async def disable(crm: ZohoCRMService, channel_ids: Sequence[str]) -> None:
    """Disable channels at Zoho (one that Zoho no longer knows counts as disabled)."""
    await crm._call(
        "DELETE", WATCH_PATH, params={"channel_ids": ",".join(channel_ids)}, idempotent=True
    )
