"""Command pacing without I/O: a token bucket and a count of refusals in a row.

`rate` tokens per second, at most `burst`; a command that finds a token takes it, a command
that finds none is refused and counted as a strike. The rule that keeps clients behind one
address from being locked out: **a refusal never spends a token** (neither refusing a command
nor telling how long to wait). Time is passed in (`now`, seconds on a monotonic clock).
"""

from __future__ import annotations


class Pace:
    __slots__ = ("burst", "rate", "stamp", "strikes", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now
        self.strikes = 0
        """Commands refused in a row (reset by the next admitted command)."""

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0.0: one is there now); spends nothing."""
        tokens = self._tokens(now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def full(self, now: float) -> bool:
        """The bucket has refilled: a new `Pace` would behave the same (forgettable)."""
        return self._tokens(now) >= self.burst

    def take(self, now: float) -> float:
        """Admit one command: 0.0 if a token was taken, else the seconds until one is there
        (a strike; no token spent)."""
        tokens = self._tokens(now)
        self.stamp = max(self.stamp, now)
        self.tokens = tokens
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            self.strikes = 0
            return 0.0
        self.strikes += 1
        return (1.0 - tokens) / self.rate

    def lockout(self, now: float, strikes: int) -> float:
        """After `strikes` refusals in a row, a flooding client is refused whole requests until
        its bucket has refilled: the seconds left (0.0: not locked out). Spends nothing."""
        if self.strikes < strikes:
            return 0.0
        missing = self.burst - self._tokens(now)
        return missing / self.rate if missing > 0 else 0.0

    def _tokens(self, now: float) -> float:
        return min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
