"""A stand-in for WeChat's API servers on localhost: issues tokens and records customer-service sends.

Only WeChat's servers are faked; everything of ours runs for real. (The full sandbox comes with issue 3.)
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeWeChat:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.menu: dict[str, Any] | None = None
        self._tokens = itertools.count(1)
        self._valid: set[str] = set()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeWeChat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()

    def wait_for_sends(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.sent) >= count, timeout=timeout)
            return list(self.sent)

    def _app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        body = json.loads(request.get_data() or b"{}")
        if request.path == "/cgi-bin/stable_token":
            with self._lock:
                token = f"tok-{next(self._tokens)}"
                self._valid.add(token)
                self.tokens_issued += 1
            result: dict[str, Any] = {"access_token": token, "expires_in": 7200}
        elif request.path == "/cgi-bin/menu/create":
            if request.args.get("access_token") not in self._valid:
                result = {"errcode": 40001, "errmsg": "invalid credential"}
            else:
                self.menu = body
                result = {"errcode": 0, "errmsg": "ok"}
        elif request.path == "/cgi-bin/message/custom/send":
            if request.args.get("access_token") not in self._valid:
                result = {"errcode": 40001, "errmsg": "invalid credential"}
            else:
                with self._cond:
                    self.sent.append(body)
                    self._cond.notify_all()
                result = {"errcode": 0, "errmsg": "ok"}
        else:
            result = {"errcode": 404, "errmsg": "not found"}
        return Response(json.dumps(result), content_type="application/json")(environ, start_response)
