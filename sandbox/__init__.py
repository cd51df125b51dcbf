"""A stand-in for WeChat's servers on localhost: same endpoints, shapes and error codes (see README.md)."""

from __future__ import annotations

from sandbox.config import AppCredentials, SandboxConfig
from sandbox.server import SandboxServer, create_sandbox_app, current_state
from sandbox.state import SandboxState

__all__ = [
    "AppCredentials",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
    "current_state",
]
