"""Mappings from dicts and TOML files, with errors that name the key to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from zohokit.sync import MappingError, SyncMapping, count_rows, load_mapping, read_rows


def test_a_toml_mapping_turns_columns_into_fields(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(
        'module = "Contacts"\nkey = "Email"\n'
        '[fields]\nemail = "Email"\nlast = "Last_Name"\n'
        '[constants]\nLead_Source = "Web Download"\n'
    )
    mapping = load_mapping(path)
    record = mapping.record({"email": " A@x.com", "last": "Doe", "ignored": "x", "other": ""})
    assert record == {"Email": " A@x.com", "Last_Name": "Doe", "Lead_Source": "Web Download"}
    assert mapping.external_id(record) == "a@x.com"
    assert mapping.duplicate_check_fields == ("Email",)


def test_without_fields_every_column_is_sent_and_blank_cells_clear() -> None:
    mapping = SyncMapping.from_dict({"module": "Leads", "key": "External_Id"})
    assert mapping.record({"External_Id": "7", "Phone": ""}) == {"External_Id": "7", "Phone": None}


def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('module = "Leads"\nkey = "Email"\n')
    mapping = load_mapping(path, module="Contacts", key="External_Id")
    assert (mapping.module, mapping.key) == ("Contacts", "External_Id")
    assert mapping.duplicate_check_fields == ("External_Id",)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"key": "Email"}, "module"),
        ({"module": "Contacts"}, "key"),
        ({"module": "Contacts", "key": "Email", "fields": {"email": 3}}, "fields.email"),
        ({"module": "Contacts", "key": "Email", "fields": {"e": "Email", "f": "Email"}}, "Email"),
        ({"module": "Contacts", "key": "Email", "fields": {"last": "Last_Name"}}, "key Email"),
        ({"module": "Contacts", "key": "Email", "colour": "red"}, "colour"),
        (
            {"module": "Contacts", "key": "Email", "duplicate_check_fields": ["Phone"]},
            "duplicate_check_fields",
        ),
        ({"module": "Contacts", "key": "Email", "constants": {"bad name": 1}}, "constants.bad"),
    ],
)
def test_errors_name_the_bad_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(MappingError, match=named.replace(".", r"\.")):
        SyncMapping.from_dict(data)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("module = \n")
    with pytest.raises(MappingError, match=r"broken\.toml"):
        load_mapping(path)


def test_csv_and_jsonl_sources(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("email,last\na@x.com,Doe\nb@x.com,Roe\n")
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"email": "a@x.com"}\n\n{"email": "b@x.com"}\n')
    assert [r["last"] for r in read_rows(csv_file)] == ["Doe", "Roe"]
    assert [r["email"] for r in read_rows(jsonl)] == ["a@x.com", "b@x.com"]
    assert count_rows(csv_file) == count_rows(jsonl) == 2


def test_a_mapping_without_module_or_key_says_what_to_give() -> None:
    with pytest.raises(MappingError) as missing:
        load_mapping(None)
    assert str(missing.value).startswith("mapping: no module and no key given")
    assert "--module Contacts --key Email, or --map FILE" in str(missing.value)
    with pytest.raises(MappingError, match=r"^mapping: no key given"):
        load_mapping(None, module="Contacts")
