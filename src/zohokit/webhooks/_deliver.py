"""Sending due deliveries: one attempt is one signed POST with a timeout, no redirect
followed and at most ``max_response`` bytes of the answer read; a round fans new events
out, claims what is due, sends it (a few at once) and logs every attempt.

A rogue endpoint costs at most one timeout per attempt: a slow or endless answer is cut at
``timeout`` seconds and ``max_response`` bytes, a redirect is a failure (it could point
anywhere, the internal network included), and the URL is checked again before each
attempt, since a name may resolve elsewhere since the endpoint was added.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from prometheus_client import Counter, Histogram

from .._clock import Clock
from ._errors import EndpointRefused
from ._policy import DeliveryPolicy, is_success, next_attempt_at
from ._signing import signed_headers
from ._store import Claimed, WebhookStore, new_id
from ._urls import Resolver, check_url, system_resolver

__all__ = ["DeliveryRound", "WebhookConfig", "WebhookSender"]

log = logging.getLogger("zohokit.webhooks")

USER_AGENT = "zohokit-webhooks/0.1"
#: Attempts by outcome: ``succeeded``, ``retrying`` (failed, tried again later), ``failed``
#: (the last one: given up). Labelled by outcome only: endpoints are many, tenants more.
ATTEMPTS = Counter(
    "zohokit_webhook_attempts_total", "Webhook delivery attempts by outcome.", ["outcome"]
)
ATTEMPT_SECONDS = Histogram(
    "zohokit_webhook_attempt_seconds",
    "How long webhook delivery attempts took (a timeout counts in full).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
#: Due deliveries claimed per batch of a round.
CLAIM_BATCH = 100


@dataclass
class DeliveryRound:
    """What one :meth:`WebhookSender.run_due` did: deliveries created by the fan-out, and
    attempts by outcome (``retrying``: failed, tried again later; ``failed``: given up)."""

    fanned_out: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
    #: When the next pending delivery is due (``None``: nothing pending).
    next_due: datetime | None = None

    @property
    def attempts(self) -> int:
        """Attempts made in the round."""
        return self.succeeded + self.retrying + self.failed


def _body(claimed: Claimed) -> bytes:
    return json.dumps(claimed.event.to_dict(), separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class WebhookConfig:
    """How the root delivers webhooks: retry timing and limits (``policy``), whether
    loopback and private addresses may be endpoints (``allow_private``: the sandbox, or an
    operator's ``ZOHOKIT_WEBHOOKS_ALLOW_PRIVATE``), the name look-up, and the transport
    (``None``: the network; tests pass an in-process receiver)."""

    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    allow_private: bool = False
    resolve: Resolver = system_resolver
    transport: httpx.AsyncBaseTransport | None = None


class WebhookSender:
    """Sends what :class:`WebhookStore` says is due, over one httpx client."""

    def __init__(self, store: WebhookStore, *, config: WebhookConfig, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.policy = config.policy
        self.clock = clock
        self._client = httpx.AsyncClient(
            transport=config.transport,
            follow_redirects=False,
            timeout=httpx.Timeout(config.policy.timeout),
            headers={"user-agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        await check_url(url, allow_private=self.config.allow_private, resolve=self.config.resolve)
        async with self._client.stream("POST", url, content=body, headers=headers) as answer:
            read = 0
            if answer.is_stream_consumed:  # a transport that hands over a whole answer
                return answer.status_code
            async for chunk in answer.aiter_raw():
                read += len(chunk)
                if read >= self.policy.max_response:
                    break  # the rest is left unread; the connection is dropped
            return answer.status_code

    async def attempt(self, claimed: Claimed) -> tuple[int | None, str | None, int]:
        """One signed POST: the status code (``None``: no answer), the error in words
        (``None`` on a 2xx) and the milliseconds it took."""
        now = self.clock()
        body = _body(claimed)
        headers = {
            "content-type": "application/json",
            **signed_headers(claimed.secrets, claimed.event.id, int(now.timestamp()), body),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.policy.timeout):
                status = await self._post(claimed.url, body, headers)
        except EndpointRefused as exc:
            error = f"refused: {exc.message}"
        except TimeoutError:
            error = f"no answer within {self.policy.timeout:g} s"
        except httpx.HTTPError as exc:
            # The message of an httpx error names the failure, not the URL's query.
            error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if status is not None and not is_success(status):
            error = f"HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
        return status, error, round((time.perf_counter() - started) * 1000)

    async def _send(self, claimed: Claimed, owner: str, tally: DeliveryRound) -> None:
        status, error, duration_ms = await self.attempt(claimed)
        now = self.clock()
        succeeded = error is None
        retry_at = (
            None
            if succeeded
            else next_attempt_at(
                self.policy, claimed.delivery.attempts + 1, claimed.delivery.round_started_at, now
            )
        )
        await self.store.record_attempt(
            claimed,
            owner=owner,
            attempted_at=now,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
            next_attempt_at=retry_at,
            succeeded=succeeded,
        )
        outcome = "succeeded" if succeeded else "retrying" if retry_at else "failed"
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        ATTEMPTS.labels(outcome).inc()
        ATTEMPT_SECONDS.observe(duration_ms / 1000)
        if outcome == "failed":
            d = claimed.delivery
            log.warning(
                "webhook.gave_up delivery=%s endpoint=%s event=%s attempts=%d error=%s",
                d.id,
                d.endpoint_id,
                d.event_id,
                d.attempts + 1,
                error,
            )

    async def run_due(self) -> DeliveryRound:
        """Fan out new events, then send every delivery due now, ``concurrency`` at once."""
        tally = DeliveryRound()
        tally.fanned_out = await self.store.fan_out(now=self.clock())
        owner = new_id("w")
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def send(claimed: Claimed) -> None:
            async with gate:
                await self._send(claimed, owner, tally)

        while True:
            now = self.clock()
            batch = await self.store.claim_due(
                owner=owner, now=now, until=now + self.policy.lease, limit=CLAIM_BATCH
            )
            if not batch:
                break
            await asyncio.gather(*(send(claimed) for claimed in batch))
        tally.next_due = await self.store.next_due()
        return tally
