"""Traineeship imports run after the upload's response, with their progress in Redis.

The upload is read and its header checked inside the request (a wrong file is refused at once); the rows are
then validated and created on a background thread while the page polls `status()`. Progress lives in Redis,
not in the process, so any web process can answer the poll. A process that dies mid-import leaves nothing
half-written (the valid rows are created in one transaction) and the job shows as failed once its heartbeat
is older than `STALE_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask

from bot.extensions import db, get_redis
from services.errors import DomainError
from services.importing import ImportReport

log = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
STALE_SECONDS = 120
# The work the thread runs: (session, rows, progress) -> report. The view binds the staff member to it.
Work = Callable[[Any, list[dict[str, Any]], Callable[[int], None]], ImportReport]


def _key(app: Flask, job_id: str) -> str:
    return get_redis(app).key("console", "import", job_id)


def start(app: Flask, rows: list[dict[str, Any]], work: Work, *, filename: str) -> str:
    """Record the job and run `work` on a thread; returns the job id the page polls."""
    job_id = uuid.uuid4().hex
    rx = get_redis(app)
    assert rx.client is not None
    key = _key(app, job_id)
    rx.client.hset(
        key,
        mapping={
            "state": "running",
            "total": len(rows),
            "done": 0,
            "filename": filename[:200],
            "beat": time.time(),
        },
    )
    rx.client.expire(key, TTL_SECONDS)
    thread = threading.Thread(target=_run, args=(app, job_id, rows, work), name=f"import-{job_id[:8]}")
    thread.daemon = True
    thread.start()
    return job_id


def _run(app: Flask, job_id: str, rows: list[dict[str, Any]], work: Work) -> None:
    rx = get_redis(app)
    assert rx.client is not None
    key = _key(app, job_id)

    def progress(step: int) -> None:
        rx.client.hincrby(key, "done", step)  # type: ignore[union-attr]
        rx.client.hset(key, "beat", time.time())  # type: ignore[union-attr]

    with app.app_context():
        try:
            report = work(db.session, rows, progress)
        except DomainError as exc:
            rx.client.hset(key, mapping={"state": "failed", "message": exc.message})
            return
        except Exception:
            log.exception("import %s failed", job_id)
            rx.client.hset(
                key, mapping={"state": "failed", "message": "导入失败，没有创建任何岗位，请稍后重试。"}
            )
            return
        finally:
            db.session.remove()
    rx.client.hset(
        key,
        mapping={
            "state": "done",
            "done": len(rows),
            "created": json.dumps(report.created),
            "errors": json.dumps([str(e) for e in report.errors], ensure_ascii=False),
        },
    )


def status(app: Flask, job_id: str) -> dict[str, Any] | None:
    """The poll's answer: state, counts, percent, and when done the created ids and per-row errors."""
    rx = get_redis(app)
    assert rx.client is not None
    raw = rx.client.hgetall(_key(app, job_id))
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    total, done = int(data.get("total", 0)), int(data.get("done", 0))
    state = data.get("state", "running")
    if state == "running" and time.time() - float(data.get("beat", 0)) > STALE_SECONDS:
        state, data["message"] = "failed", "导入中断（服务重启），没有创建任何岗位，请重新上传。"
    created = json.loads(data.get("created", "[]"))
    errors = json.loads(data.get("errors", "[]"))
    percent = 100 if state != "running" or total == 0 else min(99, done * 100 // total)
    summary = {
        "running": f"正在导入：{done} / {total} 行",
        "done": f"导入完成：新建 {len(created)} 个岗位，{len(errors)} 行有错误。",
        "failed": data.get("message", "导入失败。"),
    }[state]
    return {
        "state": state,
        "finished": state != "running",
        "total": total,
        "done": done,
        "percent": percent,
        "created": created,
        "errors": errors,
        "summary": summary,
        "filename": data.get("filename", ""),
    }
