"""The service's settings: :class:`~zohokit.settings.Settings` plus the ``ZOHOKIT_*`` knobs
only ``zohokit serve`` reads (API keys, the public URL, the session secret)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ..settings import Settings

__all__ = ["ServerSettings"]


class ServerSettings(Settings):
    """Configuration of ``zohokit serve``, from the environment like :class:`Settings`."""

    #: Comma-separated API keys. ``KEY`` or ``*:KEY`` may act on every tenant; ``TENANT:KEY``
    #: only on that tenant. Held hashed in memory once read.
    zohokit_api_keys: SecretStr | None = None
    #: Signs the admin page's session cookie. Without it a random secret is drawn at start:
    #: sessions then end on restart and do not carry across instances behind a balancer.
    zohokit_session_secret: SecretStr | None = None
    #: How long an admin session lasts, seconds.
    zohokit_session_seconds: int = 12 * 3600
    #: How long a connect link (the OAuth ``state``) stays usable, seconds.
    zohokit_connect_state_seconds: int = 600
    #: Send a PKCE ``S256`` challenge with every connect flow and its verifier with the code
    #: exchange (Zoho's accounts servers advertise ``S256``). Off only for an accounts server
    #: that refuses it.
    zohokit_connect_pkce: bool = True
    #: The largest request body accepted, bytes (413 above it). The API's bodies are small
    #: JSON documents (a schedule, a booking), so the default is small too.
    zohokit_max_body_bytes: int = Field(default=256 * 1024, ge=0)
    #: The largest request head (request line and headers) accepted, bytes (431 above it).
    zohokit_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    #: A request must arrive whole (head and body) within this many seconds of its first
    #: byte, or its connection is closed (a client that stalls mid-request holds nothing).
    zohokit_request_timeout_seconds: float = Field(default=15.0, gt=0)
