"""``--help`` without typer's ``<str>`` / ``<bool>`` type placeholders.

Typer prints a placeholder for every parameter, flags included (``--yes <bool>``), and
``<str>`` beside every argument. Here flags show none, arguments their name only, and options
that take a value a click-style word (``--tenant TEXT``, ``--max-attempts INTEGER``).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import DefaultPlaceholder

__all__ = ["plain_help"]

_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN"}


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the argument's name says what to type


def _plain(params: list[Any], ctx: Any) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            if param.is_flag:
                param.metavar = ""
            else:
                label = param.display_type(ctx).strip("<>").removesuffix(" range")
                param.metavar = _WORDS.get(label, label.upper())
        elif type(param) is TyperArgument:
            param.__class__ = _Argument
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx), ctx)


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx), ctx)


def _default(cls: object, typer_default: type) -> bool:
    return cls is None or cls is typer_default or isinstance(cls, DefaultPlaceholder)


def plain_help(app: typer.Typer) -> None:
    """Give every command and group under ``app`` the plain placeholders (call once, after
    every command is registered)."""
    if _default(app.info.cls, TyperGroup):
        app.info.cls = _Group
    for command in app.registered_commands:
        if _default(command.cls, TyperCommand):
            command.cls = _Command
    for group in app.registered_groups:
        if _default(group.cls, TyperGroup):
            group.cls = _Group
        if group.typer_instance is not None:
            plain_help(group.typer_instance)
