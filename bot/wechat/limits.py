"""Limits shared by all processes through Redis: per-API rate, the daily-quota stop, the service window.

Each is one Redis round trip (a Lua script or a plain command), so several web and worker processes on
several hosts see the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from redis import Redis

from bot.redis_batch import Commands

# GCRA (a token bucket kept as one timestamp; `burst` calls may go at once): returns 0 when a call may go
# now, else the milliseconds to wait.
# The time comes from the caller so that the script stays deterministic on every Redis version.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - (burst - 1) * interval
if now < allow_at then return math.ceil(allow_at - now) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return 0
"""

# Window value "<expires_at>:<sends left>:<m|e>:<opener>": opened by a message or an event, and which push
# (its dedup key) opened it. WeChat's retry of that same push changes nothing, and an event does not cut short
# an open message window; any other interaction starts a fresh window.
_PATTERN = "'^([^:]+):([^:]+):(%a):(.*)$'"
_OPEN = f"""
local v = redis.call('GET', KEYS[1])
if v then
  local expires_at, left, kind, opener = string.match(v, {_PATTERN})
  if opener == ARGV[1] then return 0 end
  if kind == 'm' and ARGV[4] == 'e' and tonumber(expires_at) > tonumber(ARGV[6]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[3] .. ':' .. ARGV[4] .. ':' .. ARGV[1], 'EX', ARGV[5])
return 1
"""
# Returns the count left before this send, 0 when none may go.
_TAKE = f"""
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local expires_at, left, kind, opener = string.match(v, {_PATTERN})
if not expires_at then return 0 end
left = tonumber(left)
if left <= 0 or tonumber(expires_at) <= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], expires_at .. ':' .. (left - 1) .. ':' .. kind .. ':' .. opener, 'KEEPTTL')
return left
"""
# A send that certainly did not reach WeChat gives its slot back, never beyond the window's size.
_GIVE_BACK = f"""
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local expires_at, left, kind, opener = string.match(v, {_PATTERN})
if not expires_at then return 0 end
local size = kind == 'm' and tonumber(ARGV[1]) or tonumber(ARGV[2])
left = math.min(tonumber(left) + 1, size)
redis.call('SET', KEYS[1], expires_at .. ':' .. left .. ':' .. kind .. ':' .. opener, 'KEEPTTL')
return 1
"""

# WeChat opens the window for any user message, and for these events (a menu click, a follow, a scan);
# VIEW, unsubscribe and subscription pop-ups open nothing.
WINDOW_EVENTS = frozenset({"subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg"})

CHINA = timezone(timedelta(hours=8))


class RateLimiter:
    """Calls per second per API, with a burst allowance; waits up to `max_wait` for a slot."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        rates: dict[str, float],
        max_wait: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.rates = rates
        self.max_wait = max_wait
        self.clock = clock
        self._script = redis.register_script(_GCRA)

    def rate_for(self, api: str) -> float | None:
        rate = self.rates.get(api, self.rates.get("*"))
        return rate if rate and rate > 0 else None

    def acquire(self, api: str) -> float:
        """0 when the call may go; otherwise the seconds to wait, beyond `max_wait`."""
        rate = self.rate_for(api)
        if rate is None:
            return 0.0
        interval_ms = 1000.0 / rate
        burst = max(rate / 10.0, 1.0)  # a tenth of a second's worth may go at once
        deadline = time.monotonic() + self.max_wait
        while True:
            now_ms = self.clock() * 1000.0
            wait_ms = int(self._script(keys=[self.prefix + api], args=[now_ms, interval_ms, burst]))
            if wait_ms <= 0:
                return 0.0
            if time.monotonic() + wait_ms / 1000.0 > deadline:
                return wait_ms / 1000.0
            time.sleep(wait_ms / 1000.0)


class QuotaStop:
    """After 45009 an API is stopped until midnight China time, when WeChat resets daily quotas.

    Each process looks the stop up at most once per `recheck` seconds: a stop set by another process is
    seen that much later, and the calls in between get 45009 from WeChat and stop themselves.
    """

    def __init__(
        self, redis: Redis, prefix: str, clock: Callable[[], float] = time.time, recheck: float = 1.0
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self.recheck = recheck
        self._seen: dict[str, tuple[float, float]] = {}  # api -> (looked up at, stopped until)

    def stop(self, api: str) -> float:
        now = datetime.fromtimestamp(self.clock(), UTC).astimezone(CHINA)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        seconds = max(int((midnight - now).total_seconds()), 1)
        self.redis.set(self.prefix + api, midnight.isoformat(), ex=seconds)
        self._seen[api] = (time.monotonic(), self.clock() + seconds)
        return float(seconds)

    def stopped_for(self, api: str) -> float:
        """Seconds until the API may be used again; 0 when it is not stopped."""
        seen = self._seen.get(api)
        if seen is None or time.monotonic() - seen[0] >= self.recheck:
            ttl = self.redis.ttl(self.prefix + api)
            seen = (time.monotonic(), self.clock() + (ttl if ttl and ttl > 0 else 0))
            self._seen[api] = seen
        return max(seen[1] - self.clock(), 0.0)


class CustomerServiceWindow:
    """When we may send customer-service messages to a user, mirrored from what WeChat allows.

    A user message opens `messages` sends within `seconds` (5 in 48 h); a menu click, follow or scan opens a
    shorter event window (3 in 1 min) unless a longer one is already open. Our own count keeps follow-ups from
    spending calls that WeChat would refuse with 45015/45047.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        seconds: int,
        messages: int,
        event_seconds: int,
        event_messages: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.seconds = seconds
        self.messages = messages
        self.event_seconds = event_seconds
        self.event_messages = event_messages
        self.clock = clock
        self._open = redis.register_script(_OPEN)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    def key(self, openid: str) -> str:
        return self.prefix + openid

    def open_into(self, batch: Commands, openid: str, opener: str, by_message: bool) -> None:
        """Add the window update to a batch that is going to Redis anyway (the webhook's claim).

        `opener` is the push's dedup key, so that WeChat's retries of one message do not reset the count.
        """
        batch.eval(_OPEN, 1, self.key(openid), *self._open_args(opener, by_message))

    def open(self, openid: str, opener: str, by_message: bool) -> bool:
        return bool(self._open(keys=[self.key(openid)], args=list(self._open_args(opener, by_message))))

    def _open_args(self, opener: str, by_message: bool) -> tuple[str, str, int, str, int, str]:
        seconds, count = (
            (self.seconds, self.messages) if by_message else (self.event_seconds, self.event_messages)
        )
        now = self.clock()
        return opener, f"{now + seconds:.0f}", count, "m" if by_message else "e", seconds, f"{now:.0f}"

    def close_into(self, batch: Commands, openid: str) -> None:
        batch.delete(self.key(openid))

    def take(self, openid: str) -> bool:
        return int(self._take(keys=[self.key(openid)], args=[self.clock()])) > 0

    def give_back(self, openid: str) -> None:
        """A send that certainly did not reach WeChat does not use up the window."""
        self._give_back(keys=[self.key(openid)], args=[self.messages, self.event_messages])

    def close(self, openid: str) -> None:
        self.redis.delete(self.key(openid))

    def remaining(self, openid: str) -> tuple[int, float]:
        """(sends left, seconds until the window closes), for the console."""
        raw = self.redis.get(self.key(openid))
        if not raw:
            return 0, 0.0
        expires_at, left, _kind, _opener = raw.decode().split(":", 3)
        seconds = float(expires_at) - self.clock()
        return (int(left), seconds) if seconds > 0 else (0, 0.0)
