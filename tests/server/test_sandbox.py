"""Sandbox mode across a restart: tenants connected in an earlier run keep working."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.fixtures.processes import zohokit_process
from tests.server.support import ServiceThread, free_socket
from zohokit.db import create_engine
from zohokit.server import create_app
from zohokit.server._sandbox import build_sandbox
from zohokit.tokens import Cipher, OAuthTokenService


def serve(data_dir: Path) -> tuple[ServiceThread, str]:
    """The sandbox on a fresh loopback port (a new emulator, the same data folder)."""
    sock = free_socket()
    host, port = sock.getsockname()[:2]
    box = build_sandbox(data_dir, f"http://{host}:{port}")
    app = create_app(box.settings, transport=box.transport, emulator=box.emulator, setup=box.setup)
    return ServiceThread(app, sock), box.api_key


async def test_a_tenant_connected_before_a_restart_still_refreshes(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    first, api_key = serve(data_dir)
    headers = {"X-API-Key": api_key}
    with first as service:
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as http:
            created = await http.post("/api/tenants", json={"tenant": "acme"})
            assert created.status_code == 201
            # The browser's connect flow: service -> emulator consent -> service callback.
            connected = await http.get(
                "/connect/zoho",
                params={"tenant": "acme", "provider": "zoho_crm"},
                follow_redirects=True,
            )
            assert connected.status_code == 200, connected.text

    second, _ = serve(data_dir)
    with second as service:
        # Refresh acme's token the way any other process of the fleet would: through the
        # database, at the sandbox's accounts server, which is a new emulator now.
        key = json.loads((data_dir / "sandbox.json").read_text())["encryption_key"]
        tokens = OAuthTokenService(
            create_engine(f"sqlite:///{data_dir / 'zohokit.db'}"),
            cipher=Cipher.from_spec(key),
            accounts_url_override=service.url,
        )
        async with tokens:
            refreshed = await tokens.force_refresh("acme", "zoho_crm")
            status = await tokens.status("acme", "zoho_crm")
        assert status is not None
        assert status.status == "active"
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"{service.url}/crm/v8/org", headers={"Authorization": refreshed.authorization}
            )
        assert answer.status_code == 200


# --- make run's sandbox as a process, killed and started again -----------------------------


@contextmanager
def sandbox_process(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``zohokit serve --sandbox`` (what ``make run`` starts) on a free port, ready to serve;
    yields the process, its URL and its API key."""
    args = ("serve", "--sandbox", "--port", "0", "--data-dir", str(data_dir))
    announce = {"url": r"sandbox on (http://\S+)", "key": r"API key\s+(\S+)"}
    with zohokit_process(*args, "--log-level", "warning", announce=announce, ready="/readyz") as (
        proc,
        found,
    ):
        yield proc, found["url"], found["key"]


def zoho_side(url: str, data_dir: Path, day: date) -> dict[str, Any]:
    """What the sandbox's Zoho holds for the demo tenant: CRM contacts and calendar events."""
    values = json.loads((data_dir / "sandbox.json").read_text())
    token = httpx.post(
        f"{url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
            "refresh_token": values["refresh_token"],
        },
    ).json()["access_token"]
    auth = {"Authorization": f"Zoho-oauthtoken {token}"}
    contacts = httpx.get(f"{url}/crm/v8/Contacts", params={"fields": "Email"}, headers=auth)
    span = json.dumps({"start": f"{day:%Y%m%d}", "end": f"{day + timedelta(days=1):%Y%m%d}"})
    events = httpx.get(
        f"{url}/api/v1/calendars/primary/events", params={"range": span}, headers=auth
    )
    return {
        "contacts": [(c["id"], c["Email"]) for c in contacts.json().get("data", [])],
        "events": [(e["uid"], e["title"]) for e in events.json()["events"]],
    }


def test_make_run_restarted_keeps_the_demo_tenants_records_and_events(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    today = datetime.now(UTC).date()
    tuesday = today + timedelta(days=7 + (1 - today.weekday()) % 7)
    start = datetime.combine(tuesday, clock_time(10), ZoneInfo("Europe/Berlin")).isoformat()
    with sandbox_process(data_dir) as (proc, url, api_key):
        booked = httpx.post(
            f"{url}/api/tenants/demo/bookings",
            json={
                "customer": {"name": "Bo Lee", "email": "bo@example.com"},
                "start": start,
                "title": "Intro call",
            },
            headers={"X-API-Key": api_key, "Idempotency-Key": "restart-1"},
            timeout=10,
        )
        assert booked.status_code == 201, booked.text
        before = zoho_side(url, data_dir, tuesday)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert before["contacts"] == [(booked.json()["crm_record_id"], "bo@example.com")]
    assert [title for _, title in before["events"]] == ["Intro call"]

    with sandbox_process(data_dir) as (_, url, api_key):
        assert zoho_side(url, data_dir, tuesday) == before
        # And the service still sees the booking, with its slot taken.
        slots = httpx.get(
            f"{url}/api/tenants/demo/availability",
            params={"start": tuesday.isoformat(), "end": tuesday.isoformat()},
            headers={"X-API-Key": api_key},
            timeout=10,
        )
        assert slots.status_code == 200, slots.text
        offered = [s["local_start"] for s in slots.json()["slots"]]
        assert start not in offered
        assert start.replace("T10:00", "T10:30") in offered  # the next slot is still free


async def test_the_sandbox_emulator_answers_only_loopback_hosts(tmp_path: Path) -> None:
    box = build_sandbox(tmp_path / "sandbox", "http://127.0.0.1:8000")
    app = create_app(box.settings, transport=box.transport, emulator=box.emulator, setup=box.setup)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as http,
    ):
        # A page on a rebound name reaches 127.0.0.1 with its own name in Host.
        rebound = await http.get("/_emulator/config", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403
        local = await http.get("/_emulator/config")
        assert local.status_code == 200
        secret = box.emulator.config.client_secret
        refresh = box.emulator.config.refresh_token
        assert secret
        assert refresh
        assert secret not in local.text
        assert refresh not in local.text
        # The consent page redirects only to the service's own callback.
        elsewhere = await http.get(
            "/oauth/v2/auth",
            params={
                "client_id": box.emulator.config.client_id,
                "response_type": "code",
                "redirect_uri": "https://attacker.example/cb",
            },
        )
        assert elsewhere.status_code == 400
