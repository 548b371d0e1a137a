"""Booking customers' personal data at rest: sealed with the token keys in SQLite and
PostgreSQL (a ``pg_dump`` shows none of it), found again by e-mail, re-sealed by a key
rotation; database and key files owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling.support import CIPHER, TENANT, at, contacts, events
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.db import create_engine, upgrade_async
from zohokit.scheduling import BookingService, Customer
from zohokit.scheduling._tables import bookings
from zohokit.tokens import Cipher, DecryptionError, generate_key
from zohokit.tokens._crypto import KEY_FILE_NAME, load_or_create_key_file

EMAIL = "bo.private@example.com"
SECRETS = [EMAIL, "Bartholomew", "Privatesurname", "+49 30 1234567", "allergic to cats"]
CUSTOMER = Customer(
    EMAIL, "Bartholomew", "Privatesurname", phone="+49 30 1234567", notes="allergic to cats"
)


def _leaks(dump: str) -> list[str]:
    return [value for value in SECRETS if value.lower() in dump.lower()]


async def _rows_as_text(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return repr((await conn.execute(select(bookings))).all())


async def test_no_customer_data_in_the_booking_tables(
    service: BookingService,
    engine: AsyncEngine,
    db_url: str,
    request: pytest.FixtureRequest,
    calendar: ZohoCalendarService,
    crm: ZohoCRMService,
) -> None:
    booking = await service.confirm(TENANT, start=at(10), customer=CUSTOMER)
    assert booking.status == "complete"
    # Zoho still gets the customer: the event's attendee and the CRM contact.
    assert [p["Email"] for p in await contacts(crm)] == [EMAIL]
    assert EMAIL in repr(await events(calendar))
    assert _leaks(await _rows_as_text(engine)) == []
    if db_url.startswith("sqlite"):
        await engine.dispose()  # checkpoints the WAL into the file
        path = Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
        assert _leaks(raw.decode("latin-1")) == []
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        dump = cluster.dump(db_url.rsplit("/", 1)[1])
        assert "bookings" in dump  # the table, and its row, are in the dump
        assert booking.id in dump
        assert _leaks(dump) == []


async def test_a_customer_bookings_are_found_by_email(service: BookingService) -> None:
    first = await service.confirm(TENANT, start=at(10), customer=CUSTOMER)
    second = await service.confirm(TENANT, start=at(11), customer=CUSTOMER)
    await service.confirm(TENANT, start=at(13), customer=Customer("someone@example.com"))
    found = await service.customers.bookings(TENANT, "  BO.Private@Example.com ")
    assert [b.id for b in found] == [first.id, second.id]
    assert found[0].customer.notes == "allergic to cats"
    # The lookup hash is per tenant: another tenant's lookup finds nothing.
    assert await service.customers.bookings("other", EMAIL) == []


async def test_key_rotation_reseals_customers(
    service: BookingService,
    engine: AsyncEngine,
    calendar: ZohoCalendarService,
    crm: ZohoCRMService,
) -> None:
    booking = await service.confirm(TENANT, start=at(10), customer=CUSTOMER)
    new_key = generate_key()
    old_key = "em9ob2tpdC1ib29raW5nLXRlc3RzLWtleS0zMmJ5dGU="  # tests/scheduling/support.py
    both = Cipher.from_spec(f"{new_key},{old_key}")

    def service_with(cipher: Cipher) -> BookingService:
        return BookingService(
            engine, cipher=cipher, calendar_for=lambda _t: calendar, crm_for=lambda _t: crm
        )

    rotated = service_with(both)
    # Before the rotation, the old key's hash still finds the customer.
    assert [b.id for b in await rotated.customers.bookings(TENANT, EMAIL)] == [booking.id]
    assert await rotated.customers.reseal() == 1
    assert await rotated.customers.reseal() == 0
    async with engine.connect() as conn:
        stored = (await conn.execute(select(bookings.c.customer, bookings.c.title))).one()
    assert Cipher.key_id_of(stored.customer) == both.primary_key_id
    assert Cipher.key_id_of(stored.title) == both.primary_key_id
    # The old key can go: the new one alone reads and finds the booking.
    new_only = service_with(Cipher.from_spec(new_key))
    found = await new_only.customers.bookings(TENANT, EMAIL)
    assert [b.customer.email for b in found] == [EMAIL]
    with pytest.raises(DecryptionError):
        await service_with(CIPHER).get(TENANT, booking.id)


async def test_a_row_stored_before_encryption_is_read_and_sealed_by_rotation(
    service: BookingService, engine: AsyncEngine
) -> None:
    booking = await service.confirm(TENANT, start=at(10), customer=CUSTOMER)
    legacy = '{"email": "old@example.com", "first_name": "Old"}'
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE bookings SET customer = :c, title = 'Old title', customer_key = NULL"),
            {"c": legacy},
        )
    read = await service.get(TENANT, booking.id)
    assert read.customer.email == "old@example.com"
    assert await service.customers.reseal() == 1
    assert [b.title for b in await service.customers.bookings(TENANT, "old@example.com")] == [
        "Old title"
    ]


async def test_database_and_key_files_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    engine = create_engine(f"sqlite:///{data / 'zohokit.db'}")
    await upgrade_async(engine)
    await engine.dispose()
    load_or_create_key_file(data)
    for folder in (tmp_path / "fresh", data):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in [data / KEY_FILE_NAME, *data.glob("zohokit.db*")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
