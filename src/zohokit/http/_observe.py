"""What every attempt of a Zoho call leaves behind: Prometheus metrics, one log line, and an
OpenTelemetry span when the ``otel`` extra is installed.

The request path opens one :class:`Attempt` per send (retries and the 401 recovery are
attempts of their own), marks when it actually went to Zoho (after the in-flight cap and any
admission wait, so the latency histogram is Zoho's, not the queue's), and closes it with the
outcome. Labels are bounded: the provider (``crm``, ``calendar``), the operation
(:func:`~zohokit.http._operations.operation_name`, never the raw URL), the status, Zoho's
error code (only names that look like one), and the tenant only when the operator asks
(``ZOHOKIT_METRICS_TENANT_LABEL``): otherwise ``tenant=""``, which Prometheus treats as no
label at all. Nothing here reads a token, a body or a header other than Zoho's request id
and ``X-API-CREDITS-REMAINING``. Each attempt Zoho saw is also counted in the
observer's ``history`` (:class:`CallSink`), which the root object points at the database's
per-hour call history (:mod:`zohokit.traffic`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import Counter, Gauge, Histogram

from ._operations import provider_label

try:  # the otel extra: spans when opentelemetry-api is installed, nothing otherwise
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - exercised by an install without the extra
    _trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CALLS_LOGGER",
    "Attempt",
    "CallObserver",
    "CallSink",
    "error_code_label",
]

#: One line per attempt, at INFO, with the fields in ``extra`` (the JSON log format prints them).
CALLS_LOGGER = logging.getLogger("zohokit.http.calls")


def _per_call(kind: type[Counter] | type[Histogram], name: str, doc: str, *labels: str) -> Any:
    # Every family of a call carries the tenant label, empty unless the operator asks.
    extra: dict[str, Any] = {"buckets": _BUCKETS} if kind is Histogram else {}
    return kind(name, doc, ["provider", "operation", *labels, "tenant"], **extra)


_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUESTS = _per_call(
    Counter,
    "zohokit_zoho_requests_total",
    "Attempts of Zoho API calls (retries included), by the answer's HTTP status "
    "(transport_error: no answer).",
    "status",
)
RETRIES = _per_call(
    Counter,
    "zohokit_zoho_retries_total",
    "Zoho calls sent again, by why (throttled, server, not_sent, maybe_processed, token).",
    "reason",
)
THROTTLED = _per_call(
    Counter, "zohokit_zoho_throttled_total", "Attempts Zoho answered 429 (credits or concurrency)."
)
ERRORS = _per_call(
    Counter,
    "zohokit_zoho_errors_total",
    "Attempts that failed, by Zoho's error code (transport_error, not_json, none: no code).",
    "code",
)
CREDITS = _per_call(
    Counter,
    "zohokit_zoho_credits_total",
    "Zoho API credits the attempts cost, at Zoho's published rates.",
)
SECONDS = _per_call(
    Histogram,
    "zohokit_zoho_request_seconds",
    "Time from sending an attempt to Zoho to reading its answer.",
)
CREDITS_REMAINING = Gauge(
    "zohokit_zoho_credits_remaining",
    "X-API-CREDITS-REMAINING as Zoho last sent it (Zoho sends it once half the day's credits"
    " are spent); set only with ZOHOKIT_METRICS_TENANT_LABEL, as it is one tenant's number.",
    ["tenant"],
)

#: Zoho's error codes are words (``INVALID_DATA``, the accounts server's ``invalid_code``);
#: anything else is not used as a label value, so an odd answer cannot grow the series.
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def error_code_label(code: str | None) -> str:
    """The ``code`` label for Zoho's error code: the code itself when it looks like one,
    ``none`` without one, ``other`` for anything else."""
    if not code:
        return "none"
    return code if _CODE.match(code) else "other"


class Attempt:
    """One send of a Zoho call, from before its token to its outcome (see the module
    docstring). Opened by the request path for its :class:`CallObserver`; closed once by
    :meth:`answered` or :meth:`failed`."""

    __slots__ = (
        "_labels",
        "_observer",
        "_sent_at",
        "_span",
        "credits",
        "method",
        "number",
        "operation",
        "provider",
        "tenant",
    )

    def __init__(
        self,
        observer: CallObserver,
        *,
        tenant: str,
        provider: str,
        operation: str,
        method: str,
        number: int,
        credits: int,
    ) -> None:
        self._observer = observer
        self.tenant = tenant
        self.provider = provider_label(provider)
        self.operation = operation
        self.method = method
        self.number = number
        self.credits = credits
        self._labels = (self.provider, operation, tenant if observer.tenant_label else "")
        self._sent_at: float | None = None
        self._span: Any = None

    def sent(self, credits: int | None = None) -> None:
        """The attempt goes to Zoho now (its wait for a slot is over): start the clock.
        ``credits`` is what the budget's admission charged it, when it knows better than
        the published write rate."""
        if credits is not None:
            self.credits = credits
        self._sent_at = time.perf_counter()
        tracer = self._observer.tracer
        if tracer is not None:
            self._span = tracer.start_span(
                f"zoho {self.provider} {self.operation}",
                kind=_trace.SpanKind.CLIENT,
                attributes={
                    "zoho.tenant": self.tenant,
                    "zoho.provider": self.provider,
                    "zoho.operation": self.operation,
                    "zoho.attempt": self.number,
                    "zoho.credits": self.credits,
                    "http.request.method": self.method,
                },
            )

    def answered(self, status: int, headers: httpx.Headers | None, code: str | None) -> None:
        """Zoho answered ``status``; ``code`` is its error code when the answer is an error
        (the accounts server refuses a grant with HTTP 200 and a code)."""
        request_id = headers.get("x-request-id") if headers is not None else None
        if headers is not None and self._observer.tenant_label:
            remaining = headers.get("x-api-credits-remaining")
            if remaining is not None and remaining.strip().isdigit():
                CREDITS_REMAINING.labels(self.tenant).set(int(remaining))
        self._close(str(status), code, request_id, status)

    def failed(self, reason: str) -> None:
        """No answer from Zoho: ``reason`` is the status label (``transport_error``,
        ``cancelled``)."""
        self._close(reason, None, None, None)

    def _close(
        self, status: str, code: str | None, request_id: str | None, http_status: int | None
    ) -> None:
        if self._sent_at is None:
            # Refused before it left (the budget's admission, a cancellation while it
            # waited for a slot): not a Zoho call; the budget counts its own refusals.
            return
        provider, operation, tenant = self._labels
        REQUESTS.labels(provider, operation, status, tenant).inc()
        CREDITS.labels(provider, operation, tenant).inc(self.credits)
        if http_status == 429:
            THROTTLED.labels(provider, operation, tenant).inc()
        label = None
        if http_status is None or http_status >= 400 or code is not None:
            label = status if http_status is None else error_code_label(code)
            ERRORS.labels(provider, operation, label, tenant).inc()
        history = self._observer.history
        if history is not None:
            throttled = http_status == 429
            history.record(
                self.tenant,
                provider,
                throttled=throttled,
                error=label is not None,
                credits=self.credits,
            )
        seconds = time.perf_counter() - self._sent_at
        SECONDS.labels(provider, operation, tenant).observe(seconds)
        if self._span is not None:
            self._end_span(status, label, request_id, http_status)
        if CALLS_LOGGER.isEnabledFor(logging.INFO):
            self._log(status, code, request_id, seconds)

    def _end_span(
        self, status: str, error: str | None, request_id: str | None, http_status: int | None
    ) -> None:
        span = self._span
        if http_status is not None:
            span.set_attribute("http.response.status_code", http_status)
        if request_id:
            span.set_attribute("zoho.request_id", request_id)
        if error is not None:
            span.set_attribute("zoho.error_code", error)
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, status))
        span.end()

    def _log(self, status: str, code: str | None, request_id: str | None, seconds: float) -> None:
        duration_ms = round(seconds * 1000, 2)
        CALLS_LOGGER.info(
            "zoho %s %s %s %s in %s ms tenant=%s attempt=%d request_id=%s",
            self.provider,
            self.operation,
            self.method,
            status if code is None else f"{status} {code}",
            duration_ms,
            self.tenant,
            self.number,
            request_id,
            extra={
                "event": "zoho.call",
                "tenant": self.tenant,
                "provider": self.provider,
                "operation": self.operation,
                "method": self.method,
                "status": status,
                "code": code,
                "duration_ms": duration_ms,
                "attempt": self.number,
                "request_id": request_id,
                "credits": self.credits,
            },
        )


class CallSink(Protocol):
    """Where each attempt Zoho saw is counted for the database's call history
    (:class:`zohokit.traffic.CallRecorder`, wired by the root object)."""

    def record(
        self, tenant: str, provider: str, *, throttled: bool, error: bool, credits: int
    ) -> None:
        """Count one attempt; no I/O."""
        ...


class CallObserver:
    """Metrics, log lines and spans of the Zoho calls of one request path.

    ``tenant_label`` puts the tenant on every metric (``ZOHOKIT_METRICS_TENANT_LABEL``: off by
    default, as tenants can number in the thousands); log lines and spans always carry it.
    ``tracer_provider`` is an OpenTelemetry ``TracerProvider`` (default: the global one; no
    spans at all without the ``otel`` extra).
    """

    def __init__(self, *, tenant_label: bool = False, tracer_provider: Any = None) -> None:
        self.tenant_label = tenant_label
        #: Counts every attempt for the database's call history, once the root wires it.
        self.history: CallSink | None = None
        self.tracer: Any = None
        if _trace is not None:
            # A ProxyTracer when no provider is set yet: it follows one set later.
            self.tracer = (tracer_provider or _trace).get_tracer("zohokit")

    def __repr__(self) -> str:
        return f"CallObserver(tenant_label={self.tenant_label})"

    def accounts_call(self, operation: str, tenant: str) -> Attempt:
        """The record of one call to Zoho's accounts server (``token.refresh``,
        ``token.exchange``, ``token.revoke``) for ``tenant``: the provider ``accounts``,
        no credits (token calls cost none)."""
        return Attempt(
            self,
            tenant=tenant,
            provider="accounts",
            operation=operation,
            method="POST",
            number=1,
            credits=0,
        )

    def retried(self, *, tenant: str, provider: str, operation: str, reason: str) -> None:
        """A call is sent again because of ``reason`` (a retryable failure, or ``token``:
        a fresh token after a 401)."""
        RETRIES.labels(
            provider_label(provider), operation, reason, tenant if self.tenant_label else ""
        ).inc()
