"""Sync push of 10,000 rows: zohokit's sync engine against the floor and Zoho's official SDK.

The emulator runs here (``EmulatorServer``, 50 ms latency per CRM call, Zoho's concurrency
limit of 10). Each client runs in its own subprocess and is timed after the same warm-up call
(one page of one Lead, which fetches the token):

- zohokit: ``zohokit.sync.push`` of 10,000 Leads rows (field checks and coercion, hashing,
  ledger reads and writes on a SQLite file, upserts of 100 at most 10 in flight), then the
  same file again (no change: no call) and with 100 rows changed (one call). The module's
  field metadata is read in the warm-up, as a worker that pushed before holds it (a cold push
  makes that one more call first). The first push runs ``--repeat`` times (default 3), each
  on a fresh ledger, and the fastest is reported with the CPU time of that same run; the
  child then upserts the same rows with ``ZohoCRMService.upsert_records`` alone, so the
  engine's own CPU (push minus request path) is printed too;
- the official SDK: a plain loop of its documented upsert, 100 records per call (the same
  script as ``bench/crm.py``), which keeps no ledger at all.

The floor is 100 calls / 10 in flight x 50 ms = 0.5 s. A push is batch work: the fleet-wide
budget lets it hold 8 of the org's 10 heavy slots (``docs/budget.md``, lanes: 2 stay free for
bookings), so its own floor is 100 / 8 x 50 ms = 0.625 s, printed beside the first (the bare
upserts run in the interactive lane, at 10). Run: ``.venv/bin/python bench/sync.py``
(``--rows N``; ``--sdk-rows N`` times the SDK on fewer rows and extrapolates, labelled).
``--bulk`` runs the Bulk Read / Bulk Write figures instead (see ``bench/_bulk.py``).
Client CPU is the push's process CPU time (``time.process_time``): less sensitive to a busy
machine than the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from crm import (
    CONCURRENCY,
    LATENCY_MS,
    emulator_config,
    floor_seconds,
    leads,
    run_child,
    run_sdk,
    warm_zoho,
)
from zohokit.budget import HEAVY_CONCURRENCY, BudgetConfig
from zohokit.budget._slots import lane_cap

#: The heavy slots batch work may hold of an org (the push's upserts of 100 are heavy).
BATCH_SLOTS = lane_cap(HEAVY_CONCURRENCY, "batch", BudgetConfig().batch_share)


async def run_sync(base: str, count: int, workdir: str, repeat: int) -> dict[str, object]:
    """Push ``count`` rows: new (``repeat`` times, fresh ledgers), unchanged, 100 changed;
    then the bare upsert of the same rows; return the timings."""
    from zohokit.sync import Ledger, SyncMapping, push

    zoho = await warm_zoho(base, workdir)
    crm = zoho.crm()
    await crm.metadata.module("Leads")  # what a worker that pushed before already holds
    mapping = SyncMapping.from_dict({"module": "Leads", "key": "Email"})
    rows = leads(count)
    timings: dict[str, object] = {}

    async def timed(ledger: Ledger) -> dict[str, object]:
        started, cpu = time.perf_counter(), time.process_time()
        report = await push(crm, ledger, rows, mapping)
        return {
            "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu,
            "calls": report.api_calls,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "failed": report.failed + report.invalid,
        }

    firsts = []
    for attempt in range(repeat):
        ledger = await Ledger.open(f"sqlite:///{workdir}/sync{attempt}.db")
        firsts.append(await timed(ledger))
        if attempt < repeat - 1:
            await ledger.close()
    timings["first"] = min(firsts, key=lambda t: float(t["seconds"]))  # type: ignore[arg-type]
    timings["first_all"] = [round(float(t["seconds"]), 3) for t in firsts]  # type: ignore[arg-type]
    timings["unchanged"] = await timed(ledger)
    for i in range(0, count, max(1, count // 100))[:100]:
        rows[i] = {**rows[i], "Company": "Changed Ltd"}
    timings["changed"] = await timed(ledger)
    await ledger.close()
    started, cpu = time.perf_counter(), time.process_time()
    await crm.upsert_records("Leads", rows, duplicate_check_fields=["Email"])
    timings["bare"] = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}
    await zoho.aclose()
    return timings


def main() -> None:
    """Serve the emulator, run both clients, print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sdk-rows", type=int, default=None, help="SDK slice to extrapolate")
    parser.add_argument("--repeat", type=int, default=3, help="first pushes; the best counts")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--bulk", action="store_true", help="250,000-record pull, 60,000-row push")
    args = parser.parse_args()
    if args.bulk:
        from _bulk import run_bulk_bench

        run_bulk_bench()
        return
    if args.child:
        base, count, workdir, repeat = args.child
        print(json.dumps(asyncio.run(run_sync(base, int(count), workdir, int(repeat)))))
        return

    from zohokit.emulator import EmulatorServer

    config = emulator_config()
    count = args.rows
    sdk_count = args.sdk_rows or count
    calls, floor = floor_seconds(count)
    with EmulatorServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        emu = server.emulator
        (Path(tmp) / "z").mkdir()
        (Path(tmp) / "s").mkdir()
        ours = run_child(
            __file__, "--child", server.url, count, str(Path(tmp) / "z"), str(args.repeat)
        )
        stats = emu.stats.snapshot()
        stored = len(emu.crm.records("Leads"))
        emu.reset()
        sdk = run_sdk(server.url, sdk_count, str(Path(tmp) / "s"))

    first, unchanged, changed, bare = (ours[k] for k in ("first", "unchanged", "changed", "bare"))
    assert isinstance(first, dict)
    assert isinstance(unchanged, dict)
    assert isinstance(changed, dict)
    assert isinstance(bare, dict)
    ours_s, ours_cpu = float(first["seconds"]), float(first["cpu"])
    bare_cpu = float(bare["cpu"])
    sdk_s = float(sdk["seconds"])  # type: ignore[arg-type]
    sdk_cpu = float(sdk["cpu"])  # type: ignore[arg-type]
    sdk_full, sdk_cpu_full = sdk_s * count / sdk_count, sdk_cpu * count / sdk_count
    per = f"per {count:,} rows"
    print(
        f"Sync push of {count:,} Leads rows, {LATENCY_MS:.0f} ms emulated latency, "
        f"concurrency limit {CONCURRENCY}"
    )
    batch_floor = calls / BATCH_SLOTS * LATENCY_MS / 1000
    print(f"  floor ({calls} calls / {CONCURRENCY} in flight x {LATENCY_MS:.0f} ms): {floor:.3f} s")
    print(
        f"  batch work's floor ({calls} calls / the {BATCH_SLOTS} slots the budget lets a push "
        f"hold x {LATENCY_MS:.0f} ms): {batch_floor:.3f} s"
    )
    print(
        f"  zohokit sync push:  {ours_s:8.3f} s  "
        f"({int(first['created']) + int(first['updated']):,} upserted, "
        f"{first['failed']} failed, {first['calls']} calls, {stored:,} stored, "
        f"max in flight {stats['max_concurrency_seen']} over all runs, "
        f"429s {stats['rejected_429']}; "
        f"best of {ours['first_all']})"
    )
    if sdk_count == count:
        print(f"  official SDK loop:  {sdk_s:8.3f} s  ({sdk['ok']:,}/{count:,} ok, no ledger)")
    else:
        print(
            f"  official SDK loop:  {sdk_s:8.3f} s for {sdk_count:,} rows ({sdk['ok']:,} ok); "
            f"EXTRAPOLATED to {count:,}: {sdk_full:.3f} s"
        )
    print(
        f"  same file again:    {float(unchanged['seconds']):8.3f} s  "
        f"({unchanged['unchanged']:,} unchanged, {unchanged['calls']} calls)"
    )
    print(
        f"  100 rows changed:   {float(changed['seconds']):8.3f} s  "
        f"({changed['updated']} updated, {changed['calls']} call)"
    )
    print(f"  client CPU {per} (process CPU time of the same runs):")
    print(f"    zohokit sync push:          {ours_cpu:6.3f} s")
    print(f"    of which the request path:  {bare_cpu:6.3f} s  (the same upserts, bare)")
    print(f"    the sync engine's own:      {ours_cpu - bare_cpu:6.3f} s  (target <= 0.2 s)")
    print(
        f"    official SDK loop:          {sdk_cpu_full:6.3f} s"
        + ("" if sdk_count == count else "  [extrapolated]")
    )
    bare_s = float(bare["seconds"])
    print(
        f"  the same upserts, bare (no sync engine), same process: {bare_s:.3f} s "
        f"({bare_s / floor:.2f}x the floor: what this machine allows right now)"
    )
    print(
        f"  zohokit / floor:    {ours_s / floor:.2f}x  (target <= 1.15x); "
        f"/ batch work's floor: {ours_s / batch_floor:.2f}x"
    )
    print(
        f"  SDK loop / zohokit: {sdk_full / ours_s:.1f}x"
        + ("" if sdk_count == count else "  [SDK time extrapolated]")
    )


if __name__ == "__main__":
    main()
