"""Zoho's official Python SDK, unmodified, drives a full Leads cycle against ``zohokit emulator``.

The emulator runs as the real CLI in a subprocess and the SDK in another one: the SDK keeps
process-global state (``Initializer``) and a token file, so it gets a process and a tmp dir.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.emulator import run_cli_emulator

CLIENT_ID = "sdk-client"
CLIENT_SECRET = "sdk-secret"
REFRESH_TOKEN = "1000.sdkrefresh.token"

SDK_SCRIPT = r'''
"""Drive Zoho's official Python SDK through a Leads cycle; print a JSON report on stdout."""

import json
import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    BodyWrapper,
    DeleteRecordsParam,
    GetRecordsParam,
    Record,
    RecordOperations,
    ResponseWrapper,
    SearchRecordsParam,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

base, client_id, client_secret, refresh_token, workdir = sys.argv[1:6]

Initializer.initialize(
    environment=DataCenter.Environment(
        url=base, accounts_url=base + "/oauth/v2/token", file_upload_url=base
    ),
    token=OAuthToken(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token),
    store=FileStore(workdir + "/tokens.txt"),
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=workdir,
    logger=Logger.get_instance(level=Logger.Levels.INFO, file_path=workdir + "/sdk.log"),
)
ops = RecordOperations("Leads")
report = {}


def _text(value):
    """A choice or plain value as a string ("" for none)."""
    if value is None:
        return ""
    return str(value.get_value() if hasattr(value, "get_value") else value)


def results(response):
    """Per-record outcomes of a write: (status, message, details) in order."""
    wrapper = response.get_object()
    if not isinstance(wrapper, ActionWrapper):
        raise SystemExit(f"unexpected answer {response.get_status_code()}: {wrapper!r}")
    out = []
    for item in wrapper.get_data():
        if isinstance(item, SuccessResponse):
            details = {k: str(v) for k, v in item.get_details().items() if k == "id"}
            out.append([_text(item.get_status()), _text(item.get_message()), details,
                        _text(item.get_action()), _text(item.get_duplicate_field())])
        else:
            out.append([_text(item.get_status()), _text(item.get_code()), {}, "", ""])
    return response.get_status_code(), out


def lead(**values):
    record = Record()
    for key, value in values.items():
        record.add_key_value(key, value)
    return record


body = BodyWrapper()
body.set_data([
    lead(Last_Name="Alpha", Company="A Corp", Email="alpha@example.com"),
    lead(Last_Name="Beta", Company="B Corp", Email="beta@example.com"),
    lead(Last_Name="Gamma", Company="C Corp", Email="gamma@example.com"),
])
status, inserted = results(ops.create_records(body))
report["insert"] = [status, inserted]
ids = [r[2]["id"] for r in inserted]

report["get"] = []
for rid in ids:
    got = ops.get_record(int(rid))
    rec = got.get_object().get_data()[0]
    report["get"].append([got.get_status_code(), str(rec.get_id()), rec.get_key_value("Last_Name")])

params = ParameterMap()
params.add(GetRecordsParam.fields, "Last_Name,Email")
params.add(GetRecordsParam.per_page, 2)
listed = ops.get_records(params)
wrapper = listed.get_object()
assert isinstance(wrapper, ResponseWrapper)
report["list"] = [
    listed.get_status_code(),
    sorted(r.get_key_value("Email") for r in wrapper.get_data()),
    bool(wrapper.get_info().get_more_records()),
]

body = BodyWrapper()
body.set_data([
    lead(Last_Name="Alpha Updated", Email="alpha@example.com"),
    lead(Last_Name="Delta", Email="delta@example.com"),
])
body.set_duplicate_check_fields(["Email"])
report["upsert"] = list(results(ops.upsert_records(body)))

params = ParameterMap()
params.add(SearchRecordsParam.email, "beta@example.com")
found = ops.search_records(params)
report["search"] = [
    found.get_status_code(),
    [str(r.get_id()) for r in found.get_object().get_data()],
]

body = BodyWrapper()
body.set_data([lead(Company="Gamma Holdings")])
report["update_one"] = list(results(ops.update_record(int(ids[2]), body)))

numeric = lead(Lead_Status=Choice("Contacted"))
numeric.set_id(int(ids[1]))
body = BodyWrapper()
body.set_data([numeric])
report["update_bulk"] = list(results(ops.update_records(body)))

report["delete_one"] = list(results(ops.delete_record(int(ids[0]))))

delta_id = report["upsert"][1][1][2]["id"]
params = ParameterMap()
for rid in (ids[1], ids[2], delta_id):
    params.add(DeleteRecordsParam.ids, rid)
report["delete_many"] = list(results(ops.delete_records(params)))
report["ids"] = ids + [delta_id]
print(json.dumps(report))
'''


@pytest.fixture
def cli_emulator(tmp_path: Path) -> Iterator[str]:
    """``zohokit emulator`` started as a user would, on a free loopback port."""
    log = tmp_path / "emulator.log"
    credentials = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    with run_cli_emulator(log, credentials=credentials) as base:
        yield base


@pytest.mark.slow
def test_official_sdk_runs_a_full_leads_cycle(cli_emulator: str, tmp_path: Path) -> None:
    script = tmp_path / "sdk_cycle.py"
    script.write_text(SDK_SCRIPT)
    workdir = tmp_path / "sdk"
    workdir.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            cli_emulator,
            CLIENT_ID,
            CLIENT_SECRET,
            REFRESH_TOKEN,
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    status, inserted = report["insert"]
    assert status == 201
    assert [r[:2] for r in inserted] == [["success", "record added"]] * 3
    ids = [r[2]["id"] for r in inserted]
    assert all(i.isdigit() and len(i) == 19 for i in ids)
    assert len(set(ids)) == 3

    assert report["get"] == [
        [200, ids[0], "Alpha"],
        [200, ids[1], "Beta"],
        [200, ids[2], "Gamma"],
    ]
    # per_page=2 over three leads, newest first: Gamma and Beta, and more to come.
    assert report["list"] == [200, ["beta@example.com", "gamma@example.com"], True]

    status, upserted = report["upsert"]
    assert status == 200
    assert upserted[0] == ["success", "record updated", {"id": ids[0]}, "update", "Email"]
    assert upserted[1][:2] == ["success", "record added"]
    assert upserted[1][3] == "insert"
    delta_id = upserted[1][2]["id"]

    assert report["search"] == [200, [ids[1]]]
    assert report["update_one"] == [200, [["success", "record updated", {"id": ids[2]}, "", ""]]]
    assert report["update_bulk"] == [200, [["success", "record updated", {"id": ids[1]}, "", ""]]]
    assert report["delete_one"] == [200, [["success", "record deleted", {"id": ids[0]}, "", ""]]]
    status, deleted = report["delete_many"]
    assert status == 200
    assert [d[2]["id"] for d in deleted] == [ids[1], ids[2], delta_id]

    stats = httpx.get(f"{cli_emulator}/_emulator/stats").json()
    assert stats["crm_requests"] > 0
    assert stats["token_requests"] >= 1

    # Nothing is left, and the recycle bin holds the four leads the SDK deleted.
    token = httpx.post(
        f"{cli_emulator}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    listed = httpx.get(f"{cli_emulator}/crm/v8/Leads", params={"fields": "Email"}, headers=headers)
    assert listed.status_code == 204
    bin_ = httpx.get(f"{cli_emulator}/crm/v8/Leads/deleted", headers=headers).json()
    assert sorted(d["id"] for d in bin_["data"]) == sorted([*ids, delta_id])
    assert {d["display_name"] for d in bin_["data"]} == {"Alpha Updated", "Beta", "Gamma", "Delta"}
