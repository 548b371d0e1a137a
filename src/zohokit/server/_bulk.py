"""``POST /zoho/bulk-callback/{key}/{secret}``: where Zoho calls back when a bulk job ends.

With ``ZOHOKIT_PUBLIC_URL`` set, every Bulk Read / Bulk Write job this service's root
creates names this route as its callback, with a key and a secret of its own
(:class:`zohokit.crm.BulkCallbacks`). Zoho sends no API key, so the route is open, like the
OAuth callback; what it trusts is the job's secret, compared in constant time. A match wakes
the job's wait at once (it then reads the job's state from Zoho, as a poll would); anything
else is 404, and wakes nothing.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._errors import error_body
from ._state import State

__all__ = ["BULK_CALLBACK_PATH", "router"]

#: The path bulk jobs call back to (after the service's public URL).
BULK_CALLBACK_PATH = "/zoho/bulk-callback"

router = APIRouter(tags=["bulk"])


@router.post(
    BULK_CALLBACK_PATH + "/{key}/{secret}",
    summary="A Zoho CRM bulk job ended (called by Zoho)",
    responses={404: {"description": "No waiting job has this key and secret"}},
)
async def bulk_callback(key: str, secret: str, request: Request, state: State) -> JSONResponse:
    """Wake the wait of the job whose key and secret these are."""
    callbacks = state.zoho.bulk_callbacks
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = {}
    if callbacks is None or not callbacks.deliver(key, secret, body):
        return JSONResponse(error_body(404, "no bulk job waits for this callback"), 404)
    return JSONResponse({"received": True})
