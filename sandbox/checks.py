"""WeChat's checks of a request's content that need no state: message shapes, menus, content security.

Each check returns (errcode, hint) with errcode 0 when the content passes, so endpoints can answer with
WeChat's own code for the first problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Verdict = tuple[int, str | None]
PASS: Verdict = (0, None)

TEXT_LIMIT_BYTES = 2048
SEC_CHECK_LIMIT_CHARS = 2500
MEDIA_TYPES = ("image", "voice", "mpnews", "mpnewsarticle")
OTHER_TYPES = ("video", "music", "msgmenu", "wxcard")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def custom_message(body: Mapping[str, Any]) -> Verdict:
    """The shape of a customer-service message (`msgtype` and its object)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in (
        "text",
        "news",
        "miniprogrampage",
        *MEDIA_TYPES,
        *OTHER_TYPES,
    ):
        return 40008, f"msgtype {msgtype!r}"
    part = body.get(msgtype)
    if not isinstance(part, dict):
        return (44004, None) if msgtype == "text" else (47001, f"{msgtype} object missing")
    if msgtype == "text":
        content = _text(part.get("content"))
        if not content:
            return 44004, None
        if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
            return 45002, f"text is {len(content.encode('utf-8'))} bytes, {TEXT_LIMIT_BYTES} at most"
        return PASS
    if msgtype == "news":
        articles = part.get("articles")
        if not isinstance(articles, list) or not articles:
            return 44003, None
        if len(articles) > 1:
            return 45008, "customer-service news carries 1 article"
        article = articles[0]
        if not isinstance(article, dict) or not _text(article.get("title")) or not _text(article.get("url")):
            return 47001, "article needs title and url"
        return PASS
    if msgtype == "miniprogrampage":
        if not _text(part.get("thumb_media_id")):
            return 40007, "thumb_media_id missing"
        if not _text(part.get("appid")) or not _text(part.get("pagepath")):
            return 47001, "appid and pagepath are required"
        return PASS
    if msgtype in MEDIA_TYPES or msgtype == "video":
        media_id = part.get("media_id") if msgtype != "mpnewsarticle" else part.get("article_id")
        if not _text(media_id):
            return 40007, None
    return PASS


_BUTTON_TYPES = {
    "click": "key",
    "view": "url",
    "miniprogram": "url",
    "scancode_push": "key",
    "scancode_waitmsg": "key",
    "pic_sysphoto": "key",
    "pic_photo_or_album": "key",
    "pic_weixin": "key",
    "location_select": "key",
    "media_id": "media_id",
    "article_id": "article_id",
    "article_view_limited": "article_id",
}


def _button(button: object, sub: bool) -> Verdict:
    # Top-level and sub-button codes differ by a fixed step: 40017 → 40024, 40018 → 40025 …
    step = 7 if sub else 0
    if not isinstance(button, dict):
        return 40017 + step, "button must be an object"
    name = _text(button.get("name"))
    if not name or len(name.encode("utf-8")) > (60 if sub else 16):
        return 40018 + step, f"name {name!r} must be 1..{60 if sub else 16} bytes"
    subs = button.get("sub_button")
    if not sub and isinstance(subs, list) and subs:
        if len(subs) > 5:
            return 40023, "at most 5 sub buttons"
        for child in subs:
            verdict = _button(child, sub=True)
            if verdict[0]:
                return verdict
        return PASS
    kind = button.get("type")
    needs = _BUTTON_TYPES.get(kind) if isinstance(kind, str) else None
    if needs is None:
        return 40017 + step, f"type {kind!r}"
    value = _text(button.get(needs))
    if needs == "key" and (not value or len(value.encode("utf-8")) > 128):
        return 40019 + step, "key must be 1..128 bytes"
    if needs == "url" and (not value or len(value.encode("utf-8")) > 1024):
        return 40020 + step, "url must be 1..1024 bytes"
    if needs in ("media_id", "article_id") and not value:
        return 40007, f"{needs} missing"
    if kind == "miniprogram" and not (_text(button.get("appid")) and _text(button.get("pagepath"))):
        return 47001, "miniprogram button needs appid and pagepath"
    return PASS


def menu(body: Mapping[str, Any]) -> Verdict:
    """A menu for `/cgi-bin/menu/create`: 1..3 buttons, each a leaf or 1..5 sub buttons."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016, "1 to 3 buttons"
    for button in buttons:
        verdict = _button(button, sub=False)
        if verdict[0]:
            return verdict
    return PASS


# msg_sec_check labels: 100 normal, 10001 advertising, 20006 illegal or criminal.
LABELS = {"pass": 100, "review": 10001, "risky": 20006}


def sec_check(content: str, keywords: Mapping[str, list[str]]) -> tuple[str, int, str | None]:
    """(suggest, label, matched keyword): the worst list a keyword of the content is on."""
    folded = content.casefold()
    for suggest in ("risky", "review"):
        for word in keywords.get(suggest, []):
            if word and word.casefold() in folded:
                return suggest, LABELS[suggest], word
    return "pass", LABELS["pass"], None
