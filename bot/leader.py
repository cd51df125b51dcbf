"""Leader election with one Redis key: among scheduler instances, exactly one runs the jobs.

The key holds "<fence>:<owner>" and expires after `ttl` unless the holder renews it. Acquiring is
`SET NX PX` plus an INCR of a fence counter, in one script, so every leadership term gets a larger fencing
token. Renewing and releasing are compare-and-set scripts: a holder whose key expired (a long GC pause, a
network split) cannot extend or delete the new leader's key. A holder that cannot renew steps down by its
own clock once its term may have expired, before another instance can have taken over.

Before running a job the leader checks that its term is still current (`holds`); the jobs' side effects
are idempotent besides (unique keys per reminder), so a stale leader overlapping its successor for a
moment cannot send anything twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_ACQUIRE = """
if redis.call('SET', KEYS[1], 'claiming', 'NX', 'PX', ARGV[2]) then
  local fence = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
  return fence
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock:
    """One term at a time: `acquire` → fence or None, `renew`, `release`, `holds`."""

    def __init__(self, redis: Redis, key: str, ttl: float, owner: str | None = None) -> None:
        self.redis = redis
        self.key = key
        self.fence_key = key + ":fence"
        self.ttl_ms = max(int(ttl * 1000), 1)
        self.owner = owner or default_owner()
        self.fence: int | None = None
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def value(self) -> str | None:
        return None if self.fence is None else f"{self.fence}:{self.owner}"

    def acquire(self) -> int | None:
        fence = int(self._acquire(keys=[self.key, self.fence_key], args=[self.owner, self.ttl_ms]))
        self.fence = fence or None
        return self.fence

    def renew(self) -> bool:
        value = self.value
        return value is not None and bool(self._renew(keys=[self.key], args=[value, self.ttl_ms]))

    def release(self) -> None:
        value, self.fence = self.value, None
        if value is not None:
            self._release(keys=[self.key], args=[value])

    def holds(self, fence: int) -> bool:
        """Whether the term `fence` is still the current one (a read; for checks before side effects)."""
        raw = self.redis.get(self.key)
        return raw is not None and raw.decode() == f"{fence}:{self.owner}"

    def current_holder(self) -> str | None:
        raw = self.redis.get(self.key)
        return None if raw is None else raw.decode()


class LeaderElector:
    """Runs `on_elected(fence)` when this instance becomes leader and `on_demoted()` when it stops being
    one, from its own thread. A follower tries again every `renew_every` seconds, so a dead leader is
    replaced within `ttl + renew_every`."""

    def __init__(
        self,
        lock: LeaderLock,
        renew_every: float,
        on_elected: Callable[[int], None],
        on_demoted: Callable[[], None],
    ) -> None:
        ttl = lock.ttl_ms / 1000
        if renew_every >= ttl:
            raise ValueError("the lock must be renewed more often than it expires")
        self.lock = lock
        self.ttl = ttl
        self.renew_every = renew_every
        self.on_elected = on_elected
        self.on_demoted = on_demoted
        self.fence: int | None = None
        self._term_started = 0.0  # monotonic time of the last successful acquire or renew
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self.fence is not None

    def still_leader(self) -> bool:
        """True while our term is current in Redis and by our own clock."""
        fence = self.fence
        if fence is None or time.monotonic() - self._term_started >= self.ttl:
            return False
        try:
            return self.lock.holds(fence)
        except RedisError:
            return False

    def step(self) -> None:
        """One round: try to lead, or keep leading; steps down when the term cannot be kept."""
        now = time.monotonic()
        if self.fence is None:
            try:
                fence = self.lock.acquire()
            except RedisError as exc:
                log.warning("leader election: redis unavailable (%s)", exc)
                return
            if fence is not None:
                self.fence, self._term_started = fence, now
                log.info("scheduler: elected leader (fence %d, %s)", fence, self.lock.owner)
                try:
                    self.on_elected(fence)
                except Exception:
                    # A leader that could not start its jobs (database down) must not sit on the lock.
                    self.fence = None
                    self.lock.release()
                    raise
            return
        try:
            kept = self.lock.renew()
        except RedisError as exc:
            log.warning("leader renewal failed (%s)", exc)
            # Keep leading only while the last renewal still covers us, with one renewal period to spare.
            kept = None if now - self._term_started < self.ttl - self.renew_every else False
        if kept:
            self._term_started = now
        elif kept is False:
            self._demote("lost the leader lock")

    def _demote(self, why: str) -> None:
        log.warning("scheduler: stepping down (%s)", why)
        self.fence = None
        self.on_demoted()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # a failing callback must not end the election loop
                log.exception("leader election round failed")
            self._stop.wait(self.renew_every)

    def start(self) -> LeaderElector:
        self._thread = threading.Thread(target=self.run, name="leader-elector", daemon=True)
        self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.renew_every + 5)
        if self.fence is not None:
            self._demote("stopping")
            if release:
                try:
                    self.lock.release()
                except RedisError as exc:
                    log.warning("could not release the leader lock: %s", exc)
