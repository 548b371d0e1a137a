"""One word per connection: the CLI's and the API's (``TokenStatus.state``, in Python) and the
console's filters and counts (the same rules as SQL) agree on every combination of stored
status, cooldown and expiry, at the boundaries too, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zohokit.db import create_engine, upgrade_async
from zohokit.tokens import CONNECTION_STATES, state_label
from zohokit.tokens._health import EXPIRING_SECONDS, state_case
from zohokit.tokens._models import snapshot
from zohokit.tokens._store import TokenRow, oauth_tokens

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SOON = NOW + timedelta(seconds=EXPIRING_SECONDS)
#: Moments on both sides of each boundary (now; now plus the expiring margin).
MOMENTS = (
    None,
    NOW - timedelta(hours=1),
    NOW,
    NOW + timedelta(seconds=1),
    SOON,
    SOON + timedelta(seconds=1),
    NOW + timedelta(hours=1),
)


async def test_python_and_sql_give_every_connection_the_same_word(db_url: str) -> None:
    await upgrade_async(db_url)
    rows = [
        {
            "tenant": f"t{i:03d}",
            "provider": "zoho_crm",
            "source": "connect",
            "status": status,
            "cooldown_until": cooldown,
            "expires_at": expires,
            "failure_count": 0,
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i, (status, cooldown, expires) in enumerate(
            itertools.product(("active", "needs_reauth", "revoked"), MOMENTS, MOMENTS)
        )
    ]
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(oauth_tokens), rows)
        async with engine.connect() as conn:
            found = (
                await conn.execute(
                    sa.select(oauth_tokens, state_case(NOW).label("word")).order_by(
                        oauth_tokens.c.tenant
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    words = {}
    for row in found:
        values = {k: v for k, v in row._mapping.items() if k not in ("id", "word")}
        status = snapshot(TokenRow(**values), accounts_server="https://accounts.zoho.com")
        assert status.state(NOW) == row.word, values
        words[row.tenant] = row.word
    assert set(words.values()) == set(CONNECTION_STATES) - {"not_connected"}
    # The boundaries: a cooldown ending now is over; a token expiring at now + 5 min expires.
    by_values = {(r["status"], r["cooldown_until"], r["expires_at"]): r["tenant"] for r in rows}
    hour = NOW + timedelta(hours=1)
    assert words[by_values["active", NOW, hour]] == "healthy"
    assert words[by_values["active", NOW + timedelta(seconds=1), hour]] == "cooldown"
    assert words[by_values["active", None, SOON]] == "expiring"
    assert words[by_values["active", None, SOON + timedelta(seconds=1)]] == "healthy"
    assert words[by_values["active", None, None]] == "healthy"  # no access token fetched yet
    assert words[by_values["revoked", hour, NOW]] == "revoked"
    assert words[by_values["needs_reauth", hour, NOW]] == "needs_reauth"


def test_people_read_needs_reauth_as_needs_re_auth() -> None:
    assert [state_label(w) for w in CONNECTION_STATES] == [
        "healthy",
        "expiring",
        "cooldown",
        "needs re-auth",
        "revoked",
        "not connected",
    ]
