"""One access_token per appid, shared by every process through Redis.

WeChat's `/cgi-bin/token` invalidates the previous token, so processes fetching on their own break each other.
We use `stable_token` (which does not rotate on every call), keep one copy in Redis with its expiry, and let a
single process refresh it under a Redis lock, ahead of expiry, while the others keep using the current one.
A token WeChat rejects is dropped only if it is still the cached one: another process may already have
stored a fresh token, and dropping that would start a refresh storm.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

log = logging.getLogger(__name__)

# Stored as "<refresh_at>:<expires_at>:<token>" so one GET tells a caller whether to refresh.
_DROP_IF_SAME = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -string.len(ARGV[1]) - 1) == ':' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

FAILURE_PAUSE_SECONDS = 2.0

Fetch = Callable[[], tuple[str, int]]  # -> (token, expires_in seconds); raises on failure


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: str
    refresh_at: float
    expires_at: float

    @classmethod
    def parse(cls, raw: bytes | None) -> CachedToken | None:
        if not raw:
            return None
        refresh_at, expires_at, token = raw.decode().split(":", 2)
        return cls(token, float(refresh_at), float(expires_at))


class TokenStore:
    def __init__(
        self,
        redis: Redis,
        key: str,
        fetch: Fetch,
        refresh_margin: float,
        lock_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.key = key
        self.lock_key = key + ":lock"
        self.fetch = fetch
        self.refresh_margin = refresh_margin
        self.lock_timeout = lock_timeout
        self.clock = clock
        # This process's copy: valid until its refresh time whoever refreshes, because stable_token keeps
        # the previous token alive until it expires. Saves a Redis round trip per call.
        self._local: CachedToken | None = None
        # Bumped on every invalidation, so that a read taken before it cannot bring the dropped token back.
        self._generation = 0
        # After a failed fetch, callers without a valid token fail fast for a moment instead of queueing
        # up behind the lock and hammering stable_token during an outage.
        self._failed_until = 0.0
        self._failure: Exception | None = None
        self._drop = redis.register_script(_DROP_IF_SAME)
        self._release = redis.register_script(_RELEASE_LOCK)

    def cached(self) -> CachedToken | None:
        return CachedToken.parse(self.redis.get(self.key))

    def get(self) -> str:
        """A valid token, refreshing it if it is due; at most one process fetches at a time."""
        local = self._local
        if local is not None and self.clock() < local.refresh_at:
            return local.token
        generation = self._generation
        current = self.cached()
        now = self.clock()
        if current and now < current.refresh_at:
            if generation == self._generation:
                self._local = current
            return current.token
        if current and now < current.expires_at:
            # Due for refresh but still valid: refresh if nobody else is, otherwise keep using it.
            try:
                fresh = self._refresh(wait=False, stale=current)
            except Exception as exc:  # a failed refresh must not fail calls the current token still serves
                log.warning("token refresh for %s failed, current one still valid: %s", self.key, exc)
                return current.token
            return fresh.token if fresh else current.token
        fresh = self._refresh(wait=True, stale=current)
        assert fresh is not None
        return fresh.token

    def refresh_if_due(self) -> bool:
        """For the scheduler: refresh ahead of expiry so that requests never wait for a fetch."""
        current = self.cached()
        if current and self.clock() < current.refresh_at:
            return False
        try:
            return self._refresh(wait=False, stale=current) is not None
        except Exception as exc:
            log.warning("scheduled token refresh for %s failed: %s", self.key, exc)
            return False

    def invalidate(self, failed: str) -> bool:
        """Drop the cached token only if it is still `failed`."""
        self._generation += 1
        local = self._local
        if local is not None and local.token == failed:
            self._local = None
        return bool(self._drop(keys=[self.key], args=[failed]))

    def _refresh(self, wait: bool, stale: CachedToken | None) -> CachedToken | None:
        if time.monotonic() < self._failed_until and self._failure is not None:
            if not wait:
                return None
            raise self._failure
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.lock_timeout
        while not self.redis.set(self.lock_key, owner, nx=True, px=int(self.lock_timeout * 1000)):
            if not wait:
                return None
            # Someone else is fetching: their result lands in the cache.
            current = self.cached()
            if current and current != stale and self.clock() < current.expires_at:
                return current
            if time.monotonic() >= deadline:
                log.warning("token lock for %s held too long; fetching without it", self.key)
                break
            time.sleep(0.02)
        try:
            current = self.cached()
            if current and current != stale and self.clock() < current.refresh_at:
                return current  # refreshed by the process that held the lock before us
            try:
                token, expires_in = self.fetch()
            except Exception as exc:
                self._failure, self._failed_until = exc, time.monotonic() + FAILURE_PAUSE_SECONDS
                raise
            fresh = self._store(token, expires_in, previous=current)
            self._local = fresh
            return fresh
        finally:
            self._release(keys=[self.lock_key], args=[owner])

    def _store(self, token: str, expires_in: int, previous: CachedToken | None) -> CachedToken:
        now = self.clock()
        expires_at = now + max(expires_in, 1)
        refresh_at = expires_at - self.refresh_margin
        if previous and previous.token == token:
            # stable_token gave the same token back: asking again before it expires would get it again.
            refresh_at = max(refresh_at, expires_at - 1)
        cached = CachedToken(token, refresh_at, expires_at)
        ttl_ms = max(int((expires_at - now) * 1000), 1)
        self.redis.set(self.key, f"{refresh_at:.3f}:{expires_at:.3f}:{token}", px=ttl_ms)
        log.info("access_token for %s refreshed, valid %d s", self.key, expires_in)
        return cached
