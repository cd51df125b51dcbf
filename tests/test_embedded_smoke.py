"""The newcomer's path: no DATABASE_URL, no REDIS_URL; migrate with the CLI, start the server, chat."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.wechat.signature import sign
from tests.wechat_factory import text_xml

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "bot"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_defaults_migrate_run_and_chat(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "WECHAT_"))}
    env.update(INSTANCE_DIR=str(tmp_path), APP_ENV="development", PYTHONUNBUFFERED="1")
    upgrade = subprocess.run(
        [*FLASK, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "bot.db").exists()

    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*FLASK, "run", "--port", str(port), "--no-reload"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "server did not start:\n" + log_path.read_text()
                time.sleep(0.1)
        assert health.status_code == 200
        checks = health.json()["checks"]
        assert checks["database"]["backend"] == "sqlite" and checks["redis"]["embedded"] is True

        ts, nonce = str(int(time.time())), "smoke"
        query = {"signature": sign("dev-token", ts, nonce), "timestamp": ts, "nonce": nonce}
        reply = requests.post(f"{base}/wechat", params=query, data=text_xml("你好").encode(), timeout=5)
        assert reply.status_code == 200
        assert "12355" in reply.text

        # With the in-process Redis stand-in the message log is written synchronously: nothing to lose.
        with sqlite3.connect(tmp_path / "bot.db") as conn:
            assert conn.execute("SELECT content FROM message_log").fetchall() == [("你好",)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "development only" in log_path.read_text()
