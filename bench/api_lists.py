"""Latency of the miniprogram's list endpoints with 10,000 traineeships, against a bare JSON route.

What it measures
    A PostgreSQL database (`ylb_bench_lists`, dropped and re-created) is migrated and filled with --rows open
    traineeship posts and 500 activities. Then, in this process, through the Flask test client (so both
    sides pay the same WSGI cost and no network noise), requests alternate in rounds between:
      * bare       - a route on the same app that returns a fixed JSON page of 10 items (the baseline);
      * first page - GET /api/v1/traineeships?limit=10
      * keyword    - GET /api/v1/traineeships?keyword=金融&limit=10
      * filters    - GET /api/v1/traineeships?district=西城区&field=金融&education=bachelor&limit=10
      * deep page  - the 50th page, following next_cursor (keyset pagination: should cost as page 1)
      * activities - GET /api/v1/activities?limit=10
    Each line reports p50 and p99 in milliseconds and the p50 ratio to the bare route.

Needs
    PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth); Redis on 127.0.0.1:6379 (rate limits).

Run
    .venv/bin/python bench/api_lists.py [--rows 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BOT_ENV_FILE", "")

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "ylb_bench_lists"
FIELDS = ["金融", "医疗", "文化", "社区服务", "信息技术", "教育", "法律", "媒体"]
DISTRICTS = ["西城区", "东城区", "海淀区", "朝阳区"]
EDUCATION = [None, "associate", "bachelor", "master"]


def recreate_database() -> str:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"


def fill(app: object, rows: int) -> None:
    from sqlalchemy import insert

    from bot.extensions import db
    from services.models import Activity, Traineeship

    rng = random.Random(7)
    now = datetime.now(UTC)
    posts = [
        {
            "title": f"{rng.choice(FIELDS)}见习岗位 {i}",
            "employer": rng.choice(["金融街", "西城", "首都"])
            + rng.choice(["银行", "医院", "博物馆", "社区"])
            + str(i % 97),
            "district": rng.choice(DISTRICTS),
            "field": rng.choice(FIELDS),
            "education": rng.choice(EDUCATION),
            "stipend": rng.choice([None, 2000, 2500, 3000, 4000]),
            "positions": rng.randint(1, 10),
            "description": "岗位职责：协助开展日常工作。" * 5,
            "status": "open",
            "published_at": now - timedelta(minutes=i),
        }
        for i in range(rows)
    ]
    activities = [
        {
            "title": f"青年活动 {i}",
            "category": rng.choice(["社区青年汇", "志愿服务", "读书会", "非遗体验"]),
            "location": "西城区青年汇",
            "district": rng.choice(DISTRICTS),
            "starts_at": now + timedelta(hours=i + 1),
            "capacity": 30,
            "confirmed": rng.randint(0, 30),
            "status": "published",
        }
        for i in range(500)
    ]
    with app.app_context():  # type: ignore[attr-defined]
        db.session.execute(insert(Traineeship), posts)
        db.session.execute(insert(Activity), activities)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def timed(fn: Callable[[], None], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from flask import jsonify
    from flask_migrate import upgrade

    from bot import create_app
    from bot.extensions import db

    url = recreate_database()
    app = create_app(
        {
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIS_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
    fill(app, args.rows)

    page = [
        {"id": i, "title": f"见习岗位 {i}", "employer": "金融街银行", "district": "西城区"} for i in range(10)
    ]
    app.add_url_rule("/bench/bare", "bench_bare", lambda: jsonify({"items": page, "next_cursor": "x"}))
    client = app.test_client()

    def get(path: str) -> Callable[[], None]:
        def call() -> None:
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:200])

        return call

    cursor = None
    for _ in range(49):
        body = client.get(
            "/api/v1/traineeships?limit=10" + (f"&cursor={cursor}" if cursor else "")
        ).get_json()
        cursor = body["next_cursor"]
    cases = {
        "bare": get("/bench/bare"),
        "first page": get("/api/v1/traineeships?limit=10"),
        "keyword": get("/api/v1/traineeships?keyword=金融&limit=10"),
        "filters": get("/api/v1/traineeships?district=西城区&field=金融&education=bachelor&limit=10"),
        "deep page": get(f"/api/v1/traineeships?limit=10&cursor={cursor}"),
        "activities": get("/api/v1/activities?limit=10"),
    }
    for fn in cases.values():
        timed(fn, 20)  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            samples[name] += timed(fn, args.requests // args.rounds)

    bare_p50 = statistics.median(samples["bare"])
    print(f"{args.rows} traineeships, 500 activities, {args.requests} requests per case (PostgreSQL)")
    print(f"{'case':<12} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>8}")
    for name, values in samples.items():
        values.sort()
        p50, p99 = statistics.median(values), values[int(len(values) * 0.99) - 1]
        print(f"{name:<12} {p50:>8.2f} {p99:>8.2f} {p50 / bare_p50:>8.1f}")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
