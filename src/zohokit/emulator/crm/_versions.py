"""The CRM API versions the emulator serves, and what each one does differently.

Every version (``/crm/v2`` .. ``/crm/v8``) reads and writes the same store; a version only
changes which parameters a request must carry and the shape of metadata answers. Each switch
below names the version that introduced the behaviour and the source that documents it; the
table in ``docs/emulator.md`` lists them with their URLs, and marks UNVERIFIED what Zoho's
docs do not say (there the emulator keeps the v8 behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiVersion:
    """One CRM API version: its path segment and the behaviours that depend on it."""

    name: str
    number: tuple[int, int]

    def since(self, major: int, minor: int = 0) -> bool:
        """Whether this version is ``major.minor`` or later."""
        return self.number >= (major, minor)

    @property
    def list_needs_fields(self) -> bool:
        """Get Records without ``fields`` is refused from v3 on (v2 returns every field).

        Sources: v2 get-records ("fields, optional"); v3 and v5 get-records ("fields,
        mandatory when fetching all records"); v8 OAS (required).
        """
        return self.since(3)

    @property
    def search_operators(self) -> frozenset[str] | None:
        """The ``criteria`` operators Search Records takes, if fewer than the v8 set.

        Sources: v2 and v2.1 search-records ("({api_name}:{starts_with|equals}:{value})");
        v8 search-records (``in``, ``not_equal``, ``greater_than`` ... by field type). Where the
        wider set began between v3 and v8 is UNVERIFIED: the emulator takes it from v3 on.
        """
        return None if self.since(3) else frozenset({"equals", "starts_with"})

    @property
    def module_feature_flags(self) -> bool:
        """Module metadata carries the ``*_supported`` flags removed in v6 (v6 change log)."""
        return not self.since(6)

    @property
    def recycle_bin_on_delete(self) -> bool:
        """Module metadata carries ``recycle_bin_on_delete`` from v6 on (v6 change log)."""
        return self.since(6)

    @property
    def field_searchable(self) -> bool:
        """Field metadata carries ``searchable`` from v3 on (v3 change log)."""
        return self.since(3)

    @property
    def customizable_properties(self) -> bool:
        """Field metadata carries ``customizable_properties`` from v6 on (v6 change log)."""
        return self.since(6)

    @property
    def v8_shapes(self) -> bool:
        """Metadata in the shape of the v8 OpenAPI description (``zoho/crm-oas`` v8.0).

        Keys that only the v8 description shows (``status``, ``access_type``,
        ``operation_type``, ``display_type`` ...) appear from v8 on; where they began is
        UNVERIFIED. Before v8, field metadata keeps the v2-era ``section_id`` and ``subform``
        keys seen in captured v2 answers.
        """
        return self.since(8)

    @property
    def channel_expiry_max(self) -> float:
        """The longest a notification channel may live, in seconds: one day in v2 to v3, one
        week from v4 on (Zoho's Kaizen #170 "FAQs on notification APIs"; the v2 and v7
        enable pages: "maximum of only one day", "maximum of one week")."""
        return 7 * 86_400.0 if self.since(4) else 86_400.0


#: Every served version, by its path segment.
VERSIONS: dict[str, ApiVersion] = {
    v.name: v
    for v in (
        ApiVersion("v2", (2, 0)),
        ApiVersion("v2.1", (2, 1)),
        ApiVersion("v3", (3, 0)),
        ApiVersion("v4", (4, 0)),
        ApiVersion("v5", (5, 0)),
        ApiVersion("v6", (6, 0)),
        ApiVersion("v7", (7, 0)),
        ApiVersion("v8", (8, 0)),
    )
}

LATEST = VERSIONS["v8"]
