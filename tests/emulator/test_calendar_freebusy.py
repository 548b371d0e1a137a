"""Calendar v1 free/busy through HTTP, in both answer formats."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from zohokit.emulator import Emulator

URL = "/api/v1/calendars/freebusy"


def timed(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": "busy",
        "dateandtime": {"timezone": "UTC", "start": start, "end": end},
        **extra,
    }


def allday(start: str, end: str) -> dict[str, Any]:
    return {
        "title": "off",
        "isallday": True,
        "dateandtime": {"timezone": "UTC", "start": start, "end": end},
    }


async def freebusy(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get(URL, params=params, headers=headers)


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    """A primary calendar and a second one, with overlapping, repeating and all-day events,
    plus a calendar hidden from free/busy."""
    store = emulator.calendar
    team = store.add_calendar("Team")
    hidden = store.add_calendar("Private", include_infreebusy=False)
    store.seed_events(
        store.primary_uid,
        [
            timed("20250106T100000Z", "20250106T110000Z"),
            timed("20250106T090000Z", "20250106T091500Z", rrule="FREQ=DAILY;COUNT=3"),
            allday("20250108", "20250108"),
        ],
    )
    store.seed_events(team, [timed("20250106T103000Z", "20250106T120000Z")])
    store.seed_events(hidden, [timed("20250106T140000Z", "20250106T150000Z")])
    return emulator


async def test_eventbased_merges_calendars_and_expands_series(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], seeded: Emulator
) -> None:
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=seeded.config.user_email,
        sdate="20250106T000000",
        edate="20250110T000000",
        ftype="eventbased",
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20250106T090000Z", "endTime": "20250106T091500Z"},
            # 10:00-11:00 on the primary and 10:30-12:00 on Team merge into one block;
            # the hidden calendar's 14:00 event does not count.
            {"fbtype": "busy", "startTime": "20250106T100000Z", "endTime": "20250106T120000Z"},
            {"fbtype": "busy", "startTime": "20250107T090000Z", "endTime": "20250107T091500Z"},
            {"fbtype": "busy", "startTime": "20250108Z", "endTime": "20250109Z"},
            {"fbtype": "busy", "startTime": "20250108T090000Z", "endTime": "20250108T091500Z"},
        ]
    }


async def test_eventbased_is_the_default_and_accepts_a_trailing_z(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], seeded: Emulator
) -> None:
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=seeded.config.user_email,
        sdate="20250107T000000Z",
        edate="20250107T235959Z",
    )
    assert answer.json() == {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20250107T090000Z", "endTime": "20250107T091500Z"}
        ]
    }


async def test_timebased_groups_busy_ranges_by_day(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], seeded: Emulator
) -> None:
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=seeded.config.user_email,
        sdate="20250106T000000",
        edate="20250110T000000",
        ftype="timebased",
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "freebusy": {
            "20250106": [None, ["09:00-09:15", "10:00-12:00"]],
            "20250107": [None, ["09:00-09:15"]],
            "20250108": [{"allday": True}, ["09:00-09:15"]],
        }
    }


async def test_free_user_gets_an_empty_list(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=emulator.config.user_email,
        sdate="20250106T000000",
        edate="20250107T000000",
    )
    assert answer.json() == {"freebusy": []}


async def test_disabled_sharing_answers_fb_not_enabled(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], seeded: Emulator
) -> None:
    seeded.calendar.set_freebusy_enabled(False)
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=seeded.config.user_email,
        sdate="20250106T000000",
        edate="20250107T000000",
        ftype="eventbased",
    )
    assert answer.status_code == 200
    assert answer.json() == {"fb_not_enabled": True}


async def test_event_edits_show_up_in_freebusy(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    [event] = emulator.calendar.seed_events(
        emulator.calendar.primary_uid, [timed("20250106T100000Z", "20250106T110000Z")]
    )
    await emu_client.delete(
        f"/api/v1/calendars/primary/events/{event['uid']}",
        headers={**auth_headers, "etag": event["etag"]},
    )
    answer = await freebusy(
        emu_client,
        auth_headers,
        uemail=emulator.config.user_email,
        sdate="20250106T000000",
        edate="20250107T000000",
    )
    assert answer.json() == {"freebusy": []}


@pytest.mark.parametrize(
    "params",
    [
        {"sdate": "20250101T000000", "edate": "20250205T000000"},  # over 31 days
        {"sdate": "20250105T000000", "edate": "20250101T000000"},  # inverted
        {"sdate": "2025-01-01", "edate": "20250102T000000"},  # bad format
        {"edate": "20250102T000000"},  # missing sdate
        {"sdate": "20250101T000000", "edate": "20250102T000000", "ftype": "hourly"},
        {"sdate": "20250101T000000", "edate": "20250102T000000", "uemail": "who@else.com"},
        {"sdate": "20250101T000000", "edate": "20250102T000000", "uemail": ""},
    ],
)
async def test_bad_queries_are_400(
    emu_client: httpx.AsyncClient,
    auth_headers: dict[str, str],
    emulator: Emulator,
    params: dict[str, str],
) -> None:
    answer = await freebusy(
        emu_client, auth_headers, **{"uemail": emulator.config.user_email, **params}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["status"] == "error"


async def test_freebusy_needs_a_token(emu_client: httpx.AsyncClient, emulator: Emulator) -> None:
    answer = await emu_client.get(
        URL,
        params={
            "uemail": emulator.config.user_email,
            "sdate": "20250106T000000",
            "edate": "20250107T000000",
        },
    )
    assert answer.status_code == 401


async def test_a_calendar_left_out_of_freebusy_looks_free_until_it_is_counted(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    """Zoho says nothing about a calendar that is not counted: its events read as free time,
    which is how integrators double-book. Turning the setting on makes them busy."""
    answer = await emu_client.post(
        "/api/v1/calendars",
        params={"calendarData": '{"name": "Bookings", "include_infreebusy": false}'},
        headers=auth_headers,
    )
    assert answer.status_code == 201
    uid = answer.json()["calendars"][0]["uid"]
    assert answer.json()["calendars"][0]["include_infreebusy"] is False
    emulator.calendar.seed_events(uid, [timed("20250106T100000Z", "20250106T110000Z")])
    window = {
        "uemail": emulator.config.user_email,
        "sdate": "20250106T000000",
        "edate": "20250107T000000",
    }
    assert (await freebusy(emu_client, auth_headers, **window)).json() == {"freebusy": []}

    changed = await emu_client.put(
        f"/api/v1/calendars/{uid}",
        params={"calendarData": '{"include_infreebusy": true}'},
        headers=auth_headers,
    )
    assert changed.status_code == 200
    assert changed.json()["calendars"][0]["include_infreebusy"] is True
    assert (await freebusy(emu_client, auth_headers, **window)).json() == {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20250106T100000Z", "endTime": "20250106T110000Z"}
        ]
    }


@pytest.mark.parametrize(
    "data",
    [
        '{"include_infreebusy": "yes"}',
        '{"owner": "someone@else.com"}',
        '{"name": ""}',
        '{"timezone": "Mars/Olympus"}',
        "[1]",
    ],
)
async def test_a_bad_calendar_update_is_refused(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator, data: str
) -> None:
    answer = await emu_client.put(
        "/api/v1/calendars/primary", params={"calendarData": data}, headers=auth_headers
    )
    assert answer.status_code == 400, answer.text
    assert emulator.calendar.calendar("primary").include_infreebusy is True


async def test_seeded_calendars_may_be_left_out_of_freebusy(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    answer = await emu_client.post(
        "/_emulator/seed",
        json={"calendars": [{"name": "Side", "include_infreebusy": False}]},
    )
    [uid] = answer.json()["calendars"]
    assert emulator.calendar.calendar(uid).include_infreebusy is False


async def test_repeating_allday_and_timed_events_in_both_formats(
    emu_client: httpx.AsyncClient, auth_headers: dict[str, str], emulator: Emulator
) -> None:
    """A weekly all-day event and a daily timed series, as Zoho writes them: all-day blocks
    as ``yyyyMMddZ`` dates (end exclusive) or ``{"allday": true}``, timed ones in GMT."""
    holiday = {**allday("20250106", "20250106"), "rrule": "FREQ=WEEKLY;COUNT=2"}
    standup = timed("20250106T233000Z", "20250107T003000Z", rrule="FREQ=DAILY;COUNT=2")
    emulator.calendar.seed_events(emulator.calendar.primary_uid, [holiday, standup])
    window = {
        "uemail": emulator.config.user_email,
        "sdate": "20250106T000000",
        "edate": "20250115T000000",
    }
    events = await freebusy(emu_client, auth_headers, **window, ftype="eventbased")
    assert events.json() == {
        "freebusy": [
            {"fbtype": "busy", "startTime": "20250106Z", "endTime": "20250107Z"},
            {"fbtype": "busy", "startTime": "20250106T233000Z", "endTime": "20250107T003000Z"},
            {"fbtype": "busy", "startTime": "20250107T233000Z", "endTime": "20250108T003000Z"},
            {"fbtype": "busy", "startTime": "20250113Z", "endTime": "20250114Z"},
        ]
    }
    times = await freebusy(emu_client, auth_headers, **window, ftype="timebased")
    # A block that crosses midnight UTC is split at the day boundary, written 24:00.
    assert times.json() == {
        "freebusy": {
            "20250106": [{"allday": True}, ["23:30-24:00"]],
            "20250107": [None, ["00:00-00:30", "23:30-24:00"]],
            "20250108": [None, ["00:00-00:30"]],
            "20250113": [{"allday": True}, []],
        }
    }
