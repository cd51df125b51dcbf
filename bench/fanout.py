"""Fan-out of one notice to many recipients through the sandbox: delivery workers vs a bare HTTP client.

What it measures
    A sandbox (in this process) stands in for WeChat; --recipients followers who have not written to the
    account (so the worker checks the customer-service window, finds it closed, and sends the template
    message: the common path of a broadcast). For each worker count in --workers (default 1, 2, 4):
      * bare    - the sandbox's own capacity: a separate process with the same number of concurrent senders
                  (workers x DELIVERY_CONCURRENCY) posting template messages with a plain requests.Session
                  for --bare-seconds, no database, no bookkeeping;
      * workers - `flask --app bot delivery work` processes draining one notice to all recipients, with the
                  exactly-once bookkeeping on (claim with SKIP LOCKED, one committed outcome per send,
                  window check in Redis, client_msg_id).
    Deliveries per second for the workers come from the sandbox's own record (first to last accepted send of
    the notice); the ratio workers / bare is printed per worker count (target >= 0.8).

Needs
    PostgreSQL on 127.0.0.1:5432 (user postgres; a database `bench_fanout_<hex>` is created and dropped) and
    Redis on 127.0.0.1:6379 (keys under a random prefix, deleted afterwards).

Run
    .venv/bin/python bench/fanout.py [--recipients 100000] [--workers 1 2 4] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox import AppCredentials, SandboxConfig, SandboxServer  # noqa: E402

APPID, SECRET, TOKEN = "wxbenchfanout0001", "bench-secret", "bench-token"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
TEMPLATE = "tmpl_status"

BARE = r"""
import json, sys, threading, time, uuid
import requests

base, appid, secret, template, threads, seconds, first, count = sys.argv[1:9]
threads, seconds, first, count = int(threads), float(seconds), int(first), int(count)
session = requests.Session()
token = session.post(base + "/cgi-bin/stable_token", json={"grant_type": "client_credential", "appid": appid,
                     "secret": secret}, timeout=5).json()["access_token"]
done = [0] * threads
run_id = uuid.uuid4().hex[:8]  # fresh client_msg_ids: a repeated one would be answered without work
stop = time.monotonic() + seconds

def run(n):
    i = n
    while time.monotonic() < stop:
        body = {"touser": f"fan{first + i % count}", "template_id": template,
                "client_msg_id": f"bare-{run_id}-{i}",
                "data": {"thing1": {"value": "bench"}, "time2": {"value": "2026年12月1日 09:00"}}}
        answer = session.post(base + "/cgi-bin/message/template/send", params={"access_token": token},
                              json=body, timeout=5).json()
        if answer.get("errcode") == 0:
            done[n] += 1
        i += threads

started = time.monotonic()
workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps({"sent": sum(done), "seconds": time.monotonic() - started}))
"""


def create_database() -> tuple[str, str]:
    import psycopg

    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings(url: str, base: str, prefix: str, concurrency: int) -> dict[str, str]:
    return {
        "BOT_ENV_FILE": "",
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE": base,
        "WECHAT_RATE_LIMITS": "*=0",  # measure the pipeline, not our own rate limit
        "DELIVERY_CONCURRENCY": str(concurrency),
        "DELIVERY_BATCH_SIZE": "100",
        "DELIVERY_POLL_SECONDS": "0.2",
        "QUIET_HOURS": "",
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str], recipients: int, sandbox: SandboxServer) -> Any:
    os.environ.update(env)
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from bot import create_app
    from bot.extensions import db
    from services.models import User

    app = create_app()
    with app.app_context():
        upgrade()
        for start in range(0, recipients, 10_000):
            rows = [{"oa_openid": f"fan{i}"} for i in range(start, min(start + 10_000, recipients))]
            db.session.execute(insert(User), rows)
        db.session.commit()
        db.session.remove()
    for i in range(recipients):
        sandbox.state.add_follower(f"fan{i}")
    return app


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(base: str, threads: int, seconds: float, recipients: int) -> tuple[float, float]:
    """(sends per second, CPU seconds of the client process per send)."""
    cpu = children_cpu()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            BARE,
            base,
            APPID,
            SECRET,
            TEMPLATE,
            str(threads),
            str(seconds),
            "0",
            str(recipients),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    return result["sent"] / result["seconds"], (children_cpu() - cpu) / max(result["sent"], 1)


def fan_out(
    app: Any, env: dict[str, str], workers: int, recipients: int, sandbox: SandboxServer
) -> dict[str, Any]:
    from sqlalchemy import select

    from bot.extensions import db
    from services import delivery
    from services.models import User

    with app.app_context():
        notice_id = delivery.create_notice(
            db.session,
            kind="broadcast",
            title="开放日",
            body="本周六青年之家开放日。",
            audience=select(User.id),
            template="broadcast",
            created_by="bench",
        ).id
        db.session.remove()
    mark = len(sandbox.state.sent())
    cpu = children_cpu()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "bot", "delivery", "work", "--worker-id", f"bench{n}"],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        for n in range(workers)
    ]
    report_at = time.monotonic() + 15
    try:
        while True:
            time.sleep(1.0)
            with app.app_context():
                p = delivery.notice_progress(db.session, notice_id)
                db.session.remove()
            if time.monotonic() >= report_at:
                print(f"  {workers} worker(s): sent {p.sent}/{p.total}", flush=True)
                report_at = time.monotonic() + 15
            if p.done:
                break
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    accepted = sandbox.state.sent(api="template_send", accepted=True, after=mark)
    seconds = accepted[-1].at - accepted[0].at if len(accepted) > 1 else float("nan")
    return {
        "sent": p.sent,
        "failed": p.failed,
        "skipped": p.skipped,
        "rate": len(accepted) / seconds,
        # Worker processes' CPU per send, start-up (imports, app) included; PostgreSQL's is not counted.
        "cpu": (children_cpu() - cpu) / max(len(accepted), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=4, help="DELIVERY_CONCURRENCY per worker")
    parser.add_argument("--bare-seconds", type=float, default=15.0)
    args = parser.parse_args()

    config = SandboxConfig(apps={APPID: AppCredentials(SECRET, "oa")}, webhook_token=TOKEN, oa_appid=APPID)
    name, url = create_database()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    results = []
    try:
        with SandboxServer(config) as sandbox:
            env = settings(url, sandbox.url, prefix, args.concurrency)
            print(f"preparing {args.recipients} recipients …", flush=True)
            app = prepare(env, args.recipients, sandbox)
            # The migrations' logging config turns request logs on; at thousands per second they would
            # cost the sandbox more than the requests themselves.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            for workers in args.workers:
                threads = workers * args.concurrency
                # The machine is shared: the sandbox's capacity is measured right before and right after
                # the workers' run, and their mean is the yardstick.
                before, bare_cpu = bare(sandbox.url, threads, args.bare_seconds, args.recipients)
                run = fan_out(app, env, workers, args.recipients, sandbox)
                after, _ = bare(sandbox.url, threads, args.bare_seconds, args.recipients)
                capacity = (before + after) / 2
                run["bare_cpu"] = bare_cpu
                results.append((workers, threads, capacity, run))
                print(
                    f"{workers} worker(s) x {args.concurrency}: {run['rate']:.0f} deliveries/s; bare client "
                    f"with {threads} senders {capacity:.0f}/s; ratio {run['rate'] / capacity:.2f} "
                    f"(sent {run['sent']}, failed {run['failed']}, skipped {run['skipped']})",
                    flush=True,
                )
    finally:
        drop_database(name)
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    print("\nworkers  senders  deliveries/s  bare/s  ratio  worker CPU ms/send  bare client CPU ms/send")
    for workers, threads, capacity, run in results:
        ratio = run["rate"] / capacity
        cpu, bare_cpu = run["cpu"] * 1000, run["bare_cpu"] * 1000
        print(
            f"{workers:>7}  {threads:>7}  {run['rate']:>12.0f}  {capacity:>6.0f}  {ratio:>5.2f}"
            f"  {cpu:>18.2f}  {bare_cpu:>23.2f}"
        )


if __name__ == "__main__":
    main()
