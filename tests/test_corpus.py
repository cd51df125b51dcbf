"""Every file of the shared WeChat corpus goes through the webhook without a 5xx, plain and safe mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.wechat.crypto import MessageCrypto
from bot.wechat.signature import sign
from tests.conftest import AES_KEY, APPID, CORPUS_DIR, TOKEN, AppFactory
from tests.wechat_factory import WeChatPusher

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"WeChat corpus not found at {CORPUS_DIR}")

FILES = sorted(p for p in (CORPUS_DIR / "xml").rglob("*") if p.is_file() and p.suffix in {".xml", ".txt"})


def _looks_like_a_push(body: str) -> bool:
    return "<MsgType>" in body and "<FromUserName>" in body and "{" not in body


@pytest.fixture(scope="module")
def corpus_files() -> list[Path]:
    assert len(FILES) > 100, "the corpus should hold well over a hundred files"
    return FILES


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_every_corpus_file_is_answered_without_a_5xx(
    make_app: AppFactory, corpus_files: list[Path], mode: str
) -> None:
    app = make_app(WEBHOOK_TIMESTAMP_WINDOW_SECONDS=300)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    statuses: dict[int, int] = {}
    for path in corpus_files:
        body = path.read_text(encoding="utf-8")
        reply = pusher.push(body, mode=mode)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert reply.status < 500, f"{path.name}: {reply.status} {reply.raw[:200]}"
        if _looks_like_a_push(body) and "<!DOCTYPE" not in body:
            assert reply.status == 200, f"{path.name}: {reply.status} {reply.raw[:200]}"
        if reply.status == 200 and not reply.is_success:
            assert reply.fields["MsgType"] in {"text", "news", "transfer_customer_service"}
        if reply.status != 200:
            assert reply.raw, f"{path.name}: a 4xx must say what is wrong"
    assert statuses.get(200, 0) > 80


def test_published_crypto_vector_goes_through_the_webhook(make_app: AppFactory) -> None:
    v = json.loads((CORPUS_DIR / "vectors" / "vectors.json").read_text())["aes_msg_crypto_wecom_vector"]
    dec = v["decrypt"]
    app = make_app(
        WECHAT_TOKEN=v["token"],
        WECHAT_AES_KEY=v["encoding_aes_key"],
        WECHAT_APPID=v["appid_or_corpid"],
        WEBHOOK_TIMESTAMP_WINDOW_SECONDS=0,  # the vector was signed in 2014
    )
    query = {
        "signature": sign(v["token"], dec["timestamp"], dec["nonce"]),
        "timestamp": dec["timestamp"],
        "nonce": dec["nonce"],
        "encrypt_type": "aes",
        "msg_signature": dec["msg_signature"],
    }
    body = (CORPUS_DIR / dec["request_xml_file"]).read_bytes()
    pusher = WeChatPusher(app.test_client(), v["token"], v["appid_or_corpid"], v["encoding_aes_key"])
    reply = pusher.open_reply(pusher.post_raw(body, query), encrypted_mode=True)
    assert reply.status == 200
    # The vector's plaintext is a text message "test" from "messense"; our reply goes back to that user.
    assert reply.fields["ToUserName"] == "messense"
    assert reply.fields["MsgType"] == "text"

    # Tampering with any signed part is refused.
    bad = {**query, "msg_signature": query["msg_signature"][:-1] + "0"}
    assert pusher.post_raw(body, bad).status_code == 403


def test_corpus_encrypted_under_the_wrong_key_is_refused(make_app: AppFactory) -> None:
    app = make_app()
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    stranger = MessageCrypto("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", APPID)
    for path in FILES[:10]:
        reply = pusher.push(path.read_text(encoding="utf-8"), mode="safe", crypto=stranger)
        assert reply.status in (400, 403), path.name
