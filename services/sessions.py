"""The miniprogram's login sessions: our own opaque bearer tokens, never WeChat's `session_key`.

A token is shown to the client once, when it is created; the database keeps only its SHA-256 hash, so a
leaked database row cannot be replayed. Sessions expire (`API_SESSION_TTL_SECONDS`) and can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.models import ApiSession, User

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once; only its hash is stored
    expires_at: datetime
    session_id: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; everything stored here is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def create_session(
    session: Session, user: User, ttl_seconds: int, now: datetime | None = None
) -> IssuedToken:
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiSession(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    try:
        session.add(row)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return IssuedToken(token=token, expires_at=_utc(row.expires_at), session_id=row.id)


def lookup(session: Session, token: str, now: datetime | None = None) -> tuple[ApiSession, User] | None:
    """The live session and its user for a token; None when unknown, expired or revoked."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    row = session.scalar(select(ApiSession).where(ApiSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or _utc(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None:
        return None
    return row, user


def revoke(session: Session, token: str, now: datetime | None = None) -> bool:
    """Ends one session; True when a live session was revoked."""
    now = now or datetime.now(UTC)
    try:
        result = session.execute(
            update(ApiSession)
            .where(ApiSession.token_hash == hash_token(token), ApiSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_all(session: Session, user: User, now: datetime | None = None) -> int:
    """Ends every session of a user (e.g. after erasure or on a security concern)."""
    now = now or datetime.now(UTC)
    try:
        result = session.execute(
            update(ApiSession)
            .where(ApiSession.user_id == user.id, ApiSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return int(result.rowcount)  # type: ignore[attr-defined]
