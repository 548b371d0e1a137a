"""Sandbox mode across a restart: tenants connected in an earlier run keep working."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

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
