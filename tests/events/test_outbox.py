"""The outbox: an event exists exactly when the change it reports commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from tests.fixtures.clock import ManualClock
from zohokit import Zoho
from zohokit.events import InvalidEvent, emit, read_events, record_changed

# A stand-in for the user's own table, beside zohokit's in the same database.
_theirs = MetaData()
orders = Table("orders", _theirs, Column("id", String(16), primary_key=True))


async def _make_orders(zoho: Zoho) -> None:
    async with zoho.engine.begin() as conn:
        await conn.run_sync(_theirs.create_all)


async def test_an_event_commits_with_the_change_it_reports(zoho: Zoho, clock: ManualClock) -> None:
    await _make_orders(zoho)
    async with zoho.engine.begin() as conn:
        await conn.execute(insert(orders).values(id="o1"))
        event_id = await emit(conn, "order.placed", "acme", {"order": "o1"}, now=clock())
    [event] = await read_events(zoho.engine)
    assert event.id == event_id
    assert event_id.startswith("msg_")
    assert (event.type, event.tenant, event.data) == ("order.placed", "acme", {"order": "o1"})
    assert event.timestamp == clock()
    assert event.to_dict()["timestamp"] == "2031-03-03T09:00:00Z"


async def test_a_rolled_back_change_leaves_no_event(zoho: Zoho, clock: ManualClock) -> None:
    await _make_orders(zoho)

    async def place_then_fail() -> None:
        async with zoho.engine.begin() as conn:
            await conn.execute(insert(orders).values(id="o2"))
            await emit(conn, "order.placed", "acme", {"order": "o2"}, now=clock())
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError, match="payment declined"):
        await place_then_fail()
    assert await read_events(zoho.engine) == []
    async with zoho.engine.connect() as conn:
        assert (await conn.execute(select(orders))).all() == []


async def test_the_root_writes_an_event_alone_or_inside_a_transaction(
    zoho: Zoho, clock: ManualClock
) -> None:
    first = await zoho.emit("app.signup", "acme", {"user": 7})
    clock.advance(seconds=1)
    async with zoho.engine.begin() as conn:
        second = await zoho.emit("app.signup", "beta", {"user": 8}, session=conn)
    found = await read_events(zoho.engine)
    assert [e.id for e in found] == [first, second]
    assert [e.timestamp for e in found] == [clock() - timedelta(seconds=1), clock()]
    assert [e.id for e in await read_events(zoho.engine, tenant="beta")] == [second]


@pytest.mark.parametrize(
    ("type_", "data", "says"),
    [
        ("Booking Created", {}, "word.word"),
        ("booking", {}, "word.word"),
        ("booking.created", {"when": datetime(2031, 1, 1, tzinfo=UTC)}, "must be JSON"),
        ("booking.created", {"ratio": float("nan")}, "must be JSON"),
    ],
)
async def test_a_malformed_event_is_refused_before_anything_is_written(
    zoho: Zoho, type_: str, data: dict[str, object], says: str
) -> None:
    with pytest.raises(InvalidEvent, match=says):
        await zoho.emit(type_, "acme", data)
    assert await read_events(zoho.engine) == []


async def test_ids_are_unique_and_sort_by_time(zoho: Zoho, clock: ManualClock) -> None:
    ids = []
    async with zoho.engine.begin() as conn:
        for n in range(50):
            ids.append(await emit(conn, "app.tick", "acme", {"n": n}, now=clock()))
            clock.advance(seconds=0.01)
    assert len(set(ids)) == 50
    assert sorted(ids) == ids


async def test_record_changed_is_the_crm_event_notify_emits(zoho: Zoho, clock: ManualClock) -> None:
    modified = datetime(2031, 3, 3, 8, 59, tzinfo=UTC)
    async with zoho.engine.begin() as conn:
        await record_changed(
            conn,
            tenant="acme",
            module="Leads",
            record_id="4150868000001",
            operation="updated",
            changed_fields=["Phone", "Email"],
            modified_time=modified,
            now=clock(),
        )
    [event] = await read_events(zoho.engine, type="crm.record.changed")
    assert event.data == {
        "module": "Leads",
        "record_id": "4150868000001",
        "operation": "updated",
        "changed_fields": ["Email", "Phone"],
        "modified_time": modified.isoformat(),
        "source": "notification",
    }
    async with zoho.engine.begin() as conn:
        with pytest.raises(InvalidEvent, match="created, updated or deleted"):
            await record_changed(
                conn,
                tenant="acme",
                module="Leads",
                record_id="1",
                operation="edited",  # type: ignore[arg-type]
            )
