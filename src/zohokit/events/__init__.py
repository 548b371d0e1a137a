"""Events: what zohokit tells the user's app, written to a transactional outbox.

::

    from zohokit.events import emit

    async with engine.begin() as conn:
        await conn.execute(update(bookings)...)
        await emit(conn, "booking.cancelled", "acme", {"booking_id": "b1"}, now=clock())
    # committed together: no event for a change that rolled back, no change without its event

The root object has the same for callers without a transaction of their own
(``await zoho.emit("app.thing", "acme", {...})``). Webhook delivery
(:mod:`zohokit.webhooks`) sends every event to the endpoints that want it, in the Standard
Webhooks format. The types zohokit emits are :data:`EVENT_TYPES`; ``docs/webhooks.md`` shows
each payload.
"""

from __future__ import annotations

# The package is exactly this one module's surface.
from ._outbox import *  # noqa: F403
from ._outbox import __all__ as __all__
