"""The Zoho call history: calls, 429s, errors and credits per tenant, provider and hour, in
the database, written by every process (``zohokit serve``, the worker, the CLI) that sends
Zoho calls, so the console's charts are the fleet's and not one process's.

The request path hands each attempt to a :class:`CallRecorder` (the root object builds one
per process; counts wait in memory and are flushed every few seconds and on close with an
upsert that adds). :func:`calls_by_hour` and :func:`busiest_tenants` read it;
:func:`prune_call_hours` keeps :data:`KEEP_DAYS` days (the worker's ``traffic.prune``).

::

    hours = await calls_by_hour(zoho.engine, tenant="acme", hours=24, now=zoho.clock())
    [h.throttled for h in hours]   # 429s per hour, oldest first
"""

from ._query import (
    KEEP_DAYS,
    MAX_HOURS,
    CallHour,
    TenantCalls,
    busiest_tenants,
    calls_by_hour,
    prune_call_hours,
)
from ._recorder import FLUSH_EVERY_SECONDS, CallRecorder, hour_of
from ._tables import call_hours, metadata

__all__ = [
    "FLUSH_EVERY_SECONDS",
    "KEEP_DAYS",
    "MAX_HOURS",
    "CallHour",
    "CallRecorder",
    "TenantCalls",
    "busiest_tenants",
    "call_hours",
    "calls_by_hour",
    "hour_of",
    "metadata",
    "prune_call_hours",
]
