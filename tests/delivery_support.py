"""Helpers for the delivery tests: people the sandbox knows, open windows, credits, draining the outbox."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from sandbox import SandboxServer
from services import subscriptions
from services.delivery_worker import drain_once
from services.models import User
from services.models_delivery import Outbox

_seq = itertools.count(1)

# Fast and deterministic: no client-side retries or pauses, quiet hours off, retries due at once.
DELIVERY_SETTINGS: dict[str, Any] = {
    "WECHAT_RETRY_ATTEMPTS": 0,
    "WECHAT_RATE_PAUSE_SECONDS": 0.0,
    "WECHAT_RATE_LIMITS": {"*": 0.0},
    "DELIVERY_BACKOFF_SECONDS": 0.0,
    "DELIVERY_POLL_SECONDS": 0.05,
    "QUIET_HOURS": "",
}


@pytest.fixture(name="dapp")
def dapp_fixture(make_app: Any) -> Iterator[Flask]:
    """An app set up for delivery tests; the people and outbox tables start and end empty."""
    from tests.conftest import wipe_domain_tables

    app = make_app(**DELIVERY_SETTINGS)
    with app.app_context():
        wipe_domain_tables()
        db.session.remove()
    yield app
    with app.app_context():
        wipe_domain_tables()
        db.session.remove()


def person(
    app: Flask,
    sandbox: SandboxServer,
    *,
    follower: bool = True,
    window: bool = False,
    mp: bool = False,
    credit: str | None = None,
) -> User:
    """A user. `follower`: has an Official Account openid the sandbox knows; `window`: wrote to us (both
    sides' customer-service windows open); `mp`: has a miniprogram openid; `credit`: one subscription credit
    for that template id, in the ledger and at WeChat (on the miniprogram openid when `mp`, else the OA
    one)."""
    n = next(_seq)
    stamp = f"{time.time_ns() % 10**12}{n}"
    oa_openid = f"oa{stamp}" if follower else None
    openid = f"mp{stamp}" if mp else None
    with app.app_context():
        user = User(openid=openid, oa_openid=oa_openid)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        if credit:
            holder = openid or oa_openid
            assert holder is not None
            subscriptions.record_choices(db.session, holder, {credit: "accept"})
            sandbox.state.grant_credit(holder, credit)
        db.session.remove()
    if oa_openid:
        sandbox.state.add_follower(oa_openid)
        if window:
            open_window(app, sandbox, oa_openid)
    return user


def open_window(app: Flask, sandbox: SandboxServer, oa_openid: str) -> None:
    sandbox.state.user_interacted(oa_openid, "message")
    app.extensions["wechat_client"].window.open(oa_openid, f"m:{time.time_ns()}", by_message=True)


def drain(app: Flask, worker_id: str = "test-worker", rounds: int = 50) -> int:
    """Run the worker in process until nothing is due (or `rounds` batches); rows handled."""
    total = 0
    for _ in range(rounds):
        handled = drain_once(app, worker_id)
        if not handled:
            break
        total += handled
    return total


def rows(app: Flask, notice_id: int) -> list[Outbox]:
    with app.app_context():
        found = list(
            db.session.scalars(select(Outbox).where(Outbox.notice_id == notice_id).order_by(Outbox.id))
        )
        for row in found:
            db.session.expunge(row)
        db.session.remove()
    return found


def received(sandbox: SandboxServer, api: str | None = None) -> Counter[str]:
    """Accepted sends per openid, as the sandbox recorded them."""
    return Counter(m.openid for m in sandbox.state.sent(api=api, accepted=True))
