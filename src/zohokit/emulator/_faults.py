"""Fault injection: latency, 5xx answers, HTML error pages, dropped connections, stalls, 429s.

Faults are rules matched per request. Each rule draws from its own random generator seeded
from the emulator's seed and the rule's position, so a given seed and request order always
strike the same requests. A rule says whether it strikes *before* the request reaches the
handler (nothing is written) or *after* it (the write is committed, then the answer is lost):
that difference is what tells a retry-safe client from one that duplicates inserts.

Rules are set with ``POST /_emulator/faults`` or the CLI flags, for example::

    {"rules": [{"route": "crm", "methods": ["POST"], "error_rate": 0.1, "when": "after"}],
     "token_throttle": false, "consent": "approve"}

``route`` is ``*`` (every Zoho route), ``token``, ``accounts``, ``crm``, ``calendar``, or a
path prefix such as ``/crm/v8/Leads/upsert``.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Action = Literal["error", "html", "drop", "stall", "throttle"]
When = Literal["before", "after", "random"]

_KINDS = ("token", "accounts", "crm", "calendar")
_RATES: tuple[tuple[str, Action], ...] = (
    ("error_rate", "error"),
    ("html_rate", "html"),
    ("drop_rate", "drop"),
    ("stall_rate", "stall"),
    ("throttle_rate", "throttle"),
)


class FaultConfigError(ValueError):
    """A fault rule that cannot be used; the message names the field to fix."""


@dataclass
class FaultRule:
    """One fault rule. Rates are probabilities between 0 and 1 and must add up to at most 1."""

    route: str = "*"
    methods: tuple[str, ...] = ()
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    html_rate: float = 0.0
    html_status: int = 502
    drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_ms: float = 30_000.0
    throttle_rate: float = 0.0
    #: The ``Retry-After`` (seconds) a throttle answer carries; 0: none, as Zoho documents.
    retry_after_seconds: float = 0.0
    when: When = "before"
    #: Strike at most this many times, then stay quiet, latency included (``None``: no
    #: limit). A rule with latency alone strikes every request it slows.
    count: int | None = None

    def matches(self, kind: str, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        if self.methods and method not in self.methods:
            return False
        if self.route == "*":
            return True
        if self.route in _KINDS:
            return self.route == kind
        return path.startswith(self.route)

    @classmethod
    def parse(cls, raw: Any, index: int) -> FaultRule:
        """Build a rule from JSON, with an error naming the bad field."""
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise FaultConfigError(f"{where} must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise FaultConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        rule = cls()
        for key, value in raw.items():
            if key == "route":
                if not isinstance(value, str) or not (
                    value == "*" or value in _KINDS or value.startswith("/")
                ):
                    raise FaultConfigError(
                        f"{where}.route must be '*', one of {', '.join(_KINDS)}, or a path"
                    )
                rule.route = value
            elif key == "methods":
                if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                    raise FaultConfigError(f"{where}.methods must be a list of HTTP methods")
                rule.methods = tuple(m.upper() for m in value)
            elif key == "when":
                if value not in ("before", "after", "random"):
                    raise FaultConfigError(f"{where}.when must be before, after or random")
                rule.when = value
            elif key == "count":
                if value is not None and (not isinstance(value, int) or value < 0):
                    raise FaultConfigError(f"{where}.count must be a non-negative integer")
                rule.count = value
            else:
                if not non_negative_number(value):
                    raise FaultConfigError(f"{where}.{key} must be a non-negative number")
                if key.endswith("_status"):
                    if not (isinstance(value, int) and 400 <= value <= 599):
                        raise FaultConfigError(f"{where}.{key} must be an HTTP status 400-599")
                    setattr(rule, key, int(value))
                else:
                    setattr(rule, key, float(value))
        total = sum(getattr(rule, name) for name, _ in _RATES)
        if total > 1.0 + 1e-9:
            raise FaultConfigError(f"{where}: the rates add up to {total:g}, more than 1")
        return rule


def non_negative_number(value: object) -> bool:
    """Whether a JSON value is a number (not a boolean) that is finite and at least 0."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    # NaN rates never strike and pass the "rates add up to at most 1" check; an infinite
    # latency or stall would hang every matching request for good.
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # an int too large for a float
        return False


@dataclass
class NotificationFaults:
    """What goes wrong with notifications: each one is dropped with ``drop_rate``, sent twice
    with ``duplicate_rate``, and sent ``delay_ms`` late."""

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_ms: float = 0.0

    @classmethod
    def parse(cls, raw: Any) -> NotificationFaults:
        """From the ``notifications`` object of ``POST /_emulator/faults``."""
        if not isinstance(raw, dict):
            raise ValueError("notifications must be an object")
        unknown = sorted(set(raw) - {"drop_rate", "duplicate_rate", "delay_ms"})
        if unknown:
            raise ValueError(f"notifications: unknown field(s) {', '.join(unknown)}")
        out = cls()
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"notifications.{key} must be a non-negative number")
            if key.endswith("_rate") and value > 1:
                raise ValueError(f"notifications.{key} must be between 0 and 1")
            setattr(out, key, float(value))
        return out

    def to_json(self) -> dict[str, float]:
        """As ``GET /_emulator/faults`` shows it."""
        return {
            "drop_rate": self.drop_rate,
            "duplicate_rate": self.duplicate_rate,
            "delay_ms": self.delay_ms,
        }


@dataclass
class Decision:
    """What the middleware does to one request."""

    latency_ms: float = 0.0
    action: Action | None = None
    when: Literal["before", "after"] = "before"
    rule: FaultRule | None = None


@dataclass
class Faults:
    """The fault rules in force, plus the accounts-server switches."""

    seed: int
    rules: list[FaultRule] = field(default_factory=list)
    #: Answer every token request with Zoho's "Access Denied" throttle.
    token_throttle: bool = False
    #: ``approve`` or ``deny``: what the simulated user answers on the consent page.
    consent: str = "approve"
    #: What goes wrong with CRM notifications (set by the ``notifications`` key).
    notifications: NotificationFaults = field(default_factory=NotificationFaults)
    _rngs: list[random.Random] = field(default_factory=list)

    def configure(self, payload: Any) -> None:
        """Apply ``POST /_emulator/faults``: keys given replace the current values."""
        if not isinstance(payload, dict):
            raise FaultConfigError("the body must be a JSON object")
        unknown = sorted(set(payload) - {"rules", "token_throttle", "consent", "notifications"})
        if unknown:
            raise FaultConfigError(f"unknown field(s) {', '.join(unknown)}")
        if "rules" in payload:
            if not isinstance(payload["rules"], list):
                raise FaultConfigError("rules must be a list")
            rules = [FaultRule.parse(raw, i) for i, raw in enumerate(payload["rules"])]
            self.rules = rules
            self._rngs = [random.Random(f"{self.seed}:fault:{i}") for i in range(len(rules))]
        if "token_throttle" in payload:
            if not isinstance(payload["token_throttle"], bool):
                raise FaultConfigError("token_throttle must be true or false")
            self.token_throttle = payload["token_throttle"]
        if "consent" in payload:
            if payload["consent"] not in ("approve", "deny"):
                raise FaultConfigError("consent must be approve or deny")
            self.consent = payload["consent"]
        if "notifications" in payload:
            try:
                self.notifications = NotificationFaults.parse(payload["notifications"])
            except ValueError as exc:
                raise FaultConfigError(str(exc)) from None

    def decide(self, kind: str, method: str, path: str) -> Decision | None:
        """Roll the dice for one request; ``None`` when no rule applies."""
        decision: Decision | None = None
        for rule, rng in zip(self.rules, self._rngs, strict=True):
            if not rule.matches(kind, method, path) or rule.count == 0:
                continue  # a rule that struck its ``count`` times stays quiet, latency too
            decision = decision or Decision()
            decision.latency_ms += rule.latency_ms
            if not any(getattr(rule, name) for name, _ in _RATES):
                # Latency alone: every request it slows is a strike.
                if rule.count is not None:
                    rule.count -= 1
                continue
            if decision.action is not None:
                continue
            roll = rng.random()
            when_roll = rng.random()
            for name, action in _RATES:
                rate = getattr(rule, name)
                if roll < rate:
                    decision.action = action
                    decision.rule = rule
                    if rule.when == "random":
                        decision.when = "before" if when_roll < 0.5 else "after"
                    else:
                        decision.when = rule.when
                    if rule.count is not None:
                        rule.count -= 1
                    break
                roll -= rate
        return decision

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON, as ``GET /_emulator/faults`` shows it."""
        return {
            "rules": [{**asdict(r), "methods": list(r.methods)} for r in self.rules],
            "token_throttle": self.token_throttle,
            "consent": self.consent,
            "notifications": self.notifications.to_json(),
        }
