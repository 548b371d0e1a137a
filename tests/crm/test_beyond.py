"""The CRM beyond records against the emulator, in every API version Zoho has each call in:
notes, tags, related records, lead conversion, attachments and files, composite requests.

Each test drives the client (``crm.notes.at(version)`` ...) and checks both what a user sees
and the credits the emulator counted for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import emulator_config
from tests.http.support import CREDENTIALS, both_apis, zoho_for
from zohokit.crm import (
    MAX_FILE_BYTES,
    CompositeRefused,
    FileTooLarge,
    LeadAlreadyConverted,
    SubRequest,
    TooManySubRequests,
    ZohoCRMService,
)
from zohokit.emulator import Emulator, create_app
from zohokit.errors import BadRequest, RecordError, WriteRefused

ALL_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
#: Composite requests exist from v3 on.
COMPOSITE_VERSIONS = ALL_VERSIONS[2:]

every_version = pytest.mark.parametrize("version", ALL_VERSIONS)


def credits(emulator: Emulator, call: str) -> int:
    return emulator.stats.snapshot().get(f"credits_{call}", 0)


def lead(emulator: Emulator, **values: Any) -> str:
    [lead_id] = emulator.crm.seed("Leads", [{"Last_Name": "Lovelace", **values}])
    return lead_id


@every_version
async def test_notes_round_trip(crm: ZohoCRMService, emulator: Emulator, version: str) -> None:
    notes = crm.notes.at(version)
    lead_id = lead(emulator)
    other = lead(emulator, Last_Name="Other")
    first = await notes.add("Leads", lead_id, "Called, no answer", title="Call")
    second = await notes.add("Leads", lead_id, "Sent the quote")
    await notes.add("Leads", other, "Not this one")
    mine = [n async for n in notes.list("Leads", lead_id)]
    assert [n.id for n in mine] == [second.id, first.id]  # newest first
    assert mine[1].title == "Call"
    assert {(n.module, n.parent_id) for n in mine} == {("Leads", lead_id)}
    everyone = [n async for n in notes.list()]
    assert len(everyone) == 3
    updated = await notes.update(first.id, content="Called back: interested")
    assert updated.ok
    [again] = [n async for n in notes.list("Leads", lead_id) if n.id == first.id]
    assert again.content == "Called back: interested"
    assert (await notes.delete(second.id)).ok
    assert not (await notes.delete(second.id)).ok  # gone already
    assert [n.id async for n in notes.list("Leads", lead_id)] == [first.id]
    # add x3, list, list all, update, list, delete x2, list: one credit each
    assert credits(emulator, "notes") == 10


async def test_a_note_for_a_missing_record_is_zohos_error(crm: ZohoCRMService) -> None:
    with pytest.raises(BadRequest) as caught:
        await crm.notes.add("Leads", "5725767000009999999", "lost")
    assert caught.value.code == "INVALID_DATA"
    with pytest.raises(ValueError, match="content"):
        await crm.notes.add("Leads", "1", "")


@every_version
async def test_tags_round_trip(crm: ZohoCRMService, emulator: Emulator, version: str) -> None:
    tags = crm.tags.at(version)
    ids = [lead(emulator, Last_Name=f"L{i}") for i in range(3)]
    results = await tags.add("Leads", ids[:2], ["Hot", "VIP"])
    assert [r.ok for r in results] == [True, True]
    assert results[0].details["tags"] == ["Hot", "VIP"]
    assert [t.name for t in await tags.of_record("Leads", ids[0])] == ["Hot", "VIP"]
    assert await tags.of_record("Leads", ids[2]) == []
    assert sorted(t.name for t in await tags.of_module("Leads")) == ["Hot", "VIP"]
    removed = await tags.remove("Leads", [ids[0]], ["Hot"])
    assert removed[0].details["tags"] == ["VIP"]
    assert [t.name for t in await tags.of_record("Leads", ids[0])] == ["VIP"]
    replaced = await tags.add("Leads", [ids[1]], ["Cold"], overwrite=True)
    assert replaced[0].details["tags"] == ["Cold"]
    # add, remove, add: the tag calls; the reads are a record read and settings
    assert credits(emulator, "tags") == 3


async def test_tags_on_many_records_cost_a_credit_per_fifty(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    ids = emulator.crm.seed("Leads", [{"Last_Name": f"L{i}"} for i in range(120)])
    results = await crm.tags.add("Leads", ids, ["Batch"])
    assert all(r.ok for r in results)
    assert len(results) == 120
    assert credits(emulator, "tags") == 3  # 120 records: 3 credits of 50


async def test_a_record_takes_at_most_ten_tags(crm: ZohoCRMService, emulator: Emulator) -> None:
    lead_id = lead(emulator)
    assert (await crm.tags.add("Leads", [lead_id], [f"t{i}" for i in range(10)]))[0].ok
    [refused] = await crm.tags.add("Leads", [lead_id], ["eleventh"])
    assert not refused.ok
    assert refused.code == "LIMIT_EXCEEDED"


@every_version
async def test_related_records_list_link_unlink(
    crm: ZohoCRMService, emulator: Emulator, version: str
) -> None:
    related = crm.related.at(version)
    [account] = emulator.crm.seed("Accounts", [{"Account_Name": "Acme"}])
    contacts = emulator.crm.seed("Contacts", [{"Last_Name": f"C{i}"} for i in range(3)])
    for contact in contacts[:2]:
        assert (await related.link("Accounts", account, "Contacts", contact)).ok
    listed = [
        r["id"] async for r in related.list("Accounts", account, "Contacts", fields=["Last_Name"])
    ]
    assert sorted(listed) == sorted(contacts[:2])
    assert (await related.unlink("Accounts", account, "Contacts", contacts[0])).ok
    assert not (await related.unlink("Accounts", account, "Contacts", contacts[2])).ok
    left = [r async for r in related.list("Accounts", account, "Contacts", fields=["Last_Name"])]
    assert [r["Last_Name"] for r in left] == ["C1"]
    stored = {r["id"]: r for r in emulator.crm.records("Contacts")}
    assert stored[contacts[0]]["Account_Name"] is None
    assert stored[contacts[1]]["Account_Name"]["id"] == account
    assert credits(emulator, "related_records") == 6


async def test_an_unknown_related_list_is_zohos_error(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    [account] = emulator.crm.seed("Accounts", [{"Account_Name": "Acme"}])
    with pytest.raises(BadRequest) as caught:
        [r async for r in crm.related.list("Accounts", account, "Nope", fields=["id"])]
    assert caught.value.code == "INVALID_DATA"


@every_version
async def test_convert_lead_into_contact_account_and_deal(
    crm: ZohoCRMService, emulator: Emulator, version: str
) -> None:
    leads = crm.leads.at(version)
    lead_id = lead(emulator, First_Name="Ada", Email="ada@example.com", Company="Analytical")
    await crm.notes.at(version).add("Leads", lead_id, "met at the fair")
    deal = {"Deal_Name": "Engines", "Stage": "Qualification", "Closing_Date": "2031-03-04"}
    made = await leads.convert(lead_id, deal=deal)
    assert made.account_id
    assert made.deal_id
    [contact] = emulator.crm.records("Contacts")
    assert (contact["id"], contact["Email"], contact["Last_Name"]) == (
        made.contact_id,
        "ada@example.com",
        "Lovelace",
    )
    assert contact["Account_Name"]["id"] == made.account_id
    [account] = emulator.crm.records("Accounts")
    assert account["Account_Name"] == "Analytical"
    [stored_deal] = emulator.crm.records("Deals")
    assert stored_deal["Contact_Name"]["id"] == made.contact_id
    assert stored_deal["Account_Name"]["id"] == made.account_id
    # The lead leaves the default listing; its note moved to the contact.
    assert [r async for r in crm.list_records("Leads", fields=["Last_Name"])] == []
    [note] = [n async for n in crm.notes.list("Contacts", made.contact_id)]
    assert note.content == "met at the fair"
    assert credits(emulator, "convert_lead") == 5
    with pytest.raises(LeadAlreadyConverted):
        await leads.convert(lead_id)
    assert credits(emulator, "convert_lead") == 10  # Zoho charges the refused call too


async def test_a_conversion_zoho_refuses_changes_nothing(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    lead_id = lead(emulator, Company="Analytical")
    with pytest.raises(RecordError) as caught:
        await crm.leads.convert(lead_id, deal={"Deal_Name": "no stage"})
    assert caught.value.code == "MANDATORY_NOT_FOUND"
    assert caught.value.details["api_name"] == "Stage"
    assert emulator.crm.count("Contacts") == emulator.crm.count("Accounts") == 0
    made = await crm.leads.convert(lead_id)  # no company account twice, no deal
    assert made.deal_id is None
    assert made.account_id


async def test_a_lead_without_company_converts_to_a_contact_alone(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    made = await crm.leads.convert(lead(emulator))
    assert made.account_id is None
    assert made.deal_id is None
    assert emulator.crm.count("Contacts") == 1


@every_version
async def test_attachments_round_trip(
    crm: ZohoCRMService, emulator: Emulator, version: str, tmp_path: Path
) -> None:
    attachments = crm.attachments.at(version)
    lead_id = lead(emulator)
    big = bytes(range(256)) * 4096  # 1 MiB: more than one chunk
    path = tmp_path / "contract.pdf"
    path.write_bytes(big)
    first = await attachments.upload("Leads", lead_id, path)
    second = await attachments.upload("Leads", lead_id, b"hello", file_name="hi.txt")
    assert first.ok
    assert second.ok
    listed = [a async for a in attachments.list("Leads", lead_id)]
    assert [(a.file_name, a.size) for a in listed] == [("hi.txt", 5), ("contract.pdf", len(big))]
    chunks = [c async for c in attachments.download("Leads", lead_id, str(first.id))]
    assert b"".join(chunks) == big
    assert (await attachments.delete("Leads", lead_id, str(second.id))).ok
    assert [a.file_name async for a in attachments.list("Leads", lead_id)] == ["contract.pdf"]
    assert credits(emulator, "attachments") == 6


async def test_a_file_past_zohos_limit_is_refused_before_sending(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    lead_id = lead(emulator)
    before = emulator.stats.snapshot()["crm_requests"]
    with pytest.raises(FileTooLarge) as caught:
        await crm.attachments.upload("Leads", lead_id, b"x" * (MAX_FILE_BYTES + 1), file_name="a")
    assert isinstance(caught.value, WriteRefused)
    assert caught.value.limit == MAX_FILE_BYTES
    with pytest.raises(FileTooLarge):
        await crm.files.upload(b"x" * (MAX_FILE_BYTES + 1), file_name="a")
    assert emulator.stats.snapshot()["crm_requests"] == before


async def test_the_emulator_refuses_a_file_past_its_limit(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    from zohokit.emulator.crm._attachments import AttachmentHandlers

    lead_id = lead(emulator)
    limit = AttachmentHandlers.max_bytes
    AttachmentHandlers.max_bytes = 10  # Zoho's 20 MB, made small
    try:
        with pytest.raises(BadRequest) as caught:
            await crm.attachments.upload("Leads", lead_id, b"x" * 11, file_name="a")
    finally:
        AttachmentHandlers.max_bytes = limit
    assert caught.value.code == "FILE_SIZE_MORE_THAN_ALLOWED"
    assert caught.value.details["maximum_size"] == 10
    assert emulator.crm.beyond.attachments == {}


@every_version
async def test_files_upload_and_download(
    crm: ZohoCRMService, emulator: Emulator, version: str
) -> None:
    files = crm.files.at(version)
    uploaded = await files.upload(b"id card scan", file_name="id.png")
    assert uploaded.name == "id.png"
    assert uploaded.id
    assert b"".join([c async for c in files.download(uploaded.id)]) == b"id card scan"
    assert credits(emulator, "files") == 2


@pytest.mark.parametrize("version", COMPOSITE_VERSIONS)
async def test_a_composite_request_runs_its_sub_requests_for_one_credit(
    crm: ZohoCRMService, emulator: Emulator, version: str
) -> None:
    before = emulator.stats.snapshot()["credits_used"]
    result = await crm.composite.at(version).send(
        [
            SubRequest("POST", "/Accounts", body={"data": [{"Account_Name": "Acme"}]}, id="acct"),
            SubRequest(
                "POST",
                "/Contacts",
                body={
                    "data": [
                        {"Last_Name": "Doe", "Account_Name": {"id": "@{acct:$.data[0].details.id}"}}
                    ]
                },
            ),
            SubRequest("GET", "/Accounts", params={"fields": "Account_Name"}),
        ]
    )
    assert result.ok
    assert not result.rolled_back
    assert [r.status_code for r in result.results] == [201, 201, 200]
    [account] = emulator.crm.records("Accounts")
    [contact] = emulator.crm.records("Contacts")
    assert contact["Account_Name"]["id"] == account["id"]
    assert result.results[0].records()[0].id == account["id"]
    assert result.results[2].body["data"][0]["Account_Name"] == "Acme"
    assert emulator.stats.snapshot()["credits_used"] - before == 1
    assert credits(emulator, "composite") == 1


@pytest.mark.parametrize("version", COMPOSITE_VERSIONS)
async def test_a_composite_with_rollback_and_a_failing_sub_request_changes_nothing(
    crm: ZohoCRMService, emulator: Emulator, version: str
) -> None:
    lead_id = lead(emulator)
    before = {m: emulator.crm.records(m) for m in ("Leads", "Contacts", "Accounts")}
    result = await crm.composite.at(version).send(
        [
            SubRequest("POST", "/Accounts", body={"data": [{"Account_Name": "Acme"}]}),
            SubRequest("PUT", f"/Leads/{lead_id}", body={"data": [{"Last_Name": "Changed"}]}),
            SubRequest("POST", f"/Leads/{lead_id}/Notes", body={"data": [{"Note_Content": "x"}]}),
            SubRequest("POST", "/Contacts", body={"data": [{"First_Name": "no last name"}]}),
            SubRequest("POST", "/Accounts", body={"data": [{"Account_Name": "never"}]}),
        ],
        rollback_on_fail=True,
    )
    assert result.rolled_back
    assert not result.ok
    assert [r.rolled_back for r in result.results] == [True, True, True, True, False]
    assert not result.results[4].executed
    assert result.results[3].records()[0].code == "MANDATORY_NOT_FOUND"
    after = {m: emulator.crm.records(m) for m in ("Leads", "Contacts", "Accounts")}
    assert after == before
    assert emulator.crm.beyond.notes == {}


async def test_without_rollback_the_sub_requests_before_a_failure_stay(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    result = await crm.composite.send(
        [
            SubRequest("POST", "/Accounts", body={"data": [{"Account_Name": "Acme"}]}),
            SubRequest("POST", "/Contacts", body={"data": [{"First_Name": "no last name"}]}),
        ]
    )
    assert [r.ok for r in result.results] == [True, False]
    assert not result.rolled_back
    assert emulator.crm.count("Accounts") == 1


async def test_composite_requests_zoho_would_refuse_are_refused_before_sending(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    six = [SubRequest("GET", "/org") for _ in range(6)]
    with pytest.raises(TooManySubRequests) as caught:
        await crm.composite.send(six)
    assert caught.value.count == 6
    assert isinstance(caught.value, CompositeRefused)
    with pytest.raises(CompositeRefused, match="parallel"):
        await crm.composite.send(six[:2], rollback_on_fail=True, parallel_execution=True)
    with pytest.raises(CompositeRefused, match="v3"):
        await crm.composite.at("v2").send(six[:1])
    assert emulator.stats.snapshot()["crm_requests"] == 0


@both_apis
async def test_every_part_through_both_apis(crm: ZohoCRMService, emulator: Emulator) -> None:
    """The same calls through the async service and through :mod:`zohokit.blocking`."""
    lead_id = lead(emulator, Company="Analytical")
    note = await crm.notes.at("v6").add("Leads", lead_id, "hello")
    assert [n.id async for n in crm.notes.list("Leads", lead_id)] == [note.id]
    upload = await crm.attachments.upload("Leads", lead_id, b"abc", file_name="a.txt")
    assert b"".join([c async for c in crm.attachments.download("Leads", lead_id, upload.id)])
    assert (await crm.tags.add("Leads", [lead_id], ["Hot"]))[0].ok
    composite = await crm.composite.send([SubRequest("GET", f"/Leads/{lead_id}")])
    assert composite.ok
    made = await crm.leads.convert(lead_id)
    assert made.account_id
    contacts = [
        r["id"]
        async for r in crm.related.list("Accounts", made.account_id, "Contacts", fields=["id"])
    ]
    assert contacts == [made.contact_id]


@every_version
async def test_a_file_upload_field_takes_an_uploaded_file_and_gives_it_back(
    tmp_path: Path, version: str
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "modules": [
                    {
                        "api_name": "Leads",
                        "fields": [{"api_name": "ID_Scan", "data_type": "fileupload"}],
                    }
                ]
            }
        )
    )
    emulator = Emulator(emulator_config(schema_file=str(schema)))
    transport = httpx.ASGITransport(app=create_app(emulator))
    async with zoho_for(
        tmp_path / "z.db", transport=transport, accounts_url=emulator.base_url
    ) as root:
        crm = root.crm("default", CREDENTIALS)
        files = crm.files.at(version)
        lead_id = lead(emulator)
        uploaded = await files.upload(b"passport", file_name="scan.png")
        assert (await files.set_field("Leads", lead_id, "ID_Scan", [uploaded])).ok
        record = await crm.get_record("Leads", lead_id, fields=["ID_Scan"])
        [entry] = record["ID_Scan"]
        assert (entry["File_Name__s"], entry["Size__s"]) == ("scan.png", "8")
        got = b"".join([c async for c in files.download(entry["File_Id__s"])])
        assert got == b"passport"
        [refused] = await crm.update_records(
            "Leads", [{"id": lead_id, "ID_Scan": [{"file_id": "no-such-file"}]}]
        )
        assert refused.code == "INVALID_DATA"
        assert refused.details["api_name"] == "ID_Scan"
        fields = {f["api_name"]: f for f in await crm.fields("Leads")}
        assert fields["ID_Scan"]["json_type"] == "jsonarray"
