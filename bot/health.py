"""`/healthz`: whether the database and Redis answer. 200 when both do, 503 otherwise."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.extensions import db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks: dict[str, dict[str, object]] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": db.engine.dialect.name}
    except SQLAlchemyError as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    finally:
        db.session.remove()
    rx = get_redis(current_app)
    try:
        assert rx.client is not None
        rx.client.ping()
        checks["redis"] = {"ok": True, "embedded": rx.embedded}
    except RedisError as exc:
        checks["redis"] = {"ok": False, "embedded": rx.embedded, "error": type(exc).__name__}
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), 200 if healthy else 503
