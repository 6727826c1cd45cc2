"""The AXP operations the client calls, and when each may be sent again: a table, not ifs.

`Replay` says what the client does when an attempt fails in a way that leaves AXP's state unknown
(a read timeout, a dropped connection after the request was written, a 5xx answer):

* `ALWAYS`: the operation is safe to repeat (a read, a full replacement, a delete, an action
  whose second run changes nothing), so it is retried within the retry budget.
* `IF_NOT_SENT`: repeating it could do the thing twice (a second engagement, a duplicate
  message, duplicated identifiers, a second subscription). It is retried only when AXP surely
  did not act on it: the connection was never made, or AXP answered 429 (throttled before
  processing) or 401 (refused before processing). Otherwise the client raises
  `AxpOutcomeUnknown` and the caller settles the outcome before trying again.

The reasoning per row is in `docs/axp-client.md`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Api = Literal["channel", "webhook"]
Method = Literal["GET", "POST", "PUT", "DELETE"]


class Replay(enum.Enum):
    ALWAYS = "always"
    IF_NOT_SENT = "if_not_sent"


@dataclass(frozen=True, slots=True)
class Operation:
    """One AXP operation: Avaya's operationId, method, path under `/accounts/{accountId}`."""

    id: str
    method: Method
    api: Api
    path: str
    replay: Replay
    # A retried DELETE that finds the resource gone (404) has done its job.
    gone_is_done: bool = False


A, N = Replay.ALWAYS, Replay.IF_NOT_SENT
_GONE_IS_DONE: Final = frozenset({"deleteDigitalSession", "deleteDigitalWebhookSubscription"})

# operationId                               method    api        path under /accounts/{id}  replay
_TABLE: Final[tuple[tuple[str, Method, Api, str, Replay], ...]] = (
    ("createDigitalSession",                    "POST",   "channel", "/sessions", A),
    ("getDigitalSession",                       "GET",    "channel", "/sessions/{sessionId}", A),
    ("deleteDigitalSession",                    "DELETE", "channel", "/sessions/{sessionId}", A),
    ("appendIdentifiersInDigitalSession",       "POST",   "channel",
     "/sessions/{sessionId}:appendIdentifiers", N),
    ("updateSessionParametersInDigitalSession", "POST",   "channel",
     "/sessions/{sessionId}:updateSessionParameters", A),
    ("createDigitalEngagement",                 "POST",   "channel", "/engagements", N),
    ("listDigitalEngagements",                  "GET",    "channel", "/engagements", A),
    ("getDigitalEngagement",                    "GET",    "channel",
     "/engagements/{engagementId}", A),
    ("disconnectDigitalEngagement",             "POST",   "channel",
     "/engagements/{engagementId}:disconnect", A),
    ("joinDigitalEngagement",                   "POST",   "channel",
     "/engagements/{engagementId}:join", A),
    ("listDigitalMessages",                     "GET",    "channel",
     "/engagements/{engagementId}/messages", A),
    ("sendDigitalMessage",                      "POST",   "channel",
     "/engagements/{engagementId}/messages", N),
    ("createDigitalWebhookSubscription",        "POST",   "webhook", "/subscriptions", N),
    ("listDigitalWebhookSubscriptions",         "GET",    "webhook", "/subscriptions", A),
    ("getDigitalWebhookSubscription",           "GET",    "webhook",
     "/subscriptions/{subscriptionId}", A),
    ("updateDigitalWebhookSubscription",        "PUT",    "webhook",
     "/subscriptions/{subscriptionId}", A),
    ("deleteDigitalWebhookSubscription",        "DELETE", "webhook",
     "/subscriptions/{subscriptionId}", A),
)  # fmt: skip

OPERATIONS: Final[Mapping[str, Operation]] = {
    row[0]: Operation(*row, gone_is_done=row[0] in _GONE_IS_DONE) for row in _TABLE
}
