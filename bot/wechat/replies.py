"""Passive replies rendered as WeChat XML, and the AES envelope around them."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from bot.wechat.crypto import MessageCrypto
from bot.wechat.signature import sign

# WeChat does not document a limit for text replies; longer texts are cut into customer-service follow-ups.
MAX_TEXT_BYTES = 2048


def cdata(value: str) -> str:
    # "]]>" would end the section early; split it across two sections instead.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class Reply(ABC):
    """What a handler answers with."""

    __slots__ = ()

    @abstractmethod
    def render(self, to_user: str, from_user: str, now: int) -> str: ...


@dataclass(slots=True)
class Success(Reply):
    """No passive reply: WeChat shows nothing and stops retrying."""

    def render(self, to_user: str, from_user: str, now: int) -> str:
        return "success"


@dataclass(slots=True)
class Text(Reply):
    content: str

    def render(self, to_user: str, from_user: str, now: int) -> str:
        return (
            f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(self.content)}</Content></xml>"
        )


@dataclass(slots=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    image: str = ""


@dataclass(slots=True)
class News(Reply):
    """One article: WeChat answers 45008 to passive news with more."""

    article: Article

    def render(self, to_user: str, from_user: str, now: int) -> str:
        a = self.article
        return (
            f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount>"
            f"<Articles><item><Title>{cdata(a.title)}</Title><Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.image)}</PicUrl><Url>{cdata(a.url)}</Url></item></Articles></xml>"
        )


@dataclass(slots=True)
class TransferToHuman(Reply):
    """Hand the conversation to WeChat's customer-service staff seats."""

    account: str | None = None

    def render(self, to_user: str, from_user: str, now: int) -> str:
        trans = f"<TransInfo><KfAccount>{cdata(self.account)}</KfAccount></TransInfo>" if self.account else ""
        return (
            f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType>"
            f"{trans}</xml>"
        )


@dataclass(slots=True)
class FollowUp(Reply):
    """Answer `success` now and send the result of `work` later as a customer-service message.

    For handlers whose answer needs something slow (a WeChat API call, a content check, fan-out).
    `ack` is an optional immediate passive reply (e.g. 「正在为你查询…」) instead of `success`.
    """

    work: Callable[[], Reply | None]
    ack: Text | None = None

    def render(self, to_user: str, from_user: str, now: int) -> str:
        return self.ack.render(to_user, from_user, now) if self.ack else "success"


def split_text(content: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Cut text into pieces of at most `limit` UTF-8 bytes, preferring line breaks."""
    if len(content.encode()) <= limit:
        return [content]
    parts: list[str] = []
    current = ""
    for line in content.splitlines(keepends=True):
        while len(line.encode()) > limit:
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut -= 1
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = line
        else:
            current += line
    if current:
        parts.append(current)
    return parts


def encrypt_reply(crypto: MessageCrypto, token: str, xml: str, nonce: str | None = None) -> str:
    timestamp = str(int(time.time()))
    nonce = nonce or os.urandom(8).hex()
    encrypted = crypto.encrypt(xml)
    signature = sign(token, timestamp, nonce, encrypted)
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )
