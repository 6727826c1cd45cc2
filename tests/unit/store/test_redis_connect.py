"""Redis URLs: the key prefix, cluster schemes, and the settings check that admits them."""

from __future__ import annotations

import pytest

from axp_chat_connector.config_values import check_bus_url, check_store_url
from axp_chat_connector.store.redis_connect import is_cluster, split_url


def test_the_prefix_leaves_the_url_and_defaults_to_axp() -> None:
    assert split_url("redis://h:6379/0?prefix=x:&ssl_cert_reqs=none") == (
        "redis://h:6379/0?ssl_cert_reqs=none",
        "x:",
    )
    assert split_url("redis+cluster://h:7000") == ("redis+cluster://h:7000", "axp:")


@pytest.mark.parametrize("prefix", ["a{b:", "a}b:"])
def test_a_prefix_with_a_brace_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        split_url(f"redis://h:6379/0?prefix={prefix}")


def test_cluster_urls_are_told_apart() -> None:
    assert is_cluster("redis+cluster://h:7000")
    assert is_cluster("rediss+cluster://h:7000")
    assert not is_cluster("redis://h:6379/0")


@pytest.mark.parametrize("check", [check_store_url, check_bus_url])
def test_settings_admit_a_cluster_url(check: object) -> None:
    assert callable(check)
    assert check("redis+cluster://redis-0:7000?prefix=axp:") == (
        "redis+cluster://redis-0:7000?prefix=axp:"
    )
    with pytest.raises(ValueError, match="port"):
        check("redis+cluster://redis-0:port")
