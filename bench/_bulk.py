"""``bench/sync.py --bulk``: the issue's full-scale bulk figures, at 50 ms emulated latency.

- Pull of 250,000 Leads, first full read: through Bulk Read (``pull(bulk_threshold=...)``)
  and through the records API's pages (``bulk_threshold=None``), each into its own ledger.
  The two change streams are compared field by field (lookups by id: Bulk Read's CSV holds
  only the id), and the emulator's credits for each path are printed, with the times.
- Push of 60,000 Contacts rows through Bulk Write: per-row results (3 rows Zoho rejects),
  a second push (no call), then a push killed during its second job and rerun on a fresh
  ledger: records and duplicates counted.

The emulator runs its jobs on its own clock in real time (queued after 1 s, started after
2 s, 50,000 records a second); the client waits with the default backoff (2 s, doubling).
Real page_token paging stops at 100,000 records (``PAGINATION_LIMIT_EXCEEDED``); the
emulator's limit is raised here so the paging path can be measured at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

PULL_RECORDS = 250_000
PUSH_ROWS = 60_000


def _lead(n: int) -> dict[str, Any]:
    return {
        "Last_Name": f"Last {n}",
        "First_Name": f"First {n}",
        "Email": f"lead{n:07d}@example.com",
        "Company": f"Company {n % 997}",
        "No_of_Employees": n % 5000,
        "Annual_Revenue": n * 1.5,
        "Email_Opt_Out": n % 7 == 0,
        "Lead_Status": "Contacted" if n % 2 else None,
        "City": f"City {n % 101}",
    }


def _id_only(record: dict[str, Any] | None) -> dict[str, Any]:
    return {k: {"id": v["id"]} if isinstance(v, dict) else v for k, v in (record or {}).items()}


class _Killed(BaseException):
    """The push process dying mid-job."""


async def _pull_both(base: str, emu: Any, workdir: str) -> dict[str, Any]:
    from crm import warm_zoho
    from zohokit.sync import Change, Ledger, pull

    zoho = await warm_zoho(base, workdir)
    crm = zoho.crm()
    fields = [*_lead(0), "Owner", "Created_Time", "Modified_Time"]
    out: dict[str, Any] = {}
    streams: dict[str, list[Change]] = {}
    for name, threshold in (("bulk", 1), ("paging", None)):
        ledger = await Ledger.open(f"sqlite:///{workdir}/{name}.db")
        changes: list[Change] = []
        credits = emu.stats.counts["credits_used"]
        started = time.perf_counter()
        report = await pull(
            crm,
            ledger,
            "Leads",
            fields=fields,
            on_change=changes.append,
            deletions=False,
            bulk_threshold=threshold,
        )
        out[name] = {
            "seconds": time.perf_counter() - started,
            "credits": emu.stats.counts["credits_used"] - credits,
            "calls": report.api_calls,
            "records": len(changes),
        }
        streams[name] = changes
        await ledger.close()
    paged = {c.id: (c.op, c.time, _id_only(c.record)) for c in streams["paging"]}
    bulked = {c.id: (c.op, c.time, c.record) for c in streams["bulk"]}
    out["same"] = paged == bulked
    await zoho.aclose()
    return out


async def _push_all(base: str, emu: Any, workdir: str, reset: Any) -> dict[str, Any]:
    from crm import warm_zoho
    from zohokit.crm import BulkPolicy
    from zohokit.sync import Ledger, SyncMapping, push

    zoho = await warm_zoho(base, workdir)
    crm = zoho.crm()
    mapping = SyncMapping.from_dict({"module": "Contacts", "key": "Email"})
    rows = [
        {"Email": f"c{n:07d}@example.com", "Last_Name": f"Last {n}", "First_Name": f"F{n}"}
        for n in range(PUSH_ROWS)
    ]
    for n in (11, 30_011, 59_999):
        rows[n] = {**rows[n], "Last_Name": ""}
    out: dict[str, Any] = {}
    ledger = await Ledger.open(f"sqlite:///{workdir}/push.db")
    credits, started = emu.stats.counts["credits_used"], time.perf_counter()
    first = await push(crm, ledger, rows, mapping, bulk_threshold=1_000)
    out["first"] = {
        "seconds": time.perf_counter() - started,
        "credits": emu.stats.counts["credits_used"] - credits,
        "calls": first.api_calls,
        "synced": first.created + first.updated,
        "failed": {code: g.count for code, g in first.errors.items()},
    }
    # The same rows again, less the 3 Zoho rejected (a failed row is retried by every run,
    # up to its attempts): nothing changed, so nothing is sent.
    kept = [r for n, r in enumerate(rows) if n not in (11, 30_011, 59_999)]
    again = await push(crm, ledger, kept, mapping, bulk_threshold=1_000)
    out["again"] = {"calls": again.api_calls, "unchanged": again.unchanged}
    await ledger.close()

    reset()
    good = [{**r, "Last_Name": r["Last_Name"] or "Fixed"} for r in rows]
    ledger = await Ledger.open(f"sqlite:///{workdir}/killed.db")
    jobs = emu.crm.bulk.jobs

    async def dying_sleep(seconds: float) -> None:
        if sum(1 for j in jobs.values() if j.kind == "write") >= 2:
            raise _Killed
        await asyncio.sleep(seconds)

    with contextlib.suppress(_Killed):  # the process dies while waiting for its 2nd job
        policy = BulkPolicy(sleep=dying_sleep)
        await push(crm, ledger, good, mapping, bulk_threshold=1_000, bulk_policy=policy)
    rerun = await push(crm, ledger, good, mapping, bulk_threshold=1_000)
    await asyncio.sleep(0)
    emails = Counter(r["Email"] for r in emu.crm.records("Contacts"))
    out["killed"] = {
        "records": len(emails),
        "duplicates": sum(n - 1 for n in emails.values()),
        "rerun_jobs": sum(1 for j in jobs.values() if j.kind == "write"),
        "rerun_unchanged": rerun.unchanged,
    }
    await ledger.close()
    await zoho.aclose()
    return out


def run_bulk_bench() -> None:
    """Serve the emulator, run both bulk scenarios, print the figures."""
    from crm import LATENCY_MS, emulator_config
    from zohokit.emulator import EmulatorServer

    with EmulatorServer(emulator_config()) as server, tempfile.TemporaryDirectory() as tmp:
        emu = server.emulator
        emu.crm.page_token_limit = 10**7  # real Zoho: 100,000
        started = time.perf_counter()
        emu.crm.seed("Leads", [_lead(n) for n in range(PULL_RECORDS)])
        seeded = time.perf_counter() - started

        def reset_crm() -> None:
            state = emu.crm.state("Contacts")
            for record_id in list(state.records):
                emu.crm.remove(state, record_id, emu.crm.api_user())
            emu.crm.bulk.jobs.clear()

        (Path(tmp) / "pull").mkdir()
        (Path(tmp) / "push").mkdir()
        pulled = asyncio.run(_pull_both(server.url, emu, str(Path(tmp) / "pull")))
        pushed = asyncio.run(_push_all(server.url, emu, str(Path(tmp) / "push"), reset_crm))

    bulk, paging = pulled["bulk"], pulled["paging"]
    print(f"Bulk Read / Bulk Write at {LATENCY_MS:.0f} ms emulated latency")
    print(f"  (seeded {PULL_RECORDS:,} Leads in {seeded:.1f} s)")
    print(f"  first pull of {PULL_RECORDS:,} Leads:")
    print(
        f"    Bulk Read:     {bulk['seconds']:7.2f} s  {bulk['credits']:5} credits  "
        f"{bulk['calls']:5} calls  {bulk['records']:,} records"
    )
    print(
        f"    records API:   {paging['seconds']:7.2f} s  {paging['credits']:5} credits  "
        f"{paging['calls']:5} calls  {paging['records']:,} records"
    )
    print(
        f"    same records, field by field: {pulled['same']}; credits bulk / paging = "
        f"1/{paging['credits'] / bulk['credits']:.1f} (target 1/20)"
    )
    first, again, killed = pushed["first"], pushed["again"], pushed["killed"]
    print(f"  push of {PUSH_ROWS:,} Contacts rows through Bulk Write:")
    print(
        f"    first push:    {first['seconds']:7.2f} s  {first['credits']:5} credits  "
        f"{first['calls']:5} calls  {first['synced']:,} synced, failed {first['failed']}"
    )
    print(
        f"    second push:   {again['calls']} calls, {again['unchanged']:,} unchanged "
        "(the same rows, less the 3 rejected)"
    )
    print(
        f"    killed in its 2nd job, rerun: {killed['records']:,} records, "
        f"{killed['duplicates']} duplicates ({killed['rerun_jobs']} jobs in all, "
        f"{killed['rerun_unchanged']:,} rows settled from the killed run's jobs)"
    )
