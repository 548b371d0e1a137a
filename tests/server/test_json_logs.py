"""``zohokit serve`` with ``ZOHOKIT_LOG_FORMAT=json``: every line on stderr is JSON (uvicorn's
own included), the Zoho calls a request makes are logged with the tenant and Zoho's request
id, and no token, key or secret of the sandbox appears in any of them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.fixtures.processes import zohokit_process


def test_serve_logs_json_lines_with_the_tenant_and_no_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env["ZOHOKIT_LOG_FORMAT"] = "json"
    announce = {"url": r"sandbox on (http://\S+)", "key": r"API key\s+(\S+)"}
    args = ("serve", "--sandbox", "--port", "0", "--data-dir", str(data_dir))
    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    with (
        log_path.open("w") as log,
        zohokit_process(*args, announce=announce, ready="/readyz", env=env, stderr=log) as (
            _,
            found,
        ),
    ):
        headers = {"X-API-Key": found["key"]}
        url = found["url"]
        token = httpx.get(f"{url}/api/tenants/demo/tokens/zoho_crm", headers=headers).json()
        slots = httpx.get(
            f"{url}/api/tenants/demo/availability",
            params={"start": day, "end": day},
            headers=headers,
            timeout=10,
        )
        assert slots.status_code == 200, slots.text
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    calls = [line for line in lines if line.get("event") == "zoho.call"]
    calendar = [c for c in calls if c["provider"] == "calendar"]
    assert calendar, text
    assert {c["tenant"] for c in calendar} == {"demo"}
    assert all(c["request_id"] and c["operation"] != "other" for c in calendar)
    sandbox = json.loads((data_dir / "sandbox.json").read_text())
    secrets = [token["access_token"], found["key"]]
    secrets += [sandbox[k] for k in ("client_secret", "encryption_key", "refresh_token")]
    for secret in secrets:
        assert secret not in text
