"""``zohokit doctor``: check what this install needs to work, and say what to fix.

The checks, in the order one depends on the next: the settings parse; the database opens and
is at the latest migration; the encryption key is there; Zoho's accounts server answers; and
every stored tenant's token can be served (refreshed if due). Each failure comes with the
one thing to do about it. Nothing is changed: no migration runs, no key file is created.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
import typer
from alembic.config import Config
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from zohokit import Zoho
from zohokit.cli._console import make_console
from zohokit.cli._options import JsonOpt
from zohokit.db import MIGRATIONS_DIR
from zohokit.errors import (
    ConfigurationError,
    NeedsReauthorization,
    TokenRefreshThrottled,
    TokenRevoked,
    TransportError,
    ZohoError,
)
from zohokit.settings import Settings
from zohokit.tokens import Cipher, DecryptionError
from zohokit.tokens._crypto import KEY_FILE_NAME

__all__ = ["Check", "doctor_command", "run_checks"]

#: How long the accounts server may take to answer the reachability check.
REACH_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it holds, what was seen, and what to do."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def _no_sqlite_file(settings: Settings) -> Check | None:
    parsed = make_url(settings.database_url())
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        if not path.exists():  # connecting would create it: say so instead
            return Check(
                "database", False, f"no database at {path} yet", "run `zohokit db upgrade`"
            )
    return None


async def _database(zoho: Zoho, url: str) -> Check:
    try:
        async with zoho.engine.connect() as conn:
            has_version = await conn.run_sync(
                lambda sync: sa.inspect(sync).has_table("alembic_version")
            )
            current = None
            if has_version:
                found = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                current = found.scalar_one_or_none()
    except ConfigurationError as exc:
        return _fail("database", str(exc), "install the extra it names")
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        return _fail(
            "database",
            f"cannot open {url}: {type(exc).__name__}",
            "check ZOHOKIT_DATABASE_URL (host, port, user, database) and that it is running",
        )
    head = _head()
    if current != head:
        return _fail(
            "database",
            f"{url} is at migration {current or 'none'}, the latest is {head}",
            "run `zohokit db upgrade`",
        )
    return Check("database", True, f"{url} at the latest migration ({head})")


def _encryption_key(settings: Settings) -> Check:
    if settings.zohokit_encryption_keys is not None:
        try:
            Cipher.from_spec(settings.zohokit_encryption_keys.get_secret_value())
        except ConfigurationError as exc:
            return Check(
                "encryption key", False, str(exc), "generate one with `zohokit tokens gen-key`"
            )
        return Check("encryption key", True, "ZOHOKIT_ENCRYPTION_KEYS is set and valid")
    path = settings.zohokit_data_dir / KEY_FILE_NAME
    if path.exists():
        return Check("encryption key", True, f"generated key file {path}")
    return _fail(
        "encryption key",
        f"ZOHOKIT_ENCRYPTION_KEYS is not set and {path} does not exist",
        "set ZOHOKIT_ENCRYPTION_KEYS (`zohokit tokens gen-key` makes one); without it the "
        "first use generates that file, which you must then back up",
    )


async def _accounts(settings: Settings) -> Check:
    url = settings.accounts_url()
    try:
        async with httpx.AsyncClient(timeout=REACH_TIMEOUT) as client:
            answer = await client.get(url)
    except httpx.HTTPError as exc:
        fix = "check the network or proxy, or ZOHO_ACCOUNTS_URL / ZOHO_DC"
        return _fail("accounts server", f"no answer from {url}: {type(exc).__name__}", fix)
    return Check("accounts server", True, f"{url} answers (HTTP {answer.status_code})")


def _token_fix(exc: ZohoError) -> str:
    if isinstance(exc, NeedsReauthorization | TokenRevoked):
        return "connect the tenant again (admin page Connect, or `zohokit tokens import-env`)"
    if isinstance(exc, TokenRefreshThrottled):
        return "wait: Zoho throttled refreshes; the token service retries by itself"
    if isinstance(exc, DecryptionError):
        return "add the key it names back to ZOHOKIT_ENCRYPTION_KEYS"
    if isinstance(exc, TransportError):
        return "check the network to the tenant's accounts server"
    return "see `zohokit tokens status TENANT -p PROVIDER`"


async def _tokens(zoho: Zoho) -> list[Check]:
    rows = await zoho.tokens.list_tokens()
    if not rows:
        return [
            Check(
                "tokens",
                True,
                "no tenant stored yet (they are seeded from ZOHO_* on first use)",
            )
        ]
    checks = []
    for row in rows:
        name = f"token {row.tenant}/{row.provider}"
        try:
            await zoho.tokens.get_access_token(row.tenant, row.provider)
        except ZohoError as exc:
            checks.append(Check(name, False, str(exc), _token_fix(exc)))
        else:
            checks.append(Check(name, True, "an access token is served"))
    return checks


async def _checks_with(settings: Settings, missing_db: Check | None) -> list[Check]:
    checks = [Check("settings", True, "ZOHO_* / ZOHOKIT_* parse")]
    # The URL without user and password: the output may be pasted into a ticket.
    url = make_url(settings.database_url()).render_as_string(hide_password=True)
    zoho = Zoho.from_settings(settings)
    try:
        checks.append(missing_db or await _database(zoho, url))
        checks.append(_encryption_key(settings))
        checks.append(await _accounts(settings))
        if all(check.ok for check in checks):
            checks += await _tokens(zoho)
        else:
            checks.append(_fail("tokens", "not checked", "fix the failures above first"))
    finally:
        await zoho.aclose()
    return checks


def run_checks() -> list[Check]:
    """Every check, from the environment (and ``.env``) as the other commands read it."""
    try:
        settings = Settings()
    except ValidationError as exc:
        return [
            _fail(
                "settings",
                f"{'.'.join(str(p) for p in problem['loc']).upper()}: {problem['msg']}",
                "correct or unset that variable",
            )
            for problem in exc.errors()
        ]
    return asyncio.run(_checks_with(settings, _no_sqlite_file(settings)))


def doctor_command(
    as_json: JsonOpt = False,
) -> None:
    """Check settings, database, encryption key, Zoho's accounts server and every tenant's
    token, and say what to fix; exit code 1 if anything fails."""
    checks = run_checks()
    if as_json:
        typer.echo(json.dumps([asdict(check) for check in checks], indent=2))
    else:
        table = Table(title="zohokit doctor")
        for column in ("check", "", "found", "fix"):
            table.add_column(column)
        for check in checks:
            mark = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
            table.add_row(check.name, mark, escape(check.detail), escape(check.fix))
        make_console().print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
