"""The pure helpers of the shells: bounded seqs from URLs and headers, held-request counts."""

from __future__ import annotations

import pytest

from axp_chat_connector.errors import BadRequest, RateLimited
from axp_chat_connector.protocol.frames import SEQ_MAX
from axp_chat_connector.transports.admission import Holds
from axp_chat_connector.transports.shell import seq_param


@pytest.mark.parametrize(
    ("raw", "seq"), [("0", 0), ("17", 17), (" 5 ", 5), (str(SEQ_MAX), SEQ_MAX)]
)
def test_a_seq_in_range_is_read(raw: str, seq: int) -> None:
    assert seq_param({"after": raw}, "after") == seq


def test_a_missing_seq_is_zero_and_a_given_value_wins() -> None:
    assert seq_param({}, "after") == 0
    assert seq_param({"after": "3"}, "Last-Event-ID", "9") == 9


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "-1",
        "+1",
        "1.0",
        "1e3",
        "0x10",
        "1_000",
        "\u0663",
        str(SEQ_MAX + 1),
        str(2**63),
        "9" * 5000,
    ],
)
def test_anything_else_is_a_bad_request_naming_the_parameter(raw: str) -> None:
    with pytest.raises(BadRequest, match="Last-Event-ID"):
        seq_param({}, "Last-Event-ID", raw)


def test_holds_are_counted_per_session_and_released() -> None:
    holds = Holds(limit=2)
    holds.take("a")
    holds.take("a")
    holds.take("b")
    with pytest.raises(RateLimited):
        holds.take("a")
    holds.release("a")
    holds.take("a")
    for session in ("a", "a", "b"):
        holds.release(session)
    assert len(holds) == 0
    holds.release("never")  # nothing held: nothing breaks
    assert len(holds) == 0
