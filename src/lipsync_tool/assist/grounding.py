"""Values a small model is prone to make up, kept only where the user's words support them: the
text to speak is the user's quoted words when they quoted one stretch, words the user wrote, or a
translation into a newly asked-for voice; a voice needs a word for its language or accent outside
the quotes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .mentions import Mentions
from .schema import DEFAULTS

VOICE_WORDS: dict[str, frozenset[str]] = {
    voice: frozenset(words.split())
    for voice, words in {
        "en-us": "american america us usa",
        "en-gb": "british britain uk england",
        "en-gb-x-rp": "rp received pronunciation",
        "de": "german germany deutsch deutsche deutschen lass sagen sag bitte",
        "fr-fr": "french france français francais fais dire dis",
        "es": "spanish spain español espanol castellano haz diga decir",
        "es-419": "latin mexican",
        "it": "italian italy italiano fai dica dire",
        "pt": "portuguese portugal português portugues faça faca diga dizer",
        "pt-br": "brazilian brazil brasil brasileiro",
        "nl": "dutch nederlands holland laat zeggen zeg",
        "pl": "polish polski",
        "ru": "russian русский",
        "sv": "swedish svenska",
        "da": "danish dansk",
        "nb": "norwegian norsk",
        "fi": "finnish suomi",
        "cs": "czech česky cesky",
        "tr": "turkish türkçe turkce",
        "el": "greek",
        "ja": "japanese 日本語",
        "cmn": "chinese mandarin 中文",
        "hi": "hindi",
        "ar": "arabic",
        "uk": "ukrainian",
    }.items()
}
"""Words that ask for each voice (the voices of `schema.COMMON_VOICES`): its language's and
accent's names, and for the languages a request is often typed in, its verbs of asking and saying."""
REFINES = {"en-gb-x-rp": "en-gb", "es-419": "es", "pt-br": "pt"}
"""Accents and the voice whose words they share (Brazilian Portuguese is Brazilian, not both)."""


UNTRANSLATED = (
    "I kept the words as they were: this model cannot translate them reliably. Give the "
    "translation in quotes, or use a bigger model with --llm-url."
)


def grounded(
    fields: dict[str, Any], mentions: Mentions, last: Mapping[str, Any], translates: bool
) -> tuple[dict[str, Any], str]:
    """`fields` with the text and voice the user's words support (`last`: the last plan's;
    `translates`: whether the model's translations can be used), and a note for the user."""
    fields = dict(fields)
    note = ""
    voice = fields.get("voice")
    if (
        voice is not None
        and voice != last.get("voice")
        and not VOICE_WORDS.get(voice, frozenset()) & mentions.words
    ):
        if "voice" in last:
            fields["voice"] = last["voice"]
        else:
            fields.pop("voice")
    text = fields.get("text")
    if text and len(mentions.quotes) == 1:
        fields["text"] = mentions.quotes[0]
    elif (
        text
        and text != last.get("text")
        and not mentions.quotes
        and fields.get("voice", DEFAULTS.voice) == last.get("voice", DEFAULTS.voice)
    ):  # not quoted, not a translation into a new voice
        if "text" in last:
            fields["text"] = last["text"]  # a follow-up changes the words only so
        elif _simple(text) not in _simple(mentions.plain):
            fields.pop("text")  # words the user never gave
    elif text and text != last.get("text") and not mentions.quotes and not translates:
        if "text" in last:
            fields["text"], note = last["text"], UNTRANSLATED
        elif _simple(text) not in _simple(mentions.plain):
            fields.pop("text")
    return fields, note


def _simple(text: str) -> str:
    """`text` in lower case with every run of non-word characters one space."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "
