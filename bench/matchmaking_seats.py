"""Simultaneous matchmaking sign-ups for per-gender seats, against activity sign-ups for the same seats.

What it measures
    A PostgreSQL database (`ylb_bench_match`, dropped and re-created) is migrated; --people adults (half men,
    half women, each with a matchmaking profile) are created. Then, in rounds, all of them sign up at once
    (one thread and one session each, released together by a barrier) for:
      * activity    - an activity with 2 × --seats seats (the baseline: one counter, `services.activities`);
      * matchmaking - a gender-balanced event with --seats seats per gender (`services.matchmaking.sign_up`).
    Every round checks the outcome (exactly --seats seated per gender, the rest waitlisted, one row per
    person, counters equal to the rows) and reports the wall time; the last line is the ratio of the medians.

Needs
    PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth).

Run
    .venv/bin/python bench/matchmaking_seats.py [--people 300] [--seats 50] [--rounds 3] [--connections 40]
    (PostgreSQL allows ~100 clients: at most --connections threads hold one at a time, the rest queue.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BOT_ENV_FILE", "")

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "ylb_bench_match"


def recreate_database() -> str:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}"


def at_once(engine: Any, jobs: list[Callable[[Any], str]]) -> tuple[float, list[str]]:
    from sqlalchemy.orm import Session

    barrier = threading.Barrier(len(jobs) + 1)

    def run(job: Callable[[Any], str]) -> str:
        with Session(engine) as session:
            barrier.wait()
            return job(session)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        barrier.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--seats", type=int, default=50, help="per gender")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=40)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, select

    from bot import create_app
    from bot.extensions import db
    from services import activities, matchmaking
    from services.models import Activity, User
    from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup

    url = recreate_database()
    app = create_app({"APP_ENV": "test", "DATABASE_URL": url, "REDIS_URL": None, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        people = [User(openid=f"bench-{i}", age_band="25to35") for i in range(args.people)]
        db.session.add_all(people)
        db.session.flush()
        db.session.add_all(
            MatchProfile(
                user_id=p.id,
                nickname=f"n{i}",
                birth_year=datetime.now(UTC).year - 28,
                gender="male" if i % 2 else "female",
                occupation="金融",
                self_intro="喜欢爬山和读书，希望认识真诚的你。",
                consent_at=datetime.now(UTC),
                intro_verdict="pass",
            )
            for i, p in enumerate(people)
        )
        db.session.commit()
        ids = [p.id for p in people]
    # PostgreSQL allows ~100 clients: --connections of them at a time, the other threads queue for one.
    engine = create_engine(url, pool_size=args.connections, max_overflow=0, pool_timeout=120)

    def new_rows() -> tuple[int, int]:
        starts = datetime.now(UTC) + timedelta(days=7)
        with app.app_context():
            activity = Activity(
                title="基准活动", category="基准", location="西城区", district="西城区", starts_at=starts,
                capacity=2 * args.seats, confirmed=0, waitlist=True, status="published",
            )  # fmt: skip
            event = MatchEvent(
                title="基准联谊", location="西城区", district="西城区", starts_at=starts, age_min=18,
                capacity=2 * args.seats, seats_male=args.seats, seats_female=args.seats, taken_male=0,
                taken_female=0, requires_review=True, checkin_code="1234", status="published",
            )  # fmt: skip
            db.session.add_all([activity, event])
            db.session.commit()
            return activity.id, event.id

    def activity_job(user_id: int, activity_id: int) -> Callable[[Any], str]:
        return lambda s: activities.sign_up(s, s.get(User, user_id), activity_id).status

    def match_job(user_id: int, event_id: int) -> Callable[[Any], str]:
        return lambda s: matchmaking.sign_up(s, s.get(User, user_id), event_id, single_declared=True).status

    times: dict[str, list[float]] = {"activity": [], "matchmaking": []}
    for round_no in range(1, args.rounds + 1):
        activity_id, event_id = new_rows()
        spent, results = at_once(engine, [activity_job(u, activity_id) for u in ids])
        assert Counter(results) == {"confirmed": 2 * args.seats, "waitlisted": args.people - 2 * args.seats}
        times["activity"].append(spent)
        spent, results = at_once(engine, [match_job(u, event_id) for u in ids])
        with app.app_context():
            rows = db.session.execute(
                select(MatchSignup.gender, MatchSignup.status).where(MatchSignup.event_id == event_id)
            ).all()
            event = db.session.get(MatchEvent, event_id)
            seated = Counter(g for g, s in rows if s == "pending")
            assert len(rows) == args.people and seated == {"male": args.seats, "female": args.seats}, seated
            assert (event.taken_male, event.taken_female) == (args.seats, args.seats)
        times["matchmaking"].append(spent)
        print(
            f"round {round_no}: activity {times['activity'][-1] * 1000:.0f} ms, "
            f"matchmaking {spent * 1000:.0f} ms ({args.people} at once; {args.seats}+{args.seats} seated, "
            f"{args.people - 2 * args.seats} waitlisted, no duplicates)"
        )
    base, match = statistics.median(times["activity"]), statistics.median(times["matchmaking"])
    print(
        f"median: activity {base * 1000:.0f} ms, matchmaking {match * 1000:.0f} ms, ratio {match / base:.2f}"
    )
    engine.dispose()
    with app.app_context():
        db.engine.dispose()
    app.extensions["inbound"].shutdown()
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
