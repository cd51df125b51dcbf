"""The migrations and the models describe the same schema (what `flask db check` asks)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from bot.extensions import db
from services.models import Base, include_in_autogenerate


def test_models_match_the_migrated_schema(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_in_autogenerate})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
