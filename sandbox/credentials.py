"""Token and code rules of `SandboxState`, kept apart for size (mixed into the state, sharing its lock).

Token rules, as WeChat's:
- `/cgi-bin/token` always issues a new token; the previous one keeps `token_overlap_seconds` of life (at
  most), then answers 40001.
- `/cgi-bin/stable_token` without force hands back the current token while it has more than the overlap
  left, else a new one (the old one keeps its remaining life); with force it issues a new one and cuts the old
  one to the overlap.
- A token past its natural end answers 42001; an unknown one 40001.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from sandbox.config import SandboxConfig
from sandbox.records import LoginCode, PhoneCode, Token, new_openid


class _Shared:
    # Provided by SandboxState.
    config: SandboxConfig
    lock: threading.RLock
    now: Callable[[], float]


class TokenRules(_Shared):
    _tokens: dict[str, Token]
    _current_token: dict[str, str]
    _fetches: Counter[str]

    def check_secret(self, appid: str, secret: str) -> int:
        """0, or WeChat's refusal of these credentials (40013 unknown appid, 40125 wrong secret)."""
        app = self.config.apps.get(appid)
        if app is None:
            return 40013
        return 0 if secrets.compare_digest(app.secret.encode(), secret.encode()) else 40125

    def fetch_token(self, appid: str, *, stable: bool, force_refresh: bool = False) -> Token:
        """A token for an app whose secret was checked; counts as a fetch (see `token_fetches`)."""
        with self.lock:
            now, overlap = self.now(), self.config.token_overlap_seconds
            current = self._tokens.get(self._current_token.get(appid, ""))
            reuse = stable and not force_refresh and current is not None
            if reuse and current is not None and current.expires_at - now > overlap:
                token = current
            else:
                rotate = not stable or force_refresh
                if current is not None and rotate and current.expires_at > now:
                    current.expires_at = min(current.expires_at, now + overlap)
                    current.superseded = True
                token = Token(secrets.token_urlsafe(96), appid, now, now + self.config.token_ttl_seconds)
                self._tokens[token.token] = token
                self._current_token[appid] = token.token
            self._fetches[appid] += 1
            return replace(token)

    def check_token(self, token: str) -> tuple[int, str]:
        """(0, appid) for a live token, else (41001 | 40001 | 42001, appid or "")."""
        if not token:
            return 41001, ""
        with self.lock:
            found = self._tokens.get(token)
            if found is None:
                return 40001, ""
            if self.now() >= found.expires_at:
                return (40001 if found.superseded else 42001), found.appid
            return 0, found.appid

    def token_appid(self, token: str) -> str:
        with self.lock:
            found = self._tokens.get(token)
            return found.appid if found else ""

    def token_fetches(self, appid: str | None = None) -> int:
        """Successful token and stable_token calls, for one app or all."""
        with self.lock:
            return self._fetches[appid] if appid is not None else sum(self._fetches.values())

    def expire_tokens(self, appid: str | None = None) -> int:
        """Make the tokens of one app (or all) expire now: they answer 42001. Returns how many were live."""
        with self.lock:
            now, count = self.now(), 0
            for token in self._tokens.values():
                if (appid is None or token.appid == appid) and token.expires_at > now:
                    token.expires_at = now
                    count += 1
            return count


class CodeRules(_Shared):
    _login_codes: dict[str, LoginCode]
    _phone_codes: dict[str, PhoneCode]

    def issue_login_code(
        self, appid: str, openid: str | None = None, unionid: str | None = None
    ) -> tuple[str, str]:
        """A `wx.login` code: single use, `login_code_ttl_seconds` long. Returns (code, openid)."""
        with self.lock:
            openid = openid or new_openid()
            code = secrets.token_hex(16)
            expires = self.now() + self.config.login_code_ttl_seconds
            self._login_codes[code] = LoginCode(code, appid, openid, unionid, expires)
            return code, openid

    def redeem_login_code(self, appid: str, code: str) -> tuple[int, LoginCode | None]:
        """(0, code) once; then 40163. Unknown, expired or another app's code: 40029."""
        with self.lock:
            found = self._login_codes.get(code)
            if found is None or found.appid != appid or self.now() >= found.expires_at:
                return 40029, None
            if found.used:
                return 40163, None
            found.used = True
            return 0, replace(found)

    def issue_phone_code(self, phone: str) -> str:
        """A `getPhoneNumber` code for this number: single use, same life as a login code."""
        with self.lock:
            code = secrets.token_hex(16)
            expires = self.now() + self.config.login_code_ttl_seconds
            self._phone_codes[code] = PhoneCode(code, phone, expires)
            return code

    def redeem_phone_code(self, code: str) -> str | None:
        """The phone number for a code, or None (WeChat answers 40029 for unknown and used alike)."""
        with self.lock:
            found = self._phone_codes.get(code)
            if found is None or found.used or self.now() >= found.expires_at:
                return None
            found.used = True
            return found.phone
