"""Search (criteria, email, phone, word), record count, and COQL."""

from __future__ import annotations

import httpx
import pytest

from zohokit.emulator import Emulator
from zohokit.emulator.crm._criteria import Condition, CriteriaError, Group, parse


def test_criteria_parse_nesting_and_precedence() -> None:
    tree = parse("((Last_Name:equals:Burns)and(First_Name:starts_with:Mar))or(Email:equals:x@y.z)")
    assert tree == Group(
        "or",
        (
            Group(
                "and",
                (
                    Condition("Last_Name", "equals", ("Burns",)),
                    Condition("First_Name", "starts_with", ("Mar",)),
                ),
            ),
            Condition("Email", "equals", ("x@y.z",)),
        ),
    )


def test_criteria_backslash_escapes() -> None:
    assert parse(r"(Last_Name:equals:Burns\,B)") == Condition("Last_Name", "equals", ("Burns,B",))
    assert parse(r"(Company:equals:A\(B\)\\)") == Condition("Company", "equals", ("A(B)\\",))
    assert parse("(Lead_Source:in:Chat,Partner)") == Condition(
        "Lead_Source", "in", ("Chat", "Partner")
    )
    # Colons after the operator belong to the value (date-times carry them).
    assert parse("(Created_Time:greater_than:2026-01-01T10:00:00+00:00)").values == (
        "2026-01-01T10:00:00+00:00",
    )


@pytest.mark.parametrize(
    "text",
    [
        "(Last_Name:equals:Boyle",
        "Last_Name:equals:Boyle",
        "(Last_Name:equals)",
        "(Last_Name:equals:Boyle)xor(Email:equals:a)",
        "and".join(f"(Last_Name:equals:n{i})" for i in range(11)),
    ],
)
def test_criteria_syntax_errors(text: str) -> None:
    with pytest.raises(CriteriaError):
        parse(text)


@pytest.fixture
def people(emulator: Emulator) -> list[str]:
    return emulator.crm.seed(
        "Leads",
        [
            {
                "Last_Name": "Burns,B",
                "Company": "ABC Inc.",
                "Email": "burns@abc.com",
                "Lead_Source": "Chat",
                "No_of_Employees": 5,
            },
            {
                "Last_Name": "Marsh",
                "Company": "XYZ",
                "Email": "marsh@xyz.com",
                "Phone": "+1 (555) 010-2030",
                "Lead_Source": "Partner",
                "No_of_Employees": 50,
            },
            {
                "Last_Name": "Abbot",
                "Company": "ABC Corp",
                "Email": "abbot@abc.com",
                "No_of_Employees": 500,
            },
        ],
    )


async def _search(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get("/crm/v8/Leads/search", params=params, headers=headers)


async def test_equals_on_text_is_contains(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _search(emu_client, auth_headers, criteria="(Company:equals:abc)")
    assert answer.status_code == 200
    assert sorted(r["id"] for r in answer.json()["data"]) == sorted([people[0], people[2]])
    assert set(answer.json()["info"]) >= {"per_page", "count", "page", "more_records"}


async def test_escaped_comma_matches_literally(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _search(emu_client, auth_headers, criteria=r"(Last_Name:equals:Burns\,B)")
    assert [r["id"] for r in answer.json()["data"]] == [people[0]]


async def test_and_or_in_and_numeric_comparisons(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _search(
        emu_client,
        auth_headers,
        criteria="((Lead_Source:in:Chat,Partner)and(No_of_Employees:greater_equal:50))or(Last_Name:starts_with:abb)",
    )
    assert sorted(r["id"] for r in answer.json()["data"]) == sorted([people[1], people[2]])
    between = await _search(emu_client, auth_headers, criteria="(No_of_Employees:between:1,60)")
    assert sorted(r["id"] for r in between.json()["data"]) == sorted(people[:2])
    not_equal = await _search(emu_client, auth_headers, criteria="(Lead_Source:not_equal:Chat)")
    assert sorted(r["id"] for r in not_equal.json()["data"]) == sorted(people[1:])


async def test_no_match_is_204(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _search(emu_client, auth_headers, criteria="(Last_Name:equals:Nobody)")
    assert answer.status_code == 204
    assert answer.content == b""


async def test_invalid_criteria_is_invalid_query(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    for criteria in (
        "(Last_Name:greater_than:B)",
        "(Nope:equals:1)",
        "(Last_Name:equals:B",
        "(No_of_Employees:equals:many)",
    ):
        answer = await _search(emu_client, auth_headers, criteria=criteria)
        assert answer.status_code == 400, criteria
        assert answer.json()["code"] == "INVALID_QUERY", criteria


async def test_email_phone_word_and_priority(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    by_email = await _search(emu_client, auth_headers, email="marsh@xyz.com")
    assert [r["id"] for r in by_email.json()["data"]] == [people[1]]
    by_phone = await _search(emu_client, auth_headers, phone="5550102030")
    assert [r["id"] for r in by_phone.json()["data"]] == [people[1]]
    by_word = await _search(emu_client, auth_headers, word="corp")
    assert [r["id"] for r in by_word.json()["data"]] == [people[2]]
    # criteria wins over email, email over word.
    both = await _search(
        emu_client, auth_headers, criteria="(Last_Name:equals:Abbot)", email="marsh@xyz.com"
    )
    assert [r["id"] for r in both.json()["data"]] == [people[2]]
    email_word = await _search(emu_client, auth_headers, email="burns@abc.com", word="corp")
    assert [r["id"] for r in email_word.json()["data"]] == [people[0]]
    nothing = await _search(emu_client, auth_headers)
    assert nothing.status_code == 400
    assert nothing.json()["code"] == "REQUIRED_PARAM_MISSING"


async def test_search_reaches_only_2000_records(
    emulator: Emulator, emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    emulator.crm.seed("Leads", [{"Last_Name": f"Same {i}"} for i in range(2010)])
    page10 = await _search(
        emu_client, auth_headers, criteria="(Last_Name:starts_with:Same)", page="10"
    )
    assert page10.status_code == 200
    beyond = await _search(
        emu_client, auth_headers, criteria="(Last_Name:starts_with:Same)", page="11"
    )
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "LIMIT_REACHED"


async def test_count(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    total = await emu_client.get("/crm/v8/Leads/actions/count", headers=auth_headers)
    assert total.json() == {"count": 3}
    some = await emu_client.get(
        "/crm/v8/Leads/actions/count",
        params={"criteria": "(Company:equals:abc)"},
        headers=auth_headers,
    )
    assert some.json() == {"count": 2}


async def _coql(client: httpx.AsyncClient, headers: dict[str, str], query: str) -> httpx.Response:
    return await client.post("/crm/v8/coql", json={"select_query": query}, headers=headers)


async def test_coql_select_where_order_limit(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    answer = await _coql(
        emu_client,
        auth_headers,
        "select Last_Name, No_of_Employees from Leads where No_of_Employees >= 5 and "
        "(Company like '%abc%' or Lead_Source = 'Partner') "
        "order by No_of_Employees desc limit 0, 2",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == [
        {"Last_Name": "Abbot", "No_of_Employees": 500, "id": people[2]},
        {"Last_Name": "Marsh", "No_of_Employees": 50, "id": people[1]},
    ]
    assert body["info"] == {"count": 2, "more_records": True}


async def test_coql_keyset_paging_by_id(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    seen: list[str] = []
    last = "0"
    while True:
        answer = await _coql(
            emu_client,
            auth_headers,
            f"select Last_Name from Leads where id > {last} order by id asc limit 2",
        )
        if answer.status_code == 204:
            break
        rows = answer.json()["data"]
        seen += [r["id"] for r in rows]
        last = rows[-1]["id"]
    assert seen == people


async def test_coql_null_checks_in_and_errors(
    people: list[str], emu_client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    with_phone = await _coql(
        emu_client, auth_headers, "select Phone from Leads where Phone is not null"
    )
    assert [r["id"] for r in with_phone.json()["data"]] == [people[1]]
    chosen = await _coql(
        emu_client,
        auth_headers,
        "select Last_Name from Leads where Last_Name in ('Marsh', 'Abbot')",
    )
    assert {r["Last_Name"] for r in chosen.json()["data"]} == {"Marsh", "Abbot"}
    no_where = await _coql(emu_client, auth_headers, "select Last_Name from Leads")
    assert no_where.status_code == 400
    assert no_where.json()["code"] == "SYNTAX_ERROR"
    bad_column = await _coql(
        emu_client, auth_headers, "select Shoe_Size from Leads where id is not null"
    )
    assert bad_column.json()["code"] == "INVALID_QUERY"
    too_many = await _coql(
        emu_client, auth_headers, "select Last_Name from Leads where id is not null limit 2001"
    )
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"
