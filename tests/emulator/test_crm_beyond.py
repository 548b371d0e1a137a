"""The emulator's CRM beyond records as a plain HTTP client meets it: each version's forms,
Zoho's limits and errors, and the composite checks (what zohokit's client refuses before
sending, the emulator refuses as Zoho does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import client_of, emulator_config, mint_access_token
from zohokit.emulator import Emulator

ALL_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")


def sub(uri: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"uri": uri, "method": method, **extra}


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_composite_requests_exist_from_v3(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str
) -> None:
    body = {"__composite_requests": [sub(f"/crm/{version}/org")]}
    answer = await emu_client.post(
        f"/crm/{version}/__composite_requests", json=body, headers=auth_headers
    )
    if version in ("v2", "v2.1"):
        assert answer.status_code == 404
        assert answer.json()["code"] == "INVALID_URL_PATTERN"
    else:
        assert answer.status_code == 200, answer.text
        [element] = answer.json()["__composite_requests"]
        assert element["details"]["response"]["status_code"] == 200
        assert element["details"]["response"]["body"]["org"][0]["id"]


@pytest.mark.parametrize(
    ("version", "flag"),
    [("v3", "concurrent_execution"), ("v4", "concurrent_execution"), ("v8", "parallel_execution")],
)
async def test_rollback_with_parallel_execution_is_ambiguous(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str, flag: str
) -> None:
    body = {
        "rollback_on_fail": True,
        flag: True,
        "__composite_requests": [sub(f"/crm/{version}/org")],
    }
    answer = await emu_client.post(
        f"/crm/{version}/__composite_requests", json=body, headers=auth_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "AMBIGUITY_DURING_PROCESSING"


async def test_composite_limits_and_checks(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    url = "/crm/v8/__composite_requests"

    async def post(body: dict[str, Any]) -> httpx.Response:
        return await emu_client.post(url, json=body, headers=auth_headers)

    six = await post({"__composite_requests": [sub("/crm/v8/org")] * 6})
    assert six.json()["code"] == "LIMIT_EXCEEDED"
    assert six.json()["details"]["limit"] == 5
    bad_uri = await post({"__composite_requests": [sub("/api/v1/calendars")]})
    assert bad_uri.json()["details"]["api_name"] == "uri"
    auth = await post(
        {"__composite_requests": [sub("/crm/v8/org", headers={"Authorization": "x"})]}
    )
    assert auth.json()["details"]["api_name"] == "headers"
    missing = await post({})
    assert missing.json()["code"] == "MANDATORY_NOT_FOUND"
    dangling = await post({"__composite_requests": [sub("/crm/v8/Leads/@{nope:$.data[0].id}")]})
    assert dangling.json()["code"] == "INVALID_REFERENCE"
    assert emulator.stats.snapshot()["credits_composite"] == 5  # each refused call costs one


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_a_note_answers_in_its_versions_form(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, version: str
) -> None:
    [lead] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace"}])
    # Both forms of the parent are taken in every version.
    old = {"Note_Content": "a", "Parent_Id": lead, "se_module": "Leads"}
    new = {"Note_Content": "b", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead}}
    made = await emu_client.post(
        f"/crm/{version}/Notes", json={"data": [old, new]}, headers=auth_headers
    )
    assert made.status_code == 201, made.text
    listed = await emu_client.get(
        f"/crm/{version}/Notes",
        params={"fields": "Note_Content,Parent_Id,$se_module"},
        headers=auth_headers,
    )
    rows = listed.json()["data"]
    assert len(rows) == 2
    for row in rows:
        if version in ("v6", "v7", "v8"):
            assert row["Parent_Id"]["module"]["api_name"] == "Leads"
            assert row.get("$se_module") is None
        else:
            assert row["$se_module"] == "Leads"
        assert row["Parent_Id"]["id"] == lead


async def test_notes_need_content_and_a_real_parent(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    [lead] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace"}])
    rows = [
        {"Parent_Id": lead, "se_module": "Leads"},
        {"Note_Content": "x", "Parent_Id": "5725767000000000099", "se_module": "Leads"},
        {"Note_Content": "x", "Parent_Id": lead, "se_module": "Nope"},
    ]
    answer = await emu_client.post("/crm/v8/Notes", json={"data": rows}, headers=auth_headers)
    assert answer.status_code == 400
    codes = [e["code"] for e in answer.json()["data"]]
    assert codes == ["MANDATORY_NOT_FOUND", "INVALID_DATA", "INVALID_MODULE"]
    too_many = await emu_client.post(
        "/crm/v8/Notes", json={"data": [rows[0]] * 101}, headers=auth_headers
    )
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_tags_in_the_query_for_v2_and_in_the_body_from_v3(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, version: str
) -> None:
    [lead] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace"}])
    if version == "v2":
        answer = await emu_client.post(
            f"/crm/{version}/Leads/{lead}/actions/add_tags",
            params={"tag_names": "Hot,VIP"},
            headers=auth_headers,
        )
    else:
        answer = await emu_client.post(
            f"/crm/{version}/Leads/{lead}/actions/add_tags",
            json={"tags": [{"name": "Hot"}, {"name": "VIP"}]},
            headers=auth_headers,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["details"]["tags"] == ["Hot", "VIP"]
    none = await emu_client.post(
        f"/crm/{version}/Leads/{lead}/actions/add_tags", headers=auth_headers
    )
    assert none.json()["code"] == "REQUIRED_PARAM_MISSING"


@pytest.mark.parametrize("version", ["v2", "v3", "v8"])
async def test_convert_answers_in_its_versions_form(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, version: str
) -> None:
    [lead] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace", "Company": "Analytical"}])
    answer = await emu_client.post(
        f"/crm/{version}/Leads/{lead}/actions/convert", json={"data": [{}]}, headers=auth_headers
    )
    assert answer.status_code == 200, answer.text
    [element] = answer.json()["data"]
    if version == "v2":
        assert set(element) == {"Contacts", "Accounts", "Deals"}
        assert element["Deals"] is None
    else:
        assert element["status"] == "success"
        assert element["details"]["Accounts"]["name"] == "Analytical"
    again = await emu_client.post(
        f"/crm/{version}/Leads/{lead}/actions/convert", headers=auth_headers
    )
    assert again.status_code == 400
    assert again.json()["code"] == "ID_ALREADY_CONVERTED"
    contact = element.get("Contacts") or element["details"]["Contacts"]["id"]
    not_a_lead = await emu_client.post(
        f"/crm/{version}/Contacts/{contact}/actions/convert", headers=auth_headers
    )
    assert not_a_lead.status_code == 404


async def test_a_download_keeps_its_file_name(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    [lead] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace"}])
    up = await emu_client.post(
        f"/crm/v8/Leads/{lead}/Attachments",
        files={"file": ("report.csv", b"a,b\n", "text/csv")},
        headers=auth_headers,
    )
    att = up.json()["data"][0]["details"]["id"]
    down = await emu_client.get(f"/crm/v8/Leads/{lead}/Attachments/{att}", headers=auth_headers)
    assert down.content == b"a,b\n"
    assert "report.csv" in down.headers["content-disposition"]
    not_multipart = await emu_client.post(
        f"/crm/v8/Leads/{lead}/Attachments", json={"file": "x"}, headers=auth_headers
    )
    assert not_multipart.status_code == 400


async def test_notes_attachments_files_and_tags_come_back_after_a_restart(tmp_path: Path) -> None:
    data = str(tmp_path / "emulator.db")
    first = Emulator(emulator_config(data=data))
    async with client_of(first) as client:
        auth = {"Authorization": f"Zoho-oauthtoken {await mint_access_token(client)}"}
        [lead] = first.crm.seed("Leads", [{"Last_Name": "Lovelace"}])
        base = f"/crm/v8/Leads/{lead}"
        note = await client.post(
            f"{base}/Notes", json={"data": [{"Note_Content": "kept"}]}, headers=auth
        )
        note_id = note.json()["data"][0]["details"]["id"]
        gone = await client.post(
            f"{base}/Notes", json={"data": [{"Note_Content": "gone"}]}, headers=auth
        )
        await client.delete(
            f"/crm/v8/Notes/{gone.json()['data'][0]['details']['id']}", headers=auth
        )
        att = await client.post(
            f"{base}/Attachments", files={"file": ("a.bin", b"\x00\x01", "x/y")}, headers=auth
        )
        att_id = att.json()["data"][0]["details"]["id"]
        up = await client.post("/crm/v8/files", files={"file": ("f.txt", b"file")}, headers=auth)
        file_id = up.json()["data"][0]["details"]["id"]
        await client.post(
            f"{base}/actions/add_tags", json={"tags": [{"name": "Hot"}]}, headers=auth
        )
    first.close()

    second = Emulator(emulator_config(data=data))
    async with client_of(second) as client:
        notes = await client.get(f"{base}/Notes", params={"fields": "Note_Content"}, headers=auth)
        assert [(n["id"], n["Note_Content"]) for n in notes.json()["data"]] == [(note_id, "kept")]
        download = await client.get(f"{base}/Attachments/{att_id}", headers=auth)
        assert download.content == b"\x00\x01"
        assert (
            await client.get("/crm/v8/files", params={"id": file_id}, headers=auth)
        ).content == b"file"
        tags = await client.get("/crm/v8/settings/tags", params={"module": "Leads"}, headers=auth)
        assert [t["name"] for t in tags.json()["tags"]] == ["Hot"]
        record = await client.get(base, params={"fields": "Tag"}, headers=auth)
        assert [t["name"] for t in record.json()["data"][0]["Tag"]] == ["Hot"]
    second.close()
