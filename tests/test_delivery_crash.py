"""Crash test: a worker process killed with SIGKILL in the middle of a notice, then a restart.

Every recipient must get the notice, and duplicates are bounded by the sends that were in flight when the
worker died (`DELIVERY_CONCURRENCY`). Customer-service messages are used because WeChat does not deduplicate
them (template messages carry `client_msg_id`), so the sandbox's record shows every duplicate.
The in-suite run uses 1,000 recipients; `DELIVERY_CRASH_RECIPIENTS=5000` runs the issue's full size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert, select

from bot.extensions import db
from sandbox import SandboxServer
from sandbox.faults import Fault
from services import delivery
from services.models import User
from tests import conftest
from tests.delivery_support import DELIVERY_SETTINGS, open_window

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = int(os.environ.get("DELIVERY_CRASH_RECIPIENTS", "1000"))
CONCURRENCY = 4
LEASE = 2.0


def worker_env(app: Flask, sandbox: SandboxServer) -> dict[str, str]:
    s = app.config["SETTINGS"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DELIVERY_", "WECHAT_", "QUIET"))}
    env.update(
        BOT_ENV_FILE="",
        APP_ENV="test",
        DATABASE_URL=s.DATABASE_URL,
        REDIS_URL=s.REDIS_URL or "",
        REDIS_PREFIX=s.REDIS_PREFIX,  # the same customer-service windows as the test's app
        WECHAT_TOKEN=conftest.TOKEN,
        WECHAT_APPID=conftest.APPID,
        WECHAT_SECRET=conftest.SECRET,
        WECHAT_AES_KEY=conftest.AES_KEY,
        WECHAT_API_BASE=sandbox.url,
        MINIPROGRAM_APPID=conftest.MP_APPID,
        MINIPROGRAM_SECRET=conftest.MP_SECRET,
        WECHAT_RATE_LIMITS="*=0",
        WECHAT_RETRY_ATTEMPTS="0",
        DELIVERY_CONCURRENCY=str(CONCURRENCY),
        DELIVERY_BATCH_SIZE="50",
        DELIVERY_LEASE_SECONDS=str(LEASE),
        DELIVERY_POLL_SECONDS="0.1",
        QUIET_HOURS="",
        LOG_LEVEL="WARNING",
    )
    return env


def recipients(app: Flask, sandbox: SandboxServer, count: int) -> list[str]:
    stamp = time.time_ns()
    openids = [f"crash{stamp}x{i}" for i in range(count)]
    with app.app_context():
        db.session.execute(insert(User), [{"oa_openid": o} for o in openids])
        db.session.commit()
        db.session.remove()
    for openid in openids:
        sandbox.state.add_follower(openid)
        open_window(app, sandbox, openid)
    return openids


def test_kill_9_mid_notice_then_restart_delivers_all_with_bounded_duplicates(
    make_app: Any, sandbox: SandboxServer
) -> None:
    if not conftest.HAVE_REDIS:
        import pytest

        pytest.skip("the worker process must share the customer-service windows through a real Redis")
    app = make_app(
        **{
            **DELIVERY_SETTINGS,
            "DELIVERY_CONCURRENCY": CONCURRENCY,
            "DELIVERY_LEASE_SECONDS": LEASE,
            "DELIVERY_BATCH_SIZE": 50,
        }
    )
    with app.app_context():
        conftest.wipe_domain_tables()
        db.session.remove()
    openids = recipients(app, sandbox, RECIPIENTS)
    with app.app_context():
        notice_id = delivery.create_notice(
            db.session,
            kind="broadcast",
            title="开放日",
            body="本周六青年之家开放日。",
            audience=select(User.id).where(User.oa_openid.in_(openids)),
            created_by="test",
        ).id
        db.session.remove()
    # A little latency per send, as WeChat has, so that the kill lands with sends in flight.
    sandbox.state.set_fault("custom_send", Fault(latency_ms=3))

    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "bot", "delivery", "work", "--worker-id", "doomed"],
        cwd=ROOT,
        env=worker_env(app, sandbox),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(sandbox.state.sent(api="custom_send", accepted=True)) < RECIPIENTS // 3:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    at_kill = len(sandbox.state.sent(api="custom_send", accepted=True))
    assert at_kill < RECIPIENTS, "killed too late to test anything"

    # Restart (in process): the dead worker's leased rows come back once their lease has run out.
    deadline = time.monotonic() + 120
    from services.delivery_worker import drain_once

    while True:
        with app.app_context():
            p = delivery.notice_progress(db.session, notice_id)
            db.session.remove()
        if p.done:
            break
        assert time.monotonic() < deadline, p
        if not drain_once(app, "restarted"):
            time.sleep(0.1)
    sandbox.state.clear_faults()

    got = Counter(m.openid for m in sandbox.state.sent(api="custom_send", accepted=True))
    assert set(got) == set(openids)  # every recipient received it
    duplicates = sum(n - 1 for n in got.values())
    print(f"\ncrash test: {RECIPIENTS} recipients, killed after {at_kill} sends, duplicates {duplicates}")
    assert duplicates <= CONCURRENCY
    assert (p.sent, p.failed, p.skipped) == (RECIPIENTS, {}, {})
