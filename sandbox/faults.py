"""Fault injection: make an endpoint slow, fail with a WeChat error code, or drop the connection.

Faults live on the state (`SandboxState.set_fault`) keyed by endpoint name or "*"; an endpoint's own fault
wins over "*". Each endpoint takes its fault before doing anything else (even before checking the token), so
a fault on `token`/`stable_token` hits token fetches and a fault on a send hits every try of that send.
"""

from __future__ import annotations

import contextlib
import copy
import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import Response, request

ENDPOINTS = (
    "token",
    "stable_token",
    "custom_send",
    "typing",
    "template_send",
    "bizsend",
    "subscribe_send",
    "jscode2session",
    "getuserphonenumber",
    "msg_sec_check",
    "menu_create",
    "menu_get",
    "user_info",
)
ANY = "*"


@dataclass
class Fault:
    """What to do to the next calls. `times` None: until cleared; otherwise the fault goes after that many."""

    errcode: int | None = None
    latency_ms: int = 0
    drop: bool = False
    times: int | None = None

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (leave it out for a fault until cleared)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    """The faults in force, mixed into `SandboxState` (which provides `lock` and `_faults`)."""

    lock: threading.RLock
    _faults: dict[str, Fault]

    def set_fault(self, endpoint: str, fault: Fault) -> None:
        with self.lock:
            self._faults[check_endpoint(endpoint)] = fault

    def clear_faults(self, endpoint: str | None = None) -> int:
        with self.lock:
            if endpoint is None:
                count = len(self._faults)
                self._faults.clear()
                return count
            return 1 if self._faults.pop(endpoint, None) else 0

    def faults(self) -> dict[str, Fault]:
        with self.lock:
            return {name: copy.copy(f) for name, f in self._faults.items()}

    def take_fault(self, endpoint: str) -> Fault | None:
        """The fault for this call (the endpoint's own before "*"), counting down its `times`."""
        with self.lock:
            name = endpoint if endpoint in self._faults else ANY
            fault = self._faults.get(name)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[name]
            return copy.copy(fault)


def check_endpoint(endpoint: str) -> str:
    if endpoint != ANY and endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)} or *")
    return endpoint


def delay(fault: Fault) -> None:
    # Real time, not the sandbox clock: the point is to make the client wait.
    if fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)


def drop_connection() -> Response:
    """Close the TCP connection without an answer, as a network failure or a WeChat timeout would.

    werkzeug's server still tries to write the returned response; the write hits the shut-down socket and
    werkzeug treats that as a dropped connection (no log noise, no answer). Outside werkzeug's server there is
    no socket to close, so the best stand-in is an empty 502.
    """
    sock = request.environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return Response(b"", status=502)
    with contextlib.suppress(OSError):  # the client went away first: dropped either way
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    return Response(b"", status=502)
