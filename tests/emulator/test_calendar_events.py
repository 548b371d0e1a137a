"""Calendar v1 calendars and events through HTTP, as cal.com and Pipedream call them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN
from zohokit.emulator import Emulator, EmulatorServer

BASE = "/api/v1/calendars"


def timed(title: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "dateandtime": {"timezone": "UTC", "start": start, "end": end},
        **extra,
    }


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], cal: str, data: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(
        f"{BASE}/{cal}/events", params={"eventdata": json.dumps(data)}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    event: dict[str, Any] = answer.json()["events"][0]
    return event


async def list_range(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    cal: str,
    start: str,
    end: str,
    **params: str,
) -> httpx.Response:
    return await client.get(
        f"{BASE}/{cal}/events",
        params={"range": json.dumps({"start": start, "end": end}), **params},
        headers=headers,
    )


# ------------------------------------------------------------------------- calendars


async def test_calendars_list_has_the_default_calendar(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    answer = await emu_client.get(BASE, headers=auth_headers)
    assert answer.status_code == 200
    calendars = answer.json()["calendars"]
    assert [c["uid"] for c in calendars] == [emulator.calendar.primary_uid]
    primary = calendars[0]
    assert primary["isdefault"] is True
    assert primary["privilege"] == "owner"
    assert primary["timezone"] == "UTC"
    assert primary["include_infreebusy"] is True
    assert len(primary["uid"]) == 32
    int(primary["uid"], 16)


def test_primary_uid_depends_only_on_the_seed() -> None:
    assert Emulator().calendar.primary_uid == Emulator().calendar.primary_uid


async def test_get_calendar_by_uid_and_by_alias(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    other = emulator.calendar.add_calendar("Team", timezone="Europe/Berlin")
    answer = await emu_client.get(f"{BASE}/{other}", headers=auth_headers)
    assert answer.json()["calendars"][0]["name"] == "Team"
    assert answer.json()["calendars"][0]["isdefault"] is False
    alias = await emu_client.get(f"{BASE}/primary", headers=auth_headers)
    assert alias.json()["calendars"][0]["uid"] == emulator.calendar.primary_uid
    missing = await emu_client.get(f"{BASE}/{'0' * 32}", headers=auth_headers)
    assert missing.status_code == 404
    assert missing.json()["status"] == "error"


async def test_bearer_is_accepted_and_bad_tokens_are_401(
    emu_client: httpx.AsyncClient, access_token: str
) -> None:
    ok = await emu_client.get(BASE, headers={"Authorization": f"Bearer {access_token}"})
    assert ok.status_code == 200
    none = await emu_client.get(BASE)
    assert none.status_code == 401
    assert none.json()["code"] == "AUTHENTICATION_FAILURE"
    bogus = await emu_client.get(
        f"{BASE}/primary/events", headers={"Authorization": "Zoho-oauthtoken 1000.nope"}
    )
    assert bogus.status_code == 401
    assert bogus.json()["code"] == "INVALID_TOKEN"


async def test_expired_token_is_401(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.clock.advance(3601)
    answer = await emu_client.get(BASE, headers=auth_headers)
    assert answer.status_code == 401


async def test_unknown_api_path_is_a_json_404(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get("/api/v1/nothing/here", headers=auth_headers)
    assert answer.status_code == 404
    assert answer.json()["status"] == "error"


# ------------------------------------------------------------------- create and get


async def test_create_via_query_string_then_get(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    cal = emulator.calendar.primary_uid
    data = timed(
        "Demo",
        "20250115T100000Z",
        "20250115T103000Z",
        location="Room 1",
        description="agenda",
        attendees=[{"email": "guest@example.com", "permission": 1, "attendance": 1}],
        reminders=[{"action": "popup", "minutes": "-15"}],
    )
    event = await create(emu_client, auth_headers, cal, data)
    assert event["uid"].endswith("@zoho.com")
    assert len(event["uid"].split("@")[0]) == 32
    assert event["etag"].isdigit()
    assert event["caluid"] == cal
    assert event["dateandtime"] == {
        "timezone": "UTC",
        "start": "20250115T100000+0000",
        "end": "20250115T103000+0000",
    }
    assert event["duration"] == "1800000"
    assert event["organizer"] == emulator.config.user_email
    assert event["attendees"][0]["email"] == "guest@example.com"
    got = await emu_client.get(f"{BASE}/{cal}/events/{event['uid']}", headers=auth_headers)
    assert got.status_code == 200
    assert got.json()["events"][0] == event


async def test_create_via_form_body_and_multipart(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    cal = emulator.calendar.primary_uid
    data = json.dumps(timed("Form", "20250115T100000Z", "20250115T110000Z"))
    form = await emu_client.post(
        f"{BASE}/{cal}/events", data={"eventdata": data}, headers=auth_headers
    )
    assert form.status_code == 201, form.text
    multipart = await emu_client.post(
        f"{BASE}/{cal}/events",
        data={"eventdata": data},
        files={"unused": ("a.txt", b"x")},
        headers=auth_headers,
    )
    assert multipart.status_code == 201, multipart.text
    assert [e["title"] for e in emulator.calendar.events(cal)] == ["Form", "Form"]


async def test_offset_times_are_stored_as_the_same_instant(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    event = await create(
        emu_client,
        auth_headers,
        "primary",
        {
            "title": "India",
            "dateandtime": {
                "timezone": "Asia/Kolkata",
                "start": "20241028T160000+0530",
                "end": "20241028T163000+0530",
            },
        },
    )
    assert event["dateandtime"]["start"] == "20241028T160000+0530"
    listed = await list_range(
        emu_client, auth_headers, "primary", "20241028T103000Z", "20241028T103100Z"
    )
    assert [e["uid"] for e in listed.json()["events"]] == [event["uid"]]


@pytest.mark.parametrize(
    ("eventdata", "code"),
    [
        ('{"title": "x"}', "MANDATORY_NOT_FOUND"),
        ("{not json", "INVALID_DATA"),
        (
            json.dumps(timed("x", "20250115T110000Z", "20250115T100000Z")),
            "INVALID_DATA",
        ),
        (json.dumps(timed("x", "2025-01-15T10:00:00Z", "20250115T110000Z")), "INVALID_DATA"),
        (json.dumps(timed("x", "20250115", "20250116")), "INVALID_DATA"),
        (
            json.dumps(timed("x", "20250115T100000Z", "20250115T110000Z", location="L" * 256)),
            "INVALID_DATA",
        ),
        (
            json.dumps(
                timed("x", "20250115T100000Z", "20250115T110000Z", description="d" * 10_001)
            ),
            "INVALID_DATA",
        ),
        (
            json.dumps(timed("x", "20250115T100000Z", "20250115T110000Z", rrule="FREQ=HOURLY")),
            "INVALID_DATA",
        ),
        (
            json.dumps(
                {
                    "dateandtime": {
                        "timezone": "Mars/Base",
                        "start": "20250115T100000Z",
                        "end": "20250115T110000Z",
                    }
                }
            ),
            "INVALID_DATA",
        ),
        (
            json.dumps(
                {
                    "dateandtime": {
                        # A folder of the tz database, not a zone: no 500 for it.
                        "timezone": "Europe",
                        "start": "20250115T100000Z",
                        "end": "20250115T110000Z",
                    }
                }
            ),
            "INVALID_DATA",
        ),
    ],
)
async def test_invalid_eventdata_is_400(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], eventdata: str, code: str
) -> None:
    answer = await emu_client.post(
        f"{BASE}/primary/events", params={"eventdata": eventdata}, headers=auth_headers
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == code
    assert body["status"] == "error"
    assert set(body) == {"code", "message", "status", "details"}


async def test_missing_eventdata_is_400(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.post(f"{BASE}/primary/events", headers=auth_headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "MANDATORY_NOT_FOUND"


async def test_get_unknown_event_is_404(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await emu_client.get(
        f"{BASE}/primary/events/{'a' * 32}@zoho.com", headers=auth_headers
    )
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"


# ------------------------------------------------------------------------------ list


async def test_list_returns_only_events_in_range(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    cal = emulator.calendar.primary_uid
    emulator.calendar.seed_events(
        cal,
        [
            timed("late", "20250120T150000Z", "20250120T160000Z", description="secret"),
            timed("early", "20250110T090000Z", "20250110T100000Z"),
            timed("outside", "20250301T090000Z", "20250301T100000Z"),
        ],
    )
    answer = await list_range(emu_client, auth_headers, cal, "20250101", "20250131")
    assert answer.status_code == 200
    events = answer.json()["events"]
    assert [e["title"] for e in events] == ["early", "late"]
    # Descriptions only come with Accept: application/json+large.
    assert "description" not in events[1]
    large = await emu_client.get(
        f"{BASE}/{cal}/events",
        params={"range": json.dumps({"start": "20250101", "end": "20250131"})},
        headers={**auth_headers, "Accept": "application/json+large"},
    )
    assert large.json()["events"][1]["description"] == "secret"


async def test_empty_range_lists_no_events(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await list_range(emu_client, auth_headers, "primary", "20250101", "20250102")
    assert answer.status_code == 200
    assert answer.json() == {"events": []}


async def test_list_rejects_ranges_over_31_days_and_missing_range(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    too_long = await list_range(
        emu_client, auth_headers, "primary", "20250101T000000Z", "20250205T000000Z"
    )
    assert too_long.status_code == 400
    assert too_long.json()["status"] == "error"
    missing = await emu_client.get(f"{BASE}/primary/events", headers=auth_headers)
    assert missing.status_code == 400


# ---------------------------------------------------------------------------- update


async def test_update_with_current_etag_bumps_the_etag(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    event = await create(
        emu_client,
        auth_headers,
        "primary",
        timed("Old", "20250115T100000Z", "20250115T110000Z", location="Here"),
    )
    url = f"{BASE}/primary/events/{event['uid']}"
    change = timed("New", "20250116T100000Z", "20250116T120000Z", etag=event["etag"])
    answer = await emu_client.put(url, data={"eventdata": json.dumps(change)}, headers=auth_headers)
    assert answer.status_code == 200, answer.text
    updated = answer.json()["events"][0]
    assert updated["title"] == "New"
    assert updated["location"] == "Here"  # keys left out keep their values
    assert updated["dateandtime"]["start"] == "20250116T100000+0000"
    assert int(updated["etag"]) > int(event["etag"])
    # A second update in the same millisecond still gets a new etag.
    again = timed("Newer", "20250116T100000Z", "20250116T120000Z", etag=updated["etag"])
    second = await emu_client.put(
        url, params={"eventdata": json.dumps(again)}, headers=auth_headers
    )
    assert int(second.json()["events"][0]["etag"]) > int(updated["etag"])


async def test_update_with_stale_or_missing_etag_is_refused(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    event = await create(
        emu_client, auth_headers, "primary", timed("A", "20250115T100000Z", "20250115T110000Z")
    )
    url = f"{BASE}/primary/events/{event['uid']}"
    first = timed("B", "20250115T100000Z", "20250115T110000Z", etag=event["etag"])
    assert (
        await emu_client.put(url, params={"eventdata": json.dumps(first)}, headers=auth_headers)
    ).status_code == 200
    stale = await emu_client.put(url, params={"eventdata": json.dumps(first)}, headers=auth_headers)
    assert stale.status_code == 412
    assert stale.json()["code"] == "ETAG_MISMATCH"
    no_etag = timed("C", "20250115T100000Z", "20250115T110000Z")
    missing = await emu_client.put(
        url, params={"eventdata": json.dumps(no_etag)}, headers=auth_headers
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "MANDATORY_NOT_FOUND"
    no_time = await emu_client.put(
        url,
        params={"eventdata": json.dumps({"title": "D", "etag": event["etag"]})},
        headers=auth_headers,
    )
    assert no_time.status_code == 400
    current = await emu_client.get(url, headers=auth_headers)
    assert current.json()["events"][0]["title"] == "B"


# ---------------------------------------------------------------------------- delete


async def test_delete_needs_the_current_etag_header(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    event = await create(
        emu_client, auth_headers, "primary", timed("A", "20250115T100000Z", "20250115T110000Z")
    )
    url = f"{BASE}/primary/events/{event['uid']}"
    missing = await emu_client.delete(url, headers=auth_headers)
    assert missing.status_code == 400
    stale = await emu_client.delete(url, headers={**auth_headers, "etag": "1"})
    assert stale.status_code == 412
    answer = await emu_client.delete(url, headers={**auth_headers, "etag": event["etag"]})
    assert answer.status_code == 200
    assert answer.json()["events"][0]["uid"] == event["uid"]
    assert "caldav_url" in answer.json()["events"][0]
    assert (await emu_client.get(url, headers=auth_headers)).status_code == 404
    assert emulator.calendar.events(emulator.calendar.primary_uid) == []


async def test_delete_with_etag_in_eventdata(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    event = await create(
        emu_client, auth_headers, "primary", timed("A", "20250115T100000Z", "20250115T110000Z")
    )
    url = f"{BASE}/primary/events/{event['uid']}"
    answer = await emu_client.delete(
        url, params={"eventdata": json.dumps({"etag": event["etag"]})}, headers=auth_headers
    )
    assert answer.status_code == 200


# ------------------------------------------------------------------------ recurrence


async def test_byinstance_expands_a_weekly_series(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    # 2025-01-06 is a Monday.
    series = await create(
        emu_client,
        auth_headers,
        "primary",
        timed(
            "Standup",
            "20250106T090000Z",
            "20250106T091500Z",
            rrule="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5",
        ),
    )
    plain = await list_range(emu_client, auth_headers, "primary", "20250101", "20250131")
    assert [e["uid"] for e in plain.json()["events"]] == [series["uid"]]
    assert plain.json()["events"][0]["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5"
    expanded = await list_range(
        emu_client, auth_headers, "primary", "20250101", "20250131", byinstance="true"
    )
    events = expanded.json()["events"]
    assert [e["recurrenceid"] for e in events] == [
        "20250106T090000Z",
        "20250109T090000Z",
        "20250113T090000Z",
        "20250116T090000Z",
        "20250120T090000Z",
    ]
    assert events[1]["dateandtime"]["start"] == "20250109T090000+0000"
    assert events[1]["dateandtime"]["end"] == "20250109T091500+0000"


async def test_delete_one_occurrence_then_the_following_ones(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    series = await create(
        emu_client,
        auth_headers,
        "primary",
        timed("Daily", "20250106T090000Z", "20250106T100000Z", rrule="FREQ=DAILY;COUNT=5"),
    )
    url = f"{BASE}/primary/events/{series['uid']}"
    only = await emu_client.delete(
        url,
        params={"eventdata": json.dumps({"recurrenceid": "20250107T090000Z"})},
        headers={**auth_headers, "etag": series["etag"]},
    )
    assert only.status_code == 200, only.text
    new_etag = only.json()["events"][0]["etag"]
    following = await emu_client.delete(
        url,
        params={
            "eventdata": json.dumps(
                {
                    "recurrenceid": "20250109T090000Z",
                    "recurrence_edittype": "following",
                    "etag": new_etag,
                }
            )
        },
        headers=auth_headers,
    )
    assert following.status_code == 200, following.text
    listed = await list_range(
        emu_client, auth_headers, "primary", "20250101", "20250131", byinstance="true"
    )
    assert [e["recurrenceid"] for e in listed.json()["events"]] == [
        "20250106T090000Z",
        "20250108T090000Z",
    ]
    unknown = await emu_client.delete(
        url,
        params={"eventdata": json.dumps({"recurrenceid": "20250106T093000Z"})},
        headers={**auth_headers, "etag": following.json()["events"][0]["etag"]},
    )
    assert unknown.status_code == 404


async def test_byinstance_endpoint_lists_one_series(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    series = await create(
        emu_client,
        auth_headers,
        "primary",
        timed("Daily", "20250106T090000Z", "20250106T100000Z", rrule="FREQ=DAILY;INTERVAL=10"),
    )
    answer = await emu_client.get(
        f"{BASE}/primary/events/{series['uid']}/byinstance",
        params={"range": json.dumps({"start": "20250101", "end": "20250331"})},
        headers=auth_headers,
    )
    assert answer.status_code == 200
    assert len(answer.json()["events"]) == 9  # Jan 6, 16, 26, Feb 5, 15, 25, Mar 7, 17, 27


# --------------------------------------------------------------------------- all-day


async def test_all_day_events(emu_client: httpx.AsyncClient, auth_headers: dict[str, str]) -> None:
    holiday = await create(
        emu_client,
        auth_headers,
        "primary",
        {
            "title": "Holiday",
            "isallday": True,
            "dateandtime": {"timezone": "UTC", "start": "20250120", "end": "20250121"},
        },
    )
    assert holiday["isallday"] is True
    assert holiday["dateandtime"]["start"] == "20250120"
    assert holiday["dateandtime"]["end"] == "20250121"
    assert holiday["multiday"] is True
    assert holiday["duration"] == str(2 * 86_400_000)
    inside = await list_range(
        emu_client, auth_headers, "primary", "20250121T120000Z", "20250121T130000Z"
    )
    assert [e["title"] for e in inside.json()["events"]] == ["Holiday"]
    after = await list_range(emu_client, auth_headers, "primary", "20250122", "20250123")
    assert after.json()["events"] == []
    timed_times = await emu_client.post(
        f"{BASE}/primary/events",
        params={
            "eventdata": json.dumps(
                {
                    "isallday": True,
                    "dateandtime": {"start": "20250120T100000Z", "end": "20250120T110000Z"},
                }
            )
        },
        headers=auth_headers,
    )
    assert timed_times.status_code == 400


async def test_events_live_on_their_own_calendar(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    team = emulator.calendar.add_calendar("Team")
    event = await create(
        emu_client, auth_headers, team, timed("Team", "20250115T100000Z", "20250115T110000Z")
    )
    assert event["caluid"] == team
    primary = await list_range(emu_client, auth_headers, "primary", "20250115", "20250115")
    assert primary.json()["events"] == []
    wrong_cal = await emu_client.get(f"{BASE}/primary/events/{event['uid']}", headers=auth_headers)
    assert wrong_cal.status_code == 404


async def test_update_one_occurrence_moves_only_that_one(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    series = await create(
        emu_client,
        auth_headers,
        "primary",
        timed("Daily", "20250106T090000Z", "20250106T100000Z", rrule="FREQ=DAILY;COUNT=3"),
    )
    moved = timed(
        "Moved",
        "20250107T150000Z",
        "20250107T160000Z",
        etag=series["etag"],
        recurrenceid="20250107T090000Z",
    )
    answer = await emu_client.put(
        f"{BASE}/primary/events/{series['uid']}",
        params={"eventdata": json.dumps(moved)},
        headers=auth_headers,
    )
    assert answer.status_code == 200, answer.text
    assert "rrule" not in answer.json()["events"][0]
    listed = await list_range(
        emu_client, auth_headers, "primary", "20250101", "20250131", byinstance="true"
    )
    assert [(e["title"], e["dateandtime"]["start"]) for e in listed.json()["events"]] == [
        ("Daily", "20250106T090000+0000"),
        ("Moved", "20250107T150000+0000"),
        ("Daily", "20250108T090000+0000"),
    ]
    # The series changed, so the etag the client held is now stale.
    again = await emu_client.put(
        f"{BASE}/primary/events/{series['uid']}",
        params={"eventdata": json.dumps(moved)},
        headers=auth_headers,
    )
    assert again.status_code == 412


def test_calendar_over_a_real_socket(emulator_server: EmulatorServer) -> None:
    with httpx.Client(base_url=emulator_server.url, timeout=10) as client:
        token = client.post(
            "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        data = timed("Socket", "20250115T100000Z", "20250115T110000Z")
        created = client.post(
            f"{BASE}/primary/events", data={"eventdata": json.dumps(data)}, headers=headers
        )
        assert created.status_code == 201
        busy = client.get(
            f"{BASE}/freebusy",
            params={
                "uemail": emulator_server.emulator.config.user_email,
                "sdate": "20250115T000000",
                "edate": "20250116T000000",
                "ftype": "eventbased",
            },
            headers=headers,
        )
        assert busy.json()["freebusy"] == [
            {"fbtype": "busy", "startTime": "20250115T100000Z", "endTime": "20250115T110000Z"}
        ]
