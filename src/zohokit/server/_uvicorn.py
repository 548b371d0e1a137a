"""The HTTP server ``zohokit serve`` runs: uvicorn with its httptools protocol, plus the two
limits uvicorn does not have.

What uvicorn (0.29 to 0.54) does on its own, and what this module adds:

- **Header size.** The httptools protocol (the one ``uvicorn[standard]`` picks) accepts a
  request head of any size; ``h11_max_incomplete_event_size`` only applies to the slower h11
  protocol, which answers 400 rather than 431. Here the request line and headers are counted
  as they arrive, and a head over ``ZOHOKIT_MAX_HEADER_BYTES`` gets ``431 Request Header
  Fields Too Large`` and a closed connection, before the app sees anything.
- **Incomplete requests.** uvicorn's ``timeout_keep_alive`` only runs between requests, after
  an answer: a client that connects and sends half a request line, half its headers or half
  its body holds the connection (and the app's read) forever. Here every request must arrive
  whole within ``ZOHOKIT_REQUEST_TIMEOUT_SECONDS`` of the connection opening (the first
  request) or of its first byte (later ones on a kept-alive connection); otherwise the
  connection is closed and an app waiting for the body sees a disconnect.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ._settings import ServerSettings

__all__ = ["GuardedHttpToolsProtocol", "guarded_protocol", "uvicorn_config"]

_TOO_LARGE = b"request header fields too large"


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head-size limit and an incomplete-request
    deadline. Configure a subclass with :func:`guarded_protocol`."""

    #: Request line plus headers, bytes.
    max_head_bytes = 32 * 1024
    #: Seconds a request may take to arrive whole.
    request_timeout = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._raw_head = 0  # bytes received while the head was incomplete
        self._parsed_head = 0  # bytes of request line and headers the parser handed over
        self._refused = False
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request did not arrive in time")
            self.transport.close()

    def _refuse(self) -> None:
        self._refused = True
        self._disarm()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[431],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    _TOO_LARGE,
                ]
            )
        )
        self.transport.close()

    # asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the first request's deadline as soon as the connection opens."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, counting what arrives while the head is incomplete."""
        if self._refused:
            return
        super().data_received(data)
        if self._in_head:
            self._raw_head += len(data)
        # The parser's count is exact for a head that completed in this chunk; the raw count
        # bounds a head that never completes (the parser buffers a partial header itself).
        over = self._parsed_head > self.max_head_bytes
        if over or (self._in_head and self._raw_head > self.max_head_bytes):
            self._refuse()

    # httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        """A new request starts: its head is counted from zero, its deadline runs."""
        super().on_message_begin()
        self._in_head = True
        self._raw_head = self._parsed_head = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        """Count the request target toward the head."""
        self._parsed_head += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count each header toward the head."""
        self._parsed_head += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Hand the request to the app, unless its head was over the limit."""
        if self._parsed_head > self.max_head_bytes:
            return  # data_received answers 431 once the parser returns
        self._in_head = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Pass the body on, unless the request was refused (no app is waiting for it)."""
        if self._parsed_head <= self.max_head_bytes:
            super().on_body(body)

    def on_message_complete(self) -> None:
        """The request arrived whole: no deadline until the next one starts."""
        self._disarm()
        if self._parsed_head <= self.max_head_bytes:
            super().on_message_complete()


def guarded_protocol(max_head_bytes: int, request_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """A :class:`GuardedHttpToolsProtocol` with these limits (uvicorn builds the protocol
    itself, so the limits travel as class attributes)."""
    return type(
        "ConfiguredHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "request_timeout": request_timeout},
    )


def uvicorn_config(app: Any, settings: ServerSettings, *, log_level: str) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the service's limits."""
    protocol = guarded_protocol(
        settings.zohokit_max_header_bytes, settings.zohokit_request_timeout_seconds
    )
    # In JSON mode the root handler (zohokit.logs) takes uvicorn's lines too, redacted.
    json_logs = settings.zohokit_log_format == "json"
    return uvicorn.Config(
        app,
        http=protocol,
        log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
    )
