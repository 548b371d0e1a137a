"""Zoho CRM notifications, managed end to end: channels per tenant and module (enabled with a
secret token of their own, renewed before they expire, disabled), a receive endpoint in
``zohokit serve`` that stores each notification once, the processing that turns notified ids
into fetched records for the sync ledger, the user's handlers and ``crm.record.changed``
events, and a reconcile pull so that a notification that never arrives loses nothing.

::

    from zohokit.notifications import RecordChange

    @zoho.notifications.on_change(module="Contacts")
    async def contact_changed(change: RecordChange) -> None:
        print(change.op, change.id, change.record)

    await zoho.notifications.enable("acme", "Contacts", notify_url=PUBLIC + "/zoho/notifications")

See ``docs/worker.md`` ("CRM notifications").
"""

from ._changes import ChangeHandler, RecordChange
from ._channels import (
    DEFAULT_LIFETIME,
    RECONCILE_CURSORS,
    RECONCILE_INTERVAL,
    RENEW_MARGIN,
    Channel,
)
from ._inbox import InvalidNotification, Notification, dedupe_key, parse
from ._jobs import JOB_KINDS, inbox_job, reconcile_job, register, renew_job
from ._service import NotificationRefused, Notifications, Received

__all__ = [
    "DEFAULT_LIFETIME",
    "JOB_KINDS",
    "RECONCILE_CURSORS",
    "RECONCILE_INTERVAL",
    "RENEW_MARGIN",
    "ChangeHandler",
    "Channel",
    "InvalidNotification",
    "Notification",
    "NotificationRefused",
    "Notifications",
    "Received",
    "RecordChange",
    "dedupe_key",
    "inbox_job",
    "parse",
    "reconcile_job",
    "register",
    "renew_job",
]
