"""The Alembic chain: one line, its files numbered in the order they run, and databases made
by earlier releases keep upgrading."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from zohokit.db import MIGRATIONS_DIR, create_engine, upgrade_async
from zohokit.migrations import target_metadata

# The heads that releases shipped with: a database may be at any of them.
SHIPPED_HEADS = ["0001", "0002", "0003_server", "0003_bookings"]


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def test_the_migrations_have_one_head() -> None:
    heads = _scripts().get_heads()
    assert len(heads) == 1, heads


def test_file_numbers_follow_the_chain() -> None:
    oldest_first = list(reversed(list(_scripts().walk_revisions())))
    numbers = [int(Path(rev.path).name.split("_", 1)[0]) for rev in oldest_first]
    assert numbers == list(range(1, len(oldest_first) + 1)), [
        Path(rev.path).name for rev in oldest_first
    ]


def test_a_new_revision_revises_the_head_and_names_no_branch(tmp_path: Path) -> None:
    """``alembic revision`` with the package's template writes the next step of the one line:
    it revises the head and sets no ``branch_labels`` (Alembic reads them only when set)."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    config = Config()
    config.set_main_option("script_location", str(folder))
    head = ScriptDirectory.from_config(config).get_current_head()

    command.revision(config, message="next step", rev_id="9999_next")

    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == ["9999_next"]
    written = scripts.get_revision("9999_next")
    assert written is not None
    assert written.down_revision == head
    assert not written.branch_labels
    assert not written.dependencies
    assert "branch_labels" not in Path(written.path).read_text()


async def _version(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return str(
                (
                    await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                ).scalar_one()
            )
    finally:
        await engine.dispose()


async def test_a_database_at_any_shipped_head_upgrades_to_the_head(tmp_path: Path) -> None:
    head = _scripts().get_current_head()
    for shipped in SHIPPED_HEADS:
        url = f"sqlite:///{tmp_path / f'{shipped}.db'}"
        await upgrade_async(url, shipped)
        assert await _version(url) == shipped
        await upgrade_async(url)
        assert await _version(url) == head


def _drift(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    # compare_metadata takes a list of MetaData as env.py's target_metadata does.
    return list(compare_metadata(context, target_metadata()))  # type: ignore[arg-type]


async def test_the_migrated_database_matches_the_table_descriptions(empty_db_url: str) -> None:
    """Autogenerate finds nothing to add, drop or change: the hand-written migrations and the
    ``Table`` objects the code queries describe the same schema."""
    engine = create_engine(empty_db_url)
    try:
        await upgrade_async(engine)
        async with engine.connect() as conn:
            drift = await conn.run_sync(_drift)
    finally:
        await engine.dispose()
    assert drift == [], "\n".join(map(repr, drift))
