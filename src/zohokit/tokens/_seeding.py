"""The environment fallback of the token protocol (step 4): a tenant with no row gets one
seeded from the credentials given or the ``ZOHO_*`` variables (``source=env``), and an
env-seeded row that needs re-authorization comes back when the environment changes."""

from __future__ import annotations

import logging
from typing import Any

from ..datacenters import by_accounts_server
from . import _metrics as m
from ._admin import HEALTHY
from ._core import TokenServiceBase, recovered
from ._models import ZohoCredentials, as_datetime
from ._store import TokenRow

__all__ = ["EnvSeeding"]


class EnvSeeding(TokenServiceBase):
    """Seeding rows from the environment (a part of :class:`OAuthTokenService`)."""

    async def _seed(self, tenant: str, provider: str, creds: ZohoCredentials | None) -> TokenRow:
        merged = self._credentials.for_seed(creds, tenant, provider)
        ctx = (tenant, provider)
        dc = by_accounts_server(self._default_accounts_url)
        inserted = await self._store.insert(
            {
                "tenant": tenant,
                "provider": provider,
                "client_id": merged.client_id,
                "client_secret_enc": self._enc(merged.client_secret, *ctx, "client_secret_enc"),
                "refresh_token_enc": self._enc(merged.refresh_token, *ctx, "refresh_token_enc"),
                "accounts_server": self._default_accounts_url,
                "data_center": dc.code if dc else None,
                "source": "env",
                "status": "active",
            },
            now=as_datetime(self._clock()),
        )
        if inserted:
            m.emit("token.seeded", logging.INFO, tenant, provider, source="env")
        row = await self._store.get(tenant=tenant, provider=provider)
        assert row is not None
        return row

    async def _maybe_reseed(self, row: TokenRow, creds: ZohoCredentials | None) -> TokenRow:
        """An env-seeded row that needs re-authorization comes back to life when the
        environment (or the call) now carries a different refresh token."""
        if row.source != "env" or row.status != "needs_reauth":
            return row
        tenant, provider = row.tenant, row.provider
        merged = self._credentials.for_seed(creds, tenant, provider, require=False)

        def reseeded(current: TokenRow | None, _now: float) -> dict[str, Any] | None:
            if current is None or current.source != "env" or current.status != "needs_reauth":
                return None
            if not merged.refresh_token or merged.refresh_token == self._decrypt(
                current, "refresh_token_enc"
            ):
                return None
            ctx = (tenant, provider)
            return {
                **HEALTHY,
                "failure_count": current.failure_count,
                "refresh_token_enc": self._enc(merged.refresh_token, *ctx, "refresh_token_enc"),
                "client_id": merged.client_id or current.client_id,
                "client_secret_enc": self._enc(merged.client_secret, *ctx, "client_secret_enc")
                if merged.client_secret
                else current.client_secret_enc,
                "access_token_enc": None,
                "expires_at": None,
            }

        if await self._swap(tenant, provider, reseeded, event=lambda r: recovered(r, "env")):
            m.emit("token.reseeded", logging.INFO, tenant, provider, source="env")
        latest = await self._store.get(tenant=tenant, provider=provider)
        return latest or row
