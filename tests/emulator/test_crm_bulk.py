"""The emulator's Bulk Read and Bulk Write on the wire, as a plain HTTP client meets them:
every version, the upload's headers and limits, scopes, Zoho's errors and each call's credits.
"""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET
from zohokit.emulator import Emulator

ALL_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
ORG = {"X-CRM-ORG": "700012345", "feature": "bulk-write"}


def zipped(rows: list[list[str]], name: str = "Leads.csv") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text.getvalue())
    return buffer.getvalue()


def unzipped(content: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        [name] = archive.namelist()
        return list(csv.reader(io.StringIO(archive.read(name).decode())))


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_a_bulk_read_job_runs_in_every_version(
    version: str, emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Ada", "Email_Opt_Out": True}])
    query = {"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Email_Opt_Out", "Owner"]}
    created = await emu_client.post(
        f"/crm/bulk/{version}/read", json={"query": query}, headers=auth_headers
    )
    assert created.status_code == 201
    element = created.json()["data"][0]
    assert (element["code"], element["details"]["state"]) == ("ADDED_SUCCESSFULLY", "ADDED")
    job = element["details"]["id"]
    emulator.clock.advance(10)
    status = (await emu_client.get(f"/crm/bulk/{version}/read/{job}", headers=auth_headers)).json()
    result = status["data"][0]["result"]
    assert (result["count"], result["per_page"], result["more_records"]) == (1, 200_000, False)
    zipped_csv = await emu_client.get(result["download_url"], headers=auth_headers)
    assert zipped_csv.headers["content-type"] == "application/zip"
    header, row = unzipped(zipped_csv.content)
    assert header == ["Id", "Last_Name", "Email_Opt_Out", "Owner"]
    assert row[1:] == ["Ada", "true", "5725767000000411001"]


async def test_the_upload_needs_zohos_headers_and_keeps_its_limits(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    content = zipped([["Last_Name"], ["Ada"]])

    async def upload(headers: dict[str, str], body: bytes = content) -> httpx.Response:
        files = {"file": ("Leads.zip", body, "application/zip")}
        return await emu_client.post(
            "/crm/v8/upload", files=files, headers={**auth_headers, **headers}
        )

    no_feature = await upload({"X-CRM-ORG": ORG["X-CRM-ORG"]})
    assert no_feature.json()["code"] == "REQUIRED_PARAM_MISSING"
    wrong_org = await upload({**ORG, "X-CRM-ORG": "1"})
    assert wrong_org.json()["code"] == "INVALID_ORG"
    emulator.crm.bulk.max_rows = 1
    too_many = await upload(ORG, zipped([["Last_Name"], ["Ada"], ["Bo"]]))
    assert (too_many.status_code, too_many.json()["code"]) == (400, "LIMIT_EXCEEDED")
    emulator.crm.bulk.max_upload_bytes = 10
    too_big = await upload(ORG)
    assert too_big.json()["code"] == "FILE_SIZE_EXCEEDED"
    emulator.crm.bulk.max_upload_bytes = 10**6
    not_a_zip = await upload(ORG, b"Last_Name\nAda\n")
    assert not_a_zip.json()["code"] == "INVALID_FILE_FORMAT"
    ok = await upload(ORG)
    assert ok.json()["code"] == "FILE_UPLOAD_SUCCESS"


async def test_a_bulk_write_job_writes_real_records_and_a_result_file_in_zohos_format(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    rows = [["Email", "Last_Name"], ["a@x.com", "Ada"], ["b@x.com", ""], ["c@x.com", "Cy"]]
    files = {"file": ("Leads.zip", zipped(rows), "application/zip")}
    up = await emu_client.post("/crm/v8/upload", files=files, headers={**auth_headers, **ORG})
    file_id = up.json()["details"]["file_id"]
    body = {
        "operation": "insert",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}],
    }
    created = await emu_client.post("/crm/bulk/v8/write", json=body, headers=auth_headers)
    job = created.json()["details"]["id"]
    running = (await emu_client.get(f"/crm/bulk/v8/write/{job}", headers=auth_headers)).json()
    assert running["status"] == "ADDED"
    emulator.clock.advance(10)
    done = (await emu_client.get(f"/crm/bulk/v8/write/{job}", headers=auth_headers)).json()
    assert done["status"] == "COMPLETED"
    counts = done["resource"][0]["file"]
    assert (counts["added_count"], counts["skipped_count"], counts["total_count"]) == (2, 1, 3)
    result = await emu_client.get(done["result"]["download_url"], headers=auth_headers)
    header, *lines = unzipped(result.content)
    assert header == ["Email", "Last_Name", "STATUS", "RECORD_ID", "ERRORS"]
    assert [line[2] for line in lines] == ["ADDED", "SKIPPED", "ADDED"]
    assert lines[1][4] == "MANDATORY_NOT_FOUND-Last_Name"
    listed = await emu_client.get(
        "/crm/v8/Leads", params={"fields": "Last_Name,Email"}, headers=auth_headers
    )
    assert sorted(r["id"] for r in listed.json()["data"]) == sorted([lines[0][3], lines[2][3]])


async def test_each_bulk_call_costs_its_credits_and_a_faulted_job_fails(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    await emu_client.post("/_emulator/bulk", json={"fail_next": {"read": 1}})
    before = emulator.stats.counts["credits_used"]
    query = {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}
    created = await emu_client.post(
        "/crm/bulk/v8/read", json={"query": query}, headers=auth_headers
    )
    assert emulator.stats.counts["credits_used"] - before == 50
    job = created.json()["data"][0]["details"]["id"]
    emulator.clock.advance(10)
    status = await emu_client.get(f"/crm/bulk/v8/read/{job}", headers=auth_headers)
    assert status.json()["data"][0]["state"] == "FAILURE"
    assert "result" not in status.json()["data"][0]
    assert emulator.stats.counts["credits_used"] - before == 51
    assert emulator.stats.counts["credits_bulk"] >= 51


async def test_bulk_needs_the_bulk_scope_and_names_bad_fields(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    refresh = emulator.accounts.grant_refresh_token(CLIENT_ID, scopes=("ZohoCRM.modules.ALL",))
    minted = await emu_client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh.token,
        },
    )
    narrow = {"Authorization": f"Zoho-oauthtoken {minted.json()['access_token']}"}
    query = {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}
    refused = await emu_client.post("/crm/bulk/v8/read", json={"query": query}, headers=narrow)
    assert (refused.status_code, refused.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    bad = {"module": {"api_name": "Leads"}, "fields": ["Last_Nmae"]}
    answer = await emu_client.post("/crm/bulk/v8/read", json={"query": bad}, headers=auth_headers)
    assert answer.json()["details"]["api_name"] == "Last_Nmae"
    nowhere = await emu_client.post(
        "/crm/bulk/v8/read", json={"query": {"module": "Nope"}}, headers=auth_headers
    )
    assert nowhere.json()["details"]["api_name"] == "module"
