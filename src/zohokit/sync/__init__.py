"""The CRM sync engine: push rows into Zoho CRM and pull changes back, nothing lost.

::

    from zohokit.sync import Ledger, SyncMapping, push, pull, read_rows

    ledger = await Ledger.open("sqlite:///sync.db")
    mapping = SyncMapping.from_dict({"module": "Contacts", "key": "Email"})
    report = await push(crm, ledger, read_rows(Path("contacts.csv")), mapping)
    report = await pull(crm, ledger, "Contacts", out=Path("changes.jsonl"))

The ledger (one row per tenant, module and external id) makes a push cost nothing for rows
that did not change, resume after a crash with no duplicate and no lost row, and lets a pull
recognise its own writes. A push or pull can also run every N minutes on the worker
(:class:`SyncSchedules`, ``zoho.sync_schedules``), never two of one tenant at once. See
``docs/sync.md``.
"""

from ._hashing import canonical, normalize_key, row_hash
from ._ledger import Cursor, Ledger, LedgerEntry, Outcome
from ._mapping import MappingError, SyncMapping, load_mapping
from ._plan import (
    RETRYABLE_RECORD_CODES,
    LedgerState,
    classify_result,
    next_attempt,
    plan_row,
    split,
)
from ._pull import DEFAULT_BULK_READ_THRESHOLD, MAX_FIELDS_PER_CALL, Change, field_groups, pull
from ._push import DEFAULT_BULK_THRESHOLD, DEFAULT_MAX_ATTEMPTS, push
from ._report import ErrorGroup, RunReport
from ._schedule import InvalidSyncSchedule, SyncSchedule, format_interval, next_run, parse_interval
from ._schedule_job import TenantGuardLost
from ._schedules import SCHEDULED_SYNC, SyncSchedules
from ._sources import SourceError, count_rows, read_rows

__all__ = [
    "DEFAULT_BULK_READ_THRESHOLD",
    "DEFAULT_BULK_THRESHOLD",
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_FIELDS_PER_CALL",
    "RETRYABLE_RECORD_CODES",
    "SCHEDULED_SYNC",
    "Change",
    "Cursor",
    "ErrorGroup",
    "InvalidSyncSchedule",
    "Ledger",
    "LedgerEntry",
    "LedgerState",
    "MappingError",
    "Outcome",
    "RunReport",
    "SourceError",
    "SyncMapping",
    "SyncSchedule",
    "SyncSchedules",
    "TenantGuardLost",
    "canonical",
    "classify_result",
    "count_rows",
    "field_groups",
    "format_interval",
    "load_mapping",
    "next_attempt",
    "next_run",
    "normalize_key",
    "parse_interval",
    "plan_row",
    "pull",
    "push",
    "read_rows",
    "row_hash",
    "split",
]
