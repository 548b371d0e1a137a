"""A webhook receiver for the tests: an ASGI app, reached in process through
``httpx.ASGITransport``, that keeps every request it gets and answers as the test says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: What the receiver answers a request: a status code, "hang" (never answer) or "redirect".
Answer = int | str


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Records requests; ``answer(request)`` decides the response (default: 200)."""

    answer: Callable[[Received], Answer] = lambda _request: 200
    requests: list[Received] = field(default_factory=list)

    def ids(self) -> list[str]:
        """The ``webhook-id`` of every request, in arrival order."""
        return [r.headers["webhook-id"] for r in self.requests]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Received(scope["path"], headers, body)
        self.requests.append(request)
        answer = self.answer(request)
        if answer == "hang":
            await asyncio.Event().wait()  # cancelled by the sender's timeout
        if answer == "redirect":
            location = [(b"location", b"http://10.0.0.1/internal")]
            await send({"type": "http.response.start", "status": 307, "headers": location})
            await send({"type": "http.response.body", "body": b""})
            return
        assert isinstance(answer, int)
        await send({"type": "http.response.start", "status": answer, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
