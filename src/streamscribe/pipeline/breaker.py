"""A circuit breaker per provider, so a provider that keeps failing is not paid for by every job.

Closed: calls go through. After ``threshold`` consecutive failures (or one failure to load,
which will not heal by itself within a job), it opens for ``cooldown_s``: the provider is
skipped. After the cool-down one call is let through again (half-open): success closes the
breaker, failure opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, threshold: int = 3, cooldown_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None and self._clock() < self._open_until

    def allows(self) -> bool:
        return not self.is_open

    def record_success(self) -> None:
        self._failures = 0
        self._open_until = None

    def record_failure(self, fatal: bool = False) -> bool:
        """Count a failure; returns True when this opened the breaker."""
        self._failures += 1
        if fatal or self._failures >= self.threshold or self._open_until is not None:  # half-open call failed
            self._open_until = self._clock() + self.cooldown_s
            self._failures = 0
            return True
        return False
