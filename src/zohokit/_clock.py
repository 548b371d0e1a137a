"""One clock type for every part of zohokit that reads the time.

A :data:`Clock` is a function of no arguments that returns the current time as an aware
``datetime``. The token service, the booking flow, the sync ledger and its run reports, and
the HTTP service each take one (``clock=``), default :func:`system_clock`, so a test moves
time by handing in its own instead of patching anything. Pure cores (the availability
engine, the refresh decision, retry delays) take ``now`` as an argument and read no clock.

::

    from datetime import UTC, datetime, timedelta

    class StepClock:
        def __init__(self) -> None:
            self.now = datetime(2031, 3, 3, 8, tzinfo=UTC)
        def __call__(self) -> datetime:
            return self.now

    service = BookingService(engine, ..., clock=StepClock())
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "epoch", "system_clock"]

#: The current time, as an aware datetime.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time, in UTC."""
    return datetime.now(UTC)


def epoch(clock: Clock) -> Callable[[], float]:
    """``clock`` as seconds since the epoch, for code that does arithmetic on floats."""
    if clock is system_clock:
        # The same instant without building a datetime: the token cache reads it per call.
        return time.time

    def seconds() -> float:
        return clock().timestamp()

    return seconds
