"""Server-side CPU per CRM request of the emulator, next to a bare Starlette app.

``bench/emulator.py`` measures requests per second over loopback; on a machine shared with
other work its figures swing with the load (the client, the server and everything else share
the cores). This one drives both ASGI apps directly in one process, with no client and no
socket, and counts CPU time (``time.process_time``), best of several rounds: what the
emulator's own work (routing, authentication, limits, faults, JSON) costs per request, stable
enough to compare two versions of the code on a busy machine.

Run: ``.venv/bin/python bench/emulator_cpu.py [--requests 2000] [--rounds 7]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zohokit.emulator import Emulator, EmulatorConfig, create_app

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _hello(request: Request) -> Response:
    return Response(b'{"data":[{"id":"1"}]}', media_type="application/json")


def _scope(path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8765"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
    }


async def _cpu_per_request(app: App, scope: dict[str, Any], requests: int, rounds: int) -> float:
    """Best-of-``rounds`` CPU microseconds per request; fails on any answer but 200."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(requests // 5):  # warm caches and sorted views
        await app(dict(scope), receive, send)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        best = min(best, (time.process_time() - started) / requests * 1e6)
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected answers: {sorted(set(statuses))}")
    return best


async def _run(requests: int, rounds: int) -> None:
    emulator = Emulator(
        EmulatorConfig(
            client_id="bench",
            client_secret="bench",
            refresh_token="1000.b.b",
            base_url="http://127.0.0.1:8765",
            concurrency_limit=1000,
            daily_credits=10**9,
        )
    )
    app = create_app(emulator)
    ids = emulator.crm.seed(
        "Leads", [{"Last_Name": f"Bench {i}", "Email": f"b{i}@example.com"} for i in range(100)]
    )
    grant = emulator.accounts.refresh_tokens["1000.b.b"]
    token = emulator.accounts.mint_access_token(
        grant.client_id, grant.scopes, grant.user_email, grant
    )
    auth = [(b"authorization", f"Zoho-oauthtoken {token}".encode())]
    bare = Starlette(routes=[Route("/hello", _hello)])

    cases = [
        ("bare Starlette GET (peer)", bare, _scope("/hello", b"", [])),
        ("emulator GET /crm/v8/Leads/{id}", app, _scope(f"/crm/v8/Leads/{ids[0]}", b"", auth)),
        (
            "emulator GET /crm/v8/Leads?fields=..&per_page=10",
            app,
            _scope("/crm/v8/Leads", b"fields=Last_Name,Email&per_page=10", auth),
        ),
        ("emulator GET /crm/v2/Leads?per_page=10 (all fields)", app,
         _scope("/crm/v2/Leads", b"per_page=10", auth)),
        ("emulator GET /crm/v8/org", app, _scope("/crm/v8/org", b"", auth)),
    ]  # fmt: skip
    results = [(name, await _cpu_per_request(a, s, requests, rounds)) for name, a, s in cases]
    peer = results[0][1]
    print(f"{'case (in process, CPU per request)':52} {'us':>8} {'vs bare':>8}")
    for name, cost in results:
        print(f"{name:52} {cost:8.1f} {cost / peer:7.2f}x")


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(_run(args.requests, args.rounds))


if __name__ == "__main__":
    main()
