"""Fault injection: fail or slow down API operations, disturb webhook delivery, greeting bot.

`POST /emulator/v1/faults` merges a JSON document into the active faults (operation and latency
entries replace those of the same operation); `DELETE /emulator/v1/faults` clears everything.

The document is read strictly, so that a test cannot pass on a fault that never fired: no
coercion (`true` is not a count, `"3"` is not a number), no unknown field, no event type Avaya
does not send, and a field that needs another says so (`delayMs` without `delayCount` delays
nothing and is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from axp_chat_connector.axp.models.notification_out_gen import EventType
from axp_chat_connector.emulator.delivery import DeliveryFaults
from axp_chat_connector.emulator.problems import ApiProblem, validation_problem

OPERATIONS: Final = frozenset(
    {
        "createDigitalSession",
        "getDigitalSession",
        "deleteDigitalSession",
        "appendIdentifiersInDigitalSession",
        "updateSessionParametersInDigitalSession",
        "createDigitalEngagement",
        "listDigitalEngagements",
        "getDigitalEngagement",
        "disconnectDigitalEngagement",
        "joinDigitalEngagement",
        "listDigitalMessages",
        "sendDigitalMessage",
        "createDigitalWebhookSubscription",
        "listDigitalWebhookSubscriptions",
        "getDigitalWebhookSubscription",
        "updateDigitalWebhookSubscription",
        "deleteDigitalWebhookSubscription",
        "token",
    }
)
ANY: Final = "*"


def _known(operation: str) -> str:
    if operation != ANY and operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r} (an Avaya operationId, token or *)")
    return operation


EVENT_TYPES: Final = frozenset(t.value for t in EventType)


def _event_type(name: str) -> str:
    if name not in EVENT_TYPES:
        raise PydanticCustomError(
            "unknown_event_type",
            "unknown event type {name}; expected one of {known}",
            {"name": repr(name), "known": ", ".join(sorted(EVENT_TYPES))},
        )
    return name


FaultEventType = Annotated[str, AfterValidator(_event_type)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class OperationFaultIn(_Strict):
    operation: str
    status: Annotated[int, Field(ge=400, le=599)]
    count: Annotated[int, Field(ge=1)] = 1
    retry_after: Annotated[float | None, Field(alias="retryAfter", ge=0)] = None
    after_effect: Annotated[bool, Field(alias="afterEffect")] = False

    _check = field_validator("operation")(_known)


class LatencyIn(_Strict):
    operation: str = ANY
    ms: Annotated[int, Field(ge=0, le=600_000)]
    count: Annotated[int | None, Field(ge=1)] = None

    _check = field_validator("operation")(_known)


class WebhookFaultsIn(_Strict):
    drop: Annotated[int, Field(ge=0)] = 0
    duplicate: Annotated[int, Field(ge=0)] = 0
    delay_ms: Annotated[int, Field(alias="delayMs", ge=0, le=600_000)] = 0
    delay_count: Annotated[int, Field(alias="delayCount", ge=0)] = 0
    reorder: Annotated[int, Field(ge=0)] = 0
    event_types: Annotated[list[FaultEventType], Field(alias="eventTypes")] = []

    @model_validator(mode="after")
    def _delay_is_counted(self) -> WebhookFaultsIn:
        if self.delay_ms > 0 and self.delay_count == 0:
            raise PydanticCustomError(
                "delay_without_count",
                "delayMs needs delayCount (how many events to delay): without it nothing waits",
            )
        if self.delay_count > 0 and self.delay_ms == 0:
            raise PydanticCustomError(
                "count_without_delay",
                "delayCount needs delayMs (how long each event waits): without it nothing waits",
            )
        if self.event_types and not (
            self.drop or self.duplicate or self.delay_count or self.reorder
        ):
            raise PydanticCustomError(
                "filter_without_fault",
                "eventTypes needs a fault to apply to (drop, duplicate, delayCount or reorder)",
            )
        return self


class FaultsIn(_Strict):
    operations: list[OperationFaultIn] = []
    latency: list[LatencyIn] = []
    webhooks: WebhookFaultsIn | None = None
    greeting_bot: Annotated[bool | None, Field(alias="greetingBot")] = None
    engagement_errors: Annotated[int | None, Field(alias="engagementErrors", ge=0)] = None


@dataclass(frozen=True, slots=True)
class OperationFault:
    operation: str
    status: int
    remaining: int
    retry_after: float | None
    after_effect: bool


@dataclass(frozen=True, slots=True)
class Latency:
    operation: str
    ms: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Planned:
    """What the faults do to one call: a delay before answering, maybe a failure."""

    delay: float = 0.0
    failure: OperationFault | None = None

    def problem(self) -> ApiProblem:
        assert self.failure is not None
        return ApiProblem(
            self.failure.status,
            f"injected fault: {self.failure.operation} answers {self.failure.status}",
            retry_after=self.failure.retry_after if self.failure.status == 429 else None,
        )


class FaultRegistry:
    """The active API faults; `take(operation)` consumes one call's worth of them."""

    def __init__(self) -> None:
        self._operations: dict[str, OperationFault] = {}
        self._latency: dict[str, Latency] = {}
        self.greeting_bot: bool | None = None
        self.engagement_errors = 0

    def clear(self) -> None:
        self._operations.clear()
        self._latency.clear()
        self.greeting_bot = None
        self.engagement_errors = 0

    def take_engagement_error(self) -> bool:
        """Whether this Create Engagement fails after its 201 (ENGAGEMENT_ERROR)."""
        if self.engagement_errors <= 0:
            return False
        self.engagement_errors -= 1
        return True

    def apply(self, faults: FaultsIn) -> None:
        for op in faults.operations:
            self._operations[op.operation] = OperationFault(
                op.operation, op.status, op.count, op.retry_after, op.after_effect
            )
        for lat in faults.latency:
            self._latency[lat.operation] = Latency(lat.operation, lat.ms, lat.count)
        if faults.greeting_bot is not None:
            self.greeting_bot = faults.greeting_bot
        if faults.engagement_errors is not None:
            self.engagement_errors = faults.engagement_errors

    def take(self, operation: str) -> Planned:
        failure = None
        for key in (operation, ANY):
            fault = self._operations.get(key)
            if fault is not None:
                failure = fault
                if fault.remaining <= 1:
                    del self._operations[key]
                else:
                    self._operations[key] = replace(fault, remaining=fault.remaining - 1)
                break
        delay = 0.0
        for key in (operation, ANY):
            lat = self._latency.get(key)
            if lat is not None:
                delay = lat.ms / 1000
                if lat.remaining is not None:
                    if lat.remaining <= 1:
                        del self._latency[key]
                    else:
                        self._latency[key] = replace(lat, remaining=lat.remaining - 1)
                break
        return Planned(delay, failure)

    def to_json(self, webhooks: DeliveryFaults) -> dict[str, Any]:
        return {
            "operations": [
                {
                    "operation": f.operation,
                    "status": f.status,
                    "count": f.remaining,
                    "retryAfter": f.retry_after,
                    "afterEffect": f.after_effect,
                }
                for f in self._operations.values()
            ],
            "latency": [
                {"operation": lat.operation, "ms": lat.ms, "count": lat.remaining}
                for lat in self._latency.values()
            ],
            "webhooks": {
                "drop": webhooks.drop,
                "duplicate": webhooks.duplicate,
                "delayMs": webhooks.delay_ms,
                "delayCount": webhooks.delay_count,
                "reorder": webhooks.reorder,
                "eventTypes": sorted(webhooks.event_types),
            },
            "greetingBot": self.greeting_bot,
            "engagementErrors": self.engagement_errors,
        }


def parse_faults(raw: Any) -> FaultsIn:
    """The faults document, or a 400 problem naming what is wrong."""
    if not isinstance(raw, dict):
        raise ApiProblem(400, "the faults document must be a JSON object")
    try:
        return FaultsIn.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def delivery_faults(webhooks: WebhookFaultsIn) -> DeliveryFaults:
    return DeliveryFaults(
        drop=webhooks.drop,
        duplicate=webhooks.duplicate,
        delay_ms=webhooks.delay_ms,
        delay_count=webhooks.delay_count,
        reorder=webhooks.reorder,
        event_types=frozenset(webhooks.event_types),
    )
