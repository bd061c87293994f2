"""A circuit breaker per outbound target, shared by every worker through Redis.

After `CIRCUIT_FAILURE_THRESHOLD` transient failures in a row the circuit opens for
`CIRCUIT_OPEN_SECONDS`: deliveries to that target wait (rescheduled, not attempted) instead of
piling up timeouts. When the time is up one probe goes through (half-open); its success closes
the circuit, its failure opens it again.
"""

from __future__ import annotations

import functools
import time

import redis
from django.conf import settings


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis:
    return _redis(settings.REDIS_URL)


class CircuitBreaker:
    def __init__(self, target: str) -> None:
        self.target = target
        self._redis = redis_client()
        prefix = f"{settings.REDIS_KEY_PREFIX}:circuit:{target}"
        self._failures = f"{prefix}:failures"
        self._open_until = f"{prefix}:open_until"
        self._probe = f"{prefix}:probe"

    def wait_seconds(self) -> float:
        """0 when a call may go ahead now; otherwise how long to wait before trying."""
        raw = self._redis.get(self._open_until)
        if raw is None:
            return 0.0
        remaining = float(raw) - time.time()
        if remaining > 0:
            return remaining
        # Half-open: exactly one caller gets to probe.
        if self._redis.set(
            self._probe, "1", nx=True, ex=max(1, int(settings.CIRCUIT_OPEN_SECONDS))
        ):
            return 0.0
        return max(1.0, settings.CIRCUIT_OPEN_SECONDS / 2)

    def record_success(self) -> None:
        self._redis.delete(self._failures, self._open_until, self._probe)

    def record_failure(self) -> None:
        failures = self._redis.incr(self._failures)
        self._redis.expire(self._failures, 600)
        probing = self._redis.get(self._open_until) is not None
        if probing or failures >= settings.CIRCUIT_FAILURE_THRESHOLD:
            self._redis.set(self._open_until, time.time() + settings.CIRCUIT_OPEN_SECONDS)
            self._redis.delete(self._failures, self._probe)

    def state(self) -> str:
        raw = self._redis.get(self._open_until)
        if raw is None:
            return "closed"
        return "open" if float(raw) > time.time() else "half_open"

    def reset(self) -> None:
        self.record_success()
