"""The sync lease of a booking: who may write it to Zoho right now, and recording what they
wrote (the part of the booking store the Zoho writer uses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from zohokit.scheduling._tables import BookingRow, bookings

__all__ = ["SyncLeases"]


def _booking(tenant: str, booking_id: str) -> Any:
    """The WHERE clause of one booking."""
    return and_(bookings.c.tenant == tenant, bookings.c.id == booking_id)


def _lease_free(owner: str, now: datetime) -> Any:
    """Nobody but ``owner`` holds an unexpired sync lease."""
    return or_(
        bookings.c.lease_owner.is_(None),
        bookings.c.lease_until.is_(None),
        bookings.c.lease_until <= now,
        bookings.c.lease_owner == owner,
    )


class SyncLeases:
    """Mixed into :class:`~zohokit.scheduling._store.BookingStore`: lease, record, release."""

    engine: AsyncEngine

    async def _get(self, conn: AsyncConnection, tenant: str, booking_id: str) -> BookingRow | None:
        raise NotImplementedError

    @staticmethod
    def _lease_if_free(owner: str, until: datetime, now: datetime) -> dict[str, Any]:
        """Column values that hand the sync lease to ``owner`` only when nobody else holds
        an unexpired one. A cancel or move that took a lease from a worker still writing to
        Zoho would make that worker's result unrecordable, and the event it was creating
        would be left behind in the calendar; the holder finishes and sees the change."""
        free = _lease_free(owner, now)
        return {
            "lease_owner": case((free, owner), else_=bookings.c.lease_owner),
            "lease_until": case((free, until), else_=bookings.c.lease_until),
        }

    async def try_lease(
        self, tenant: str, booking_id: str, *, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to sync a booking to Zoho, unless someone holds an unexpired lease.
        The lease keeps two retries (or a retry and a slow confirm) from both creating it."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(bookings)
                .where(_booking(tenant, booking_id), _lease_free(owner, now))
                .values(lease_owner=owner, lease_until=until)
            )
        return bool(result.rowcount == 1)

    async def record(
        self,
        tenant: str,
        booking_id: str,
        *,
        owner: str,
        now: datetime,
        synced_for: BookingRow | None = None,
        **values: Any,
    ) -> BookingRow | None:
        """Write the Zoho outcome (ids, etag, synced flags, reason) while holding the lease.
        Returns the row, or ``None`` if the lease was lost (a peer owns the booking now).

        ``synced_for`` is the row as it was when the Zoho write began: if the booking was
        cancelled or moved since, the ids are kept but it is not marked synced, so the next
        round makes Zoho match the booking as it is now."""
        mine = and_(_booking(tenant, booking_id), bookings.c.lease_owner == owner)
        async with self.engine.begin() as conn:
            if synced_for is not None:
                # The comparison sits in the UPDATE itself, so a cancel committed by another
                # instance a moment earlier is seen even on PostgreSQL's READ COMMITTED.
                unchanged = and_(
                    mine,
                    bookings.c.state == synced_for.state,
                    bookings.c.start_utc == synced_for.start_utc,
                    bookings.c.end_utc == synced_for.end_utc,
                )
                result = await conn.execute(
                    update(bookings).where(unchanged).values(updated_at=now, **values)
                )
                if result.rowcount == 1:
                    return await self._get(conn, tenant, booking_id)
                for stale in ("event_synced", "crm_synced", "pending_reason"):
                    values.pop(stale, None)
            result = await conn.execute(
                update(bookings).where(mine).values(updated_at=now, **values)
            )
            if result.rowcount != 1:
                return None
            return await self._get(conn, tenant, booking_id)

    async def release(self, tenant: str, booking_id: str, *, owner: str) -> None:
        """Give the sync lease back, only if we still hold it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(bookings)
                .where(_booking(tenant, booking_id), bookings.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
