"""The ground the CRM and Calendar services share: the seed's constructor, its credential
precedence, ``get_access_token`` and the one call into the request path.

A service only builds requests and reads answers, as stripe's services hang off its client:
everything else is :class:`~zohokit.http.ZohoHTTP`'s. Services are normally handed out by a
:class:`zohokit.Zoho` root; one built with no wiring (the seed's ``ZohoCRMService()``) runs
on :meth:`zohokit.Zoho.default`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, Unpack

from ..errors import ConfigurationError, ZohoError
from ..settings import EnvCredentials, Provider, Settings
from ..tokens import ZohoCredentials
from ._client import RequestOptions, TokenSource, ZohoHTTP, ZohoResponse

__all__ = ["ServiceDefaults", "ZohoService", "default_http"]

E = TypeVar("E", bound=ZohoError)


def _default_root() -> Any:
    # The seed's API: a service built with no wiring runs on the process-wide default root.
    # Imported here, not at the top: the root sits above this module and wires it.
    from .._zoho import Zoho

    return Zoho.default()


def default_http() -> ZohoHTTP:
    """The request path of :meth:`zohokit.Zoho.default` (built from the environment on first
    call, never at import). Every service built with no wiring shares it, and with it one
    connection pool and one in-flight cap per tenant."""
    http: ZohoHTTP = _default_root().http
    return http


@dataclass(frozen=True)
class ServiceDefaults:
    """What a service falls back to when its caller gives nothing more specific.

    ``env_credentials(provider)`` gives the environment's OAuth client (the ``ZOHO_*``
    variables); ``api_url`` and ``calendar_url`` replace Zoho's hosts (the emulator, a
    proxy); ``calendar_id`` is the default calendar. A :class:`~zohokit.Zoho` root hands its
    own to every service it builds; a service built with none has no fallback at all.
    """

    env_credentials: Callable[[str], EnvCredentials] | None = None
    api_url: str | None = None
    calendar_url: str | None = None
    calendar_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceDefaults:
        """The fallbacks ``settings`` describe (it is read, never built, here)."""
        return cls(
            env_credentials=settings.env_credentials,
            api_url=settings.zoho_api_url,
            calendar_url=settings.zoho_calendar_url,
            calendar_id=settings.zoho_calendar_id,
        )

    def env(self, provider: str) -> EnvCredentials:
        """The fallback credentials for ``provider`` (all ``None`` when there are none)."""
        if self.env_credentials is None:
            return EnvCredentials(None)
        return self.env_credentials(provider)


class ZohoService:
    """What :class:`~zohokit.crm.ZohoCRMService` and the Calendar service share (the seed's
    constructor, credential precedence, ``get_access_token`` and the request call).

    ``credentials`` (a :class:`~zohokit.tokens.ZohoCredentials` or a dict with ``client_id``,
    ``client_secret``, ``refresh_token``) win over the fallbacks in ``defaults`` (or in
    ``settings``, read as :meth:`ServiceDefaults.from_settings` does); for each part the
    generic ``ZOHO_*`` variable comes next, then the provider's own one. ``client_id`` is
    the **tenant key** (whose tokens to use), as in the seed. No token is kept here: every
    call asks the token service, which caches.

    Build services with :meth:`zohokit.Zoho.crm` / :meth:`zohokit.Zoho.calendar`. Built with
    neither ``http``, ``token_service``, ``defaults`` nor ``settings`` (the seed's
    ``ZohoCRMService()``), a service runs on :meth:`zohokit.Zoho.default`.
    """

    provider: ClassVar[Provider]

    def __init__(
        self,
        credentials: ZohoCredentials | Mapping[str, Any] | None = None,
        client_id: str = "default",
        *,
        token_service: TokenSource | None = None,
        http: ZohoHTTP | None = None,
        defaults: ServiceDefaults | None = None,
        settings: Settings | None = None,
        base_url: str | None = None,
    ) -> None:
        if settings is not None:
            defaults = ServiceDefaults.from_settings(settings)
        if defaults is None:
            unwired = http is None and token_service is None
            defaults = _default_root().defaults if unwired else ServiceDefaults()
        assert defaults is not None
        self.defaults = defaults
        env = defaults.env(self.provider)
        self._given = ZohoCredentials.coerce(credentials)
        given = self._given or ZohoCredentials(None)
        self.tenant = client_id
        self.client_id = given.client_id or env.client_id or ""
        self._client_secret = given.client_secret or env.client_secret or ""
        self._refresh_token = given.refresh_token or env.refresh_token or ""
        # The token service falls back to the environment itself: only what the caller gave
        # travels with each request (``self._given``).
        override = defaults.api_url if self.provider == "zoho_crm" else defaults.calendar_url
        self.base_url = base_url or override
        if http is None and token_service is not None:
            http = ZohoHTTP(token_service)
        self._http = http

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self.tenant!r}, client_id={self.client_id!r})"

    @property
    def http(self) -> ZohoHTTP:
        """The request path this service uses (the default root's unless one was given)."""
        if self._http is None:
            self._http = default_http()
        return self._http

    @property
    def credentials(self) -> ZohoCredentials:
        """The OAuth client (and refresh token) this service knows of, fallbacks included."""
        return ZohoCredentials(
            self.client_id or None, self._client_secret or None, self._refresh_token or None
        )

    @classmethod
    def _from_client_row(cls, config: Mapping[str, Any], *parts: str) -> dict[str, Any]:
        """The constructor's ``parts`` (``client_id``, ...) read from a client row's
        ``zoho_<part>`` columns, as the seed's ``forClient`` does.

        Other columns of the row are left alone (a client row has its own), but a part under
        the constructor's name with no ``zoho_`` column beside it is refused: it is a typo
        that would otherwise fail later, far from here, for a reason that does not name it.
        """
        wrong = [p for p in parts if p in config and f"zoho_{p}" not in config]
        if wrong:
            names = ", ".join(f"zoho_{p} (not {p})" for p in wrong)
            raise ConfigurationError(
                f"{cls.__name__}.for_client reads a client row's zoho_ columns: give {names}"
            )
        return {p: config.get(f"zoho_{p}") for p in parts}

    def _error(self, kind: type[E], message: str, **fields: Any) -> E:
        """A ``kind`` error naming this service's tenant and provider (as every error of a
        tenant's call does), with ``fields`` for its own keywords."""
        return kind(message, tenant=self.tenant, provider=self.provider, **fields)

    def _has_credentials(self) -> bool:
        return bool(self.client_id and self._client_secret and self._refresh_token)

    async def get_access_token(self) -> str:
        """A valid access token for this tenant, from the token service (the seed's call)."""
        return await self.http.tokens.get_access_token(self.tenant, self.provider, self._given)

    async def _call(
        self, method: str, path: str, **options: Unpack[RequestOptions]
    ) -> ZohoResponse:
        return await self.http.request(
            self.tenant,
            self.provider,
            method,
            path,
            credentials=self._given,
            base_url=self.base_url,
            **options,
        )
