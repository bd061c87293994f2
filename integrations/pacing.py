"""Pacing: each target is sent to no faster than its published rate, shared by every worker.

Slack allows about one message per second per channel (short bursts tolerated); Jira Cloud
limits each tenant's requests per second with a token bucket. Answering 429 with Retry-After
is honoured by the engine anyway (integrations/fanout.py), but a storm that waits for the 429s
first spends attempts and gets its app throttled; pacing keeps under the limit instead.

The limiter is a GCRA (a token bucket kept as one timestamp) in Redis, run as one Lua script so
concurrent workers never both take the same slot, on Redis's own clock. A delivery over the
limit *reserves* the next free slot and is retried at that time, so a backlog of N deliveries
drains at the rate in N slots rather than all retrying together every second; the reservation
is kept under the delivery's id, so its retry goes ahead instead of queueing again.

An urgent delivery (an incident's page) does not queue behind reservations already made: it
takes the earliest slot a non-urgent one holds, and that one moves to the urgent one's place at
the back. The rate is the same either way; only the order changes, so in a storm the page that
covers many failures leaves before the single alerts that were waiting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from integrations.circuit import redis_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from integrations.models import OutboundDelivery

# KEYS: the scope's bucket (its theoretical arrival time), its reservations (a sorted set of
# delivery id -> slot time), its urgent reservations.
# ARGV: seconds between sends at the steady rate, burst tolerance in seconds, the delivery's
# id, "1" when it is urgent.
# Returns the seconds to wait (as a string), "0" to go now.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local id = ARGV[3]
for i = 2, 3 do
  local held = tonumber(redis.call('ZSCORE', KEYS[i], id))
  if held then
    if held <= now then
      redis.call('ZREM', KEYS[i], id)
      return '0'
    end
    return tostring(held - now)
  end
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local go = math.max(now, tat - tolerance)
local keep_ms = math.ceil((tat + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', keep_ms)
if go <= now then return '0' end
local held_in = KEYS[2]
if ARGV[4] == '1' then
  held_in = KEYS[3]
  local first = redis.call(
    'ZRANGEBYSCORE', KEYS[2], '(' .. now, '(' .. go, 'WITHSCORES', 'LIMIT', 0, 1)
  if first[1] then
    redis.call('ZADD', KEYS[2], go, first[1])
    go = tonumber(first[2])
  end
end
redis.call('ZADD', held_in, go, id)
for i = 2, 3 do
  -- a reservation whose delivery never came back is forgotten ten minutes after its slot
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - 600)
  redis.call('PEXPIRE', KEYS[i], keep_ms + 600000)
end
return tostring(go - now)
"""


@dataclass(frozen=True)
class Pace:
    """A target's rate: `per_second` and `burst` name settings; `scope` names the bucket a
    delivery counts against (a Slack channel), the same for all when the limit is per target;
    `urgent` deliveries go ahead of those waiting in the same bucket."""

    per_second: str
    burst: str
    scope: Callable[[OutboundDelivery], str] = lambda row: ""
    urgent: Callable[[OutboundDelivery], bool] = lambda row: False

    def rate(self) -> tuple[float, int]:
        return float(getattr(settings, self.per_second)), int(getattr(settings, self.burst))


@functools.cache
def _script(url: str) -> Any:
    return redis_client().register_script(_RESERVE)


def wait_seconds(target: str, pace: Pace, row: OutboundDelivery) -> float:
    """0 when `row` may be sent now (its slot is taken); otherwise the seconds until its
    reserved slot. A rate of 0 or less turns pacing off."""
    per_second, burst = pace.rate()
    if per_second <= 0:
        return 0.0
    interval = 1.0 / per_second
    bucket = f"{settings.REDIS_KEY_PREFIX}:pace:{target}:{pace.per_second}:{pace.scope(row)}"
    keys = [bucket, f"{bucket}:held", f"{bucket}:held-urgent"]
    args = [interval, max(0, burst - 1) * interval, row.pk, "1" if pace.urgent(row) else "0"]
    return float(_script(settings.REDIS_URL)(keys=keys, args=args))


def reset(target: str) -> None:
    """Forget a target's buckets and reservations (tests, or after changing its rate)."""
    client = redis_client()
    for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:pace:{target}:*"):
        client.delete(key)
