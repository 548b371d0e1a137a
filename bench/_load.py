"""A small keep-alive HTTP/1.1 load generator, so the client is never the bottleneck.

httpx spends more CPU per request than the emulator does; this speaks just enough HTTP to
measure a server: fixed requests, ``Content-Length`` bodies, one connection per worker.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_process(
    args: Sequence[str], ready_url: str, timeout: float = 30.0
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``ready_url`` answers."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{args[0]} exited early: {err}")
        try:
            httpx.get(ready_url, timeout=0.5)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{ready_url} did not answer within {timeout} s")


async def _worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    counts: Counter[int],
    latencies: list[float],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            if not status_line:
                raise RuntimeError("the server closed the connection")
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            counts[int(status_line.split()[1])] += 1
    finally:
        writer.close()


async def _run(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> tuple[Counter[int], list[float]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts: Counter[int] = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(_worker(host, port, request, deadline, counts, latencies) for _ in range(connections))
    )
    return counts, latencies


def measure(
    url: str, headers: dict[str, str] | None = None, seconds: float = 3.0, connections: int = 8
) -> tuple[float, Counter[int]]:
    """Requests per second answered by ``url`` over ``seconds``, and the status counts."""
    rate, counts, _ = measure_latency(url, headers, seconds, connections)
    return rate, counts


def measure_latency(
    url: str, headers: dict[str, str] | None = None, seconds: float = 3.0, connections: int = 8
) -> tuple[float, Counter[int], list[float]]:
    """Like :func:`measure`, plus every request's latency in seconds, sorted."""
    started = time.monotonic()
    counts, latencies = asyncio.run(_run(url, headers or {}, seconds, connections))
    elapsed = time.monotonic() - started
    return sum(counts.values()) / elapsed, counts, sorted(latencies)


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The value below which ``share`` (0..1) of the sorted values lie."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(len(sorted_values) * share + 0.5) - 1))
    return sorted_values[index]


if __name__ == "__main__":  # pragma: no cover - manual use
    rate, counts = measure(sys.argv[1])
    print(f"{rate:.0f} req/s {dict(counts)}")
