"""Checks of single setting values: URLs, origins, networks, secrets, keys.

Pure functions used by `config.Settings`' validators. Each returns the normalised value or
raises `ValueError` whose text says what is expected; no text ever repeats the value (a URL can
carry a password, a key is a secret).
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import SplitResult, urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm

# Values copied from examples and templates that must never reach a real tenant. The words are
# long enough that a random secret does not contain one by chance.
_PLACEHOLDER_WORDS: Final = (
    "changeme",
    "change-me",
    "change_me",
    "replace",
    "placeholder",
    "example",
    "your-",
    "your_",
    "host-region",
)
_PLACEHOLDER_VALUES: Final = frozenset({"todo", "tbd", "secret", "password", "none", "null"})
_LOOPBACK_NAMES: Final = frozenset({"localhost"})
REDIS_SCHEMES: Final = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")
LOCAL_BUS: Final = "local://"
ANY_ORIGIN: Final = "*"
MIN_DISTINCT_SECRET_CHARACTERS: Final = 8


def is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return (
        any(word in lowered for word in _PLACEHOLDER_WORDS)
        or lowered in _PLACEHOLDER_VALUES
        or not lowered.strip("x*.-_0 ")
        or "<" in value
        or ">" in value
    )


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base(value: str, what: str) -> str:
    """An http(s) origin with an optional path prefix; http only on loopback; no trailing `/`."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an https URL of {what}, e.g. https://example.com")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"expected https for {what} (http is allowed on loopback hosts only)")
    if parts.query or parts.fragment:
        raise ValueError(f"expected {what} without a query or fragment")
    if is_placeholder(value):
        raise ValueError(f"expected the real URL of {what}, not a placeholder")
    return value


def check_random_secret(raw: str, min_bytes: int) -> str:
    """A long random value: `min_bytes` UTF-8 bytes or more, not a placeholder or a repetition."""
    raw = raw.strip()
    size = len(raw.encode("utf-8"))
    if size < min_bytes:
        raise ValueError(f"expected at least {min_bytes} bytes (got {size})")
    if is_placeholder(raw) or len(set(raw)) < MIN_DISTINCT_SECRET_CHARACTERS:
        raise ValueError("expected a long random value, not a placeholder")
    return raw


def _redis_parts(value: str) -> SplitResult:
    parts = urlsplit(value)
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("expected a socket path after unix://, e.g. unix:///run/redis.sock")
        return parts
    try:
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number in range)
    except ValueError:
        raise ValueError("expected a port number from 1 to 65535 in the redis URL") from None
    if not parts.hostname:
        raise ValueError("expected a host in the redis URL, e.g. redis://redis:6379/0")
    database = parts.path.removeprefix("/")
    if database and not database.isdigit():
        raise ValueError("expected a database number as the redis URL's path, e.g. /0")
    return parts


def check_store_url(value: str) -> str:
    """`sqlite:///path.db` (or `sqlite://:memory:`) or a Redis URL."""
    value = value.strip()
    scheme = value.partition("://")[0] if "://" in value else ""
    if scheme == "sqlite":
        if not value.removeprefix("sqlite://"):
            raise ValueError("expected a file path after sqlite://, e.g. sqlite:///data/chat.db")
        return value
    if scheme in REDIS_SCHEMES:
        _redis_parts(value)
        return value
    raise ValueError("expected sqlite:///path/to/file.db or redis://host:6379/0")


def check_bus_url(value: str) -> str:
    """`local://` (this process only) or a Redis URL."""
    value = value.strip()
    if value == LOCAL_BUS:
        return value
    scheme = value.partition("://")[0] if "://" in value else ""
    if scheme in REDIS_SCHEMES:
        _redis_parts(value)
        return value
    raise ValueError(f"expected {LOCAL_BUS} or redis://host:6379/0")


def is_redis(url: str) -> bool:
    return url.partition("://")[0] in REDIS_SCHEMES


def masked_url(url: str) -> str:
    """`url` with the password of its user info replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def check_origins(values: list[str]) -> list[str]:
    """Browser origins (`https://shop.acme.com`), lower-cased, without a trailing `/`; or `*`
    alone, said on purpose."""
    if not values:
        raise ValueError(
            'expected at least one origin, e.g. ["https://www.acme.com"], or ["*"] to allow '
            "any origin on purpose"
        )
    if ANY_ORIGIN in values:
        if len(values) > 1:
            raise ValueError('expected "*" alone (it allows any origin) or a list of origins')
        return [ANY_ORIGIN]
    found: list[str] = []
    for position, raw in enumerate(values):
        origin = raw.strip().rstrip("/").lower()
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise ValueError(
                f"entry {position + 1}: expected an origin, scheme://host[:port] with no path, "
                "e.g. https://www.acme.com"
            )
        if is_placeholder(origin):
            raise ValueError(f"entry {position + 1}: expected a real origin, not a placeholder")
        if origin not in found:
            found.append(origin)
    return found


def check_networks(values: list[str]) -> list[str]:
    """Addresses or CIDR networks (`10.0.0.0/8`, `::1`), normalised; never everyone."""
    found: list[str] = []
    for position, raw in enumerate(values):
        try:
            network = ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"entry {position + 1}: expected an IP address or CIDR network, e.g. 10.0.0.0/8"
            ) from None
        if network.prefixlen == 0:
            raise ValueError(
                f"entry {position + 1}: a network of every address would let any client "
                "choose its own address; name the proxies' addresses"
            )
        if str(network) not in found:
            found.append(str(network))
    return found


def check_id_token_key(algorithm: str, key: str, min_hs256_bytes: int) -> str:
    """An HS256 shared secret of `min_hs256_bytes` or more, or an RS256 public key in PEM."""
    key = key.strip()
    if algorithm == "HS256":
        return check_random_secret(key, min_hs256_bytes)
    if "PRIVATE KEY" in key:
        raise ValueError("expected the site's RS256 public key (PEM), not a private key")
    try:
        RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(key)
    except (jwt.InvalidKeyError, ValueError, TypeError):
        raise ValueError(
            "expected an RS256 public key in PEM (-----BEGIN PUBLIC KEY-----...)"
        ) from None
    return key
