"""WeChat's SHA-1 signatures over sorted parameters."""

from __future__ import annotations

import hashlib
import hmac


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check(expected: str | None, *parts: str) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(sign(*parts), expected.lower())
