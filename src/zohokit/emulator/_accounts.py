"""The emulated Zoho accounts server: consent, token grants, revocation and Zoho's limits.

Behaviour follows Zoho's documentation and what real traffic shows (see
https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token.html and
https://www.zoho.com/crm/developer/docs/api/v8/token-validity.html):

- errors come back as HTTP 200 with ``{"error": "..."}``; success is a body with ``access_token``;
- a refresh token mints at most 10 access tokens per 10 minutes, then "Access Denied";
- at most 15 access tokens per refresh token are live: minting the 16th evicts the oldest;
- at most 20 refresh tokens per user and client: the 21st evicts the oldest (and its tokens);
- grant codes are single use, expire, and are bound to the PKCE challenge of the consent that
  drew them (``S256`` or ``plain``, RFC 7636): the exchange must send the matching verifier;
- the consent page redirects only to a redirect URI registered for the client;
- refresh answers carry no ``refresh_token`` (Zoho does not rotate them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ._core import ALL_SCOPES, zoho_json

if TYPE_CHECKING:
    from ._core import Emulator

THROTTLE_BODY = {
    "error_description": (
        "You have made too many requests continuously. Please try again after some time."
    ),
    "error": "Access Denied",
    "status": "failure",
}


def new_token() -> str:
    """A token in Zoho's shape: ``1000.<32 hex>.<32 hex>``."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


@dataclass
class OAuthClient:
    """A registered OAuth client and the redirect URIs registered for it (none: the consent
    page refuses every redirect, as Zoho does for a client without one)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()


@dataclass
class RefreshGrant:
    """A refresh token, who it belongs to, and its minting history."""

    token: str
    client_id: str
    user_email: str
    scopes: tuple[str, ...]
    created_at: float
    #: When each access token was minted from it, for the 10-per-10-minutes window.
    mint_times: deque[float] = field(default_factory=deque)
    #: Live access tokens minted from it, oldest first.
    live: deque[str] = field(default_factory=deque)


@dataclass
class AccessGrant:
    """A live access token."""

    token: str
    client_id: str
    user_email: str
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None


@dataclass
class GrantCode:
    """A single-use authorization code issued by the consent endpoint."""

    code: str
    client_id: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    offline: bool
    user_email: str
    expires_at: float
    #: The PKCE challenge of the consent, and its method (``S256`` or ``plain``).
    code_challenge: str | None = None
    code_challenge_method: str = "plain"


PKCE_METHODS = ("plain", "S256")


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether ``verifier`` answers ``challenge`` (RFC 7636 section 4.6)."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(verifier, challenge)


def _error(name: str, status: int = 200) -> Response:
    return zoho_json({"error": name}, status=status)


class Accounts:
    """State and handlers of the accounts server."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        cfg = emu.config
        self.clients: dict[str, OAuthClient] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.access_tokens: dict[str, AccessGrant] = {}
        #: Tokens that were evicted or revoked: using them gives INVALID_OAUTHTOKEN.
        self.dead_access_tokens: set[str] = set()
        self.codes: dict[str, GrantCode] = {}
        cfg.client_id = cfg.client_id or f"1000.{secrets.token_hex(15).upper()}"
        cfg.client_secret = cfg.client_secret or secrets.token_hex(21)
        cfg.refresh_token = cfg.refresh_token or new_token()
        self.register_client(cfg.client_id, cfg.client_secret, cfg.redirect_uris)
        self.grant_refresh_token(cfg.client_id, cfg.refresh_token)

    # --- state changes, also used by tests and /_emulator/seed -------------------------------

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()
    ) -> OAuthClient:
        """Register (or replace) an OAuth client."""
        client = OAuthClient(client_id, client_secret, tuple(redirect_uris))
        self.clients[client_id] = client
        self.emu.journal.changed("client", client_id, client)
        return client

    def grant_refresh_token(
        self,
        client_id: str,
        token: str | None = None,
        *,
        scopes: tuple[str, ...] = ALL_SCOPES,
        user_email: str | None = None,
    ) -> RefreshGrant:
        """Create a refresh token for a client, evicting the user's oldest past the cap."""
        user = user_email or self.emu.config.user_email
        grant = RefreshGrant(
            token or new_token(), client_id, user, tuple(scopes), self.emu.clock.now()
        )
        mine = [
            g
            for g in self.refresh_tokens.values()
            if g.client_id == client_id and g.user_email == user
        ]
        while mine and len(mine) >= self.emu.config.max_refresh_tokens:
            self.revoke_refresh_token(mine.pop(0).token)
        self.refresh_tokens[grant.token] = grant
        self.emu.journal.changed("refresh", grant.token, grant)
        return grant

    def self_client_code(
        self, client_id: str, scopes: tuple[str, ...], ttl_seconds: float | None = None
    ) -> GrantCode:
        """A grant code as the API console's Self Client "Generate Code" hands one out: for
        ``scopes``, with no redirect URI, exchangeable once for a refresh token."""
        if client_id not in self.clients:
            raise KeyError(f"client_id {client_id!r} is not registered")
        if not scopes:
            raise ValueError("scopes: name at least one scope, e.g. ZohoCRM.modules.ALL")
        ttl = self.emu.config.grant_code_ttl_seconds if ttl_seconds is None else ttl_seconds
        code = GrantCode(
            code=new_token(),
            client_id=client_id,
            redirect_uri=None,
            scopes=tuple(scopes),
            offline=True,
            user_email=self.emu.config.user_email,
            expires_at=self.emu.clock.now() + ttl,
        )
        self.codes[code.code] = code
        self.emu.journal.changed("code", code.code, code)
        return code

    def revoke_refresh_token(self, token: str) -> bool:
        """Delete a refresh token and every access token minted from it."""
        grant = self.refresh_tokens.pop(token, None)
        if grant is None:
            return False
        self.emu.journal.removed("refresh", token)
        for access in grant.live:
            self._kill(access)
        return True

    def _kill(self, access: str) -> bool:
        """Forget a live access token; using it again gives ``INVALID_OAUTHTOKEN``."""
        if self.access_tokens.pop(access, None) is None:
            return False
        self.dead_access_tokens.add(access)
        self.emu.journal.removed("access", access)
        self.emu.journal.changed("dead", access, True)
        return True

    def mint_access_token(
        self,
        client_id: str,
        scopes: tuple[str, ...],
        user_email: str,
        refresh: RefreshGrant | None = None,
    ) -> str:
        """Mint an access token; from a refresh grant, evict its oldest past the live cap."""
        now = self.emu.clock.now()
        token = new_token()
        expires_at = now + self.emu.config.token_ttl
        grant = AccessGrant(
            token, client_id, user_email, scopes, expires_at, refresh.token if refresh else None
        )
        self.access_tokens[token] = grant
        self.emu.journal.changed("access", token, grant)
        self.emu.stats.incr("access_tokens_minted")
        if refresh is not None:
            refresh.mint_times.append(now)
            refresh.live.append(token)
            self.emu.journal.changed("refresh", refresh.token, refresh)
            while len(refresh.live) > self.emu.config.max_live_access_tokens:
                if self._kill(refresh.live.popleft()):
                    self.emu.stats.incr("access_tokens_evicted")
        return token

    def _window_full(self, grant: RefreshGrant) -> bool:
        cfg = self.emu.config
        cutoff = self.emu.clock.now() - cfg.access_token_window_seconds
        while grant.mint_times and grant.mint_times[0] <= cutoff:
            grant.mint_times.popleft()
        return len(grant.mint_times) >= cfg.access_tokens_per_window

    def _token_answer(
        self, access: str, scopes: tuple[str, ...], refresh_token: str | None
    ) -> Response:
        body: dict[str, object] = {"access_token": access}
        if refresh_token:
            body["refresh_token"] = refresh_token
        body.update(
            {
                "scope": " ".join(scopes),
                "api_domain": self.emu.base_url,
                "token_type": "Bearer",
                "expires_in": self.emu.config.token_ttl,
            }
        )
        return zoho_json(body)

    def _throttled(self) -> Response:
        self.emu.stats.incr("token_throttled")
        return zoho_json(THROTTLE_BODY, status=self.emu.config.throttle_status)

    # --- HTTP handlers ---------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, str]:
        """Token-endpoint parameters from the query, a form or multipart body, and Basic auth."""
        params: dict[str, str] = dict(request.query_params)
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
            await form.close()
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            cid, sep, secret = decoded.partition(":")
            if sep:
                params.setdefault("client_id", cid)
                params.setdefault("client_secret", secret)
        return params

    async def token(self, request: Request) -> Response:
        """``POST /oauth/v2/token``: the code and refresh grants."""
        stats = self.emu.stats
        stats.incr("token_requests")
        params = await self._params(request)
        grant_type = params.get("grant_type", "")
        if grant_type == "refresh_token":
            stats.incr("token_refresh_requests")
        elif grant_type == "authorization_code":
            stats.incr("token_code_requests")
        if self.emu.faults.token_throttle:
            return self._throttled()
        if grant_type not in ("refresh_token", "authorization_code"):
            return _error("unsupported_grant_type")
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return _error("invalid_client")
        if not secrets.compare_digest(client.client_secret, params.get("client_secret", "")):
            return _error("invalid_client_secret")
        if grant_type == "refresh_token":
            return self._refresh(client, params)
        return self._exchange_code(client, params)

    def _refresh(self, client: OAuthClient, params: dict[str, str]) -> Response:
        token = params.get("refresh_token", "")
        grant = self.refresh_tokens.get(token)
        if grant is None and token and self.emu.config.adopt_unknown_refresh_tokens:
            grant = self.grant_refresh_token(client.client_id, token)
        if grant is None or grant.client_id != client.client_id:
            return _error("invalid_code")
        if self._window_full(grant):
            return self._throttled()
        access = self.mint_access_token(client.client_id, grant.scopes, grant.user_email, grant)
        return self._token_answer(access, grant.scopes, None)

    def _exchange_code(self, client: OAuthClient, params: dict[str, str]) -> Response:
        # Single use: the code is gone whether or not the exchange succeeds.
        code = self.codes.pop(params.get("code", ""), None)
        if code is not None:
            self.emu.journal.removed("code", code.code)
        if (
            code is None
            or code.client_id != client.client_id
            or code.expires_at <= self.emu.clock.now()
        ):
            return _error("invalid_code")
        given_uri = params.get("redirect_uri")
        if code.redirect_uri is not None and given_uri != code.redirect_uri:
            return _error("invalid_redirect_uri")
        if code.code_challenge is not None and not pkce_matches(
            params.get("code_verifier", ""), code.code_challenge, code.code_challenge_method
        ):
            # The code was drawn by another flow (or stolen): only the verifier's owner may
            # exchange it.
            return _error("invalid_code")
        refresh: RefreshGrant | None = None
        if code.offline:
            refresh = self.grant_refresh_token(
                client.client_id, scopes=code.scopes, user_email=code.user_email
            )
        access = self.mint_access_token(client.client_id, code.scopes, code.user_email, refresh)
        return self._token_answer(access, code.scopes, refresh.token if refresh else None)

    async def revoke(self, request: Request) -> Response:
        """``POST /oauth/v2/token/revoke``: revoke a refresh token (or an access token)."""
        self.emu.stats.incr("token_revoke_requests")
        token = (await self._params(request)).get("token", "")
        if self.revoke_refresh_token(token):
            return zoho_json({"status": "success"})
        if self._kill(token):
            return zoho_json({"status": "success"})
        return zoho_json({"status": "failure", "error": "invalid_token"}, status=400)

    async def authorize(self, request: Request) -> Response:
        """``GET /oauth/v2/auth``: consent is simulated and answered at once with a redirect."""
        self.emu.stats.incr("accounts_requests")
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None:
            return _consent_error_page("Invalid Client", "The client_id is not registered.")
        if q.get("response_type") != "code":
            return _consent_error_page("Invalid Request", "response_type must be code.")
        try:
            parts = urlsplit(redirect_uri)
        except ValueError:  # e.g. "http://[::1/cb": an unclosed IPv6 bracket
            return _consent_error_page("Invalid Redirect Uri", "redirect_uri is not a URL.")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _consent_error_page("Invalid Redirect Uri", "redirect_uri is not a URL.")
        if redirect_uri not in client.redirect_uris:
            return _consent_error_page(
                "Invalid Redirect Uri", "redirect_uri does not match a registered one."
            )
        challenge = q.get("code_challenge") or None
        method = q.get("code_challenge_method") or "plain"
        if challenge is not None and method not in PKCE_METHODS:
            return _consent_error_page(
                "Invalid Request", "code_challenge_method must be S256 or plain."
            )
        answer: dict[str, str] = {}
        if self.emu.faults.consent == "deny":
            answer["error"] = "access_denied"
        else:
            scopes = tuple(s for s in q.get("scope", "").replace(" ", ",").split(",") if s)
            code = GrantCode(
                code=new_token(),
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                scopes=scopes or ALL_SCOPES,
                offline=q.get("access_type", "online") == "offline",
                user_email=self.emu.config.user_email,
                expires_at=self.emu.clock.now() + self.emu.config.grant_code_ttl_seconds,
                code_challenge=challenge,
                code_challenge_method=method,
            )
            self.codes[code.code] = code
            self.emu.journal.changed("code", code.code, code)
            answer["code"] = code.code
        if "state" in q:
            answer["state"] = q["state"]
        answer["location"] = self.emu.config.location
        answer["accounts-server"] = self.emu.base_url
        query = f"{parts.query}&{urlencode(answer)}" if parts.query else urlencode(answer)
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        return RedirectResponse(target, status_code=302)


def _consent_error_page(title: str, detail: str) -> Response:
    # Zoho shows an HTML page, not a redirect, when the request itself is unusable.
    return HTMLResponse(
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{detail}</p></body></html>",
        status_code=400,
    )


def accounts_routes(emu: Emulator) -> list[BaseRoute]:
    """The accounts server's routes; handlers look up ``emu.accounts`` per call (reset-safe)."""

    async def token(request: Request) -> Response:
        return await emu.accounts.token(request)

    async def revoke(request: Request) -> Response:
        return await emu.accounts.revoke(request)

    async def authorize(request: Request) -> Response:
        return await emu.accounts.authorize(request)

    return [
        Route("/oauth/v2/token", token, methods=["POST"]),
        Route("/oauth/v2/token/revoke", revoke, methods=["POST"]),
        Route("/oauth/v2/auth", authorize, methods=["GET"]),
    ]
