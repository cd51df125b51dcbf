"""Intent classification: a naive Bayes model over character n-grams and pinyin, with keyword hits from
`content/intents.toml` as a strong prior.

Trained from `content/intent_examples.toml` on first use (about 50 ms, no downloads).
Inference is dictionary look-ups only, a few tens of microseconds per message. Pinyin features let a
message typed in pinyin ("you shen me shi xi ma") meet the Chinese examples it sounds like.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from bot import content
from bot.dialogue.normalise import Normalised, normalise, pinyin_syllables

# "greeting" loses to any real request named in the same message.
WEAK_INTENTS = frozenset({"greeting"})
ALPHA = 0.3
# A keyword hit multiplies its intent's probability: a strong prior the model can still overrule when the
# rest of the message clearly says something else (实习单位不给工资，合法吗 is a legal question).
KEYWORD_BOOST = 12.0


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]  # best first, probabilities summing to 1
    via: str  # "keyword" | "model" | "empty"


@dataclass(frozen=True, slots=True)
class _Keywords:
    substrings: tuple[tuple[str, str], ...]  # (keyword, intent) for CJK and mixed keywords
    words: dict[str, str]  # Latin keyword → intent, matched as whole words
    exact: dict[str, str]  # every keyword → intent, for messages that are nothing but a keyword


class NaiveBayes:
    def __init__(self, syllables: frozenset[str]) -> None:
        self.syllables = syllables
        self.log_prob: dict[str, dict[str, float]] = {}
        self.unseen: dict[str, float] = {}
        self.intents: tuple[str, ...] = ()

    def features(self, norm: Normalised) -> list[str]:
        text = norm.compact
        feats = [f"c1:{c}" for c in text]
        feats += [f"c2:{text[i : i + 2]}" for i in range(len(text) - 1)]
        feats += [f"c3:{text[i : i + 3]}" for i in range(len(text) - 2)]
        sounds = pinyin_syllables(text) + self._split_latin(norm.words)
        feats += [f"p1:{s}" for s in sounds]
        feats += [f"p2:{a}_{b}" for a, b in pairwise(sounds)]
        return feats

    def _split_latin(self, words: Iterable[str]) -> list[str]:
        """Split typed pinyin into syllables we know ("shixi" → shi, xi); other words stay whole."""
        out: list[str] = []
        for word in words:
            i, parts = 0, []
            while i < len(word):
                for j in range(min(len(word), i + 6), i, -1):
                    if word[i:j] in self.syllables:
                        parts.append(word[i:j])
                        i = j
                        break
                else:
                    parts = [word]
                    break
            out.extend(parts)
        return out

    def fit(self, examples: dict[str, list[str]]) -> NaiveBayes:
        counts: dict[str, Counter[str]] = {}
        vocab: set[str] = set()
        for intent, texts in examples.items():
            c: Counter[str] = Counter()
            for t in texts:
                c.update(set(self.features(normalise(t))))  # presence, not frequency: short texts
            counts[intent] = c
            vocab.update(c)
        size = len(vocab) or 1
        for intent, c in counts.items():
            total = sum(c.values()) + ALPHA * size
            self.log_prob[intent] = {f: math.log((n + ALPHA) / total) for f, n in c.items()}
            self.unseen[intent] = math.log(ALPHA / total)
        self.intents = tuple(counts)
        return self

    def predict(self, norm: Normalised) -> list[tuple[str, float]]:
        feats = set(self.features(norm))
        scores = {}
        for intent in self.intents:
            table, unseen = self.log_prob.get(intent, {}), self.unseen.get(intent, 0.0)
            scores[intent] = sum(table.get(f, unseen) for f in feats)
        # Scale by feature count so long messages do not become absurdly confident.
        scale = max(len(feats), 1) ** 0.5
        top = max(scores.values())
        exp = {i: math.exp((s - top) / scale) for i, s in scores.items()}
        total = sum(exp.values())
        return sorted(((i, e / total) for i, e in exp.items()), key=lambda x: -x[1])


@cache
def _keywords() -> _Keywords:
    substrings, words, exact = [], {}, {}
    for intent, table in content.intents().items():
        if intent == "menu":
            continue
        for kw in table.get("keywords", []):
            norm = normalise(kw)
            exact[norm.compact] = intent
            if re.fullmatch(r"[a-z]+", norm.compact):
                words[norm.compact] = intent
            else:
                substrings.append((norm.compact, intent))
    return _Keywords(tuple(sorted(substrings, key=lambda x: -len(x[0]))), words, exact)


@cache
def model() -> NaiveBayes:
    examples = {k: list(v.get("examples", [])) for k, v in content.intent_examples().items()}
    for intent, table in content.intents().items():
        if intent != "menu":
            examples.setdefault(intent, []).extend(table.get("keywords", []))
    syllables = frozenset(s for texts in examples.values() for t in texts for s in pinyin_syllables(t))
    return NaiveBayes(syllables).fit(examples)


def reset() -> None:
    _keywords.cache_clear()
    model.cache_clear()


content.on_reload(reset)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def exact_intent(norm: Normalised) -> str | None:
    """The intent whose keyword is the whole message ("人工"), if any."""
    return _keywords().exact.get(norm.compact)


def label(intent: str) -> str | None:
    """How a clarifying question names the intent (content/intents.toml); None: not offered as a choice."""
    value = content.intents().get(intent, {}).get("label")
    return value if isinstance(value, str) else None


def keyword_intents(norm: Normalised) -> set[str]:
    kw = _keywords()
    hits = {intent for word, intent in kw.substrings if word in norm.compact}
    for word in norm.words:
        intent = kw.words.get(word) or kw.words.get(_stem(word))
        if intent:
            hits.add(intent)
    if len(hits) > 1:
        hits -= WEAK_INTENTS
    return hits


def understand(norm: Normalised) -> Understanding:
    if not norm.compact:
        return Understanding("fallback", 1.0, (("fallback", 1.0),), "empty")
    hits = keyword_intents(norm)
    ranked = model().predict(norm)
    if hits:
        boosted = [(i, p * KEYWORD_BOOST if i in hits else p) for i, p in ranked]
        total = sum(p for _, p in boosted)
        ranked = sorted(((i, p / total) for i, p in boosted), key=lambda x: -x[1])
    best, p = ranked[0]
    return Understanding(best, p, tuple(ranked[:3]), "keyword" if best in hits else "model")
