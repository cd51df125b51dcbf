"""Builds pushes the way WeChat does (signatures, AES envelopes) and opens the replies."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from bot.wechat.crypto import MessageCrypto
from bot.wechat.replies import cdata
from bot.wechat.signature import sign

_ids = itertools.count(int(time.time() * 1000) % 10**12)


def next_msg_id() -> str:
    return str(next(_ids))


def message_xml(msg_type: str, openid: str = "o_user", create_time: int | None = None, **fields: Any) -> str:
    """Plaintext push XML. `fields` become elements; strings go in CDATA, ints stay bare like WeChat's."""
    parts = [
        f"<ToUserName>{cdata('gh_test')}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        if value is None:
            continue
        parts.append(f"<{name}>{value if isinstance(value, int) else cdata(str(value))}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(content: str, openid: str = "o_user", msg_id: str | None = None) -> str:
    return message_xml("text", openid, Content=content, MsgId=msg_id or next_msg_id())


def event_xml(event: str, openid: str = "o_user", create_time: int | None = None, **fields: Any) -> str:
    return message_xml("event", openid, create_time, Event=event, **fields)


@dataclass
class Reply:
    status: int
    content_type: str
    raw: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def is_success(self) -> bool:
        return self.raw == "success"

    @property
    def text(self) -> str:
        return self.fields.get("Content", "")


def parse_reply(xml: str) -> dict[str, str]:
    root = ElementTree.fromstring(xml)
    return {child.tag: (child.text or "") for child in root}


class WeChatPusher:
    """Sends pushes to `/wechat` in plaintext, compatible or safe mode, signed with `token`."""

    def __init__(self, client: Any, token: str, appid: str, aes_key: str | None) -> None:
        self.client = client
        self.token = token
        self.appid = appid
        self.crypto = MessageCrypto(aes_key, appid) if aes_key else None

    def query(self, timestamp: str | None = None, nonce: str | None = None, **extra: str) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or os.urandom(4).hex()
        return {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            **extra,
        }

    def envelope(
        self, xml: str, compatible: bool = False, crypto: MessageCrypto | None = None
    ) -> tuple[str, str]:
        crypto = crypto or self.crypto
        assert crypto is not None, "no AES key configured for this pusher"
        encrypted = crypto.encrypt(xml)
        if compatible:
            body = xml.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")
        else:
            body = (
                f"<xml><ToUserName>{cdata('gh_test')}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
            )
        return body, encrypted

    def post_raw(self, body: bytes | str, query: dict[str, str]) -> Any:
        return self.client.post(
            "/wechat?" + urlencode(query), data=body if isinstance(body, bytes) else body.encode()
        )

    def push(
        self, xml: str, mode: str = "plain", crypto: MessageCrypto | None = None, **query_extra: str
    ) -> Reply:
        if mode == "plain":
            resp = self.post_raw(xml, self.query(**query_extra))
        else:
            body, encrypted = self.envelope(xml, compatible=(mode == "compatible"), crypto=crypto)
            q = self.query(**query_extra)
            q["encrypt_type"] = "aes"
            q["msg_signature"] = sign(self.token, q["timestamp"], q["nonce"], encrypted)
            resp = self.post_raw(body, q)
        return self.open_reply(resp, encrypted_mode=(mode != "plain"), crypto=crypto)

    def open_reply(self, resp: Any, encrypted_mode: bool, crypto: MessageCrypto | None = None) -> Reply:
        raw = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
        status = resp.status_code
        ctype = resp.headers.get("Content-Type", "")
        reply = Reply(status, ctype, raw)
        if status != 200 or raw == "success":
            return reply
        outer = parse_reply(raw)
        if encrypted_mode:
            crypto = crypto or self.crypto
            assert crypto is not None
            expected = sign(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
            assert outer["MsgSignature"] == expected, "reply MsgSignature does not verify"
            inner = crypto.decrypt(outer["Encrypt"])
            reply.raw = inner
            reply.fields = parse_reply(inner)
        else:
            reply.fields = outer
        return reply

    def text(
        self, content: str, openid: str = "o_user", mode: str = "plain", msg_id: str | None = None
    ) -> Reply:
        return self.push(text_xml(content, openid, msg_id), mode=mode)
