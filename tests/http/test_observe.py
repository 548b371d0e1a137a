"""Every Zoho call is observable: metrics by provider and operation, one JSON log line per
attempt with the tenant, the operation and Zoho's request id, and never a secret.

Real roots over the emulator; the metrics are the process's registry (other tests count
too), so each check compares a sample before and after.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from tests.http.support import CREDENTIALS, zoho_for
from zohokit import Zoho
from zohokit.emulator import Emulator, create_app
from zohokit.errors import NeedsReauthorization, NotFound
from zohokit.http import operation_name
from zohokit.logs import configure_logging, redact


def sample(name: str, **labels: str) -> float:
    """A sample's value in the process's registry (0 before it is first counted)."""
    labels.setdefault("tenant", "")
    return REGISTRY.get_sample_value(name, labels) or 0.0


def faults(emulator: Emulator, **rule: Any) -> None:
    emulator.faults.configure({"rules": [rule]})


#: provider, method, route, and the operation it is counted as.
ROUTES = """
crm       POST   /crm/v8/Leads/upsert                                         records.upsert
crm       GET    /crm/v8/Leads                                                records.list
crm       POST   /crm/v8/Leads                                                records.insert
crm       GET    /crm/v8/Leads/4876876000000333001                            records.get
crm       PUT    /crm/v2.1/My_Custom_Module/4876876000000333001               records.update
crm       DELETE /crm/v8/Leads?ids=1,2                                        records.delete
crm       GET    /crm/v8/Contacts/search?email=ann@example.com                records.search
crm       POST   /crm/v8/coql                                                 coql
crm       GET    /crm/v8/org                                                  org
crm       GET    /crm/v8/settings/fields?module=Leads                         settings.fields
crm       GET    /crm/v8/settings/modules/Leads                               settings.modules
crm       POST   /crm/v8/Leads/4876876000000333001/actions/convert            records.convert
crm       GET    /crm/v8/Leads/4876876000000333001/Notes                      records.notes
crm       POST   /crm/bulk/v8/read                                            bulk.read
crm       GET    /crm/bulk/v8/read/4876876000000555001/result                 bulk.read.result
crm       GET    /crm/bulk/v8/write/4876876000000555001                       bulk.write.status
crm       GET    /crm/v8/Leads/actions/count                                  records.count
crm       POST   /crm/v8/actions/watch                                        actions.watch
calendar  GET    /api/v1/calendars/freebusy                                   freebusy
calendar  GET    /api/v1/calendars                                            calendars.list
calendar  POST   /api/v1/calendars/8f2c-41aa/events                           events.create
calendar  PUT    /api/v1/calendars/8f2c-41aa/events/ab12@zoho.com             events.update
crm       GET    /somewhere/else/4876876000000333001                          other
crm       GET    /crm/v8/Leads/4876876000000333001/Weird-Thing42              records.related
"""


@pytest.mark.parametrize("row", ROUTES.strip().splitlines())
def test_the_operation_is_a_bounded_name_from_the_route_never_an_id(row: str) -> None:
    provider, method, path, operation = row.split()
    assert operation_name(f"zoho_{provider}", method, path) == operation


async def test_every_attempt_is_counted_by_provider_operation_and_status(
    zoho: Zoho, emulator: Emulator
) -> None:
    crm = zoho.crm("default", CREDENTIALS)
    upsert = {"provider": "crm", "operation": "records.upsert"}
    before = {
        "ok": sample("zohokit_zoho_requests_total", status="200", **upsert),
        "429": sample("zohokit_zoho_requests_total", status="429", **upsert),
        "throttled": sample("zohokit_zoho_throttled_total", **upsert),
        "retried": sample("zohokit_zoho_retries_total", reason="throttled", **upsert),
        "code": sample("zohokit_zoho_errors_total", code="TOO_MANY_REQUESTS", **upsert),
        "credits": sample("zohokit_zoho_credits_total", **upsert),
        "timed": sample("zohokit_zoho_request_seconds_count", **upsert),
    }
    faults(emulator, route="crm", throttle_rate=1.0, count=1)
    rows = [{"Last_Name": f"L{i}", "Email": f"l{i}@example.com"} for i in range(30)]
    await crm.upsert_records("Leads", rows, duplicate_check_fields=["Email"])
    assert sample("zohokit_zoho_requests_total", status="200", **upsert) == before["ok"] + 1
    assert sample("zohokit_zoho_requests_total", status="429", **upsert) == before["429"] + 1
    assert sample("zohokit_zoho_throttled_total", **upsert) == before["throttled"] + 1
    assert sample("zohokit_zoho_retries_total", reason="throttled", **upsert) == (
        before["retried"] + 1
    )
    assert sample("zohokit_zoho_errors_total", code="TOO_MANY_REQUESTS", **upsert) == (
        before["code"] + 1
    )
    # 30 records cost 3 credits per attempt at Zoho's rates; both attempts reached Zoho.
    assert sample("zohokit_zoho_credits_total", **upsert) == before["credits"] + 6
    assert sample("zohokit_zoho_request_seconds_count", **upsert) == before["timed"] + 2

    server = {"provider": "crm", "operation": "settings.modules"}
    internal = sample("zohokit_zoho_errors_total", code="INTERNAL_ERROR", **server)
    faults(emulator, route="crm", error_rate=1.0, count=1)
    await crm.modules()
    assert sample("zohokit_zoho_errors_total", code="INTERNAL_ERROR", **server) == internal + 1

    get = {"provider": "crm", "operation": "records.get"}
    missing = sample("zohokit_zoho_requests_total", status="204", **get) + sample(
        "zohokit_zoho_requests_total", status="404", **get
    )
    with pytest.raises(NotFound):
        await crm.get_record("Leads", "4876876000000999001")
    # However the emulator words "no such record", the id never becomes a label.
    after = sample("zohokit_zoho_requests_total", status="204", **get) + sample(
        "zohokit_zoho_requests_total", status="404", **get
    )
    assert after == missing + 1
    exposed = "\n".join(f"{s.name}{s.labels}" for m in REGISTRY.collect() for s in m.samples)
    assert "4876876000000999001" not in exposed


async def test_token_calls_are_counted_and_timed_under_the_provider_accounts(
    zoho: Zoho, emulator: Emulator, json_log: io.StringIO
) -> None:
    refresh = {"provider": "accounts", "operation": "token.refresh"}
    ok = sample("zohokit_zoho_requests_total", status="200", **refresh)
    timed = sample("zohokit_zoho_request_seconds_count", **refresh)
    await zoho.crm("default", CREDENTIALS).modules()  # the first call refreshes
    assert sample("zohokit_zoho_requests_total", status="200", **refresh) == ok + 1
    assert sample("zohokit_zoho_request_seconds_count", **refresh) == timed + 1
    refused = sample("zohokit_zoho_errors_total", code="invalid_code", **refresh)
    emulator.accounts.revoke_refresh_token(REFRESH_TOKEN)
    emulator.clock.advance(3700)
    with pytest.raises(NeedsReauthorization):
        await zoho.tokens.invalidate(
            "default", "zoho_crm", (await zoho.tokens.get_token("default", "zoho_crm")).token
        )
    # Zoho refuses a dead grant with HTTP 200 and an error code: it counts as an error.
    assert sample("zohokit_zoho_errors_total", code="invalid_code", **refresh) == refused + 1
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    token_calls = [line for line in lines if line.get("provider") == "accounts"]
    assert [(c["tenant"], c["status"]) for c in token_calls] == [("default", "200")] * 2
    assert all(c["request_id"] for c in token_calls)
    for secret in (REFRESH_TOKEN, CLIENT_SECRET):
        assert secret not in json_log.getvalue()


async def test_the_tenant_is_a_label_only_when_the_operator_asks(
    tmp_path: Path, emulator: Emulator
) -> None:
    labelled = {
        "provider": "crm",
        "operation": "settings.modules",
        "status": "200",
        "tenant": "default",
    }
    before = REGISTRY.get_sample_value("zohokit_zoho_requests_total", labelled) or 0.0
    async with zoho_for(
        tmp_path / "labelled.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        credentials=CREDENTIALS,
        metrics_tenant_label=True,
    ) as root:
        await root.crm().modules()
    assert REGISTRY.get_sample_value("zohokit_zoho_requests_total", labelled) == before + 1


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON log of the test's calls (``ZOHOKIT_LOG_FORMAT=json``), as text."""
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging("json", stream=out)
    yield out
    configure_logging("text")
    root.setLevel(level)


async def test_a_json_log_line_per_attempt_carries_tenant_operation_and_request_id_and_no_secret(
    zoho: Zoho, emulator: Emulator, json_log: io.StringIO
) -> None:
    crm = zoho.crm("default", CREDENTIALS)
    customer = "ann.customer@example.com"
    faults(emulator, route="crm", throttle_rate=1.0, count=1)
    await crm.upsert_records(
        "Leads", [{"Last_Name": "Ann", "Email": customer}], duplicate_check_fields=["Email"]
    )
    first = (await zoho.tokens.get_token("default", "zoho_crm")).token
    emulator.clock.advance(3700)  # Zoho expires the token: a 401, then one fresh token
    await crm.modules()
    second = (await zoho.tokens.get_token("default", "zoho_crm")).token
    assert second != first
    try:
        raise RuntimeError(f"echoed Authorization: Zoho-oauthtoken {second} for {customer}")
    except RuntimeError:
        logging.getLogger("zohokit.test").exception("a caller logged %s", second)

    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    calls = [c for c in lines if c.get("event") == "zoho.call" and c["provider"] == "crm"]
    upserts = [c for c in calls if c["operation"] == "records.upsert"]
    assert [(c["status"], c["attempt"]) for c in upserts] == [("429", 1), ("200", 2)]
    orgs = [c for c in calls if c["operation"] == "settings.modules"]
    assert [(c["status"], c["attempt"]) for c in orgs] == [("401", 1), ("200", 2)]
    for call in calls:
        assert call["tenant"] == "default"
        assert call["provider"] == "crm"
        assert call["level"] == "INFO"
        assert re.fullmatch(r"[0-9a-f]{12}\d{10}", call["request_id"])
        assert isinstance(call["duration_ms"], float)
    assert len({c["request_id"] for c in calls}) == len(calls)
    assert upserts[0]["code"] == "TOO_MANY_REQUESTS"
    failed = next(line for line in lines if line["logger"] == "zohokit.test")
    assert "RuntimeError" in failed["exc"]
    assert "echoed Authorization: ***" in failed["exc"]
    for secret in (first, second, REFRESH_TOKEN, CLIENT_SECRET, customer):
        assert secret not in text
    assert CLIENT_ID  # not a secret: the OAuth client id may be logged


def test_redaction_masks_tokens_secret_parameters_and_e_mails() -> None:
    token = "1000." + "a" * 32 + "." + "b" * 32
    text = (
        f"POST /oauth/v2/token?refresh_token={token}&client_secret=s3cr3t&code=1000.c0de "
        f'{{"access_token": "{token}", "api_domain": "https://www.zohoapis.com"}} '
        "Authorization: Bearer key-0123456789abcdef; X-API-Key: key-0123456789abcdef "
        "mail ann@example.co.uk; HTTP status code: 500"
    )
    masked = redact(text)
    for secret in (token, "s3cr3t", "1000.c0de", "key-0123456789abcdef", "ann@example.co.uk"):
        assert secret not in masked
    assert "https://www.zohoapis.com" in masked
    assert "status code: 500" in masked
