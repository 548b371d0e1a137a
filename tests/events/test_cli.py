"""``zohokit webhooks`` as an operator runs it: add, list, send, the delivery log,
re-delivery, secret rotation, pause and removal, and the message a refused URL gets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.cli_env import cli_environment
from zohokit import Settings, Zoho
from zohokit.cli import app
from zohokit.tokens import generate_key


def _env(monkeypatch: pytest.MonkeyPatch, folder: Path, **extra: str) -> dict[str, str]:
    return cli_environment(
        monkeypatch,
        folder,
        {
            "ZOHOKIT_DATABASE_URL": f"sqlite:///{folder / 'zohokit.db'}",
            "ZOHOKIT_ENCRYPTION_KEYS": generate_key(),
            **extra,
        },
        unset=("ZOHOKIT_SANDBOX", "ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE"),
    )


def _zk(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


async def _emit() -> str:
    async with Zoho.from_settings(Settings()) as zoho:
        return await zoho.emit("booking.created", "acme", {"booking_id": "b1"})


def test_the_endpoint_and_delivery_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE="true")
    # Port 9 on loopback: nothing listens, so every attempt fails with a connect error.
    added = json.loads(_zk("webhooks", "add", "http://127.0.0.1:9/hook", "--json"))
    endpoint = added["id"]
    assert added["secret"].startswith("whsec_")
    assert endpoint in _zk("webhooks", "list")
    event_id = asyncio.run(_emit())
    assert event_id in _zk("webhooks", "events", "--tenant", "acme")

    assert "1 new deliver(ies); 0 succeeded, 1 to retry" in _zk("webhooks", "send")
    [delivery] = json.loads(_zk("webhooks", "deliveries", "--endpoint", endpoint, "--json"))
    assert (delivery["event_id"], delivery["status"], delivery["attempts"]) == (
        event_id,
        "pending",
        1,
    )
    assert delivery["last_error"].startswith("ConnectError")
    [attempt] = json.loads(_zk("webhooks", "log", delivery["id"], "--json"))
    assert attempt["status_code"] is None
    assert attempt["error"] == delivery["last_error"]
    assert "queued again" in _zk("webhooks", "redeliver", delivery["id"])

    rotated = _zk("webhooks", "rotate-secret", endpoint, "--keep-hours", "0")
    assert "whsec_" in rotated
    assert added["secret"] not in rotated
    _zk("webhooks", "disable", endpoint)
    assert "no" in _zk("webhooks", "list").split(endpoint, 1)[1].splitlines()[0]
    _zk("webhooks", "remove", endpoint)
    assert "0 endpoint(s)" in _zk("webhooks", "list")
    assert "no webhook endpoint" in _zk("webhooks", "remove", endpoint, code=1)


def test_an_internal_url_is_refused_with_the_setting_that_allows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path)
    said = _zk("webhooks", "add", "http://127.0.0.1:8000/hook", code=1)
    assert "internal address" in said
    assert "ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE" in said
    assert "whsec_" not in said
