"""HTTP metrics of the service (Prometheus), labelled by route template, never by raw path,
so a tenant name or a scanner's random URL cannot grow the series without bound."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._asgi import HTTPMiddleware

__all__ = ["REQUESTS", "REQUEST_SECONDS", "MetricsMiddleware"]

REQUESTS = Counter(
    "zohokit_http_requests_total",
    "HTTP requests answered by zohokit serve.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "zohokit_http_request_seconds",
    "Time to answer an HTTP request.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CONNECTS = Counter(
    "zohokit_connect_total",
    "Connect flows by outcome (started, connected, denied, refused, failed).",
    ["provider", "outcome"],
)


class MetricsMiddleware(HTTPMiddleware):
    """Pure ASGI middleware: counts each HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        # The labelled series of each (method, route, status) seen: a look-up in prometheus'
        # own table costs more than the rest of the counting. Bounded as the labels are.
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

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
            key = (scope["method"], template, str(status))
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (
                    REQUESTS.labels(*key),
                    REQUEST_SECONDS.labels(template),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started)
