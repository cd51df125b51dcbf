"""Verification, signatures, the three encryption modes and malformed input, through HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.wechat.crypto import MessageCrypto
from bot.wechat.signature import sign
from tests.conftest import AES_KEY, APPID, OLD_AES_KEY, TOKEN, AppFactory
from tests.wechat_factory import WeChatPusher, text_xml

MODES = ["plain", "compatible", "safe"]


def test_get_verification_echoes_echostr(client: Any, wechat: WeChatPusher) -> None:
    resp = client.get("/wechat", query_string={**wechat.query(), "echostr": "8812345"})
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == "8812345"
    assert resp.mimetype == "text/plain"


def test_get_verification_with_bad_signature_is_403(client: Any, wechat: WeChatPusher) -> None:
    query = {**wechat.query(), "echostr": "1"}
    query["signature"] = "0" * 40
    resp = client.get("/wechat", query_string=query)
    assert resp.status_code == 403
    assert "signature" in resp.get_data(as_text=True)


def test_get_without_parameters_is_403(client: Any) -> None:
    assert client.get("/wechat").status_code == 403


@pytest.mark.parametrize("mode", MODES)
def test_text_message_gets_a_reply_in_every_mode(wechat: WeChatPusher, mode: str) -> None:
    reply = wechat.text("你好", openid="o_alice", mode=mode)
    assert reply.status == 200
    assert reply.content_type.startswith("application/xml")
    assert reply.fields["MsgType"] == "text"
    assert reply.fields["ToUserName"] == "o_alice"
    assert reply.fields["FromUserName"] == "gh_test"
    assert "12355" in reply.text


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_post_with_bad_signature_is_403(wechat: WeChatPusher, mode: str) -> None:
    xml = text_xml("你好")
    query = wechat.query()
    query["signature"] = sign("wrong-token", query["timestamp"], query["nonce"])
    if mode == "safe":
        body, encrypted = wechat.envelope(xml)
        query.update(
            encrypt_type="aes", msg_signature=sign(TOKEN, query["timestamp"], query["nonce"], encrypted)
        )
    else:
        body = xml
    assert wechat.post_raw(body, query).status_code == 403


def test_safe_mode_with_bad_msg_signature_is_403(wechat: WeChatPusher) -> None:
    body, _ = wechat.envelope(text_xml("你好"))
    query = {**wechat.query(), "encrypt_type": "aes", "msg_signature": "f" * 40}
    resp = wechat.post_raw(body, query)
    assert resp.status_code == 403
    assert "msg_signature" in resp.get_data(as_text=True)


def test_message_sealed_for_another_appid_is_403(wechat: WeChatPusher) -> None:
    other = MessageCrypto(AES_KEY, "wxsomeoneelse0001")
    reply = wechat.push(text_xml("你好"), mode="safe", crypto=other)
    assert reply.status == 403
    assert "appid" in reply.raw


def test_undecryptable_envelope_is_400(wechat: WeChatPusher) -> None:
    garbage = "bm90IGFuIGVudmVsb3Bl"
    query = {**wechat.query(), "encrypt_type": "aes"}
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], garbage)
    resp = wechat.post_raw(f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>", query)
    assert resp.status_code == 400


def test_encrypted_push_without_configured_key_is_400(make_app: AppFactory) -> None:
    app = make_app(WECHAT_AES_KEY=None)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    reply = pusher.push(text_xml("你好"), mode="safe")
    assert reply.status == 400
    assert "EncodingAESKey" in reply.raw


def test_previous_aes_key_still_opens_messages_during_rotation(make_app: AppFactory) -> None:
    app = make_app(WECHAT_AES_KEY=AES_KEY, WECHAT_PREVIOUS_AES_KEY=OLD_AES_KEY)
    old = MessageCrypto(OLD_AES_KEY, APPID)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    # The reply is sealed with the key that opened the message, so the old key opens it too.
    reply = pusher.push(text_xml("你好"), mode="safe", crypto=old)
    assert reply.status == 200
    assert "12355" in reply.text
    assert pusher.push(text_xml("你好"), mode="safe").status == 200


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_stale_or_future_timestamps_are_refused(wechat: WeChatPusher, age: int) -> None:
    stamp = str(int(time.time()) - age)
    resp = wechat.post_raw(text_xml("你好"), wechat.query(timestamp=stamp))
    assert resp.status_code == 403
    assert "timestamp" in resp.get_data(as_text=True)


def test_timestamp_window_is_configurable(make_app: AppFactory) -> None:
    app = make_app(WEBHOOK_TIMESTAMP_WINDOW_SECONDS=0)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    stamp = str(int(time.time()) - 86400)
    assert pusher.push(text_xml("你好"), timestamp=stamp).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>",
        b"not xml at all",
        b"",
        b"<notxml><a>1</a></notxml>",
        b"<xml><MsgType>text</MsgType></xml>",  # no FromUserName
        b"<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
    ],
)
def test_malformed_bodies_are_400_with_a_message(wechat: WeChatPusher, body: bytes) -> None:
    resp = wechat.post_raw(body, wechat.query())
    assert resp.status_code == 400
    assert resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [
        # External entity (XXE): would read a local file if entities were resolved.
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>",
        # Billion laughs.
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<xml><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&b;</Content></xml>",
        '<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml><MsgType>text</MsgType></xml>',
    ],
)
def test_doctype_and_entities_are_refused(wechat: WeChatPusher, body: str) -> None:
    resp = wechat.post_raw(body, wechat.query())
    assert resp.status_code == 400
    assert "DOCTYPE" in resp.get_data(as_text=True)


def test_doctype_inside_an_encrypted_envelope_is_refused_too(wechat: WeChatPusher) -> None:
    inner = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + text_xml("&x;")
    assert wechat.push(inner, mode="safe").status == 400


def test_oversized_body_is_413(make_app: AppFactory) -> None:
    app = make_app(WEBHOOK_MAX_BODY_BYTES=2048)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    resp = pusher.post_raw(text_xml("长" * 2000), pusher.query())
    assert resp.status_code == 413


def test_reply_escapes_cdata_terminator(wechat: WeChatPusher) -> None:
    # The form in test_forms echoes answers; here the greeting handler is enough to prove the reply parses
    # even though the user's own text contained "]]>".
    reply = wechat.text("你好]]><evil/>", mode="plain")
    assert reply.status == 200
    assert reply.fields["MsgType"] == "text"


def test_user_text_containing_a_declaration_is_just_text(wechat: WeChatPusher) -> None:
    reply = wechat.text("<!DOCTYPE html> 这是什么意思", openid="o_html")
    assert reply.status == 200


def test_non_utf8_body_is_refused(wechat: WeChatPusher) -> None:
    body = ('<?xml version="1.0" encoding="UTF-16"?>' + text_xml("你好")).encode("utf-16")
    resp = wechat.post_raw(body, wechat.query())
    assert resp.status_code == 400
    assert "UTF-8" in resp.get_data(as_text=True)
