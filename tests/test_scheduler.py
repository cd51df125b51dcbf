"""The scheduler: leader election through Redis (two instances, one dies, the other takes over within the
configured time), the job store reconciled with the definitions, and jobs that run only while leading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from bot import jobs
from bot.extensions import db, get_redis
from bot.leader import LeaderElector, LeaderLock
from bot.scheduler import SchedulerService
from tests.conftest import (
    APPID,
    MP_APPID,
    MP_SECRET,
    REDIS_URL,
    SECRET,
    TOKEN,
    AppFactory,
    needs_redis,
)

ROOT = Path(__file__).resolve().parents[1]
FAST = {"SCHEDULER_LOCK_TTL_SECONDS": 0.8, "SCHEDULER_LOCK_RENEW_SECONDS": 0.2}


def wait_until(check: Callable[[], bool], timeout: float) -> float:
    """Seconds it took for `check` to hold; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


def stored_jobs(app: Flask) -> dict[str, float | None]:
    with app.app_context():
        try:
            rows = db.session.execute(text("SELECT id, next_run_time FROM scheduler_job")).all()
            return {row[0]: row[1] for row in rows}
        finally:
            db.session.remove()


@pytest.fixture
def clean_store(app: Flask) -> None:
    with app.app_context():
        db.session.execute(text("DELETE FROM scheduler_job"))
        db.session.commit()
        db.session.remove()


# -- the lock ------------------------------------------------------------------------------------------
def test_one_leader_and_a_standby_takes_over_when_it_dies(app: Flask) -> None:
    rx = get_redis(app)
    assert rx.client is not None
    key = rx.key("scheduler", "leader")
    events: list[tuple[str, object]] = []

    def elector(name: str) -> LeaderElector:
        lock = LeaderLock(rx.client, key, ttl=0.6, owner=name)  # type: ignore[arg-type]
        return LeaderElector(
            lock,
            renew_every=0.15,
            on_elected=lambda fence: events.append((name, fence)),
            on_demoted=lambda: events.append((name, "demoted")),
        )

    first = elector("a").start()
    wait_until(lambda: first.is_leader, 2)
    second = elector("b").start()
    time.sleep(1.0)  # several TTLs: the leader keeps renewing, the standby keeps waiting
    assert first.is_leader and not second.is_leader
    assert first.still_leader() and not second.still_leader()

    old_fence = first.fence
    assert old_fence is not None
    first.stop(release=False)  # dies: no more renewals, the key is left to expire
    took = wait_until(lambda: second.is_leader, 0.6 + 0.15 + 1.0)
    assert took <= 0.6 + 0.15 + 0.5
    assert second.fence is not None and second.fence > old_fence  # a new term, a larger fencing token
    # The old term is over: its holder can neither renew nor release the new leader's key.
    assert not first.lock.holds(old_fence)
    first.lock.fence = old_fence
    assert not first.lock.renew()
    first.lock.release()
    assert second.still_leader()
    new_fence = second.fence
    second.stop()
    assert rx.client.get(key) is None  # a clean stop releases at once, for a fast hand-over
    assert [e for e in events if e[0] == "b"] == [("b", new_fence), ("b", "demoted")]


def test_a_leader_that_cannot_renew_steps_down_before_its_term_ends(app: Flask) -> None:
    rx = get_redis(app)
    assert rx.client is not None
    key = rx.key("scheduler", "leader")
    demoted: list[float] = []
    lock = LeaderLock(rx.client, key, ttl=0.5, owner="a")  # type: ignore[arg-type]
    leader = LeaderElector(lock, 0.1, on_elected=lambda f: None, on_demoted=lambda: demoted.append(1))
    leader.step()
    assert leader.is_leader
    rx.client.set(key, "99999:someone-else")  # the key expired and another instance won meanwhile
    leader.step()
    assert not leader.is_leader and demoted == [1]


# -- the job store ------------------------------------------------------------------------------------
def _noop(app: Flask, now: object) -> str:
    return "ok"


def defs(*ids: str, seconds: int = 3600) -> tuple[jobs.JobDef, ...]:
    from apscheduler.triggers.interval import IntervalTrigger

    return tuple(jobs.JobDef(i, i, lambda s, n=seconds: IntervalTrigger(seconds=n), _noop) for i in ids)


def elect(app: Flask, definitions: tuple[jobs.JobDef, ...]) -> SchedulerService:
    service = SchedulerService(app, definitions).start()
    wait_until(lambda: service.scheduler is not None, 3)
    return service


def test_reconciliation_adds_keeps_replaces_and_removes(make_app: AppFactory, clean_store: None) -> None:
    app = make_app(**FAST)
    first = elect(app, defs("kept", "obsolete", "changed"))
    assert first.reconciled is not None and sorted(first.reconciled.added) == ["changed", "kept", "obsolete"]
    before = stored_jobs(app)
    assert set(before) == {"kept", "obsolete", "changed"}
    first.stop()

    # A new release: "obsolete" is gone from the definitions, "changed" has a new trigger.
    second = elect(app, (*defs("kept"), *defs("changed", seconds=60)))
    second.stop()
    assert second.reconciled is not None
    assert second.reconciled.removed == ["obsolete"]
    assert second.reconciled.kept == ["kept"] and second.reconciled.replaced == ["changed"]
    after = stored_jobs(app)
    assert set(after) == {"kept", "changed"}
    assert after["kept"] == before["kept"]  # an unchanged job keeps its next run time across restarts
    assert after["changed"] != before["changed"]


def test_the_real_definitions_are_all_stored_with_stable_ids(make_app: AppFactory, clean_store: None) -> None:
    app = make_app(**FAST)
    service = elect(app, jobs.JOBS)
    service.stop()
    assert set(stored_jobs(app)) == {
        "activity_reminders",
        "waitlist_deadlines",
        "status_notices",
        "wish_claim_expiry",
        "token_refresh",
        "retention_purge",
        "staff_digest",
    }


def test_stored_jobs_run_only_while_this_instance_leads(make_app: AppFactory) -> None:
    app = make_app()
    calls: list[str] = []
    probe = jobs.JobDef("probe", "probe", lambda s: None, lambda a, now: calls.append("ran") or 1)  # type: ignore[arg-type,return-value]
    leading = {"yes": True}
    jobs.bind(app, lambda: leading["yes"], (probe,))
    try:
        jobs.run_job("probe")
        leading["yes"] = False
        jobs.run_job("probe")
        jobs.run_job("gone")  # a stored job whose definition was removed: nothing runs
    finally:
        jobs.unbind()
    jobs.run_job("probe")  # not bound at all (demoted)
    assert calls == ["ran"]
    last = jobs.last_run(app, "probe")
    assert last is not None and last["ok"] and last["result"] == 1


# -- two scheduler processes, kill -9 the leader ------------------------------------------------------------
def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "bot", "scheduler", "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@needs_redis
def test_two_processes_kill_the_leader_and_the_other_takes_over(
    make_app: AppFactory, database_url: str, sandbox: object, tmp_path: Path, clean_store: None
) -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    ttl, renew = 1.5, 0.3
    app = make_app(REDIS_PREFIX=prefix)
    env = {
        **os.environ,
        "BOT_ENV_FILE": "",
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE": sandbox.url,  # type: ignore[attr-defined]
        "MINIPROGRAM_APPID": MP_APPID,
        "MINIPROGRAM_SECRET": MP_SECRET,
        "SCHEDULER_LOCK_TTL_SECONDS": str(ttl),
        "SCHEDULER_LOCK_RENEW_SECONDS": str(renew),
        "TOKEN_REFRESH_CHECK_SECONDS": "1",
    }
    rx = get_redis(app)
    assert rx.client is not None
    key = rx.key("scheduler", "leader")

    def holder_pid() -> int | None:
        raw = rx.client.get(key)  # type: ignore[union-attr]
        return int(raw.decode().split(":")[2]) if raw and raw.count(b":") >= 3 else None

    procs = [_spawn(env, tmp_path / "a.log")]
    try:
        wait_until(lambda: holder_pid() == procs[0].pid, 30)
        procs.append(_spawn(env, tmp_path / "b.log"))
        # The standby is up (its first election round runs as it starts) and the leader runs the jobs.
        wait_until(lambda: b"started" in (tmp_path / "b.log").read_bytes(), 30)
        wait_until(lambda: (jobs.last_run(app, "token_refresh") or {}).get("ok") is True, 15)
        time.sleep(2 * ttl)
        assert holder_pid() == procs[0].pid, "the standby must not take over from a live leader"

        os.kill(procs[0].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: holder_pid() == procs[1].pid, ttl + renew + 10)
        took = time.monotonic() - killed_at
        print(f"take-over after kill -9: {took:.2f} s (ttl {ttl}, renew {renew})")
        assert took <= ttl + renew + 2.0, f"take-over took {took:.2f} s"  # 2 s for a loaded machine
        # …and the new leader runs the jobs.
        ran_at = time.time()
        wait_until(lambda: (jobs.last_run(app, "token_refresh") or {}).get("at", 0) > ran_at, 10)
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(timeout=15) == 0
        assert rx.client.get(key) is None  # released on a clean exit
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_leader_that_cannot_start_its_jobs_gives_the_lock_back(app: Flask) -> None:
    rx = get_redis(app)
    assert rx.client is not None
    key = rx.key("scheduler", "leader")

    def broken(fence: int) -> None:
        raise RuntimeError("database unavailable")

    leader = LeaderElector(LeaderLock(rx.client, key, ttl=5), 1, on_elected=broken, on_demoted=lambda: None)
    with pytest.raises(RuntimeError):
        leader.step()
    assert not leader.is_leader
    assert rx.client.get(key) is None  # a standby can take over at once


def test_the_jobs_command_lists_every_definition_with_its_last_outcome(app: Flask) -> None:
    jobs.bind(app, lambda: True, (jobs.JobDef("token_refresh", "x", lambda s: None, jobs.token_refresh),))  # type: ignore[arg-type,return-value]
    try:
        jobs.run_job("token_refresh")
    finally:
        jobs.unbind()
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert set(lines) == {job.id for job in jobs.JOBS}
    assert (
        "interval[0:05:00]" in lines["activity_reminders"]
        and "cron[hour='9', minute='0']" in lines["staff_digest"]
    )
    assert "'ok': True" in lines["token_refresh"] and lines["staff_digest"].endswith("\t-")
