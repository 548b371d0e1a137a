"""What each CRM call costs in API credits, as Zoho deducts them from the org's daily budget,
and which calls are Zoho's "heavy" ones.

Zoho charges most calls one credit and some more: "for some APIs, credit reduction would be
different" (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html , the same table on
the v2 and v4 pages, Kaizen #34 https://help.zoho.com/portal/en/community/topic/kaizen-34-api-credits):
Convert Lead 5, adding or removing tags on many records 1 per 50 records, a Bulk Read job 50,
a Bulk Write job 500, and a composite request of up to five sub-requests 1
(https://www.zoho.com/crm/developer/docs/api/v8/composite-overview.html). What a bulk job's
status check, result download and file upload cost is UNVERIFIED: they are charged 1 like any
call.

The middleware charges :func:`credit_cost` before the handler runs (and refuses with 429 when
the day's credits are gone); a handler whose cost depends on its body (tags on many records)
charges the rest with :func:`charge`. Each cost is also counted under ``credits_<call>``
(:func:`call_name`) in ``/_emulator/stats``, so a test can show what a call cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._core import Emulator

__all__ = [
    "BULK_READ_JOB",
    "BULK_WRITE_JOB",
    "COMPOSITE",
    "CONVERT_LEAD",
    "TAG_RECORDS_PER_CREDIT",
    "call_name",
    "charge",
    "credit_cost",
    "is_heavy",
]

BULK_READ_JOB = 50
BULK_WRITE_JOB = 500
CONVERT_LEAD = 5
COMPOSITE = 1
#: Records one tag call may name per credit (Zoho: 1 credit for every 50 records).
TAG_RECORDS_PER_CREDIT = 50


def credit_cost(method: str, path: str) -> int:
    """The credits one ``method`` ``path`` CRM call costs (before any body-dependent part)."""
    if method == "POST" and path.startswith("/crm/bulk/"):
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        if tail == "read":
            return BULK_READ_JOB
        if tail == "write":
            return BULK_WRITE_JOB
    if method == "POST" and path.endswith("/actions/convert"):
        return CONVERT_LEAD
    return 1


def call_name(method: str, path: str) -> str:
    """The name a call's credits are counted under (``credits_<name>`` in the stats)."""
    parts = [p for p in path.split("/") if p][2:]  # drop "crm" and the version
    if path.startswith("/crm/bulk/"):
        return "bulk"
    if parts == ["__composite_requests"]:
        return "composite"
    if method == "POST" and path.endswith("/actions/convert"):
        return "convert_lead"
    if parts and parts[0] in ("Notes", "files"):
        return parts[0].lower()
    if parts[-1:] in (["add_tags"], ["remove_tags"]):
        return "tags"
    if len(parts) >= 3 and parts[2] in ("Notes", "Attachments"):
        return parts[2].lower()
    if len(parts) >= 3 and parts[1] != "actions" and parts[0] != "settings":
        return "related_records"
    return "records"


def is_heavy(path: str) -> bool:
    """Whether Zoho counts the call against its heavy-API concurrency limit of 10: COQL and
    lead conversion (Kaizen #203; bulk and mass mail are heavy too)."""
    return path.endswith("/coql") or path.endswith("/actions/convert")


def charge(emu: Emulator, credits: int, call: str) -> None:
    """Charge ``credits`` more for a call whose cost depends on its body."""
    if credits <= 0:
        return
    emu.stats.credits.spend(emu.clock.now(), credits)
    emu.stats.incr("credits_used", credits)
    emu.stats.incr(f"credits_{call}", credits)
