"""Throughput and latency of `POST /wechat` under gunicorn, against a bare Flask app on the same machine.

What it measures
    Three servers, each gunicorn with 2 gthread workers x 8 threads and keep-alive, on 127.0.0.1:
      * bare flask          - bench/bare_app.py, whose POST /wechat just answers "success" (the ceiling);
      * full (buffered log) - `bot:create_app()` with MESSAGE_LOG_MODE=buffered (log entry goes to Redis);
      * full (sync log)     - the same with MESSAGE_LOG_MODE=sync (one PostgreSQL insert per request).
    wrk (32 connections, 2 threads) replays safe-mode pushes: signed, AES-encrypted text messages saying
    "你好" with a distinct MsgId and FromUserName each, so dedup never short-circuits and the greeting
    handler answers every one with an encrypted text reply. The requests are built with the project's own
    `MessageCrypto` and `sign`, written to files right before each run (timestamps must be fresh) and
    cycled through by bench/wrk_requests.lua, one disjoint slice per wrk thread.

    The servers take turns for several rounds (bare, buffered, sync, bare, ...) so that machine noise hits
    all of them alike; the report gives the median req/s, p50 and p99 per server and the median of the
    per-round ratios to the bare baseline. Each run gets a few seconds of unmeasured warm-up first.

    After each full-app run it waits for the flusher (buffered mode) and checks message_log: exactly one row
    per message the server took (its dedup keys in Redis), and between wrk's 2xx count and the number of
    requests wrk sent. The two wrk counts differ by the requests in flight when wrk's timer ran out (at most
    one per connection), which the server still answers and logs, so the row count is normally 2xx + ~32.
    Any non-2xx answer, socket error, reused MsgId, missing or extra log row, or line in a server log (the
    servers log warnings and errors only) is reported loudly and makes the exit status non-zero.

Needs
    PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; the database `ylb_bench_webhook` is dropped
    and re-created, and left in place afterwards; --database picks another), Redis on 127.0.0.1:6379
    (keys under a random `bench:<hex>:` prefix, deleted afterwards), and wrk (`apt-get install -y wrk`).

Run
    .venv/bin/python bench/webhook.py --duration 10 --rounds 3 [--warmup 3] [--database ylb_bench_webhook]
    make bench                                    # the same with the defaults (installs the venv first)

    The table is printed at the end and saved as JSON in bench/results/webhook-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import psycopg
import redis

from bot.settings import Settings
from bot.wechat.crypto import MessageCrypto
from bot.wechat.signature import sign

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
LUA_SCRIPT = BENCH_DIR / "wrk_requests.lua"

HOST = "127.0.0.1"
PG_ADMIN_DSN = f"host={HOST} port=5432 user=postgres dbname=postgres"
REDIS_URL = f"redis://{HOST}:6379/0"

# Server and load shape (the production settings in gunicorn.conf.py, and WeChat's 5 s patience).
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 8
GUNICORN_KEEPALIVE = 5
WRK_CONNECTIONS = 32
WRK_THREADS = 2
WRK_TIMEOUT = "5s"

# Request files are sized from the fastest rate seen so far (this guess until a server has been measured).
RATE_GUESS = 6000.0
REQUEST_MARGIN = 1.5
MIN_REQUESTS = 5000
# The webhook refuses timestamps older than 300 s; leave room for generating the requests.
MAX_DURATION = 240

BUFFER_KEY = "msglog:buffer"  # bot.message_log.BUFFER, under each server's REDIS_PREFIX
LOG_DRAIN_TIMEOUT = 60.0


def say(*parts: object) -> None:
    print(*parts, flush=True)


def shout(message: str) -> None:
    """A problem the reader must not miss: on stderr, framed."""
    print(f"\n!!! {message} !!!\n", file=sys.stderr, flush=True)


# -- requests -----------------------------------------------------------------------------------------


class PushFactory:
    """Writes signed safe-mode pushes, one per line ("<path>\\t<body>"), into one file per wrk thread."""

    def __init__(self, token: str, appid: str, aes_key: str, openid_prefix: str) -> None:
        self.token = token
        self.openid_prefix = openid_prefix
        self.crypto = MessageCrypto(aes_key, appid)
        # MsgIds unique within this bench run (and, in practice, across runs).
        self._ids = itertools.count(int(time.time() * 1000) * 1000)

    def push(self, msg_id: int, timestamp: str) -> str:
        inner = (
            "<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid_prefix}{msg_id}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[你好]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        encrypted = self.crypto.encrypt(inner)
        nonce = str(secrets.randbelow(10**10))
        path = (
            f"/wechat?signature={sign(self.token, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
            f"&encrypt_type=aes&msg_signature={sign(self.token, timestamp, nonce, encrypted)}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return f"{path}\t{body}\n"

    def write(self, directory: Path, tag: str, count: int) -> str:
        """Write `count` pushes in WRK_THREADS disjoint slices; returns the prefix wrk_requests.lua takes."""
        prefix = str(directory / f"{tag}-")
        timestamp = str(int(time.time()))
        with contextlib.ExitStack() as stack:
            files = [
                stack.enter_context(open(f"{prefix}{k}.txt", "w", encoding="utf-8"))
                for k in range(WRK_THREADS)
            ]
            for n in range(count):
                files[n % WRK_THREADS].write(self.push(next(self._ids), timestamp))
        return prefix


def remove_request_files(prefix: str) -> None:
    for k in range(WRK_THREADS):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{prefix}{k}.txt")


# -- servers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    target: str
    env: dict[str, str]
    log_mode: str | None = None  # MESSAGE_LOG_MODE of the full app; None for the bare baseline
    redis_prefix: str | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """One gunicorn master (in its own session, so Ctrl-C reaches only the bench) and its log file."""

    def __init__(self, spec: ServerSpec, log_dir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"gunicorn-{spec.key}.log"
        self._log: IO[bytes] | None = None
        self._log_offset = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(GUNICORN_WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            str(GUNICORN_THREADS),
            "--keep-alive",
            str(GUNICORN_KEEPALIVE),
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--bind",
            f"{HOST}:{self.port}",
            "--log-level",
            "warning",
            self.spec.target,
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        # cwd=bench/: no gunicorn.conf.py or .env from the project root sneaks in; bare_app imports from here.
        self.proc = subprocess.Popen(
            cmd,
            cwd=BENCH_DIR,
            env=self.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        assert self.proc is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.label} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with opener.open(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.spec.label} did not answer /healthz in {timeout:.0f} s ({last_error})")

    def new_log_lines(self) -> list[str]:
        """Log lines written since the last call: the servers log only warnings and errors."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self._log_offset += len(data)
        return [line for line in data.decode(errors="replace").splitlines() if line.strip()]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)  # gunicorn stops its workers gracefully
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # Our own session: the master and the workers it forked, nothing else.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None


# -- wrk ----------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    round: int  # 0 for the warm-up
    server: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    requests: int
    ok_2xx: int
    non_2xx: int
    socket_errors: dict[str, int]
    sent: int
    loaded: int
    wraps: int
    answers: dict[str, int]  # encrypted XML reply / plain "success" / anything else, among 2xx
    generate_seconds: float
    log_check: dict[str, Any] | None = None
    server_log: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def socket_error_count(self) -> int:
        return sum(self.socket_errors.values())


def run_wrk(url: str, prefix: str, duration: int) -> tuple[dict[str, Any], str]:
    cmd = [
        "wrk",
        f"--threads={WRK_THREADS}",
        f"--connections={WRK_CONNECTIONS}",
        f"--duration={duration}s",
        f"--timeout={WRK_TIMEOUT}",
        "--latency",
        f"--script={LUA_SCRIPT}",
        f"{url}/wechat",
        "--",
        prefix,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT ")), proc.stdout
    raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def to_result(raw: dict[str, Any], round_no: int, server: str, generate_seconds: float) -> RunResult:
    lat = raw["latency_us"]
    errors = {name: int(raw["errors"][name]) for name in ("connect", "read", "write", "timeout")}
    return RunResult(
        round=round_no,
        server=server,
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=lat["mean"] / 1000,
        max_ms=lat["max"] / 1000,
        requests=raw["requests"],
        ok_2xx=raw["requests"] - raw["non2xx"],
        non_2xx=raw["non2xx"],
        socket_errors=errors,
        sent=raw["sent"],
        loaded=raw["loaded"],
        wraps=raw["wraps"],
        answers={"encrypted": raw["encrypted"], "success": raw["success"], "other": raw["other"]},
        generate_seconds=round(generate_seconds, 2),
    )


# -- storage ------------------------------------------------------------------------------------------


def recreate_database(name: str) -> None:
    if "bench" not in name or not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing to drop database {name!r}: the name must contain 'bench'")
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flask_cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bot", *args],
        cwd=BENCH_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


class MessageLogCheck:
    """Checks that every message the server took has exactly one message_log row; resets between runs.

    wrk stops reading at its deadline while up to one request per connection is still in flight, and the
    server finishes (and logs) those too, so the rows can exceed wrk's 2xx count by up to that many. The
    exact count of messages the server took is its dedup keys in Redis (one per MsgId, set in the same
    round trip that buffers the log entry), so the check is: rows == dedup keys, and
    wrk 2xx <= rows <= requests wrk sent.
    """

    def __init__(self, dsn: str, rx: redis.Redis, buffer_keys: list[str], openid_prefix: str) -> None:
        self.dsn = dsn
        self.rx = rx
        self.buffer_keys = buffer_keys
        self.openid_prefix = openid_prefix

    def rows(self) -> int:
        return self.counts()[0]

    def counts(self) -> tuple[int, int]:
        """(rows from this bench's pushes, rows from anyone else writing into the bench database)."""
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE openid LIKE %(p)s),"
                " count(*) FILTER (WHERE openid NOT LIKE %(p)s) FROM message_log",
                {"p": self.openid_prefix + "%"},
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def pending(self) -> int:
        return sum(int(self.rx.llen(key)) for key in self.buffer_keys)  # type: ignore[arg-type]

    def settle(self, timeout: float = LOG_DRAIN_TIMEOUT) -> tuple[int, float, bool]:
        """Wait until the Redis buffers are empty and the row count holds still; (rows, seconds, settled)."""
        start = time.monotonic()
        time.sleep(0.5)  # requests wrk abandoned at its deadline are still finishing
        last = -1
        while True:
            rows, pending = self.rows(), self.pending()
            if pending == 0 and rows == last:
                return rows, time.monotonic() - start, True
            if time.monotonic() - start > timeout:
                return rows, time.monotonic() - start, False
            last = rows
            time.sleep(0.5)

    def reset(self, spec: ServerSpec) -> None:
        _, _, settled = self.settle()
        if not settled:
            raise RuntimeError(f"message log did not settle before truncating ({self.pending()} pending)")
        with psycopg.connect(self.dsn) as conn:
            conn.execute("TRUNCATE message_log RESTART IDENTITY")
        delete_redis_keys(self.rx, f"{spec.redis_prefix}dedup:")

    def verify(self, result: RunResult, spec: ServerSpec) -> dict[str, Any]:
        backlog = self.pending()
        rows, seconds, settled = self.settle()
        check: dict[str, Any] = {
            "backlog_at_end": backlog,
            "settle_seconds": round(seconds, 2),
            "flushed_by": "flusher" if spec.log_mode == "buffered" else "request",
        }
        if not settled:
            check["flushed_by"] = "flask messages flush (the flusher did not drain in time)"
            check["cli"] = flask_cli(spec.env, "messages", "flush")
            rows = self.rows()
            result.problems.append(f"the flusher left {backlog} entries in Redis for {seconds:.0f} s")
        taken = count_redis_keys(self.rx, f"{spec.redis_prefix}dedup:")
        rows, foreign = self.counts()
        check.update(rows=rows, taken=taken, ok_2xx=result.ok_2xx, sent=result.sent, foreign_rows=foreign)
        if foreign:
            result.problems.append(
                f"{foreign} message_log rows from someone else: the bench database is shared"
            )
        if rows == taken and result.ok_2xx <= rows <= result.sent:
            extra = rows - result.ok_2xx
            check["status"] = "ok" if not extra else f"ok (+{extra} after wrk's deadline)"
        else:
            check["status"] = "MISMATCH"
            result.problems.append(
                f"message_log has {rows} rows for {taken} messages the server took "
                f"(wrk: {result.ok_2xx} answered with 2xx, {result.sent} sent)"
            )
        return check


def count_redis_keys(rx: redis.Redis, prefix: str) -> int:
    return sum(1 for _ in rx.scan_iter(match=f"{prefix}*", count=1000))


def delete_redis_keys(rx: redis.Redis, prefix: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in rx.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(rx.delete(*batch))  # type: ignore[arg-type]
            batch.clear()
    if batch:
        deleted += int(rx.delete(*batch))  # type: ignore[arg-type]
    return deleted


# -- the bench ----------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """The caller's environment without anything that would configure the app or gunicorn behind our back."""
    settings_names = set(Settings.model_fields)
    return {
        k: v
        for k, v in os.environ.items()
        if k not in settings_names and not k.startswith(("FLASK_", "GUNICORN_")) and k != "WEB_CONCURRENCY"
    } | {"FLASK_SKIP_DOTENV": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def check_answers(result: RunResult, spec: ServerSpec) -> None:
    if result.non_2xx:
        result.problems.append(f"{result.non_2xx} non-2xx responses")
    if result.socket_error_count:
        result.problems.append(f"socket errors {result.socket_errors}")
    if result.wraps:
        result.problems.append(
            f"wrk ran out of distinct requests ({result.loaded} loaded, {result.sent} sent): MsgIds repeated"
        )
    expected = "success" if spec.log_mode is None else "encrypted"
    unexpected = result.ok_2xx - result.answers[expected]
    if unexpected:
        result.problems.append(f"{unexpected} 2xx answers were not {expected!r} replies: {result.answers}")
    if result.server_log:
        result.problems.append(
            f"{len(result.server_log)} line(s) in the server log, e.g. {result.server_log[0]}"
        )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarise(specs: list[ServerSpec], results: list[RunResult]) -> dict[str, dict[str, Any]]:
    measured = [r for r in results if r.round > 0]
    bare = {r.round: r.rps for r in measured if r.server == "bare"}
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        runs = [r for r in measured if r.server == spec.key]
        ratios = [r.rps / bare[r.round] for r in runs if bare.get(r.round)]
        out[spec.key] = {
            "label": spec.label,
            "rps": median([r.rps for r in runs]),
            "p50_ms": median([r.p50_ms for r in runs]),
            "p99_ms": median([r.p99_ms for r in runs]),
            "x_bare": median(ratios),
            "rps_per_round": [round(r.rps, 1) for r in runs],
            "ratio_per_round": [round(x, 3) for x in ratios],
            "requests": sum(r.requests for r in runs),
            "non_2xx": sum(r.non_2xx for r in runs),
            "socket_errors": sum(r.socket_error_count for r in runs),
            "log_checks": [r.log_check["status"] for r in runs if r.log_check],
        }
    return out


def table(summary: dict[str, dict[str, Any]]) -> str:
    header = (
        f"{'server':<21}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}{'errors':>8}  {'log rows':<10}"
    )
    lines = [header + "req/s per round"]
    for row in summary.values():
        errors = row["non_2xx"] + row["socket_errors"]
        checks = row["log_checks"]
        log = "-" if not checks else "ok" if all(c.startswith("ok") for c in checks) else "MISMATCH"
        per_round = " / ".join(f"{x:.0f}" for x in row["rps_per_round"])
        lines.append(
            f"{row['label']:<21}{row['rps']:>8.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['x_bare']:>8.2f}{errors:>8}  {log:<10}{per_round}"
        )
    return "\n".join(lines)


def git_state() -> dict[str, str]:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": str(bool(git("status", "--porcelain")))}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first")
    parser.add_argument(
        "--database", default="ylb_bench_webhook", help="PostgreSQL database to drop and re-create"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be 1..{MAX_DURATION} (pushes older than 300 s are refused)")
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup not negative")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with:\n    apt-get install -y wrk", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    started = time.monotonic()
    started_at = datetime.now()
    token = "bench" + secrets.token_hex(8)
    appid = "wx" + secrets.token_hex(8)
    aes_key = new_aes_key()
    run_id = secrets.token_hex(4)
    prefix = f"bench:{run_id}:"
    openid_prefix = f"o-bench-{run_id}-"  # tells this run's message_log rows from anyone else's
    database_url = f"postgresql+psycopg://postgres@{HOST}/{args.database}"
    pg_dsn = f"host={HOST} port=5432 user=postgres dbname={args.database}"

    env = base_env()
    app_env = env | {
        "APP_ENV": "development",
        "WECHAT_TOKEN": token,
        "WECHAT_APPID": appid,
        "WECHAT_AES_KEY": aes_key,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    specs = [
        ServerSpec("bare", "bare flask", "bare_app:app", env),
        *(
            ServerSpec(
                mode,
                f"full ({mode} log)",
                "bot:create_app()",
                app_env | {"MESSAGE_LOG_MODE": mode, "REDIS_PREFIX": f"{prefix}{mode}:"},
                log_mode=mode,
                redis_prefix=f"{prefix}{mode}:",
            )
            for mode in ("buffered", "sync")
        ),
    ]

    rx = redis.Redis.from_url(REDIS_URL)
    rx.ping()
    workdir = Path(tempfile.mkdtemp(prefix="ylb-bench-"))
    servers: list[Server] = []
    results: list[RunResult] = []
    try:
        say(f"database {args.database}: drop, create, migrate")
        recreate_database(args.database)
        flask_cli(app_env | {"REDIS_PREFIX": prefix}, "db", "upgrade")
        buffers = [f"{s.redis_prefix}{BUFFER_KEY}" for s in specs if s.log_mode == "buffered"]
        log_check = MessageLogCheck(pg_dsn, rx, buffers, openid_prefix)

        servers = [Server(spec, workdir) for spec in specs]
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
            say(f"{server.spec.label:<21} up on {server.url} (log {server.log_path})")

        factory = PushFactory(token, appid, aes_key, openid_prefix)
        best_rate: dict[str, float] = {}
        schedule = [(0, s) for s in servers if args.warmup] + [
            (r, s) for r in range(1, args.rounds + 1) for s in servers
        ]
        for round_no, server in schedule:
            spec = server.spec
            duration = args.duration if round_no else args.warmup
            # Never below the guess: one slow round (machine noise) must not starve the next of requests.
            rate = max([RATE_GUESS, *best_rate.values()])
            count = max(MIN_REQUESTS, math.ceil(rate * duration * REQUEST_MARGIN))
            if server.proc is None or server.proc.poll() is not None:
                raise RuntimeError(f"{spec.label} is no longer running:\n{server.log_tail()}")
            if spec.log_mode:
                log_check.reset(spec)
            t0 = time.monotonic()
            req_prefix = factory.write(workdir, f"{spec.key}-{round_no}", count)
            generated = time.monotonic() - t0
            try:
                raw, _ = run_wrk(server.url, req_prefix, duration)
            finally:
                remove_request_files(req_prefix)
            result = to_result(raw, round_no, spec.key, generated)
            best_rate[spec.key] = max(best_rate.get(spec.key, 0.0), result.rps)
            if spec.log_mode:
                result.log_check = log_check.verify(result, spec)
            result.server_log = server.new_log_lines()
            check_answers(result, spec)
            results.append(result)

            name = "warm-up" if round_no == 0 else f"round {round_no}/{args.rounds}"
            logged = f"  log: {result.log_check['status']}" if result.log_check else ""
            say(
                f"{name:<11} {spec.label:<21} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                f"p99 {result.p99_ms:7.2f} ms  {result.requests} answered of {result.loaded} loaded{logged}"
            )
            for problem in result.problems:
                shout(f"{spec.label}, {name}: {problem}")
    except KeyboardInterrupt:
        shout("interrupted; stopping the servers")
        return 130
    except (RuntimeError, subprocess.SubprocessError, psycopg.Error, redis.RedisError) as exc:
        shout(f"bench aborted: {exc}")
        return 1
    finally:
        for server in servers:
            server.stop()
        with contextlib.suppress(redis.RedisError):
            say(f"deleted {delete_redis_keys(rx, prefix)} Redis keys under {prefix}")
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(specs, results)
    total = time.monotonic() - started
    problems = [f"{r.server} round {r.round}: {p}" for r in results for p in r.problems]
    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "total_seconds": round(total, 1),
        "config": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "gunicorn": f"{GUNICORN_WORKERS} workers, gthread x {GUNICORN_THREADS}, keep-alive "
            f"{GUNICORN_KEEPALIVE}s",
            "wrk": f"{WRK_THREADS} threads, {WRK_CONNECTIONS} connections, timeout {WRK_TIMEOUT}",
            "database": args.database,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            **git_state(),
        },
        "summary": summary,
        "runs": [asdict(r) for r in results],
        "problems": problems,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"webhook-{started_at:%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    say(
        f"\n{args.rounds} round(s) x {args.duration} s, {WRK_CONNECTIONS} connections; "
        "medians over rounds, 'x bare' = median of per-round req/s ratios\n"
    )
    say(table(summary))
    say(f"\nresults: {out.relative_to(ROOT)}   total time {total:.0f} s")
    if problems:
        shout(f"{len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
