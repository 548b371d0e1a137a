"""Review findings on CRM paging."""

from __future__ import annotations

from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator


def leads(n: int) -> list[dict[str, str]]:
    return [
        {"Last_Name": f"Lead {i}", "Company": f"Co {i}", "Email": f"lead{i}@example.com"}
        for i in range(n)
    ]


async def test_list_pages_past_2000_when_per_page_does_not_divide_2000(
    crm: ZohoCRMService, emulator: Emulator
) -> None:
    # 150 per page: page 14 would cover records 1951-2100, past the 2,000 that ``page`` may
    # reach; the iterator must switch to page_token after page 13, not ask for page 14.
    emulator.crm.seed("Leads", leads(2150))
    seen = [r["id"] async for r in crm.list_records("Leads", fields=["Last_Name"], per_page=150)]
    assert len(seen) == 2150
    assert len(set(seen)) == 2150
