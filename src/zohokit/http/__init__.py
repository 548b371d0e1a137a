"""The one request path every Zoho CRM and Calendar call goes through, and what the services
share.

- :class:`ZohoHTTP` (``_client``): ``request`` (the retry loop) -> one attempt (token, 401
  recovery) -> one send (in-flight cap, tally, transport, reading the answer);
- ``_answers``: reading an answer (its JSON, an error's fields, the status-to-error table), pure;
- ``_retry``: the retry policy and the classification of failures, pure;
- ``_operations``: the bounded name of a call (``records.upsert``) from its route, pure;
- ``_observe``: each attempt's metrics, log line and OpenTelemetry span;
- ``_tally``: the requests and Zoho credits a block of work cost, pure;
- ``_service``: :class:`ZohoService`, the base of the CRM and Calendar services.
"""

from __future__ import annotations

from ..datacenters import calendar_url_for
from ._client import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TIMEOUT,
    ERRORS_BY_STATUS,
    ErrorAnswer,
    TokenLike,
    TokenSource,
    ZohoHTTP,
    ZohoResponse,
    api_error,
)
from ._observe import CallObserver
from ._operations import operation_name
from ._retry import (
    RetryPolicy,
    classify_exception,
    classify_response,
    parse_retry_after,
    should_retry,
)
from ._service import ServiceDefaults, ZohoService, default_http
from ._tally import RequestTally, credits_for, current_tally, tally_requests

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "ERRORS_BY_STATUS",
    "CallObserver",
    "ErrorAnswer",
    "RequestTally",
    "RetryPolicy",
    "ServiceDefaults",
    "TokenLike",
    "TokenSource",
    "ZohoHTTP",
    "ZohoResponse",
    "ZohoService",
    "api_error",
    "calendar_url_for",
    "classify_exception",
    "classify_response",
    "credits_for",
    "current_tally",
    "default_http",
    "operation_name",
    "parse_retry_after",
    "should_retry",
    "tally_requests",
]
