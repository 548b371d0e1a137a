"""Review findings: ``zohokit emulator --faults`` given a file that is not there, or JSON that
is not an object (with --error-rate), says which option to fix instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from zohokit.cli.emulator import _fault_payload


@pytest.mark.parametrize("given", ["missing", "list"])
def test_a_bad_faults_option_is_a_bad_parameter(tmp_path: Path, given: str) -> None:
    if given == "missing":
        value = str(tmp_path / "faults.json")
    else:
        value = str(tmp_path / "list.json")
        Path(value).write_text('[{"route": "crm"}]')
    with pytest.raises(typer.BadParameter) as caught:
        _fault_payload(value, 0.1, 0.0, 0.0, "crm", False)
    assert caught.value.param_hint == "--faults"
