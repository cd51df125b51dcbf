"""`/wechat`: verification, the three encryption modes, and the answer WeChat gets."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, current_app, request

from bot.content import text
from bot.inbound import InboundProcessor
from bot.settings import Settings
from bot.wechat import signature
from bot.wechat.crypto import AppIdMismatch, CryptoError, KeyRing
from bot.wechat.messages import MalformedMessage, from_element, parse_xml
from bot.wechat.replies import Text, encrypt_reply

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)

XML = "application/xml; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _check_request_signature(settings: Settings) -> tuple[str, str]:
    args = request.args
    timestamp = args.get("timestamp", "")
    nonce = args.get("nonce", "")
    if not timestamp or not nonce or not args.get("signature"):
        raise Refused(403, "missing signature, timestamp or nonce")
    window = settings.WEBHOOK_TIMESTAMP_WINDOW_SECONDS
    if window:
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise Refused(403, "timestamp is not a number") from None
        if skew > window:
            raise Refused(403, "timestamp outside the accepted window")
    if not signature.check(args.get("signature"), settings.WECHAT_TOKEN, timestamp, nonce):
        raise Refused(403, "bad signature")
    return timestamp, nonce


@bp.get("/wechat")
def verify() -> Response:
    try:
        _check_request_signature(_settings())
    except Refused as exc:
        return Response(exc.message, status=exc.status, content_type=PLAIN)
    return Response(request.args.get("echostr", ""), content_type=PLAIN)


@bp.post("/wechat")
def receive() -> Response:
    settings = _settings()
    try:
        timestamp, nonce = _check_request_signature(settings)
        body = request.get_data(cache=False)
        encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
        root = parse_xml(body)
        crypto = None
        if encrypted:
            keyring: KeyRing | None = current_app.extensions["wechat_keyring"]
            if keyring is None:
                log.error("an encrypted push arrived but WECHAT_AES_KEY is not set")
                raise Refused(400, "encrypted push but no EncodingAESKey configured")
            envelope = root.findtext("Encrypt")
            if not envelope:
                raise Refused(400, "encrypt_type=aes but no <Encrypt> element")
            if not signature.check(
                request.args.get("msg_signature"), settings.WECHAT_TOKEN, timestamp, nonce, envelope
            ):
                raise Refused(403, "bad msg_signature")
            try:
                plain, crypto = keyring.decrypt(envelope)
            except AppIdMismatch:
                raise Refused(403, "message sealed for another appid") from None
            except CryptoError as exc:
                raise Refused(400, f"cannot decrypt: {exc}") from None
            root = parse_xml(plain)
        message = from_element(root)
    except Refused as exc:
        return Response(exc.message, status=exc.status, content_type=PLAIN)
    except MalformedMessage as exc:
        return Response(str(exc), status=400, content_type=PLAIN)

    processor: InboundProcessor = current_app.extensions["inbound"]
    try:
        answer = processor.process(message)
    except Exception:
        # process() handles its own failures; this is the last net so that WeChat never sees a 5xx.
        log.exception("unexpected failure handling %s", message.dedup_key)
        answer = Text(text("apology")).render(message.from_user, message.to_user, int(time.time()))
    if answer == "success":
        return Response("success", content_type=PLAIN)
    if crypto is not None:
        answer = encrypt_reply(crypto, settings.WECHAT_TOKEN, answer)
    return Response(answer, content_type=XML)


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]
    app.extensions["wechat_keyring"] = (
        KeyRing(settings.WECHAT_APPID, settings.WECHAT_AES_KEY, settings.WECHAT_PREVIOUS_AES_KEY)
        if settings.WECHAT_AES_KEY
        else None
    )
    app.register_blueprint(bp)
