"""The runnable examples in docs/ run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def runnable_block(doc: str, heading: str = "## Runnable") -> str:
    """The python block that follows the first ``heading`` of ``doc``."""
    text = (DOCS / doc).read_text()
    section = text[text.index(heading) :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"{doc} has no python block under its Runnable heading"
    return found.group(1)


def test_the_services_guide_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "docs_example.py"
    script.write_text(runnable_block("services.md"))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "250 upserted" in done.stdout
    assert "250 leads listed" in done.stdout
    assert "search: ['Lead 7']" in done.stdout


def test_the_blocking_api_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "blocking_example.py"
    script.write_text(runnable_block("services.md", "### Runnable: the blocking API"))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "8 leads from 8 threads" in done.stdout
    assert "free hours: 8" in done.stdout


def test_the_readme_root_example_runs(tmp_path: Path) -> None:
    text = (DOCS.parent / "README.md").read_text()
    section = text[text.index("it is run by the test suite") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the README's runnable example is missing"
    script = tmp_path / "readme_example.py"
    script.write_text(found.group(1))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "upserted: insert"


def test_the_beyond_records_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "beyond_example.py"
    script.write_text(runnable_block("services.md", "### Runnable: beyond records"))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "notes: ['Fair']" in out
    assert "attachment: hello" in out
    assert "tags: ['Hot', 'VIP']" in out
    assert "converted: True" in out
    assert "account contacts: ['Lovelace']" in out
    assert "note moved to the contact: True" in out
    assert "rolled back: True accounts: 1 credits: 1" in out


def test_the_bulk_read_and_bulk_write_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "bulk_example.py"
    script.write_text(
        runnable_block("services.md", "### Runnable: Bulk Read and Bulk Write against the emulator")
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "2999 written; MANDATORY_NOT_FOUND {'api_name': 'Last_Name'}" in done.stdout
    assert "600 leads with 40 employees or more" in done.stdout


def test_the_webhooks_example_delivers_and_verifies(tmp_path: Path) -> None:
    script = tmp_path / "webhooks_example.py"
    script.write_text(runnable_block("webhooks.md"))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "2 delivered, 0 to retry" in done.stdout
    assert "['booking.created', 'sync.run.failed']" in done.stdout


def test_every_event_type_has_an_example_payload_in_the_webhooks_guide() -> None:
    import json

    from zohokit.events import EVENT_TYPES

    text = (DOCS / "webhooks.md").read_text()
    examples = {}
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        event = json.loads(block)
        examples[event["type"]] = event
    assert set(examples) == set(EVENT_TYPES)
    for event in examples.values():
        assert set(event) == {"id", "type", "tenant", "timestamp", "data"}
        assert event["id"].startswith("msg_")
