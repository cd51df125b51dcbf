"""Parsing and crypto against the known vectors and the three events wechatpy 1.8.18 does not know."""

from __future__ import annotations

import json

import pytest

from bot.wechat.crypto import AppIdMismatch, CryptoError, KeyRing, MessageCrypto
from bot.wechat.messages import parse_message, parse_xml
from bot.wechat.signature import sign
from tests.conftest import CORPUS_DIR

pytestmark = pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason=f"WeChat corpus not found at {CORPUS_DIR}")


def _vectors() -> dict:
    return json.loads((CORPUS_DIR / "vectors" / "vectors.json").read_text())


def _xml(name: str) -> str:
    return (CORPUS_DIR / "xml" / "wechatpy" / name).read_text()


def test_url_signature_vector() -> None:
    v = _vectors()["url_signature_plain"]
    assert sign(v["token"], v["timestamp"], v["nonce"]) == v["signature_valid"]


def test_aes_vector_decrypts_and_encrypts_exactly() -> None:
    v = _vectors()["aes_msg_crypto_wecom_vector"]
    crypto = MessageCrypto(v["encoding_aes_key"], v["appid_or_corpid"])
    check = v["echostr_check"]
    assert crypto.decrypt(check["echostr"]) == check["decrypted_echostr"]

    enc = v["encrypt"]
    # The corpus file ends with a newline that the library's test string did not have.
    plain = (CORPUS_DIR / enc["plaintext_reply_file"]).read_text().strip()
    expected = parse_xml((CORPUS_DIR / enc["expected_envelope_file"]).read_text())
    encrypted = crypto.encrypt(plain, random16=enc["fixed_random_16"].encode())
    assert encrypted == expected.findtext("Encrypt")
    assert sign(v["token"], enc["timestamp"], enc["nonce"], encrypted) == enc["expected_msg_signature"]


def test_wrong_appid_and_tampered_envelopes_are_refused() -> None:
    v = _vectors()["aes_msg_crypto_wecom_vector"]
    echostr = v["echostr_check"]["echostr"]
    with pytest.raises(AppIdMismatch):
        MessageCrypto(v["encoding_aes_key"], "wxsomeoneelse").decrypt(echostr)
    with pytest.raises(CryptoError):
        MessageCrypto(v["encoding_aes_key"], v["appid_or_corpid"]).decrypt(echostr[:-8] + "AAAAAAA=")
    ring = KeyRing(v["appid_or_corpid"], "a" * 43, v["encoding_aes_key"])
    assert ring.decrypt(echostr)[0] == v["echostr_check"]["decrypted_echostr"]


@pytest.mark.parametrize(
    ("prefix", "event", "expected"),
    [
        ("event-subscribe_msg_popup_event", "subscribe_msg_popup_event", ("accept", "2")),
        ("event-subscribe_msg_change_event", "subscribe_msg_change_event", None),
        ("event-subscribe_msg_sent_event", "subscribe_msg_sent_event", None),
    ],
)
def test_subscribe_message_events(prefix: str, event: str, expected: tuple[str, str] | None) -> None:
    (path,) = (CORPUS_DIR / "xml" / "wechatpy").glob(prefix + "__*.xml")
    msg = parse_message(path.read_text())
    assert msg.event == event
    assert msg.subscribe_msg, "template results parsed"
    assert all(r.template_id and r.status for r in msg.subscribe_msg)
    if expected:
        assert (msg.subscribe_msg[0].status, msg.subscribe_msg[0].popup_scene) == expected
    if event == "subscribe_msg_sent_event":
        assert msg.subscribe_msg[0].msg_id and msg.subscribe_msg[0].error_code is not None
