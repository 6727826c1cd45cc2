"""`LoginGate` and `Holds` without sockets: logins per address and in total, refusals that
spend nothing, a bounded table that forgets; and the client address behind trusted proxies."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from axp_chat_connector.errors import RateLimited
from axp_chat_connector.transports.admission import MINUTE, Holds, LoginGate
from axp_chat_connector.transports.limits import TransportLimits


def admitted(gate: LoginGate, address: str, times: int, now: float = 0.0) -> int:
    return sum(gate.take(address, now) is None for _ in range(times))


def test_each_address_gets_its_own_logins_per_minute() -> None:
    gate = LoginGate(per_address=3, total=100, now=0.0)
    assert admitted(gate, "198.51.100.1", 5) == 3
    assert admitted(gate, "198.51.100.2", 5) == 3
    refused = gate.take("198.51.100.1", 0.0)
    assert isinstance(refused, RateLimited)
    assert refused.retry_after == pytest.approx(MINUTE / 3)


def test_the_instance_total_holds_whatever_the_addresses() -> None:
    gate = LoginGate(per_address=3, total=4, now=0.0)
    assert sum(admitted(gate, f"203.0.113.{n}", 1) for n in range(10)) == 4


def test_a_refusal_spends_nothing_so_the_bucket_refills_on_time() -> None:
    gate = LoginGate(per_address=2, total=100, now=0.0)
    assert admitted(gate, "a", 2) == 2
    for step in range(1, 30):  # refused, again and again, before the refill
        assert gate.take("a", step) is not None
    assert gate.take("a", MINUTE / 2) is None


def test_an_address_refused_by_the_total_is_not_charged() -> None:
    gate = LoginGate(per_address=1, total=1, now=0.0)
    assert gate.take("a", 0.0) is None
    assert gate.take("b", 0.0) is not None  # the total is spent
    assert gate.take("b", MINUTE) is None  # b's own bucket was never touched


def test_the_table_is_bounded_and_forgets_refilled_addresses() -> None:
    gate = LoginGate(per_address=5, total=10_000, now=0.0, max_addresses=3)
    for n in range(10):
        gate.take(f"a{n}", 0.0)
    assert len(gate) == 3
    gate.take("late", MINUTE)  # every earlier bucket has refilled by now
    assert len(gate) == 1


def test_holds_refuse_one_more_than_the_limit_per_key() -> None:
    holds = Holds(limit=1, per="client address")
    holds.take("a")
    with pytest.raises(RateLimited, match="per client address"):
        holds.take("a")
    holds.take("b")
    holds.release("a")
    holds.take("a")


TRUSTED = TransportLimits(trusted_proxies=(ip_network("10.0.0.0/8"), ip_network("::1/128")))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer is the client
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.1.1.1", "198.51.100.1"),  # right-most untrusted
        ("10.0.0.2", "10.0.0.3, 10.0.0.4", "10.0.0.3"),  # all trusted: the left-most
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", " , ", "10.0.0.2"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.2", "not-an-address", "not-an-address"),
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(
    peer: str, forwarded_for: str | None, client: str
) -> None:
    assert TRUSTED.client_address(peer, forwarded_for) == client


def test_without_trusted_proxies_forwarded_headers_are_ignored() -> None:
    assert TransportLimits().client_address("127.0.0.1", "198.51.100.1") == "127.0.0.1"
