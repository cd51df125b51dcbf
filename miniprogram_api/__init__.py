"""The miniprogram's JSON API under `/api/v1`, with its OpenAPI document at `/api/openapi.json`.

Modules: `registry` (the route table and the request pipeline), `schemas` (pydantic models), `errors` (the
one error envelope and the domain-error → HTTP table), `security` (tokens, consent, rate limits), the views
(`auth`, `me`, `traineeships`, `activities`), `present` (models → schemas) and `openapi`.
"""

from __future__ import annotations

from flask import Flask

from miniprogram_api import errors
from miniprogram_api.registry import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    # Importing the view modules fills the route table (once per process).
    from miniprogram_api import (  # noqa: F401
        activities,
        auth,
        matchmaking,
        me,
        openapi,
        subscriptions,
        traineeships,
        wishes,
    )

    errors.init_app(app)
    app.register_blueprint(bp)
