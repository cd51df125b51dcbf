"""One normalised view of what the user typed, shared by crisis detection and intent classification.

- NFKC folds full-width letters, digits and punctuation; traditional characters become simplified.
- `compact` keeps only CJK characters, letters and digits, so emoji, spaces and punctuation inserted to dodge
  a keyword ("不 想 活😭了") do not.
- `pinyin` spells the Chinese characters in toneless pinyin, which catches homophones (紫砂 for 自杀);
  `latin` is what the user typed in Latin letters, which catches pinyin spellings ("wo xiang si").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import zhconv
from pypinyin import Style, lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff]")
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_LATIN_WORDS = re.compile(r"[a-z]+")
_SPACES = re.compile(r"\s+")
# Emoji that carry meaning in a crisis become words; other emoji are dropped with the punctuation.
_EMOJI_WORDS = str.maketrans(
    {"🔪": "刀", "🗡": "刀", "🩸": "血", "💊": "药", "🪢": "绳", "⚰": "棺材", "💀": "死"}
)


@dataclass(frozen=True, slots=True)
class Normalised:
    raw: str
    text: str  # simplified, half-width, lower-case, single spaces
    compact: str  # CJK, letters and digits only
    latin: str  # Latin letters only, spaces removed
    words: tuple[str, ...]  # Latin words as typed


@cache
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL, errors="ignore")[0] if _CJK.match(char) else ""


def to_pinyin(text: str) -> str:
    """Toneless pinyin of the CJK characters, concatenated ("紫砂" → "zisha"); other characters dropped."""
    return "".join(_char_pinyin(c) for c in text if c >= "\u3400")


def pinyin_syllables(text: str) -> list[str]:
    return [p for p in (_char_pinyin(c) for c in text if c >= "\u3400") if p]


def normalise(raw: str) -> Normalised:
    text = unicodedata.normalize("NFKC", raw.translate(_EMOJI_WORDS)).lower()
    if _CJK.search(text):
        text = zhconv.convert(text, "zh-cn")
    text = _SPACES.sub(" ", text).strip()
    compact = _NOT_WORD.sub("", text)
    words = tuple(_LATIN_WORDS.findall(text))
    return Normalised(raw=raw, text=text, compact=compact, latin="".join(words), words=words)
