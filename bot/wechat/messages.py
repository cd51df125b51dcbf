"""Parsing pushed XML into one typed message object.

No DOCTYPE gets to the parser, and without a DTD no entity can be declared, so none is ever resolved:
no XXE, no billion laughs. The check runs on the decoded text, so a UTF-16 body cannot hide one, and the
C parser that follows is twice as fast as building a defusedxml parser per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, fromstring

# Events whose List children carry per-template results; wechatpy 1.8.18 does not know them.
SUBSCRIBE_MSG_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


class MalformedMessage(ValueError):
    """The body is not a WeChat push we can read; the webhook answers 400 with this message."""


# "<!" may only open a CDATA section or a comment; anything else is a declaration (DOCTYPE, ENTITY, ...).
_DECLARATION = re.compile(r"<!(?!\[CDATA\[|--)")
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.S)


def parse_xml(body: bytes | str) -> Element:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("body is not UTF-8") from exc
    # Fast path: every "<!" opens a CDATA section or a comment. Otherwise look again outside CDATA,
    # where user text may legitimately contain "<!".
    if body.count("<!") != body.count("<![CDATA[") + body.count("<!--") and _DECLARATION.search(
        _CDATA.sub("", body)
    ):
        raise MalformedMessage("DOCTYPE and entity declarations are not accepted")
    try:
        root = fromstring(body)
    except (ParseError, ValueError) as exc:
        raise MalformedMessage(f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise MalformedMessage("root element must be <xml>")
    return root


def _to_value(el: Element) -> Any:
    children = list(el)
    if not children:
        return el.text or ""
    out: dict[str, Any] = {}
    for child in children:
        value = _to_value(child)
        if child.tag in out:
            existing = out[child.tag]
            if not isinstance(existing, list):
                out[child.tag] = [existing]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


@dataclass(slots=True)
class SubscribeMsgResult:
    template_id: str
    status: str
    popup_scene: str | None = None
    msg_id: str | None = None
    error_code: str | None = None


@dataclass(slots=True)
class InboundMessage:
    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None = None
    content: str | None = None
    event: str | None = None
    event_key: str | None = None
    recognition: str | None = None
    subscribe_msg: list[SubscribeMsgResult] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def dedup_key(self) -> str:
        """MsgId for messages; FromUserName+CreateTime+Event(+EventKey) for events, which have no MsgId."""
        if self.msg_id and not self.is_event:
            return f"m:{self.msg_id}"
        parts = ["e", self.from_user, str(self.create_time), self.event or self.msg_type]
        if self.event_key:
            parts.append(self.event_key)
        return ":".join(parts)

    @property
    def text(self) -> str | None:
        """What the user said: typed text, or a voice message's transcript when WeChat sent one."""
        if self.msg_type == "text":
            return self.content
        if self.msg_type == "voice" and self.recognition:
            return self.recognition
        return None


def _str(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _subscribe_results(fields: dict[str, Any], event: str) -> list[SubscribeMsgResult]:
    container = fields.get(SUBSCRIBE_MSG_EVENTS[event])
    if not isinstance(container, dict):
        return []
    items = container.get("List", [])
    if isinstance(items, dict):
        items = [items]
    results = []
    for item in items:
        if not isinstance(item, dict) or not item.get("TemplateId"):
            continue
        results.append(
            SubscribeMsgResult(
                template_id=str(item["TemplateId"]),
                status=str(item.get("SubscribeStatusString") or item.get("ErrorStatus") or ""),
                popup_scene=_str(item, "PopupScene"),
                msg_id=_str(item, "MsgID"),
                error_code=_str(item, "ErrorCode"),
            )
        )
    return results


def from_element(root: Element) -> InboundMessage:
    fields = _to_value(root)
    if not isinstance(fields, dict):
        raise MalformedMessage("empty <xml> document")
    msg_type = _str(fields, "MsgType")
    from_user = _str(fields, "FromUserName")
    if not msg_type or not from_user:
        raise MalformedMessage("not a WeChat message: MsgType and FromUserName are required")
    raw_time = _str(fields, "CreateTime") or "0"
    try:
        create_time = int(raw_time.strip())
    except ValueError as exc:
        raise MalformedMessage("CreateTime must be an integer") from exc
    msg_type = msg_type.strip().lower()
    event = _str(fields, "Event")
    msg = InboundMessage(
        to_user=_str(fields, "ToUserName") or "",
        from_user=from_user,
        create_time=create_time,
        msg_type=msg_type,
        msg_id=(_str(fields, "MsgId") or _str(fields, "MsgID") or "").strip() or None,
        content=_str(fields, "Content"),
        event=event.strip() if event else None,
        event_key=_str(fields, "EventKey") or None,
        recognition=_str(fields, "Recognition") or None,
        fields=fields,
    )
    if msg.event in SUBSCRIBE_MSG_EVENTS:
        msg.subscribe_msg = _subscribe_results(fields, msg.event)
    return msg


def parse_message(body: bytes | str) -> InboundMessage:
    return from_element(parse_xml(body))
