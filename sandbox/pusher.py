"""Pushes as WeChat sends them to an Official Account's webhook, and the replies they get.

The pure helpers (XML, signed query, AES envelope, opening a reply) are shared with the tests'
`tests/wechat_factory.py`; `WebhookPusher` posts over HTTP for the simulator and never raises for network
trouble, because the simulator has to show what a user would see instead.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree

import requests

from bot.wechat.crypto import CryptoError, MessageCrypto
from bot.wechat.limits import WINDOW_EVENTS
from bot.wechat.replies import cdata
from bot.wechat.signature import sign

Mode = Literal["plain", "compatible", "safe"]
MODES: tuple[Mode, ...] = ("plain", "compatible", "safe")
# WeChat drops the connection after 5 s and counts the try as failed.
WECHAT_DEADLINE_SECONDS = 5.0

_ids = itertools.count(int(time.time() * 1000) % 10**12)


def next_msg_id() -> str:
    """MsgIds are unique per account; a process-wide counter seeded from the clock is enough locally."""
    return str(next(_ids))


class RawXML(str):
    """A field value that is already XML (nested elements such as SubscribeMsgPopupEvent)."""


def push_xml(
    msg_type: str,
    openid: str,
    original_id: str,
    create_time: int | None = None,
    fields: Mapping[str, Any] | None = None,
) -> str:
    """Plaintext push XML. Strings go in CDATA, ints stay bare (as WeChat sends CreateTime, MsgId…)."""
    parts = [
        f"<ToUserName>{cdata(original_id)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for name, value in (fields or {}).items():
        if value is None:
            continue
        inner = str(value) if isinstance(value, RawXML | int) else cdata(str(value))
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_push(openid: str, original_id: str, content: str, msg_id: str | None = None) -> str:
    return push_xml(
        "text", openid, original_id, fields={"Content": content, "MsgId": msg_id or next_msg_id()}
    )


def event_push(
    event: str, openid: str, original_id: str, create_time: int | None = None, **fields: Any
) -> str:
    return push_xml("event", openid, original_id, create_time, {"Event": event, **fields})


def subscribe_push(openid: str, original_id: str, scene: str | None = None) -> str:
    """A follow; from a parameter QR code WeChat adds `EventKey=qrscene_<scene>` (and a Ticket)."""
    if scene is None:
        return event_push("subscribe", openid, original_id)
    return event_push("subscribe", openid, original_id, EventKey=f"qrscene_{scene}", Ticket=f"sim_{scene}")


def unsubscribe_push(openid: str, original_id: str) -> str:
    return event_push("unsubscribe", openid, original_id)


def click_push(openid: str, original_id: str, key: str) -> str:
    return event_push("CLICK", openid, original_id, EventKey=key)


def view_push(openid: str, original_id: str, url: str, menu_id: str | None = None) -> str:
    return event_push("VIEW", openid, original_id, EventKey=url, MenuId=menu_id)


def subscribe_popup_push(
    openid: str, original_id: str, decisions: Iterable[tuple[str, str]], popup_scene: int = 2
) -> str:
    """`subscribe_msg_popup_event`: one <List> per template the user decided on (accept / reject)."""
    items = "".join(
        f"<List><TemplateId>{cdata(template_id)}</TemplateId>"
        f"<SubscribeStatusString>{cdata(status)}</SubscribeStatusString>"
        f"<PopupScene>{popup_scene}</PopupScene></List>"
        for template_id, status in decisions
    )
    return event_push("subscribe_msg_popup_event", openid, original_id, SubscribeMsgPopupEvent=RawXML(items))


def window_kind(msg_type: str, event: str | None = None) -> Literal["message", "event"] | None:
    """Which customer-service window a push opens, as `SandboxState.user_interacted` takes it."""
    if msg_type != "event":
        return "message"
    return "event" if event in WINDOW_EVENTS else None


def signed_query(
    token: str, timestamp: str | None = None, nonce: str | None = None, **extra: str
) -> dict[str, str]:
    """The query string WeChat puts on every push: `signature = sha1(sorted(token, timestamp, nonce))`."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or os.urandom(4).hex()
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def envelope(xml: str, crypto: MessageCrypto, original_id: str, compatible: bool = False) -> tuple[str, str]:
    """(body, Encrypt). Safe mode sends only ToUserName + Encrypt; compatible mode adds Encrypt to the
    plaintext fields."""
    encrypted = crypto.encrypt(xml)
    if compatible:
        return xml.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>"), encrypted
    body = f"<xml><ToUserName>{cdata(original_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    return body, encrypted


def sealed_query(query: dict[str, str], token: str, encrypted: str) -> dict[str, str]:
    """Add what encrypted pushes carry on top of the plain signature."""
    msg_signature = sign(token, query["timestamp"], query["nonce"], encrypted)
    return {**query, "encrypt_type": "aes", "msg_signature": msg_signature}


class ReplyError(ValueError):
    """The webhook's answer is not what WeChat would accept (bad XML, signature or envelope)."""


def parse_fields(xml: str) -> dict[str, str]:
    """Top-level elements as text (a news reply's <Articles> is flattened by `reply_articles`)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise ReplyError(f"reply is not XML: {exc}") from exc
    return {child.tag: (child.text or "") for child in root}


def reply_articles(xml: str) -> list[dict[str, str]]:
    """The <item>s of a news reply, each as {Title, Description, PicUrl, Url}."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return []
    return [{child.tag: (child.text or "") for child in item} for item in root.iterfind("Articles/item")]


def open_reply(
    raw: str, token: str, crypto: MessageCrypto | None = None, require_encrypted: bool = False
) -> tuple[str, dict[str, str]]:
    """(inner XML, its fields). An envelope is verified (MsgSignature) and opened with `crypto`."""
    outer = parse_fields(raw)
    if "Encrypt" not in outer:
        if require_encrypted:
            raise ReplyError("safe mode needs an encrypted reply but it came in plaintext")
        return raw, outer
    if crypto is None:
        raise ReplyError("the reply is encrypted but no EncodingAESKey is configured")
    missing = [name for name in ("MsgSignature", "TimeStamp", "Nonce") if name not in outer]
    if missing:
        raise ReplyError("encrypted reply lacks " + ", ".join(missing))
    expected = sign(token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
    if outer["MsgSignature"] != expected:
        raise ReplyError("reply MsgSignature does not verify")
    try:
        inner = crypto.decrypt(outer["Encrypt"])
    except CryptoError as exc:
        raise ReplyError(f"reply envelope cannot be opened: {exc}") from exc
    return inner, parse_fields(inner)


def is_no_reply(raw: str) -> bool:
    """`success` or an empty body: WeChat shows nothing and stops retrying."""
    return raw.strip() in ("", "success")


@dataclass
class PushResult:
    status: int  # 0 when no HTTP answer came back
    raw: str  # the reply as the user's client would get it: decrypted XML, or "success" / ""
    fields: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    error: str | None = None
    articles: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 1

    @property
    def is_success(self) -> bool:
        """No passive reply (and no error)."""
        return self.error is None and is_no_reply(self.raw)


class WebhookPusher:
    """Posts pushes to an Official Account's webhook the way WeChat does and opens the answers."""

    def __init__(
        self,
        url: str,
        token: str,
        appid: str,
        aes_key: str | None,
        original_id: str,
        mode: Mode | None = None,
        session: requests.Session | None = None,
        timeout: float = WECHAT_DEADLINE_SECONDS,
        attempts: int = 1,
    ) -> None:
        """`attempts` > 1 resends a timed-out or refused push like WeChat's retries (3 in all)."""
        self.url = url
        self.token = token
        self.original_id = original_id
        self.mode: Mode = mode or ("safe" if aes_key else "plain")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if self.mode != "plain" and not aes_key:
            raise ValueError(f"{self.mode} mode needs an EncodingAESKey")
        self.crypto = MessageCrypto(aes_key, appid) if aes_key else None
        self.session = session or requests.Session()
        self.timeout = timeout
        self.attempts = max(1, attempts)

    def request(self, xml: str) -> tuple[str, dict[str, str]]:
        """(body, query) for one try; each try is signed afresh, as WeChat's retries are."""
        query = signed_query(self.token)
        if self.mode == "plain":
            return xml, query
        assert self.crypto is not None
        body, encrypted = envelope(xml, self.crypto, self.original_id, compatible=self.mode == "compatible")
        return body, sealed_query(query, self.token, encrypted)

    def push(self, xml: str) -> PushResult:
        started = time.perf_counter()
        result = PushResult(0, "")
        for attempt in range(1, self.attempts + 1):
            result = self._try(xml)
            result.attempts = attempt
            if result.status:  # an HTTP answer, good or bad, ends WeChat's retries
                break
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        return result

    def _try(self, xml: str) -> PushResult:
        body, query = self.request(xml)
        try:
            resp = self.session.post(
                self.url,
                params=query,
                data=body.encode(),
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=self.timeout,
            )
        except requests.Timeout:
            return PushResult(0, "", error=f"no answer within {self.timeout:g} s (timed out)")
        except requests.ConnectionError as exc:
            return PushResult(0, "", error=f"cannot connect to {self.url}: {_reason(exc)}")
        except requests.RequestException as exc:
            return PushResult(0, "", error=f"request failed: {exc}")
        raw = resp.text
        if resp.status_code != 200:
            return PushResult(resp.status_code, raw, error=f"HTTP {resp.status_code}: {raw[:200]}")
        if is_no_reply(raw):
            return PushResult(200, raw)
        try:
            inner, fields = open_reply(raw, self.token, self.crypto, require_encrypted=self.mode == "safe")
        except ReplyError as exc:
            return PushResult(200, raw, error=str(exc))
        return PushResult(200, inner, fields, articles=reply_articles(inner))


def _reason(exc: BaseException) -> str:
    # requests wraps urllib3 wraps the socket error; the innermost message is the readable one.
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return str(exc) or type(exc).__name__
