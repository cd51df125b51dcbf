"""Token fetches and failed calls when two processes call WeChat at once: shared token vs per-process ones.

What it measures
    A sandbox (in this process) stands in for WeChat, with short-lived tokens (--ttl, default 20 s) so that
    several refreshes happen during a run. Two worker processes, each with --threads threads, call
    `user/info` in a loop for --seconds:
      * shared   - the project's OfficialAccountClient: one token per appid in Redis, refreshed ahead of
                   expiry under a Redis lock by one process, the others keep using the current one;
      * naive    - the baseline most code written on bare wechatpy ends up with: each process keeps its own
                   token in memory, fetched with /cgi-bin/token when missing or rejected.
    The two modes run one after the other against fresh sandbox state, so each gets the same machine.
    Reported per mode: token fetches, calls answered, calls refused with a token error (40001/42001) that
    reached the caller, and calls per second; then the ratio shared / naive for throughput.

Needs
    Redis on 127.0.0.1:6379 (keys under a random `bench:<hex>:` prefix, deleted afterwards).

Run
    .venv/bin/python bench/token_sharing.py [--seconds 30] [--threads 8] [--ttl 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox import AppCredentials, SandboxConfig, SandboxServer  # noqa: E402

APPID, SECRET = "wxbenchtoken00001", "bench-secret"
REDIS_URL = "redis://127.0.0.1:6379/0"

WORKER = r"""
import json, sys, threading, time
import requests

mode, base, redis_url, prefix, threads, seconds, openid = sys.argv[1:8]
threads, seconds = int(threads), float(seconds)
counts = {"ok": 0, "token_errors": 0, "other_errors": 0}
lock = threading.Lock()

if mode == "shared":
    from bot import create_app
    from bot.wechat.errors import ErrorKind
    app = create_app(dict(APP_ENV="test", WECHAT_APPID=sys.argv[8], WECHAT_SECRET=sys.argv[9],
                          WECHAT_API_BASE=base, REDIS_URL=redis_url, REDIS_PREFIX=prefix,
                          DATABASE_URL="sqlite://", WECHAT_RATE_LIMITS="*=0", LOG_LEVEL="WARNING",
                          WECHAT_TOKEN_REFRESH_MARGIN_SECONDS=5))
    client = app.extensions["wechat_client"]

    def one():
        result = client.call("user_info", "/cgi-bin/user/info", method="GET", params={"openid": openid})
        return "ok" if result.ok else ("token_errors" if result.kind is ErrorKind.TOKEN else "other_errors")
else:
    session = requests.Session()
    token = {"value": None}
    token_lock = threading.Lock()

    def fetch():
        data = session.get(base + "/cgi-bin/token", params={"grant_type": "client_credential",
                           "appid": sys.argv[8], "secret": sys.argv[9]}, timeout=5).json()
        token["value"] = data["access_token"]

    def one():
        with token_lock:
            if token["value"] is None:
                fetch()
            current = token["value"]
        data = session.get(base + "/cgi-bin/user/info", params={"access_token": current, "openid": openid},
                           timeout=5).json()
        code = data.get("errcode", 0)
        if code in (40001, 42001):
            with token_lock:
                if token["value"] == current:  # a process-local refresh: the usual pattern
                    fetch()
            return "token_errors"
        return "ok" if not code else "other_errors"

def work():
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outcome = one()
        with lock:
            counts[outcome] += 1

pool = [threading.Thread(target=work) for _ in range(threads)]
for t in pool: t.start()
for t in pool: t.join()
print(json.dumps(counts))
"""


def run_mode(mode: str, server: SandboxServer, args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    server.state.reset()
    openid = server.state.add_follower(openid="o_bench_token").openid
    env = {**os.environ, "BOT_ENV_FILE": ""}
    argv = [mode, server.url, REDIS_URL, prefix + mode + ":", str(args.threads), str(args.seconds), openid]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *argv, APPID, SECRET], cwd=ROOT, env=env, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    started = time.monotonic()
    outputs = [p.communicate(timeout=args.seconds + 60)[0] for p in procs]
    elapsed = time.monotonic() - started
    totals = {"ok": 0, "token_errors": 0, "other_errors": 0}
    for out in outputs:
        for key, value in json.loads(out.decode().strip().splitlines()[-1]).items():
            totals[key] += value
    return {**totals, "fetches": server.state.token_fetches(APPID), "rate": totals["ok"] / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--ttl", type=int, default=20, help="token lifetime in the sandbox, seconds")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    config = SandboxConfig(
        apps={APPID: AppCredentials(SECRET, "oa")},
        token_ttl_seconds=args.ttl,
        token_overlap_seconds=min(5, args.ttl // 4),
    )
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    results: dict[str, dict[str, Any]] = {}
    with SandboxServer(config) as server:
        for mode in ("shared", "naive"):
            results[mode] = run_mode(mode, server, args, prefix)
    _cleanup(prefix)

    expected = args.seconds / (args.ttl - 5) + 1
    print(f"2 processes x {args.threads} threads, {args.seconds:.0f} s, token life {args.ttl} s")
    print(f"{'mode':<8} {'fetches':>8} {'calls ok':>9} {'token errors':>13} {'other':>6} {'calls/s':>8}")
    for mode, r in results.items():
        print(
            f"{mode:<8} {r['fetches']:>8} {r['ok']:>9} {r['token_errors']:>13} {r['other_errors']:>6}"
            f" {r['rate']:>8.0f}"
        )
    print(f"shared fetches: {results['shared']['fetches']} (one per token life ≈ {expected:.1f})")
    print(f"throughput ratio shared/naive: {results['shared']['rate'] / results['naive']['rate']:.2f}")


def _cleanup(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
