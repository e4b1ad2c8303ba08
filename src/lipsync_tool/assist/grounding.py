"""Values a small model is prone to make up, kept only where the user's words support them: the
text to speak is the user's quoted words when they quoted one stretch, and a voice needs a word
for its language or accent outside the quotes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .mentions import Mentions

VOICE_WORDS: dict[str, frozenset[str]] = {
    voice: frozenset(words.split())
    for voice, words in {
        "en-us": "american america us usa",
        "en-gb": "british britain uk england english",
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


def grounded(fields: dict[str, Any], mentions: Mentions, last: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with the text and voice the user's words support (`last`: the last plan's)."""
    fields = dict(fields)
    if "text" in fields and len(mentions.quotes) == 1 and fields["text"] != last.get("text"):
        fields["text"] = mentions.quotes[0]
    changes_words = (
        "text" in last
        and fields.get("text") != last["text"]
        and not mentions.quotes
        and fields.get("voice") == last.get("voice")
    )
    if changes_words:  # a follow-up changes the words only by quoting them, or by translating
        fields["text"] = last["text"]
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
    return fields
