"""AES envelopes of safe and compatible mode.

AES-256-CBC with IV = key[:16], PKCS#7 padded to 32-byte blocks; the plaintext is
16 random bytes + 4-byte big-endian length + message + appid.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """The envelope cannot be opened: bad base64, padding or length."""


class AppIdMismatch(CryptoError):
    """The envelope opened but was sealed for another appid."""


class MessageCrypto:
    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.appid = appid.encode()
        # One Cipher per key; each message gets its own encryptor/decryptor context from it.
        self._cipher = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.appid
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher.encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not valid base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("Encrypt has a bad length")
        dec = self._cipher.decryptor()
        plain = dec.update(raw) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("envelope too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, appid = plain[20 : 20 + length], plain[20 + length :]
        if len(body) != length:
            raise CryptoError("bad message length")
        if appid != self.appid:
            raise AppIdMismatch("message was sealed for another appid")
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc


class KeyRing:
    """The current EncodingAESKey and, during rotation, the previous one."""

    def __init__(self, appid: str, current: str, previous: str | None = None) -> None:
        self.keys = [MessageCrypto(current, appid)]
        if previous:
            self.keys.append(MessageCrypto(previous, appid))

    def decrypt(self, encrypted: str) -> tuple[str, MessageCrypto]:
        """Open with the first key that works; the caller answers with that same key."""
        error: CryptoError | None = None
        for crypto in self.keys:
            try:
                return crypto.decrypt(encrypted), crypto
            except AppIdMismatch as exc:
                error = error if isinstance(error, AppIdMismatch) else exc
            except CryptoError as exc:
                error = error or exc
        assert error is not None
        raise error
