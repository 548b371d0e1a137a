"""Booking customers' personal data at rest: sealed with the token keys.

A booking's ``customer`` (name, e-mail, phone, notes) is stored as one AES-256-GCM value of
:class:`~zohokit.tokens.Cipher` (``v1.<kid>.<blob>``), bound to the tenant, the booking id and
the column, so a value copied into another row does not decrypt; its ``title`` too (the
default one, "Meeting with <name>", names the customer). Beside it, ``customer_key`` holds a keyed
hash of the normalized e-mail (per tenant), so "this customer's bookings" is still one indexed
equality lookup while the e-mail itself is nowhere in plain text. Key rotation re-seals both
(:func:`reseal_customers`, run by ``zohokit tokens rotate-key``). Rows written before
encryption (plain JSON) are still read, and sealed by the next rotation.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..tokens import Cipher
from ._models import Booking
from ._tables import BOOKING_COLUMNS, BookingRow, booking_of, bookings

__all__ = ["Cipher", "CustomerVault", "Customers", "customer_bookings", "reseal_customers"]

#: Rows re-sealed per transaction: short transactions, so bookings go on meanwhile.
RESEAL_BATCH = 200


def _email_of(customer: dict[str, Any]) -> str:
    return str(customer.get("email", "")).strip().lower()


class CustomerVault:
    """Seals and opens booking customers with the token keys, and hashes their e-mail."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    def __repr__(self) -> str:
        return "CustomerVault()"

    @staticmethod
    def _context(tenant: str, booking_id: str, column: str) -> str:
        return f"{tenant}\x00booking\x00{booking_id}\x00{column}"

    def seal_text(self, tenant: str, booking_id: str, column: str, plain: str) -> str:
        """The stored form of one column's text."""
        return self._cipher.encrypt(plain, context=self._context(tenant, booking_id, column))

    def open_text(self, tenant: str, booking_id: str, column: str, stored: str) -> str:
        """The text of a stored column (a row from before encryption holds it plain)."""
        if Cipher.key_id_of(stored) is None:
            return stored
        return self._cipher.decrypt(stored, context=self._context(tenant, booking_id, column))

    def seal(self, tenant: str, booking_id: str, customer: dict[str, Any]) -> str:
        """The stored form of ``customer``."""
        return self.seal_text(tenant, booking_id, "customer", json.dumps(customer, sort_keys=True))

    def open(self, tenant: str, booking_id: str, stored: str) -> dict[str, Any]:
        """The customer of a stored value."""
        opened: dict[str, Any] = json.loads(self.open_text(tenant, booking_id, "customer", stored))
        return opened

    def email_keys(self, tenant: str, email: str) -> list[str]:
        """The lookup hashes of ``email`` for one tenant (the primary key's first)."""
        return self._cipher.lookup_keys(email.strip().lower(), context=f"{tenant}\x00email")

    def email_key(self, tenant: str, customer: dict[str, Any]) -> str:
        """The lookup hash to store for ``customer``."""
        return self.email_keys(tenant, _email_of(customer))[0]

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is sealed with the primary key already."""
        return Cipher.key_id_of(stored) == self._cipher.primary_key_id


async def reseal_customers(engine: AsyncEngine, vault: CustomerVault) -> int:
    """Seal every booking's customer (and its e-mail hash) with the primary key; returns the
    rows changed (its title too). Rows already current are left alone, so a second run
    changes nothing."""
    c = bookings.c
    changed = 0
    after = ""
    while True:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(c.id, c.tenant, c.customer, c.title)
                    .where(c.id > after)
                    .order_by(c.id)
                    .limit(RESEAL_BATCH)
                )
            ).all()
            for row in rows:
                if vault.is_current(row.customer) and vault.is_current(row.title):
                    continue
                customer = vault.open(row.tenant, row.id, row.customer)
                title = vault.open_text(row.tenant, row.id, "title", row.title)
                await conn.execute(
                    update(bookings)
                    .where(c.id == row.id, c.customer == row.customer, c.title == row.title)
                    .values(
                        customer=vault.seal(row.tenant, row.id, customer),
                        customer_key=vault.email_key(row.tenant, customer),
                        title=vault.seal_text(row.tenant, row.id, "title", title),
                    )
                )
                changed += 1
        if len(rows) < RESEAL_BATCH:
            return changed
        after = rows[-1].id


async def customer_bookings(
    engine: AsyncEngine, vault: CustomerVault, tenant: str, email: str
) -> list[BookingRow]:
    """One customer's bookings with a tenant, by start time: found through the e-mail's
    lookup hash (any configured key's, so rows not yet re-sealed after a rotation match)."""
    c = bookings.c
    query = (
        select(*BOOKING_COLUMNS)
        .where(c.tenant == tenant, c.customer_key.in_(vault.email_keys(tenant, email)))
        .order_by(c.start_utc, c.id)
    )
    async with engine.connect() as conn:
        return [booking_of(row, vault) for row in await conn.execute(query)]


class Customers:
    """``BookingService.customers``: what needs a customer's e-mail or the keys."""

    def __init__(self, engine: AsyncEngine, vault: CustomerVault) -> None:
        self._engine = engine
        self._vault = vault

    def __repr__(self) -> str:
        return "Customers()"

    async def bookings(self, tenant: str, email: str) -> list[Booking]:
        """One customer's bookings with ``tenant`` (by e-mail, any case), by start time."""
        rows = await customer_bookings(self._engine, self._vault, tenant, email)
        return [Booking.of(row) for row in rows]

    async def reseal(self) -> int:
        """Re-seal every booking's customer with the primary key (after a key rotation);
        returns the rows changed."""
        return await reseal_customers(self._engine, self._vault)
