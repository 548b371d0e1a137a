"""The limits of a real ``zohokit serve`` process, driven over loopback with raw sockets: a
huge body is refused before it is read, a huge head gets 431, and a request that stops
arriving is closed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.support import GLOBAL_KEY, start_serve
from zohokit.tokens import generate_key

pytestmark = pytest.mark.slow

#: Small enough that waiting for it costs the suite little.
TIMEOUT = 1.0
BIG = 50 * 1024 * 1024


class Served:
    """A ``zohokit serve`` child process and where it listens."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        found = re.search(r":(\d+)$", url)
        assert found is not None
        self.port = int(found.group(1))

    def peak_kib(self) -> int:
        """The process's peak resident memory (VmHWM), KiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert found is not None
        return int(found.group(1))

    def connect(self) -> socket.socket:
        """A raw TCP connection to the service."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return sock


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "ZOHOKIT_"))}
    env.update(
        ZOHOKIT_DATABASE_URL=f"sqlite:///{data / 'service.db'}",
        ZOHOKIT_ENCRYPTION_KEYS=generate_key(),
        ZOHOKIT_API_KEYS=GLOBAL_KEY,
        ZOHOKIT_DATA_DIR=str(data),
        ZOHOKIT_REQUEST_TIMEOUT_SECONDS=str(TIMEOUT),
    )
    proc, url = start_serve(env)
    try:
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/healthz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield Served(proc, url)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or stops sending for the socket timeout)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    return b"".join(chunks)


def _push_big_body(sock: socket.socket) -> int:
    """Try to send 50 MB; returns how much the kernel took before the server closed."""
    sock.settimeout(5)
    sent = 0
    block = b"{" * (1024 * 1024)
    try:
        while sent < BIG:
            sock.sendall(block)
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    return sent


def _warm(served: Served) -> None:
    # Every code path the refusals take is used once first, so the peak measured after
    # is the body's cost, not the first request's imports and caches.
    for headers in ({}, {"X-API-Key": GLOBAL_KEY}):
        httpx.post(f"{served.url}/api/tenants", content=b"{}", headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("headers", "status"),
    [(b"", b"401"), (f"X-API-Key: {GLOBAL_KEY}\r\n".encode(), b"413")],
    ids=["without-a-key", "with-a-key"],
)
def test_a_50_mb_body_is_refused_before_it_is_read(
    served: Served, headers: bytes, status: bytes
) -> None:
    _warm(served)
    before = served.peak_kib()
    with served.connect() as sock:
        sock.sendall(
            b"POST /api/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + headers
            + b"Content-Length: "
            + str(BIG).encode()
            + b"\r\n\r\n"
        )
        # The answer comes before a byte of the body was sent.
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 " + status), head
        assert b"connection: close" in head.lower()
        taken = _push_big_body(sock)
    assert taken < BIG  # the server closed instead of draining 50 MB
    grown = served.peak_kib() - before
    assert grown < 5 * 1024, f"the server's peak memory grew by {grown} KiB"


@pytest.mark.parametrize(("count", "status"), [(40, b"431"), (20, b"200")])
def test_headers_over_the_limit_get_431(served: Served, count: int, status: bytes) -> None:
    # 40 headers of 1 KB are over the 32 KiB limit; 20 are within it.
    with served.connect() as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + b"".join(f"X-Filler-{i}: {'a' * 1000}\r\n".encode() for i in range(count))
            + b"\r\n"
        )
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:100]


def test_one_huge_header_gets_431_without_being_buffered(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        try:
            for _ in range(64):  # up to 8 MB, as the attack did, unless the server closes
                sock.sendall(b"a" * 128 * 1024)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"GET /heal",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ",
        b"POST /api/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: "
        + GLOBAL_KEY.encode()
        + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tenant"',
    ],
    ids=["nothing", "mid-request-line", "mid-header", "mid-body"],
)
def test_an_incomplete_request_is_closed(served: Served, partial: bytes) -> None:
    with served.connect() as sock:
        sock.sendall(partial)
        # Ten times the configured timeout: the server must have closed long before.
        sock.settimeout(TIMEOUT * 10)
        try:
            closed = sock.recv(65536) == b""
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            closed = False
    assert closed, "the server still holds a connection whose request never arrived"


def test_a_kept_alive_connection_gets_a_new_deadline_per_request(served: Served) -> None:
    with served.connect() as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(65536)
                assert chunk, f"closed after {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            time.sleep(TIMEOUT * 1.5)  # idle between requests is keep-alive's business
