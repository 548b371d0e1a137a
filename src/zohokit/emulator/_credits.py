"""What each CRM call costs in API credits, as Zoho deducts them from the org's daily budget.

Zoho charges most calls one credit and some more: "for some APIs, credit reduction would be
different" (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html , Kaizen #34
https://help.zoho.com/portal/en/community/topic/kaizen-34-api-credits). The figures below
that are not 1 come from third-party summaries of that table (the table itself could not be
read): a Bulk Read job 50 credits, a Bulk Write job 500. What a bulk job's status check,
result download and file upload cost is UNVERIFIED: they are charged 1 like any call.
"""

from __future__ import annotations

__all__ = ["BULK_READ_JOB", "BULK_WRITE_JOB", "credit_cost"]

BULK_READ_JOB = 50
BULK_WRITE_JOB = 500


def credit_cost(method: str, path: str) -> int:
    """The credits one ``method`` ``path`` CRM call costs."""
    if method == "POST" and path.startswith("/crm/bulk/"):
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        if tail == "read":
            return BULK_READ_JOB
        if tail == "write":
            return BULK_WRITE_JOB
    return 1
