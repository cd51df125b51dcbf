"""Builds pushes the way WeChat does (signatures, AES envelopes) and opens the replies.

The protocol itself lives in `sandbox/pusher.py`, shared with the chat simulator; this module keeps the
shapes the tests use: a Flask test client or a real socket, and failures as assertion errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from bot.wechat.crypto import MessageCrypto
from sandbox import pusher as protocol
from sandbox.pusher import next_msg_id

if TYPE_CHECKING:
    from sandbox import SandboxServer

__all__ = [
    "Reply",
    "WeChatPusher",
    "event_xml",
    "message_xml",
    "next_msg_id",
    "parse_reply",
    "text_xml",
]

ORIGINAL_ID = "gh_test"


def message_xml(msg_type: str, openid: str = "o_user", create_time: int | None = None, **fields: Any) -> str:
    """Plaintext push XML. `fields` become elements; strings go in CDATA, ints stay bare like WeChat's."""
    return protocol.push_xml(msg_type, openid, ORIGINAL_ID, create_time, fields)


def text_xml(content: str, openid: str = "o_user", msg_id: str | None = None) -> str:
    return protocol.text_push(openid, ORIGINAL_ID, content, msg_id)


def event_xml(event: str, openid: str = "o_user", create_time: int | None = None, **fields: Any) -> str:
    return protocol.event_push(event, openid, ORIGINAL_ID, create_time, **fields)


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
    """Sends pushes to `/wechat` in plaintext, compatible or safe mode, signed with `token`.

    With `sandbox`, each push first does to the sandbox what the user's action does to WeChat: a message,
    click, follow or scan opens the customer-service window, a follow or unfollow changes the follower.
    """

    def __init__(
        self, client: Any, token: str, appid: str, aes_key: str | None, sandbox: SandboxServer | None = None
    ) -> None:
        self.client = client
        self.token = token
        self.appid = appid
        self.crypto = MessageCrypto(aes_key, appid) if aes_key else None
        self.sandbox = sandbox

    def tell_sandbox(self, xml: str) -> None:
        if self.sandbox is None:
            return
        fields = parse_reply(xml)
        openid, msg_type, event = fields["FromUserName"], fields.get("MsgType", ""), fields.get("Event")
        state = self.sandbox.state
        if msg_type == "event" and event == "unsubscribe":
            if state.follower(openid) is not None:
                state.unfollow(openid)
            return
        follower = state.follower(openid)
        if follower is None or (event == "subscribe" and not follower.following):
            state.follow(openid)  # only followers can write to the account
        kind = protocol.window_kind(msg_type, event)
        if kind is not None:
            state.user_interacted(openid, kind)

    def query(self, timestamp: str | None = None, nonce: str | None = None, **extra: str) -> dict[str, str]:
        return protocol.signed_query(self.token, timestamp, nonce, **extra)

    def envelope(
        self, xml: str, compatible: bool = False, crypto: MessageCrypto | None = None
    ) -> tuple[str, str]:
        crypto = crypto or self.crypto
        assert crypto is not None, "no AES key configured for this pusher"
        return protocol.envelope(xml, crypto, ORIGINAL_ID, compatible=compatible)

    def post_raw(self, body: bytes | str, query: dict[str, str]) -> Any:
        return self.client.post(
            "/wechat?" + urlencode(query), data=body if isinstance(body, bytes) else body.encode()
        )

    def push(
        self, xml: str, mode: str = "plain", crypto: MessageCrypto | None = None, **query_extra: str
    ) -> Reply:
        self.tell_sandbox(xml)
        if mode == "plain":
            resp = self.post_raw(xml, self.query(**query_extra))
        else:
            body, encrypted = self.envelope(xml, compatible=(mode == "compatible"), crypto=crypto)
            resp = self.post_raw(
                body, protocol.sealed_query(self.query(**query_extra), self.token, encrypted)
            )
        return self.open_reply(resp, encrypted_mode=(mode != "plain"), crypto=crypto)

    def open_reply(self, resp: Any, encrypted_mode: bool, crypto: MessageCrypto | None = None) -> Reply:
        raw = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
        status = resp.status_code
        ctype = resp.headers.get("Content-Type", "")
        reply = Reply(status, ctype, raw)
        if status != 200 or raw == "success":
            return reply
        if not encrypted_mode:
            reply.fields = parse_reply(raw)
            return reply
        crypto = crypto or self.crypto
        assert crypto is not None
        try:
            reply.raw, reply.fields = protocol.open_reply(raw, self.token, crypto, require_encrypted=True)
        except protocol.ReplyError as exc:
            raise AssertionError(str(exc)) from exc
        return reply

    def text(
        self, content: str, openid: str = "o_user", mode: str = "plain", msg_id: str | None = None
    ) -> Reply:
        return self.push(text_xml(content, openid, msg_id), mode=mode)
