"""Helpers for the service tests: settings, running the app in process or over loopback,
and walking the connect flow the way a browser does."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from tests.fixtures.clock import ManualClock
from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.db import create_engine
from zohokit.server import ServerSettings, create_app
from zohokit.server._sandbox import Sandbox, build_sandbox
from zohokit.tokens import Cipher, OAuthTokenService, generate_key

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

GLOBAL_KEY = "global-key-0123456789abcdef"
ACME_KEY = "acme-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"
SERVICE_URL = "http://service.test"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settings_for(tmp_path: Path, db_url: str | None = None, **extra: object) -> ServerSettings:
    """Settings of a service whose Zoho is the emulator at ``http://emulator.test``."""
    values: dict[str, object] = {
        "zohokit_data_dir": tmp_path,
        "zohokit_database_url": db_url or f"sqlite:///{tmp_path / 'service.db'}",
        "zohokit_encryption_keys": SecretStr(generate_key()),
        "zohokit_api_keys": SecretStr(f"{GLOBAL_KEY},acme:{ACME_KEY},other:{OTHER_KEY}"),
        "zohokit_session_secret": SecretStr("test-session-secret"),
        "zohokit_public_url": SERVICE_URL,
        "zoho_accounts_url": "http://emulator.test",
        "zoho_client_id": CLIENT_ID,
        "zoho_client_secret": SecretStr(CLIENT_SECRET),
    }
    values.update(extra)
    return ServerSettings(_env_file=None, **values)  # type: ignore[call-arg]


def key(value: str) -> dict[str, str]:
    """The header carrying an API key."""
    return {"X-API-Key": value}


async def start_connect(client: httpx.AsyncClient, tenant: str, provider: str) -> str:
    """``GET /connect/zoho`` with the global key; returns Zoho's consent URL."""
    answer = await client.get(
        "/connect/zoho", params={"tenant": tenant, "provider": provider}, headers=key(GLOBAL_KEY)
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def consent(emu_client: httpx.AsyncClient, consent_url: str) -> str:
    """What the user's browser does at Zoho: open the consent URL; returns the callback URL."""
    parts = urlsplit(consent_url)
    answer = await emu_client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def callback(client: httpx.AsyncClient, callback_url: str) -> httpx.Response:
    """Follow Zoho's redirect back to the service."""
    parts = urlsplit(callback_url)
    return await client.get(f"{parts.path}?{parts.query}")


async def connect(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, tenant: str, provider: str
) -> httpx.Response:
    """The whole connect flow; returns the callback's answer."""
    return await callback(
        client, await consent(emu_client, await start_connect(client, tenant, provider))
    )


def free_socket() -> socket.socket:
    """A listening loopback socket on a free port."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class ServiceThread:
    """The service served by uvicorn over loopback from a background thread (lifespan on)."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])), daemon=True
        )

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the service did not start")
            threading.Event().wait(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


#: The service's clock in tests: the shared test clock, starting at the real time.
Clock = ManualClock


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def login(client: httpx.AsyncClient, api_key: str) -> str:
    """Log in; returns the dashboard's CSRF token."""
    form = await client.get("/admin")
    answer = await client.post(
        "/admin/login", data={"api_key": api_key, "csrf_token": csrf_token(form.text)}
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/admin")
    assert "Log out" in page.text
    return csrf_token(page.text)


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """A real ``zohokit serve`` process on a free port with ``env``; returns it and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zohokit", "serve", "--port", "0", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"zohokit serve said {line!r}: {proc.communicate()[1]}")
    return proc, found.group(0)


def stop_serve(proc: subprocess.Popen[str], seconds: float = 20) -> None:
    """End a process :func:`start_serve` started: SIGTERM, then SIGKILL after ``seconds``."""
    proc.terminate()
    try:
        proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def wait_ready(url: str, seconds: float = 60) -> None:
    """Wait until the service at ``url`` answers ``/readyz`` (a process just started)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


async def grant_test_tokens(env: dict[str, str], tenant: str, accounts_server: str) -> None:
    """Store the emulator's test refresh token for ``tenant``'s CRM in the database of
    ``env`` (``ZOHOKIT_DATABASE_URL``, ``ZOHOKIT_ENCRYPTION_KEYS``), as an operator imports
    it; no access token yet."""
    tokens = OAuthTokenService(
        create_engine(env["ZOHOKIT_DATABASE_URL"]),
        cipher=Cipher.from_spec(env["ZOHOKIT_ENCRYPTION_KEYS"]),
    )
    async with tokens:
        await tokens.store_grant(
            tenant,
            "zoho_crm",
            refresh_token=REFRESH_TOKEN,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            accounts_server=accounts_server,
            source="admin",
        )


@contextmanager
def sandbox_served(tmp_path: Path) -> Iterator[tuple[Sandbox, ServiceThread]]:
    """The sandbox (service, in-process emulator, demo tenant) served over loopback."""
    sock = free_socket()
    host, port = sock.getsockname()[:2]
    box = build_sandbox(tmp_path / "sandbox", f"http://{host}:{port}")
    app = create_app(box.settings, transport=box.transport, emulator=box.emulator, setup=box.setup)
    ARTIFACTS.mkdir(exist_ok=True)
    with ServiceThread(app, sock) as service:
        yield box, service


def need_chromium() -> None:
    """Skip the test on a machine without Chromium (before it starts anything else)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed: apt-get install chromium")


@dataclass
class Browser:
    """A headless Chromium of :func:`chromium`, and what it asked of other origins."""

    context: BrowserContext
    #: Every request a page made to another origin than ``only``'s (refused).
    outside: list[str] = field(default_factory=list)


@contextmanager
def chromium(profile: Path, *, only: str | None = None, **options: Any) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile in ``profile`` (skipped without Chromium),
    closed afterwards; ``options`` go to Playwright's ``launch_persistent_context``. With
    ``only`` (a service's URL), every request elsewhere is refused and listed in
    :attr:`Browser.outside`: the machines that run zohokit may have no internet."""
    need_chromium()
    from playwright.sync_api import Route, sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True, **options
        )
        browser = Browser(context)

        def only_ours(route: Route) -> None:
            if only is None or route.request.url.startswith(only):
                route.continue_()
            else:
                browser.outside.append(route.request.url)
                route.abort()

        try:
            if only is not None:
                context.route("**/*", only_ours)
            yield browser
        finally:
            context.close()


def tenant_actions(tenant: str, delivery: str) -> list[tuple[str, dict[str, str]]]:
    """Every action of the console's tenant page for ``tenant`` (re-delivering ``delivery``):
    its path under ``/admin/tenants/`` and its form, all but the CSRF token."""
    return [
        (f"{tenant}/refresh", {"provider": "zoho_crm"}),
        (f"{tenant}/reconnect-link", {"provider": "zoho_crm"}),
        (f"{tenant}/disconnect", {"provider": "zoho_crm"}),
        (f"{tenant}/delete", {"confirm": tenant}),
        (f"{tenant}/deliveries/{delivery}/redeliver", {}),
    ]


async def grant_revoked_elsewhere(app: FastAPI, tenant: str, provider: str) -> None:
    """Store for ``tenant``'s ``provider`` a refresh token the emulated Zoho does not know (as
    one revoked from Zoho's side): its next refresh makes the tenant ``needs_reauth``."""
    await app.state.zohokit.zoho.tokens.store_grant(
        tenant,
        provider,
        refresh_token="1000.revoked.elsewhere",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        accounts_server="http://emulator.test",
    )
