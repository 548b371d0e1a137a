"""The seed's credential precedence, in one place.

Which OAuth client and refresh token a call uses, field by field, first source wins:

1. the credentials given to the call (``get_access_token(tenant, provider, credentials)``);
2. the environment: the generic ``ZOHO_*`` names, then the provider's own
   (``ZOHO_CRM_*`` / ``ZOHO_CALENDAR_*``), as :meth:`Settings.env_credentials` orders them.

A stored row's own OAuth client wins over both once the row exists: a refresh token only
works with the client it was minted for (:meth:`CredentialSource.for_refresh`). Nothing
anywhere raises a :class:`ConfigurationError` naming the variables to set.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigurationError
from ..settings import ENV_NAMES, EnvCredentials
from ._models import ZohoCredentials

__all__ = ["CredentialSource", "merge", "missing"]

_PARTS = ("client_id", "client_secret", "refresh_token")


def merge(*sources: ZohoCredentials | EnvCredentials | None) -> ZohoCredentials:
    """Field by field, the first source that has a value wins."""

    def first(name: str) -> str | None:
        for src in sources:
            value = getattr(src, name, None) if src is not None else None
            if value:
                return str(value)
        return None

    return ZohoCredentials(first("client_id"), first("client_secret"), first("refresh_token"))


def missing(parts: tuple[str, ...], tenant: str, provider: str) -> ConfigurationError:
    """The error naming the environment variables that would supply ``parts``."""
    names = tuple(n for part in parts for n in ENV_NAMES[provider][part])
    wanted = ", ".join(" or ".join(ENV_NAMES[provider][p]) for p in parts)
    return ConfigurationError(
        f"no Zoho credentials in the database, the call or the environment: set {wanted}",
        variables=names,
        tenant=tenant,
        provider=provider,
    )


class CredentialSource:
    """The environment's credentials per provider (``env``), merged with a call's."""

    def __init__(self, env: Callable[[str], EnvCredentials] | None) -> None:
        self._env = env

    def environment(self, provider: str) -> EnvCredentials | None:
        """What the environment holds for ``provider`` (``None`` without an environment)."""
        return self._env(provider) if self._env is not None else None

    def for_seed(
        self, creds: ZohoCredentials | None, tenant: str, provider: str, *, require: bool = True
    ) -> ZohoCredentials:
        """The call's credentials over the environment's; with ``require``, all three parts
        must be there or :class:`ConfigurationError` names the variables to set."""
        merged = merge(creds, self.environment(provider))
        absent = tuple(part for part in _PARTS if not getattr(merged, part))
        if require and absent:
            raise missing(absent, tenant, provider)
        return merged

    def for_refresh(
        self,
        *,
        tenant: str,
        provider: str,
        row_client_id: str | None,
        creds: ZohoCredentials | None,
        stored: ZohoCredentials,
    ) -> tuple[str, str]:
        """The OAuth client id and secret to refresh a row minted for ``row_client_id``.

        A client named by the call or the environment that is not the row's would get
        ``invalid_code`` and cost the tenant its connection, so only sources naming the row's
        own client (or none) are used: the call's, then the row's stored one, then the
        environment's.
        """
        client = merge(
            *(
                src
                for src in (creds, stored, self.environment(provider))
                if not row_client_id or getattr(src, "client_id", None) in (None, row_client_id)
            )
        )
        if not client.client_id or not client.client_secret:
            raise missing(("client_id", "client_secret"), tenant, provider)
        return client.client_id, client.client_secret
