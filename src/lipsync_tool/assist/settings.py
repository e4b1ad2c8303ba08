"""Settings asked for in everyday words ("a bit slower", "no blinking", "30 fps"), read by rules
from the words outside the quoted text.

A small model rarely turns such words into values, and a rule that matches its own phrase is not
wrong about it; where no rule matches, the model's value stands if the request talks about that
setting at all (`CUES`). Changes are relative to the last plan ("a little faster" after "a bit
slower" is back to the default rate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.registry import ENGINES
from ..request import DEFAULT_LOUDNESS
from .grounding import REFINES, VOICE_WORDS
from .schema import DEFAULTS, request_option

RATE_STEP = 20
"""Words a minute that "a bit slower" or "faster" moves the rate ("very": twice)."""
PITCH_STEP = 20
"""Pitch that "deeper" or "higher" moves the voice."""
EXPRESSION_STEP = 0.5
"""Expression scale that "more expressive" or "subtle" adds or takes away."""

Current = Mapping[str, Any]


@dataclass(frozen=True)
class Phrase:
    """A way of asking for a field's value: the words, and the value they give."""

    field: str
    pattern: re.Pattern[str]
    value: Callable[[re.Match[str], Current], Any]


def _default(name: str) -> Any:
    return getattr(DEFAULTS, name)


def _step(name: str, by: float) -> Callable[[re.Match[str], Current], Any]:
    """`by` added to the current value, kept within the request's range for the field."""
    spec = request_option(name).spec

    def value(_match: re.Match[str], current: Current) -> Any:
        now = current.get(name, _default(name))
        moved = min(spec.maximum, max(spec.minimum, now + by))
        return type(_default(name))(moved)

    return value


def _fixed(value: Any) -> Callable[[re.Match[str], Current], Any]:
    return lambda _match, _current: value


def _number(group: int, kind: type) -> Callable[[re.Match[str], Current], Any]:
    return lambda match, _current: kind(match.group(group))


def _phrase(name: str, pattern: str, value: Callable[[re.Match[str], Current], Any]) -> Phrase:
    return Phrase(name, re.compile(pattern), value)


VERY = r"(?:very|much|really|a lot|way|super|extra)"
HEAD = r"(?:her|his|their|the|my|its)?\s*head"

PHRASES: tuple[Phrase, ...] = (
    # the rate: a number, then "very" before the plain words
    _phrase("rate", r"\b(\d{2,3})\s*(?:wpm|words (?:a|per) minute)", _number(1, int)),
    _phrase("rate", r"\bnormal (?:speed|pace|rate)\b", _fixed(_default("rate"))),
    _phrase("rate", rf"\b{VERY}\s+slow(?:er|ly)?\b", _step("rate", -2 * RATE_STEP)),
    _phrase(
        "rate",
        r"\b(?:slow(?:er|ly)?|slow it down|more slowly)\b",
        _step("rate", -RATE_STEP),
    ),
    _phrase("rate", rf"\b{VERY}\s+(?:fast(?:er)?|quick(?:er|ly)?)\b", _step("rate", 2 * RATE_STEP)),
    _phrase(
        "rate",
        r"\b(?:fast(?:er)?|quick(?:er|ly)?|speed (?:it )?up|more quickly)\b",
        _step("rate", RATE_STEP),
    ),
    _phrase("pitch", r"\bnormal pitch\b", _fixed(_default("pitch"))),
    _phrase(
        "pitch",
        r"\b(?:deep(?:er)?|low(?:er)?(?:[- ]pitched)?) (?:voice|pitch|tone)\b|\bdeeper\b|"
        r"\blow(?:er)?[- ]pitched\b",
        _step("pitch", -PITCH_STEP),
    ),
    _phrase(
        "pitch",
        r"\b(?:high(?:er)?(?:-pitched)?) (?:voice|pitch|tone)\b|\bhigher\b|\bhigh-pitched\b",
        _step("pitch", PITCH_STEP),
    ),
    _phrase(
        "expression_scale",
        r"\b(?:calm(?:er)?|subtle(?:r)?|less (?:expressive|expression|animated|emotion)|"
        r"understated|tone it down|toned down)\b",
        _step("expression_scale", -EXPRESSION_STEP),
    ),
    _phrase(
        "expression_scale",
        r"\b(?:expressive|livelier|lively|animated|exaggerat\w*|"
        r"(?:more|lots of|a lot of|plenty of|with) (?:expression|emotion))\b",
        _step("expression_scale", EXPRESSION_STEP),
    ),
    _phrase(
        "still",
        rf"\b(?:let {HEAD} move|move {HEAD}|{HEAD} (?:move|moving|movement|motion)|"
        r"more (?:head )?(?:movement|motion)|natural (?:head )?movement)",
        _fixed(False),
    ),
    _phrase(
        "still",
        rf"\b(?:keep {HEAD} still|{HEAD} still|still head|no head (?:movement|motion))",
        _fixed(True),
    ),
    _phrase(
        "blink",
        r"\b(?:no blink(?:ing|s)?|without (?:any )?blink(?:ing|s)?|"
        r"(?:don'?t|do not|never|stop) (?:let (?:her|him|them) )?blink(?:ing)?)",
        _fixed(False),
    ),
    _phrase("blink", r"\b(?:let (?:her|him|them) blink|with blink(?:ing|s))\b", _fixed(True)),
    _phrase(
        "fps",
        r"\b(\d{1,3}(?:\.\d+)?)\s*(?:fps|frames? (?:a|per) second)\b",
        _number(1, float),
    ),
    _phrase("fps", r"\bfps\s*(?:of\s*|=\s*)?(\d{1,3}(?:\.\d+)?)\b", _number(1, float)),
    _phrase(
        "upscaler",
        r"real-?esrgan|\b(?:sharper|sharpen|crisper|upscal\w*|enhanced? (?:detail|quality))\b",
        _fixed("realesrgan"),
    ),
    _phrase("upscaler", r"\bbicubic\b", _fixed("bicubic")),
    _phrase(
        "trim_silence",
        r"\b(?:cut|trim|remove|drop|skip|strip) (?:out )?(?:the |any |all )?"
        r"(?:long )?(?:silences?|pauses|quiet parts)|\bsilence trimm",
        _fixed(True),
    ),
    _phrase("trim_silence", r"\bkeep (?:the )?(?:silences?|pauses)\b", _fixed(False)),
    _phrase("normalize_loudness", r"(-\d{1,2}(?:\.\d+)?)\s*lufs\b", _number(1, float)),
    _phrase(
        "normalize_loudness",
        r"\b(?:even out|normali[sz]e|level|balance|fix) (?:the )?(?:loudness|volume|levels?)\b|"
        r"\bloudness normali[sz]",
        _fixed(DEFAULT_LOUDNESS),
    ),
)
"""Every phrase the rules know, the first that matches a field deciding it."""

CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"\b(?:{stems})")
    for name, stems in {
        "rate": r"slow|fast|quick|speed|pace|rate|wpm|tempo|hurr|rush",
        "pitch": r"pitch|deep|high|low|bass|squeak|tone",
        "expression_scale": r"express|emotion|calm|subtle|livel|lively|animat|dramatic|"
        r"exaggerat|understat|intens|energ|neutral",
        "still": r"head|still|move|moving|movement|motion|nod|sway",
        "blink": r"blink|eyes",
        "fps": r"fps|frame",
        "upscaler": r"sharp|upscal|real-?esrgan|esrgan|crisp|detail|quality|enhanc|bicubic",
        "trim_silence": r"silen|pause|quiet|trim|gap",
        "normalize_loudness": r"loud|volume|level|lufs|quiet|normali",
    }.items()
}
"""Words without which a setting is not being talked about: a model's change to a field whose
cue the request lacks is one it made up (the small model sets blinks and head motion unasked)."""


def talked_about(name: str, plain: str) -> bool:
    """Whether `plain` talks about setting `name` at all (fields without cues: always)."""
    cue = CUES.get(name)
    return cue is None or cue.search(plain.lower()) is not None


ENGINE_WORDS: dict[str, re.Pattern[str]] = {
    "wav2lip": re.compile(r"\bwav ?2 ?lip\b"),
    "sadtalker": re.compile(r"\bsad ?talker\b"),
    "warp": re.compile(r"\bwarp\b"),
}
"""How a request names each engine."""
assert set(ENGINE_WORDS) == set(ENGINES), "every engine needs the words that name it"


def stated_settings(plain: str, current: Current) -> dict[str, Any]:
    """The fields `plain` (the request outside its quoted text) asks for, with
    `current` (the plan being edited) as the base of relative changes."""
    found: dict[str, Any] = {}
    plain = plain.lower()
    for phrase in PHRASES:
        if phrase.field in found:
            continue
        match = phrase.pattern.search(plain)
        if match is not None:
            found[phrase.field] = phrase.value(match, current)
    return found


def stated_engine(plain: str) -> str | None:
    """The one engine `plain` names, if it names exactly one."""
    named = [engine for engine, words in ENGINE_WORDS.items() if words.search(plain.lower())]
    return named[0] if len(named) == 1 else None


def stated_voice(words: frozenset[str]) -> str | None:
    """The voice `words` ask for: the one with most words in them (an accent over its
    language, e.g. Brazilian over Portuguese), or none when two tie."""
    hits = {voice: len(cues & words) for voice, cues in VOICE_WORDS.items()}
    hits = {voice: n for voice, n in hits.items() if n}
    for accent, language in REFINES.items():
        if accent in hits and language in hits:
            hits[accent] += hits.pop(language)
    if not hits:
        return None
    best = max(hits.values())
    top = [voice for voice, n in hits.items() if n == best]
    return top[0] if len(top) == 1 else None
