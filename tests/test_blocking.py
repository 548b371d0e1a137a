"""``zohokit.blocking`` as a Django or Celery process uses it: one root shared by threads.

The same behaviour tests as the async API run through it too (``both_apis`` in
tests/crm/test_records.py, tests/crm/test_seed_api.py, tests/calendar/test_service.py and
tests/scheduling/test_flow.py);
here: eight threads at once, shutdown, the misuse it refuses, and that it offers every
coroutine of the async classes (so the two cannot drift).
"""

from __future__ import annotations

import gc
import inspect
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from zohokit import Zoho, blocking
from zohokit.errors import BlockingCallError, NotFound
from zohokit.testing import EmulatorHandle
from zohokit.tokens import generate_key

#: Public coroutines of the async classes the blocking faces leave out on purpose.
NOT_OFFERED = {
    # The blocking root closes the token service with everything else.
    (blocking.Tokens, "close"),
}

DAY = date(2031, 3, 4)


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "zohokit-blocking"]


@pytest.fixture
def root(emulator_server: EmulatorHandle, tmp_path: Path) -> Iterator[blocking.Zoho]:
    """A blocking root over the emulator on loopback (real sockets), migrated."""
    with blocking.Zoho(emulator_server.zoho(f"sqlite:///{tmp_path / 'z.db'}")) as zoho:
        yield zoho


@pytest.mark.parametrize(
    "face",
    [
        blocking.Crm,
        blocking.Calendar,
        blocking.Tokens,
        blocking.Bookings,
        blocking.Notes,
        blocking.Attachments,
        blocking.Files,
        blocking.Related,
        blocking.Tags,
        blocking.Leads,
        blocking.Composite,
    ],
)
def test_every_coroutine_of_the_async_class_is_offered(face: type[blocking.Crm]) -> None:
    async_class = face.wraps
    for name, member in inspect.getmembers(async_class):
        if name.startswith("_") or (face, name) in NOT_OFFERED:
            continue
        offered = inspect.getattr_static(face, name, None)
        if inspect.isasyncgenfunction(member):
            assert isinstance(offered, blocking.iterates), f"{face.__name__}.{name}"
        elif inspect.iscoroutinefunction(member):
            assert isinstance(offered, blocking.waits), f"{face.__name__}.{name}"
        else:
            continue
        assert offered.method is member  # the async method itself, not a copy


def test_the_blocking_signatures_are_the_async_ones_without_self(root: blocking.Zoho) -> None:
    crm = root.crm()
    signature = inspect.signature(crm.list_records)
    assert list(signature.parameters)[:2] == ["module", "fields"]
    assert crm.get_record.__doc__ == blocking.Crm.wraps.get_record.__doc__


def test_eight_threads_share_one_root(emulator_server: EmulatorHandle, tmp_path: Path) -> None:
    emulator = emulator_server.emulator
    start = threading.Barrier(8)
    errors: list[BaseException] = []
    seen: dict[int, dict[str, Any]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zoho = blocking.Zoho(emulator_server.zoho(f"sqlite:///{tmp_path / 'z.db'}"))
        zoho.migrate()

        def worker(n: int) -> None:
            try:
                crm = zoho.crm()  # one per request, as a view would
                start.wait()
                token = crm.get_access_token()
                [made] = crm.insert_records(
                    "Leads", [{"Last_Name": f"Thread {n}", "Email": f"t{n}@example.com"}]
                )
                assert made.ok
                assert made.id
                crm.update_records("Leads", [{"id": made.id, "Company": f"Co {n}"}])
                record = crm.get_record("Leads", made.id, fields=["Last_Name", "Company"])
                rows = crm.coql(f"select Last_Name from Leads where Email = 't{n}@example.com'")
                names = {r["Last_Name"] for r in crm.list_records("Leads", fields=["Last_Name"])}
                cal = zoho.calendar()
                hour = 9 + n % 8
                event = cal.create_event(
                    f"Call {n}",
                    datetime.combine(DAY, time(hour), UTC),
                    datetime.combine(DAY, time(hour, 30), UTC),
                )
                slots = cal.get_available_slots(DAY, 30, timezone="UTC")
                seen[n] = {
                    "token": token,
                    "record": record,
                    "coql": [r["Last_Name"] for r in rows.data],
                    "names": names,
                    "event": event["uid"],
                    "slots": slots,
                }
            except BaseException as exc:  # reported below, with the thread that raised it
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(_loop_threads()) == 1  # eight callers, one loop
        zoho.close()
        gc.collect()  # anything left unclosed warns now, inside the block
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert _loop_threads() == []
    assert len({s["token"] for s in seen.values()}) == 1
    stats = emulator.stats.snapshot()
    # Eight threads asked for the CRM token at once: one refresh; then one for Calendar.
    assert stats["access_tokens_minted"] == 2
    assert stats["token_refresh_requests"] == 2
    for n, got in seen.items():
        assert got["record"]["Last_Name"] == f"Thread {n}"
        assert got["record"]["Company"] == f"Co {n}"
        assert got["coql"] == [f"Thread {n}"]
        assert f"Thread {n}" in got["names"]
    assert {f"Thread {n}" for n in range(8)} <= seen[0]["names"] | seen[7]["names"]
    assert len(emulator.crm.records("Leads")) == 8
    assert len({s["event"] for s in seen.values()}) == 8
    for n, got in seen.items():
        # Each thread's own event (09:00 + n hours, 30 minutes) is no longer a free slot.
        own = datetime.combine(DAY, time(9 + n % 8), UTC)
        assert own not in {slot.start_utc for slot in got["slots"]}
        assert got["slots"]  # the rest of the day is still offered


def test_errors_are_the_async_ones(root: blocking.Zoho) -> None:
    with pytest.raises(NotFound):
        root.crm().get_record("Leads", "404404")


def test_close_stops_the_loop_and_a_later_call_starts_again(root: blocking.Zoho) -> None:
    crm = root.crm()
    assert crm.get_access_token()
    leads = crm.list_records("Leads", fields=["Last_Name"])
    root.close()
    assert _loop_threads() == []
    with pytest.raises(BlockingCallError, match="closed"):
        next(leads)
    root.close()  # twice is fine
    assert root.crm().get_access_token()  # a fresh loop, the same database
    assert len(_loop_threads()) == 1


def test_a_blocking_call_from_its_own_loop_is_refused(root: blocking.Zoho) -> None:
    crm = root.crm()

    async def inside() -> str:
        return crm.get_access_token()

    with pytest.raises(BlockingCallError, match="own event loop"):
        root.run(inside())


def test_leaving_an_iterator_early_closes_the_async_one(
    root: blocking.Zoho, emulator_server: EmulatorHandle
) -> None:
    emulator_server.emulator.crm.seed(
        "Leads", [{"Last_Name": f"L{i}", "Company": "C"} for i in range(450)]
    )
    crm = root.crm()
    before = emulator_server.emulator.stats.snapshot()["crm_get_requests"]
    for i, _lead in enumerate(crm.list_records("Leads", fields=["Last_Name"], per_page=200)):
        if i == 10:
            break
    # One page was read: the iterator fetches on demand, and stops when the caller does.
    assert emulator_server.emulator.stats.snapshot()["crm_get_requests"] - before == 1


def test_a_root_dropped_unclosed_stops_its_loop(tmp_path: Path) -> None:
    zoho = blocking.Zoho(
        Zoho(database_url=f"sqlite:///{tmp_path / 'z.db'}", encryption_keys=generate_key())
    )
    zoho.migrate()
    assert len(_loop_threads()) == 1
    del zoho
    gc.collect()
    assert _loop_threads() == []


def test_an_unclosed_root_is_closed_at_interpreter_exit(tmp_path: Path) -> None:
    code = (
        "from zohokit import Zoho, blocking\n"
        "from zohokit.tokens import generate_key\n"
        f"url = 'sqlite:///{tmp_path / 'z.db'}'\n"
        "root = Zoho(database_url=url, encryption_keys=generate_key())\n"
        "zoho = blocking.Zoho(root)\n"
        "zoho.migrate()\n"
        "assert zoho.tokens.list_tokens() == []\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-W", "always::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert out.stderr == ""


def test_a_root_used_before_a_fork_is_refused_in_the_child(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "from zohokit import Zoho, blocking\n"
        "from zohokit.errors import BlockingCallError\n"
        "from zohokit.tokens import generate_key\n"
        f"url = 'sqlite:///{tmp_path / 'z.db'}'\n"
        "fresh = blocking.Zoho(Zoho(database_url=url, encryption_keys=generate_key()))\n"
        "used = blocking.Zoho(Zoho(database_url=url, encryption_keys=generate_key()))\n"
        "used.migrate()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        used.tokens.list_tokens()\n"
        "        os._exit(3)\n"
        "    except BlockingCallError as e:\n"
        "        assert 'forked' in str(e)\n"
        "    assert fresh.tokens.list_tokens() == []  # never used before: its own loop\n"
        "    fresh.close()\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print('child', os.waitstatus_to_exitcode(status))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert out.stdout.strip() == "child 0", out.stderr
