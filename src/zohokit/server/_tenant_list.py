"""The tenant list of the console and of ``GET /api/tenants``: search, filter by health and
provider, sort, and keyset pages, all in SQL so a page costs the same at 10,000 tenants.

A connection's health is the token service's one word for it
(:func:`zohokit.tokens._health.decide_state`, run here as SQL by :func:`health_case`), so
filtering, counting and showing a tenant read the same word from the same rows, whichever
process wrote them, and the same word as the CLI and the API: ``healthy``, ``expiring``,
``cooldown``, ``needs_reauth``, ``revoked``, and ``not_connected`` for no stored connection.

Pages are keyset pages: the cursor holds the last row's sort value and tenant key, so the next
page is one index range scan (migration 0015 adds the indexes), never an ``OFFSET``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import PROVIDERS
from ..tokens import CONNECTION_STATES
from ..tokens._health import EXPIRING_SECONDS, state_case
from ..tokens._store import oauth_tokens
from ._tables import Tenant, tenants

__all__ = [
    "EXPIRING_SECONDS",
    "HEALTHS",
    "SORTS",
    "TenantPage",
    "TenantQuery",
    "health_case",
    "health_counts",
    "list_tenants",
]

#: Every health word, in the order an operator reads them (worst last but one).
HEALTHS: Final = CONNECTION_STATES
#: How the list may be sorted: by key, by name, or newest first.
SORTS: Final = ("tenant", "name", "created")
#: The largest page a caller may ask for.
MAX_LIMIT: Final = 500


#: The health word of an ``oauth_tokens`` row at a moment, as SQL (the token service's).
health_case: Final = state_case


@dataclass(frozen=True, slots=True)
class TenantQuery:
    """What the list shows: a search, filters, a sort, a page. Raises :class:`ValueError`
    naming the parameter to fix."""

    search: str | None = None
    health: str | None = None
    provider: str | None = None
    sort: str = "tenant"
    cursor: str | None = None
    limit: int = 50
    #: A tenant-scoped principal's tenant: it sees only that one.
    only: str | None = None

    def __post_init__(self) -> None:
        if self.health and self.health not in HEALTHS:
            raise ValueError(f"health: one of {', '.join(HEALTHS)}, got {self.health!r}")
        if self.provider and self.provider not in PROVIDERS:
            raise ValueError(f"provider: one of {', '.join(PROVIDERS)}, got {self.provider!r}")
        if self.sort not in SORTS:
            raise ValueError(f"sort: one of {', '.join(SORTS)}, got {self.sort!r}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit: from 1 to {MAX_LIMIT}, got {self.limit}")
        if self.cursor:
            _decode(self.cursor, self.sort)


@dataclass(frozen=True, slots=True)
class TenantPage:
    """One page: its tenants and the next cursor (their connections: one more query, by the
    token service, for the whole page)."""

    tenants: list[Tenant]
    next_cursor: str | None


def _encode(sort: str, value: Any, tenant: str) -> str:
    raw = json.dumps([sort, value, tenant], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, str]:
    problem = "cursor: not one this list gave for this sort; start again without it"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, tenant = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(problem) from exc
    if got_sort != sort or not isinstance(tenant, str):
        raise ValueError(problem)
    if not isinstance(value, str if sort != "created" else (int, float)):
        raise ValueError(problem)
    return value, tenant


def _like(text: str) -> str:
    """``text`` as a case-insensitive LIKE "contains" pattern (its wildcards escaped)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_tenants(engine: AsyncEngine, query: TenantQuery, now: datetime) -> TenantPage:
    """The page of tenants ``query`` asks for."""
    tc, t = tenants.c, oauth_tokens.c
    column = {"tenant": tc.tenant, "name": tc.name, "created": tc.created_at}[query.sort]
    newest_first = query.sort == "created"
    stmt = select(tenants)
    if query.only is not None:
        stmt = stmt.where(tc.tenant == query.only)
    if query.search and query.search.strip():
        pattern = _like(query.search.strip())
        stmt = stmt.where(
            or_(
                func.lower(tc.tenant).like(pattern, escape="\\"),
                func.lower(tc.name).like(pattern, escape="\\"),
            )
        )
    scope = [t.tenant == tc.tenant] + ([t.provider == query.provider] if query.provider else [])
    if query.health == "not_connected":
        stmt = stmt.where(~exists().where(*scope))
    elif query.health:
        stmt = stmt.where(exists().where(*scope, health_case(now) == query.health))
    elif query.provider:
        stmt = stmt.where(exists().where(*scope))
    if query.cursor:
        value, key = _decode(query.cursor, query.sort)
        if newest_first:
            after = or_(column < value, and_(column == value, tc.tenant < key))
        elif query.sort == "tenant":
            after = tc.tenant > key
        else:
            after = or_(column > value, and_(column == value, tc.tenant > key))
        stmt = stmt.where(after)
    if newest_first:
        stmt = stmt.order_by(column.desc(), tc.tenant.desc())
    else:
        stmt = stmt.order_by(column, tc.tenant)
    stmt = stmt.limit(query.limit + 1)
    async with engine.connect() as conn:
        rows = [Tenant(*r) for r in (await conn.execute(stmt)).all()]
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        value = {"tenant": last.tenant, "name": last.name, "created": last.created_at}
        next_cursor = _encode(query.sort, value[query.sort], last.tenant)
    return TenantPage(page, next_cursor)


async def health_counts(
    engine: AsyncEngine, now: datetime, only: str | None = None
) -> dict[str, int]:
    """How many connections are in each health word, and ``tenants`` in all (from the
    database: the same on every instance)."""
    t, tc = oauth_tokens.c, tenants.c
    word = health_case(now)
    stmt = select(word, func.count()).select_from(
        oauth_tokens.join(tenants, tenants.c.tenant == t.tenant)
    )
    total = select(func.count()).select_from(tenants)
    if only is not None:
        stmt, total = stmt.where(t.tenant == only), total.where(tc.tenant == only)
    async with engine.connect() as conn:
        counts = {str(w): int(n) for w, n in (await conn.execute(stmt.group_by(word))).all()}
        counts["tenants"] = int((await conn.execute(total)).scalar_one())
    return {w: counts.get(w, 0) for w in (*HEALTHS[:-1], "tenants")}
