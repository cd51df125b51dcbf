"""Getting inbound messages into the database without a database round trip on the request path.

In "buffered" mode the webhook appends each entry to a Redis list in the same round trip as its dedup claim;
a flusher thread in each web process moves batches into `message_log`. Only one flusher works at a time
(a Redis lock), and it trims the list only after the batch is committed, so a crash can repeat a batch
(harmless: inserts skip known `dedup_key`s) but never lose one. "sync" mode writes inside the request.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.extensions import db, get_redis
from bot.redis_batch import Commands
from services.message_log import record_messages, record_one

log = logging.getLogger(__name__)

BUFFER = "msglog:buffer"
FLUSH_LOCK = "msglog:flush-lock"


def push_into(pipe: Commands, key: str, entry: dict[str, Any]) -> None:
    pipe.rpush(key, json.dumps(entry, ensure_ascii=False, separators=(",", ":")))


def record_now(app: Flask, entry: dict[str, Any]) -> bool:
    """Write one entry inside the request; True when it was new (the database is the dedup of last resort)."""
    with app.app_context():
        try:
            new = record_one(db.session, entry)
            db.session.commit()
            return new
        except SQLAlchemyError:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def flush(app: Flask) -> int:
    """Move buffered entries into the database; returns how many entries were processed."""
    settings = app.config["SETTINGS"]
    rx = get_redis(app)
    client = rx.client
    assert client is not None
    lock = client.lock(rx.key(FLUSH_LOCK), timeout=60, blocking=False)
    if not lock.acquire():
        return 0
    done = 0
    try:
        with app.app_context():
            while True:
                raw = client.lrange(rx.key(BUFFER), 0, settings.MESSAGE_LOG_BATCH_SIZE - 1)
                if not raw:
                    break
                entries = []
                for item in raw:
                    try:
                        entries.append(json.loads(item))
                    except ValueError:
                        log.error("dropping unreadable message-log entry: %r", item[:200])
                try:
                    record_messages(db.session, entries)
                    db.session.commit()
                except SQLAlchemyError:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()
                client.ltrim(rx.key(BUFFER), len(raw), -1)
                done += len(raw)
                if len(raw) < settings.MESSAGE_LOG_BATCH_SIZE:
                    break
    finally:
        try:
            lock.release()
        except RedisError:
            log.warning("message-log flush lock expired before release")
    return done


class Flusher:
    """Background thread that flushes the buffer every few hundred milliseconds; started on first use."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = app.config["SETTINGS"].MESSAGE_LOG_FLUSH_INTERVAL_SECONDS
        self._started = False
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        if self._started:
            return
        with self._guard:
            if self._started:
                return
            self._thread = threading.Thread(target=self._run, name="message-log-flusher", daemon=True)
            self._thread.start()
            self._started = True
            # gunicorn workers exit through sys.exit on SIGTERM, so this runs on a graceful stop.
            atexit.register(self.stop)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                flush(self.app)
            except (RedisError, SQLAlchemyError) as exc:
                log.error("message-log flush failed, will retry: %s", exc)
            except Exception:
                log.exception("message-log flush crashed, will retry")

    def stop(self, final_flush: bool = True) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if final_flush and self._started:
            try:
                flush(self.app)
            except (RedisError, SQLAlchemyError) as exc:
                log.error("final message-log flush failed: %s", exc)
