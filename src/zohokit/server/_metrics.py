"""HTTP metrics of the service (Prometheus), labelled by route template, never by raw path,
so a tenant name or a scanner's random URL cannot grow the series without bound.

The answers are counted in plain Python numbers (:class:`HttpTally`) that Prometheus reads
when it scrapes: a labelled counter and a histogram of ``prometheus_client`` cost more, per
request, than the token broker's own work, and every request pays them.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Message, Receive, Scope, Send

from ._asgi import HTTPMiddleware

__all__ = ["CONNECTS", "TALLY", "HttpTally", "MetricsMiddleware"]

#: The upper bounds of ``zohokit_http_request_seconds``' buckets.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

CONNECTS = Counter(
    "zohokit_connect_total",
    "Connect flows by outcome (started, connected, denied, refused, failed).",
    ["provider", "outcome"],
)


class HttpTally(Collector):
    """The service's answers, counted as ``zohokit_http_requests_total{method, route,
    status}`` and timed as the histogram ``zohokit_http_request_seconds{route}``; a
    Prometheus collector that reads them at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sandbox and tests run services on threads
        self._requests: dict[tuple[str, str, str], int] = {}
        #: Per route: the count of each bucket (the last one past every bound), and the sum.
        self._seconds: dict[str, tuple[list[int], list[float]]] = {}

    def add(self, method: str, route: str, status: str, seconds: float) -> None:
        """Count one answer."""
        with self._lock:
            key = (method, route, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            timed = self._seconds.get(route)
            if timed is None:
                timed = self._seconds[route] = ([0] * (len(BUCKETS) + 1), [0.0])
            timed[0][bisect_left(BUCKETS, seconds)] += 1
            timed[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        """The two families, as they stand now."""
        with self._lock:
            requests = dict(self._requests)
            seconds = {r: (list(counts), total[0]) for r, (counts, total) in self._seconds.items()}
        counted = CounterMetricFamily(
            "zohokit_http_requests",
            "HTTP requests answered by zohokit serve.",
            labels=["method", "route", "status"],
        )
        for labels, value in requests.items():
            counted.add_metric(list(labels), value)
        yield counted
        timed = HistogramMetricFamily(
            "zohokit_http_request_seconds", "Time to answer an HTTP request.", labels=["route"]
        )
        for route, (counts, total) in seconds.items():
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            timed.add_metric([route], buckets, sum_value=total)
        yield timed


#: The process's tally, in the default registry (what ``/metrics`` serves).
TALLY = HttpTally()
REGISTRY.register(TALLY)


class MetricsMiddleware(HTTPMiddleware):
    """Pure ASGI middleware: counts each HTTP request by method, route template and status."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request and time it."""
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            TALLY.add(scope["method"], template, str(status), time.perf_counter() - started)
