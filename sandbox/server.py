"""The sandbox as a Flask app, and a threaded server for tests, demos and `make run`."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import threading
from types import TracebackType
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.config import SandboxConfig
from sandbox.errcodes import error
from sandbox.state import SandboxState

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/sandbox/"


def current_state() -> SandboxState:
    """The state of the sandbox app handling this request (for blueprints)."""
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def wx_json(data: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer as WeChat sends it: UTF-8, Chinese left readable."""
    body = json.dumps(data, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json; charset=utf-8")


def create_sandbox_app(config: SandboxConfig, state: SandboxState | None = None) -> Flask:
    from sandbox.control import bp as control_bp
    from sandbox.wechat_api import bp as wechat_bp

    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sandbox"] = state or SandboxState(config)
    app.register_blueprint(wechat_bp)
    app.register_blueprint(control_bp)
    # The simulator page is optional: the API sandbox works without it.
    if importlib.util.find_spec("sandbox.simulator") is not None:
        simulator = importlib.import_module("sandbox.simulator")
        if hasattr(simulator, "bp"):
            app.register_blueprint(simulator.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """WeChat answers even unknown URLs and wrong methods with an errcode, never an HTML page."""
        if request.path.startswith(CONTROL_PREFIX):
            return wx_json({"error": exc.description or exc.name}, status=exc.code or 500)
        if exc.code == 405:
            return wx_json(error(43002 if request.method == "GET" else 43001))
        if exc.code == 404:
            return wx_json(error(40066, request.path), status=404)
        return wx_json(error(47001, exc.description), status=exc.code or 400)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        # A bug in the sandbox, not the caller's fault: say so in WeChat's words ("system error", retryable).
        log.exception("sandbox error on %s %s", request.method, request.path)
        if request.path.startswith(CONTROL_PREFIX):
            return wx_json({"error": f"sandbox error: {exc}"}, status=500)
        return wx_json(error(-1), status=500)

    return app


class SandboxServer:
    """The sandbox on a real port in a daemon thread; `port=0` picks a free one."""

    def __init__(
        self,
        config: SandboxConfig,
        state: SandboxState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = state or SandboxState(config)
        self.app = create_sandbox_app(config, self.state)
        self.server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="sandbox", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_port

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
