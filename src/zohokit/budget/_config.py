"""How the budget behaves: :class:`BudgetConfig` (``ZOHOKIT_BUDGET_*`` in the environment)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ._editions import limits_for

__all__ = ["BudgetConfig", "next_day", "owner_id"]


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """How the budget behaves (``ZOHOKIT_BUDGET_*`` in the environment).

    ``enabled``: off, the request path keeps only its per-process cap. ``edition`` and
    ``users``: the limits of a tenant whose edition nobody read or set yet. ``batch_share``:
    the share of slots and credits batch work may use. ``lease``: seconds a grant lasts
    unrenewed (the bound on a killed process's slots). ``wait``: default seconds a call
    waits for a slot. ``credit_chunk``: credits taken from the ledger at a time. ``tick``,
    ``linger``, ``credit_linger``, ``poll``: the keeper's period, how long idle slots and
    credits are kept for reuse, and the first wait between polls for a slot.
    """

    enabled: bool = True
    edition: str = "standard"
    users: int = 0
    batch_share: float = 0.8
    lease: float = 10.0
    wait: float = 60.0
    credit_chunk: int = 100
    tick: float = 0.1
    linger: float = 5.0
    credit_linger: float = 5.0
    poll: float = 0.01

    def __post_init__(self) -> None:
        limits_for(self.edition)  # ValueError naming the editions
        if not 0 < self.batch_share < 1:
            raise ValueError("the batch share must be between 0 and 1 (0.8 keeps 20%)")
        for name in ("lease", "tick", "poll"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the budget's {name} must be positive")
        if self.wait < 0 or self.credit_chunk < 1 or self.users < 0:
            raise ValueError("the budget's wait, credit chunk and users cannot be negative")


def owner_id() -> str:
    """A new id for the grants of one process's event loop: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def next_day(day: str) -> str:
    """When the credit ledger's ``day`` (``YYYY-MM-DD``, UTC) ends, as ISO 8601."""
    return (datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)).isoformat()
