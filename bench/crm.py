"""Bulk upsert of 10,000 Leads: zohokit against Zoho's official Python SDK.

The emulator runs here (``EmulatorServer``, 50 ms latency per CRM call, Zoho's concurrency
limit of 10). Each client runs in its own subprocess, so neither shares a GIL with the
emulator or with the other, and each is timed from its first upsert to its last answer after
the same warm-up call (one page of one Lead, which fetches the token):

- zohokit: ``ZohoCRMService.upsert_records`` with all 10,000 records (100 per call, at most 10
  calls in flight);
- the SDK: its documented upsert (``RecordOperations.upsert_records(BodyWrapper)``), 100
  records per call, in a loop, as its docs show.

The floor is 100 calls / 10 in flight x 50 ms = 0.5 s.

The cost of the fleet-wide budget (issue 14): zohokit's upsert runs ``--repeat`` times with the
budget on and as often with it off (``Zoho(budget=False)``, ``ZOHOKIT_BUDGET=false``),
alternating, each in a fresh process on a fresh database; the best of each is compared
(target: at most 10 % slower with it on).

Run: ``.venv/bin/python bench/crm.py`` (``--records N`` and ``--sdk-records N`` to change the
sizes, ``--repeat N`` for the budget's runs).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from zohokit import Zoho
from zohokit.emulator import EmulatorConfig

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
REFRESH_TOKEN = "1000.benchrefresh.token"
LATENCY_MS = float(__import__("os").environ.get("BENCH_LATENCY_MS", "50"))
CONCURRENCY = 10
BATCH = 100


def leads(count: int) -> list[dict[str, str]]:
    """The records both clients upsert (Email is the duplicate-check field)."""
    return [
        {"Last_Name": f"Lead {i}", "Company": f"Company {i % 97}", "Email": f"lead{i}@bench.test"}
        for i in range(count)
    ]


def emulator_config() -> EmulatorConfig:
    """The emulator both CRM benchmarks run against: Zoho's latency and concurrency limit."""
    return EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        latency_ms=LATENCY_MS,
        concurrency_limit=CONCURRENCY,
        daily_credits=10_000_000,
    )


def floor_seconds(records: int) -> tuple[int, float]:
    """Calls needed for ``records`` and the time they take at best: calls / in flight x latency."""
    calls = -(-records // BATCH)
    return calls, calls / CONCURRENCY * LATENCY_MS / 1000


# --- the zohokit side (runs in a subprocess) ---------------------------------------------------

#: Whether this tree's root has the budget's switch (``Zoho(budget=...)``): until the budget
#: is in, both runs are the same code and the figure says so.
HAS_BUDGET = "budget" in inspect.signature(Zoho).parameters


def budget_switch(on: bool) -> dict[str, bool]:
    """The root's keyword for the budget on or off (none before the budget exists)."""
    return {"budget": on} if HAS_BUDGET else {}


async def warm_zoho(base: str, workdir: str, *, budget: bool = True) -> Zoho:
    """A :class:`~zohokit.Zoho` root on a fresh database whose CRM service for the
    ``default`` tenant is warmed up with the SDK's own warm-up call (one page of one Lead),
    which fetches the token and opens the connection for both alike; ``budget`` turns the
    fleet-wide budget on or off. Close it with ``aclose()``."""
    from zohokit.tokens import generate_key

    zoho = Zoho(
        database_url=f"sqlite:///{workdir}/zohokit.db",
        encryption_keys=generate_key(),
        credentials={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
        accounts_url=base,
        max_in_flight=CONCURRENCY,
        **budget_switch(budget),
    )
    await zoho.migrate()
    async for _ in zoho.crm().list_records("Leads", fields=["Last_Name"], per_page=1):
        break
    return zoho


async def run_zohokit(
    base: str, count: int, workdir: str, *, budget: bool = True
) -> dict[str, object]:
    """Upsert ``count`` Leads with zohokit; return the time and the outcome."""
    zoho = await warm_zoho(base, workdir, budget=budget)
    records = leads(count)
    started, cpu = time.perf_counter(), time.process_time()
    results = await zoho.crm().upsert_records("Leads", records, duplicate_check_fields=["Email"])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await zoho.aclose()
    return {"seconds": elapsed, "cpu": cpu, "ok": sum(r.ok for r in results), "records": count}


# --- the official SDK side (runs in a subprocess) ----------------------------------------------

SDK_SCRIPT = r"""
import json, sys, time

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper, BodyWrapper, GetRecordsParam, Record, RecordOperations, SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

base, client_id, client_secret, refresh_token, workdir, count = sys.argv[1:7]
# The same records as zohokit's side (bench/crm.py: leads()).
records = [
    {"Last_Name": f"Lead {i}", "Company": f"Company {i % 97}", "Email": f"lead{i}@bench.test"}
    for i in range(int(count))
]
Initializer.initialize(
    environment=DataCenter.Environment(
        url=base, accounts_url=base + "/oauth/v2/token", file_upload_url=base
    ),
    token=OAuthToken(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token),
    store=FileStore(workdir + "/tokens.txt"),
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=workdir,
    logger=Logger.get_instance(level=Logger.Levels.ERROR, file_path=workdir + "/sdk.log"),
)
ops = RecordOperations("Leads")
warm = ParameterMap()
warm.add(GetRecordsParam.fields, "Last_Name")
warm.add(GetRecordsParam.per_page, 1)
ops.get_records(warm)  # warm-up: the SDK fetches its token here

ok = 0
started, cpu = time.perf_counter(), time.process_time()
for start in range(0, len(records), 100):
    body = BodyWrapper()
    batch = []
    for values in records[start:start + 100]:
        record = Record()
        for key, value in values.items():
            record.add_key_value(key, value)
        batch.append(record)
    body.set_data(batch)
    body.set_duplicate_check_fields(["Email"])
    answer = ops.upsert_records(body)
    wrapper = answer.get_object()
    if isinstance(wrapper, ActionWrapper):
        ok += sum(isinstance(item, SuccessResponse) for item in wrapper.get_data())
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": elapsed, "cpu": cpu, "ok": ok, "records": len(records)}))
"""


def run_sdk(base: str, count: int, workdir: str) -> dict[str, object]:
    """Run the SDK script in its own process (the SDK keeps process-global state)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            SDK_SCRIPT,
            base,
            CLIENT_ID,
            CLIENT_SECRET,
            REFRESH_TOKEN,
            workdir,
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_child(
    script: str, flag: str, base: str, count: int, workdir: str, *extra: str
) -> dict[str, object]:
    """Run a bench script's zohokit side in its own process, like the SDK's; its last output
    line is the JSON result."""
    out = subprocess.run(
        [sys.executable, script, flag, base, str(count), workdir, *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Serve the emulator, run both clients, print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument(
        "--sdk-records",
        type=int,
        default=None,
        help="upsert only this many with the SDK and extrapolate (default: all)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs with the budget on and off")
    parser.add_argument("--zohokit-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zohokit_child:
        base, count, workdir, budget = args.zohokit_child
        result = asyncio.run(run_zohokit(base, int(count), workdir, budget=budget == "on"))
        print(json.dumps(result))
        return

    from zohokit.emulator import EmulatorServer

    config = emulator_config()
    count = args.records
    sdk_count = args.sdk_records or count
    calls, floor = floor_seconds(count)
    with EmulatorServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        emu = server.emulator
        (Path(tmp) / "z").mkdir()
        (Path(tmp) / "s").mkdir()
        cpu_before = time.process_time()
        ours = run_child(__file__, "--zohokit-child", server.url, count, str(Path(tmp) / "z"), "on")
        emulator_cpu = time.process_time() - cpu_before
        stats = emu.stats.snapshot()
        stored = len(emu.crm.records("Leads"))
        emu.reset()
        budget_runs = budget_cost(server.url, count, Path(tmp), args.repeat, emu.reset)
        sdk = run_sdk(server.url, sdk_count, str(Path(tmp) / "s"))
        sdk_stored = len(emu.crm.records("Leads"))

    ours_s = float(ours["seconds"])  # type: ignore[arg-type]
    sdk_s = float(sdk["seconds"])  # type: ignore[arg-type]
    sdk_full = sdk_s * count / sdk_count
    print(
        f"CRM bulk upsert of {count:,} Leads, {LATENCY_MS:.0f} ms emulated latency, "
        f"concurrency limit {CONCURRENCY}"
    )
    print(f"  floor ({calls} calls / {CONCURRENCY} in flight x {LATENCY_MS:.0f} ms): {floor:.3f} s")
    print(
        f"  zohokit:      {ours_s:8.3f} s  ({ours['ok']:,}/{count:,} ok, {stored:,} stored, "
        f"max in flight {stats['max_concurrency_seen']}, 429s {stats['rejected_429']})"
    )
    if sdk_count == count:
        print(
            f"  official SDK: {sdk_s:8.3f} s  ({sdk['ok']:,}/{count:,} ok, {sdk_stored:,} stored)"
        )
    else:
        print(
            f"  official SDK: {sdk_s:8.3f} s for {sdk_count:,} records "
            f"({sdk['ok']:,} ok); EXTRAPOLATED to {count:,}: {sdk_full:.3f} s"
        )
    print(
        f"  CPU during zohokit's run: client {float(ours['cpu']):.3f} s (whole upsert), "  # type: ignore[arg-type]
        f"emulator {emulator_cpu:.3f} s (incl. its token call and start-up of the child)"
    )
    print(f"  zohokit / floor: {ours_s / floor:.2f}x  (target <= 1.5x)")
    print(
        f"  SDK / zohokit:   {sdk_full / ours_s:.1f}x faster  (target >= 5x)"
        + ("" if sdk_count == count else "  [SDK time extrapolated]")
    )
    print_budget_cost(budget_runs)


def budget_cost(
    base: str, count: int, folder: Path, repeat: int, reset: Callable[[], None]
) -> dict[str, list[float]]:
    """The upsert's seconds (``on``, ``off``) and client CPU seconds (``on cpu``,
    ``off cpu``) with the budget on and off, ``repeat`` runs each, alternating (so a busy
    moment of the machine hits both alike); ``reset`` empties the emulator."""
    runs: dict[str, list[float]] = {"on": [], "off": [], "on cpu": [], "off cpu": []}
    for n in range(repeat):
        for switch in ("on", "off"):
            workdir = folder / f"budget-{switch}-{n}"
            workdir.mkdir()
            result = run_child(__file__, "--zohokit-child", base, count, str(workdir), switch)
            if result["ok"] != count:
                raise SystemExit(f"budget {switch}: {result['ok']}/{count} upserted")
            runs[switch].append(float(result["seconds"]))  # type: ignore[arg-type]
            runs[f"{switch} cpu"].append(float(result["cpu"]))  # type: ignore[arg-type]
            reset()
    return runs


def print_budget_cost(runs: dict[str, list[float]]) -> None:
    """The budget's cost: best run on against best run off."""
    on, off = min(runs["on"]), min(runs["off"])
    print(
        f"  budget on:    {on:8.3f} s  budget off: {off:8.3f} s  (best of {len(runs['on'])}; "
        f"on {[round(x, 3) for x in runs['on']]}, off {[round(x, 3) for x in runs['off']]})"
    )
    cpu_on, cpu_off = min(runs["on cpu"]), min(runs["off cpu"])
    note = "" if HAS_BUDGET else "  [no budget in this tree: both runs are the same code]"
    print(f"  budget on / off: {on / off:.2f}x  (target <= 1.10x){note}")
    print(
        f"  client CPU of the upsert: on {cpu_on:.3f} s, off {cpu_off:.3f} s, "
        f"{cpu_on / cpu_off:.2f}x  (the steadier figure on a shared machine)"
    )


if __name__ == "__main__":
    main()
