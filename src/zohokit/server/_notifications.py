"""``POST /zoho/notifications``: where Zoho CRM posts the notifications of the channels that
``zoho.notifications.enable`` (``zohokit notifications enable``) opened.

Zoho sends no API key, so the route is open, like the OAuth callback; what it trusts is the
channel id with the channel's own secret token, compared in constant time. A notification is
stored once in the inbox (a copy answers ``{"stored": false}``: Zoho and the network send
duplicates), with the worker's job that processes it, and the answer leaves at once. The
records are fetched after it: by the worker, or by this process right away when record
handlers are registered on its root (``create_app(setup=...)``). The body limit of the
request guard applies as to every route.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..notifications import InvalidNotification, NotificationRefused
from ._errors import error_body
from ._state import State

__all__ = ["NOTIFICATIONS_PATH", "router"]

#: The path to give Zoho as ``notify_url`` (after the service's public URL).
NOTIFICATIONS_PATH = "/zoho/notifications"

router = APIRouter(tags=["notifications"])


@router.post(
    NOTIFICATIONS_PATH,
    summary="Zoho CRM notifications (called by Zoho)",
    responses={
        400: {"description": "Not a Zoho CRM notification (the message names the key)"},
        403: {"description": "Unknown or disabled channel, or the wrong token"},
    },
)
async def receive_notification(request: Request, state: State) -> JSONResponse:
    """Check the channel and its token, store the notification once, answer at once."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return JSONResponse(error_body(400, "the body must be JSON (a Zoho notification)"), 400)
    notifications = state.zoho.notifications
    try:
        received = await notifications.receive(body)
    except InvalidNotification as exc:
        return JSONResponse(error_body(400, str(exc)), 400)
    except NotificationRefused as exc:
        return JSONResponse(error_body(403, str(exc)), 403)
    notifications.kick(received.tenant)
    return JSONResponse({"stored": received.stored})
