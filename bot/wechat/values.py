"""WeChat's value rules for subscription-message (and new-style template) data, as pure functions.

WeChat refuses a whole send with 47003 when one value breaks its type's rule, so the bot validates (and
truncates) before sending and the sandbox refuses the same values. Each key's type comes from the template's
declared fields ("thing1" → "thing"); undeclared keys fall back to the key's alphabetic prefix. Rules follow
WeChat's subscribe-message documentation; unknown types (old template keywords such as "first") pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date

_DATE = r"(?:(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
_CLOCK = r"(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?"
_TIME_FORMS = (
    re.compile(rf"^{_CLOCK}$"),
    re.compile(rf"^{_DATE}\s*{_CLOCK}$"),
    re.compile(rf"^{_DATE}$"),
)
_DATE_FORMS = _TIME_FORMS[1:]
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_AMOUNT = re.compile(r"^[¥￥$€£]?\d{1,12}(?:\.\d{1,2})?元?$")
_PHONE = re.compile(r"^[\d+\-() ]+$")
_NAME_MARKS = "·•. -'"


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _printable(value: str) -> bool:
    # Line breaks and other control characters make WeChat refuse the whole message.
    return not any(unicodedata.category(ch).startswith("C") for ch in value)


def _too_long(value: str, limit: int, what: str = "characters") -> str | None:
    return f"exceeds limit ({limit} {what} at most)" if len(value) > limit else None


def _thing(limit: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not _printable(value):
            return "invalid (control characters or line breaks)"
        return _too_long(value, limit)

    return check


def _number(value: str) -> str | None:
    if not _NUMBER.match(value):
        return "invalid (digits only, may have a decimal part)"
    return "exceeds limit (32 digits at most)" if sum(ch.isdigit() for ch in value) > 32 else None


def _letter(value: str) -> str | None:
    if not (value.isascii() and value.isalpha()):
        return "invalid (letters only)"
    return _too_long(value, 32, "letters")


def _symbol(value: str) -> str | None:
    if not all(unicodedata.category(ch)[0] in "PS" for ch in value):
        return "invalid (symbols only)"
    return _too_long(value, 5, "symbols")


def _character_string(value: str) -> str | None:
    if not all("!" <= ch <= "~" for ch in value):
        return "invalid (letters, digits and symbols only)"
    return _too_long(value, 32)


def _valid_match(match: re.Match[str]) -> bool:
    parts = match.groupdict()
    year = parts.get("y") or parts.get("iy")
    if year:
        month, day = parts.get("m") or parts.get("im"), parts.get("d") or parts.get("id")
        try:
            date(int(year), int(month or 0), int(day or 0))
        except ValueError:
            return False
    if parts.get("hh") is not None:
        seconds = int(parts["ss"] or 0)
        return int(parts["hh"]) < 24 and int(parts["mm"]) < 60 and seconds < 60
    return True


def _moments(forms: tuple[re.Pattern[str], ...], example: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        # A period is two moments joined by "~".
        pieces = re.split(r"[~～]", value)
        if len(pieces) > 2:
            return f"invalid (24-hour time like {example}, or two joined by ~)"
        for piece in pieces:
            piece = piece.strip()
            match = next((m for form in forms if (m := form.match(piece))), None)
            if match is None or not _valid_match(match):
                return f"invalid (24-hour time like {example}, or two joined by ~)"
        return None

    return check


def _amount(value: str) -> str | None:
    return None if _AMOUNT.match(value) else "invalid (a currency sign, up to 12 digits, optional 元)"


def _phone_number(value: str) -> str | None:
    if not _PHONE.match(value) or not any(ch.isdigit() for ch in value):
        return "invalid (digits and + - ( ) only)"
    return _too_long(value, 17)


def _car_number(value: str) -> str | None:
    if len(value) > 8:
        return "exceeds limit (8 characters at most)"
    ends_ok = all(is_cjk(ch) or (ch.isascii() and ch.isalnum()) for ch in (value[0], value[-1]))
    middle_ok = all(ch.isascii() and ch.isalnum() for ch in value[1:-1])
    return None if ends_ok and middle_ok else "invalid (a plate like 粤A8Z888挂)"


def _name(value: str) -> str | None:
    if any(is_cjk(ch) for ch in value):
        # Chinese and letters mixed counts as a Chinese name.
        if not all(is_cjk(ch) or (ch.isascii() and ch.isalpha()) or ch in _NAME_MARKS for ch in value):
            return "invalid (a name: Chinese characters or letters)"
        return _too_long(value, 10, "Chinese characters")
    if not all((ch.isascii() and ch.isalpha()) or unicodedata.category(ch)[0] in "PSZ" for ch in value):
        return "invalid (a name: Chinese characters or letters)"
    return _too_long(value, 20, "letters")


def _phrase(value: str) -> str | None:
    if not all(is_cjk(ch) for ch in value):
        return "invalid (Chinese characters only)"
    return _too_long(value, 5, "Chinese characters")


RULES: dict[str, Callable[[str], str | None]] = {
    "thing": _thing(20),
    "short_thing": _thing(5),
    "number": _number,
    "letter": _letter,
    "symbol": _symbol,
    "character_string": _character_string,
    "time": _moments(_TIME_FORMS, "2025年10月1日 15:01"),
    "date": _moments(_DATE_FORMS, "2025年10月1日"),
    "amount": _amount,
    "phone_number": _phone_number,
    "car_number": _car_number,
    "name": _name,
    "phrase": _phrase,
}


def kind_of(key: str) -> str:
    """The type a key names by its prefix: "thing12" → "thing", "character_string3" → "character_string"."""
    return key.rstrip("0123456789")


def check(kind: str, value: str) -> str | None:
    """Why `value` breaks `kind`'s rule, or None when it is fine (unknown kinds always are)."""
    if value == "":
        return "is empty"
    rule = RULES.get(kind)
    return rule(value) if rule else None


def _as_text(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        raw = raw.get("value")
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        return str(raw)
    return raw if isinstance(raw, str) else None


def check_data(
    field_types: Mapping[str, str], data: Mapping[str, object], required: bool = True
) -> str | None:
    """The first problem as WeChat words it ("data.thing1.value exceeds limit …"), or None.

    `data` may be flat ({"thing1": "读书会"}) or WeChat's shape ({"thing1": {"value": "读书会"}}).
    `required` makes a declared field that is absent an error, as subscription messages do.
    """
    if required:
        for key in field_types:
            if key not in data:
                return f"data.{key}.value is empty"
    for key, raw in data.items():
        text = _as_text(raw)
        if text is None:
            return f"data.{key}.value is empty" if raw is None or _empty(raw) else f"data.{key}.value invalid"
        reason = check(field_types.get(key) or kind_of(key), text)
        if reason:
            return f"data.{key}.value {reason}"
    return None


def _empty(raw: object) -> bool:
    return isinstance(raw, Mapping) and raw.get("value") is None
