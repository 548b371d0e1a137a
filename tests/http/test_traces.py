"""OpenTelemetry spans of Zoho calls (the ``otel`` extra), read with the SDK's in-memory
exporter; and no spans at all, at no cost, when the extra is not installed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.http.support import CREDENTIALS, zoho_for
from zohokit.emulator import Emulator, create_app


async def test_each_attempt_is_a_client_span_with_the_log_lines_attributes(
    tmp_path: Path, emulator: Emulator
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    emulator.faults.configure({"rules": [{"route": "crm", "throttle_rate": 1.0, "count": 1}]})
    async with zoho_for(
        tmp_path / "traced.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        tracer_provider=provider,
    ) as root:
        caller = provider.get_tracer("a booking flow")
        with caller.start_as_current_span("book a meeting") as parent:
            await root.crm("default", CREDENTIALS).modules()
        token = (await root.tokens.get_token("default", "zoho_crm")).token
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("zoho crm ")]
    assert [s.name for s in spans] == ["zoho crm settings.modules"] * 2
    throttled, answered = spans
    for span, attempt, status in ((throttled, 1, 429), (answered, 2, 200)):
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        attributes = dict(span.attributes or {})
        assert attributes["zoho.tenant"] == "default"
        assert attributes["zoho.provider"] == "crm"
        assert attributes["zoho.operation"] == "settings.modules"
        assert attributes["zoho.attempt"] == attempt
        assert attributes["http.request.method"] == "GET"
        assert attributes["http.response.status_code"] == status
        assert re.fullmatch(r"[0-9a-f]{12}\d{10}", str(attributes["zoho.request_id"]))
        assert not any(token in str(value) for value in attributes.values())
    assert throttled.status.status_code is StatusCode.ERROR
    assert dict(throttled.attributes or {})["zoho.error_code"] == "TOO_MANY_REQUESTS"
    assert answered.status.status_code is StatusCode.UNSET


def test_without_the_extra_there_are_no_spans_and_calls_still_work() -> None:
    # A process where `import opentelemetry` fails, as in an install without the extra.
    script = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from zohokit.http import CallObserver\n"
        "from zohokit.http._observe import Attempt\n"
        "observer = CallObserver()\n"
        "seen = Attempt(observer, tenant='t', provider='zoho_crm', operation='org',"
        " method='GET', number=1, credits=1)\n"
        "seen.sent(); seen.answered(200, None, None)\n"
        "print(observer.tracer)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "None"
