"""`RouteCache`: a bounded least-recently-used map of route key → session id."""

from __future__ import annotations

import pytest

from axp_chat_connector.webhooks.route_cache import RouteCache


def test_a_key_maps_to_its_session_until_forgotten() -> None:
    cache = RouteCache()
    assert cache.get(("dialog", "d1")) is None
    cache.put(("dialog", "d1"), "s1")
    cache.put(("correlation", "c1"), "s1")
    assert cache.get(("dialog", "d1")) == "s1"
    assert cache.get(("provider_dialog", "d1")) is None  # the kind is part of the key

    cache.forget([("dialog", "d1"), ("axp_session", "never cached")])

    assert cache.get(("dialog", "d1")) is None
    assert cache.get(("correlation", "c1")) == "s1"
    assert len(cache) == 1


def test_the_least_recently_used_key_goes_first() -> None:
    cache = RouteCache(size=2)
    cache.put(("dialog", "a"), "sa")
    cache.put(("dialog", "b"), "sb")
    assert cache.get(("dialog", "a")) == "sa"  # now b is the least recently used

    cache.put(("dialog", "c"), "sc")

    assert len(cache) == 2
    assert cache.get(("dialog", "b")) is None
    assert (cache.get(("dialog", "a")), cache.get(("dialog", "c"))) == ("sa", "sc")


def test_putting_a_cached_key_again_keeps_one_entry() -> None:
    cache = RouteCache(size=2)
    cache.put(("dialog", "a"), "sa")
    cache.put(("dialog", "b"), "sb")
    cache.put(("dialog", "a"), "sa")  # used again: b goes first
    cache.put(("dialog", "c"), "sc")
    assert (len(cache), cache.get(("dialog", "b"))) == (2, None)


def test_the_cache_holds_at_least_one_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RouteCache(size=0)
