"""The baseline for bench/webhook.py: the least a Flask app under gunicorn can do for a WeChat push.

`POST /wechat` answers "success" without looking at the request; `/healthz` answers "ok" so the bench can
tell when the server is up. Served as `gunicorn bare_app:app` from the bench/ directory.
"""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


@app.post("/wechat")
def receive() -> Response:
    return Response("success", content_type="text/plain; charset=utf-8")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok", content_type="text/plain; charset=utf-8")
