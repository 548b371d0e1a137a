"""The seed's module-level defaults, as the packages that offer them look them up.

``zohokit.tokens.oauth_token_service``, ``zohokit.crm.zoho_crm_service`` and
``zohokit.calendar.zoho_calendar_service`` (and their ``get_...()`` functions) are built on
first look-up (PEP 562), never at import, on the default root (:meth:`zohokit.Zoho.default`).
The root sits above those packages and wires them, so the hooks reach it only at call time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["seed_hooks"]

T = TypeVar("T")


def seed_hooks(
    module: str, name: str, kind: type[T], *, note: str = ""
) -> tuple[Callable[[str], Any], Callable[[], T]]:
    """Package ``module``'s PEP 562 ``__getattr__`` and its ``get_<name>()``: both hand out the
    seed's ``name`` (a ``kind``); ``__getattr__`` raises the ``AttributeError`` Python would
    for any other name. ``note`` ends the getter's docstring."""

    def __getattr__(attr: str) -> Any:
        from ._zoho import seed_attribute

        return seed_attribute(module, attr)

    def getter() -> T:
        got = __getattr__(name)
        if not isinstance(got, kind):  # the root's table and this package disagree
            raise TypeError(f"{module}.{name} is a {type(got).__name__}, not a {kind.__name__}")
        return got

    getter.__name__ = getter.__qualname__ = f"get_{name}"
    getter.__module__ = module
    getter.__doc__ = (
        f"The seed's module-level ``{name}`` for the ``default`` tenant, on "
        f":meth:`zohokit.Zoho.default` (built from the environment on first call).{note}"
    )
    return __getattr__, getter
