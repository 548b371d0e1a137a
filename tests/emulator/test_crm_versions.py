"""Every CRM API version (v2 .. v8) over one store, as connectors written for each use it.

The connector below is what most third-party tools do (Airbyte's Zoho source, n8n, Zapier-style
scripts): discover the modules, read each module's metadata and fields, read every record,
then read only what changed since with ``If-Modified-Since``. It is plain httpx, written
against ``/crm/v2``; the same code runs against a middle version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from zohokit.emulator import Emulator

ALL_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")


@dataclass
class Connector:
    """A plain-httpx Zoho CRM connector: discovery, full read, incremental read."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    version: str = "v2"
    #: Send ``fields`` built from discovery (versions from v3 on require it).
    send_fields: bool = False
    fields: dict[str, list[str]] = field(default_factory=dict)
    cursor: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/crm/{self.version}"

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.get(f"{self.base}{path}", headers=headers, **kwargs)

    async def discover(self) -> dict[str, dict[str, Any]]:
        """Module metadata and field names of every API-supported module."""
        listing = await self.get("/settings/modules")
        assert listing.status_code == 200, listing.text
        found: dict[str, dict[str, Any]] = {}
        for summary in listing.json()["modules"]:
            if not summary["api_supported"]:
                continue
            name = summary["api_name"]
            detail = await self.get(f"/settings/modules/{name}")
            assert detail.status_code == 200, detail.text
            [module] = detail.json()["modules"]
            fields = await self.get("/settings/fields", params={"module": name})
            assert fields.status_code == 200, fields.text
            self.fields[name] = [f["api_name"] for f in fields.json()["fields"]]
            found[name] = module
        return found

    async def read(self, module: str, since: str | None = None) -> list[dict[str, Any]] | None:
        """Every record (page by page), or ``None`` when Zoho says 304 Not Modified."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": 200}
            if self.send_fields:
                params["fields"] = ",".join(self.fields[module][:50])
            headers = {"If-Modified-Since": since} if since else {}
            answer = await self.get(f"/{module}", params=params, headers=headers)
            if answer.status_code == 304:
                return None
            if answer.status_code == 204:
                return rows
            assert answer.status_code == 200, answer.text
            body = answer.json()
            rows += body["data"]
            for row in body["data"]:
                self.cursor[module] = max(self.cursor.get(module, ""), row["Modified_Time"])
            if not body["info"]["more_records"]:
                return rows
            page += 1


def _seed(emulator: Emulator) -> list[str]:
    [account] = emulator.crm.seed("Accounts", [{"Account_Name": "Zylker"}])
    emulator.crm.seed("Contacts", [{"Last_Name": "Chen", "Account_Name": {"id": account}}])
    return emulator.crm.seed(
        "Leads", [{"Last_Name": f"Lead {i}", "Email": f"l{i}@example.com"} for i in range(250)]
    )


async def _full_and_incremental(connector: Connector, emulator: Emulator) -> None:
    ids = _seed(emulator)
    modules = await connector.discover()
    assert {"Leads", "Contacts", "Accounts", "Deals"} <= set(modules)
    assert modules["Leads"]["display_field"] == "Full_Name"
    assert "Email" in connector.fields["Leads"]

    leads = await connector.read("Leads")
    assert leads is not None
    assert len(leads) == 250
    assert {r["id"] for r in leads} == set(ids)
    # Every field came back, whether the connector asked for them by name or not at all.
    assert set(connector.fields["Leads"]) <= set(leads[0])
    contacts = await connector.read("Contacts")
    assert contacts is not None
    assert contacts[0]["Account_Name"]["name"] == "Zylker"

    since = connector.cursor["Leads"]
    emulator.clock.advance(5)
    assert await connector.read("Leads", since=since) is None  # 304: nothing changed
    emulator.crm.edit("Leads", ids[7], {"Company": "Changed"})
    changed = await connector.read("Leads", since=since)
    assert changed is not None
    assert [(r["id"], r["Company"]) for r in changed] == [(ids[7], "Changed")]


@pytest.mark.parametrize("version", ["v2", "v2.1"])
async def test_a_v2_connector_discovers_reads_everything_without_fields_and_then_increments(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str
) -> None:
    connector = Connector(emu_client, auth_headers, version=version)
    await _full_and_incremental(connector, emulator)


@pytest.mark.parametrize("version", ["v5", "v7"])
async def test_the_same_connector_runs_on_a_middle_version_naming_the_discovered_fields(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str
) -> None:
    # From v3 on Zoho documents ``fields`` as mandatory for a list: the connector sends the
    # names discovery gave it, and gets the same records.
    connector = Connector(emu_client, auth_headers, version=version, send_fields=True)
    await _full_and_incremental(connector, emulator)


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_fields_is_optional_on_a_records_list_only_before_v3(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Only", "Company": "Acme"}])
    answer = await emu_client.get(f"/crm/{version}/Leads", headers=auth_headers)
    if version in ("v2", "v2.1"):
        assert answer.status_code == 200
        [row] = answer.json()["data"]
        assert row["Company"] == "Acme"
        assert row["Lead_Status"] is None  # every field, set or not
    else:
        assert answer.status_code == 400
        assert (answer.json()["code"], answer.json()["details"]) == (
            "REQUIRED_PARAM_MISSING",
            {"param_name": "fields"},
        )


async def test_every_version_reads_and_writes_the_same_store(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    created = await emu_client.post(
        "/crm/v2/Leads", json={"data": [{"Last_Name": "Shared"}]}, headers=auth_headers
    )
    assert created.status_code == 201
    rec_id = created.json()["data"][0]["details"]["id"]
    for version in ALL_VERSIONS:
        got = await emu_client.get(f"/crm/{version}/Leads/{rec_id}", headers=auth_headers)
        assert got.json()["data"][0]["Last_Name"] == "Shared", version
    updated = await emu_client.put(
        f"/crm/v5/Leads/{rec_id}", json={"data": [{"Company": "Five"}]}, headers=auth_headers
    )
    assert updated.status_code == 200
    assert emulator.crm.records("Leads")[0]["Company"] == "Five"
    unknown = await emu_client.get("/crm/v9/Leads/1", headers=auth_headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "INVALID_URL_PATTERN"


async def test_module_metadata_keys_follow_each_versions_change_log(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    shapes = {}
    for version in ALL_VERSIONS:
        answer = await emu_client.get(f"/crm/{version}/settings/modules", headers=auth_headers)
        shapes[version] = next(m for m in answer.json()["modules"] if m["api_name"] == "Leads")
    # v6 dropped the *_supported flags and added recycle_bin_on_delete (v6 change log).
    for version in ("v2", "v2.1", "v3", "v4", "v5"):
        assert shapes[version]["emailTemplate_support"] is True, version
        assert "recycle_bin_on_delete" not in shapes[version], version
    for version in ("v6", "v7", "v8"):
        assert "emailTemplate_support" not in shapes[version], version
        assert shapes[version]["recycle_bin_on_delete"] is True, version
    # Keys only Zoho's v8 description shows.
    assert shapes["v8"]["status"] == "visible"
    assert "status" not in shapes["v7"]
    assert all(shapes[v]["id"] == shapes["v8"]["id"] for v in ALL_VERSIONS)


async def test_field_metadata_keys_follow_each_versions_change_log(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    shapes = {}
    for version in ALL_VERSIONS:
        answer = await emu_client.get(
            f"/crm/{version}/settings/fields", params={"module": "Leads"}, headers=auth_headers
        )
        shapes[version] = next(f for f in answer.json()["fields"] if f["api_name"] == "Email")
    assert "searchable" not in shapes["v2.1"]
    assert shapes["v3"]["searchable"] is True
    assert "customizable_properties" not in shapes["v5"]
    assert "customizable_properties" in shapes["v6"]
    assert shapes["v7"]["section_id"] == 1
    assert "section_id" not in shapes["v8"]
    assert shapes["v8"]["operation_type"]["api_create"] is True


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_search_criteria_take_only_equals_and_starts_with_before_v3(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str], version: str
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": "Ng", "No_of_Employees": 40}])
    path = f"/crm/{version}/Leads/search"
    equals = await emu_client.get(
        path, params={"criteria": "(Last_Name:starts_with:N)"}, headers=auth_headers
    )
    assert equals.status_code == 200
    wider = await emu_client.get(
        path, params={"criteria": "(No_of_Employees:greater_than:10)"}, headers=auth_headers
    )
    if version in ("v2", "v2.1"):
        assert wider.status_code == 400
        assert wider.json()["code"] == "INVALID_QUERY"
        assert wider.json()["details"]["operator"] == "greater_than"
    else:
        assert wider.status_code == 200


async def test_layouts_and_field_types_are_served_in_every_version(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    for version in ALL_VERSIONS:
        base = f"/crm/{version}/settings"
        layouts = await emu_client.get(
            f"{base}/layouts", params={"module": "Deals"}, headers=auth_headers
        )
        [layout] = layouts.json()["layouts"]
        required = {f["api_name"] for s in layout["sections"] for f in s["fields"] if f["required"]}
        assert required == {"Deal_Name", "Stage"}, version
        one = await emu_client.get(
            f"{base}/layouts/{layout['id']}", params={"module": "Deals"}, headers=auth_headers
        )
        assert one.json()["layouts"][0]["id"] == layout["id"]
        unused = await emu_client.get(
            f"{base}/fields", params={"module": "Deals", "type": "unused"}, headers=auth_headers
        )
        assert unused.json() == {"fields": []}
    wrong = await emu_client.get(
        "/crm/v8/settings/layouts/1", params={"module": "Deals"}, headers=auth_headers
    )
    assert wrong.status_code == 400
    bad_type = await emu_client.get(
        "/crm/v8/settings/fields", params={"module": "Deals", "type": "some"}, headers=auth_headers
    )
    assert bad_type.json()["details"] == {
        "param_name": "type",
        "supported_values": ["used", "all", "unused"],
    }
    missing = await emu_client.get("/crm/v2/settings/modules/Nope", headers=auth_headers)
    assert missing.json()["code"] == "INVALID_MODULE"
