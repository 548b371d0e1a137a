"""Serving the emulator over loopback: in the foreground (the CLI) or in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import uvicorn

from ._app import create_app
from ._core import Emulator, EmulatorConfig

#: Clients such as the ``zoho`` package open one connection per concurrent call; Python's
#: default listen backlog of 5 would refuse some of them.
LISTEN_BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; ``port=0`` picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this. Without it, an answer written as headers then body
        # meets the client's delayed ACK and every request takes about 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()  # a port in use or an unknown host: the caller reports it
        raise
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    """The ``http://host:port`` URL a bound socket is reached at."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def build_server(config: EmulatorConfig, sock: socket.socket) -> tuple[Emulator, uvicorn.Server]:
    """An emulator whose ``api_domain`` is the socket's URL, and a uvicorn server for it."""
    config.base_url = base_url_of(sock)
    emu = Emulator(config)
    uv_config = uvicorn.Config(
        create_app(emu),
        log_level="warning",
        access_log=False,
        backlog=LISTEN_BACKLOG,
        timeout_keep_alive=30,
        # Stopping gives answers under way a second, not the configured latency: a test that
        # made the emulator slow (seconds per answer) would otherwise wait for it at the end.
        timeout_graceful_shutdown=1,
        lifespan="off",
    )
    return emu, uvicorn.Server(uv_config)


class EmulatorServer:
    """The emulator on a loopback port, served from a background thread.

    >>> with EmulatorServer(EmulatorConfig(client_id="X", client_secret="Y")) as server:
    ...     server.url  # doctest: +SKIP
    'http://127.0.0.1:40123'
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._sock = bind(host, port)
        self.emulator, self._server = build_server(config or EmulatorConfig(), self._sock)
        self.url = self.emulator.base_url
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Start serving; returns once the server accepts connections."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
            name="zohokit-emulator",
            daemon=True,
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator server stopped while starting")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self.emulator.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
