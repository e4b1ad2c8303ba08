"""eSpeak NG's IPA phonemes → the ARPAbet labels the viseme table uses (any language, nearest English sound)."""

from __future__ import annotations

# Longest matches first; length marks and stress are stripped before lookup.
IPA_TO_ARPABET: dict[str, str] = {
    "tʃ": "ch",
    "dʒ": "jh",
    "ts": "t",
    "dz": "d",
    "aɪ": "ay",
    "aʊ": "aw",
    "ɔɪ": "oy",
    "oʊ": "ow",
    "əʊ": "ow",
    "eɪ": "ey",
    "ɪə": "ih",
    "eə": "eh",
    "ʊə": "uh",
    "aɪɚ": "ay",
    "aʊɚ": "aw",
    "ɑɹ": "aa",
    "ɔɹ": "ao",
    "ɛɹ": "eh",
    "ɪɹ": "ih",
    "ʊɹ": "uh",
    "p": "p",
    "b": "b",
    "m": "m",
    "ɱ": "m",
    "f": "f",
    "v": "v",
    "θ": "th",
    "ð": "dh",
    "ɸ": "f",
    "β": "v",
    "t": "t",
    "d": "d",
    "n": "n",
    "s": "s",
    "z": "z",
    "ʃ": "sh",
    "ʒ": "zh",
    "ɕ": "sh",
    "ʑ": "zh",
    "ç": "hh",
    "k": "k",
    "g": "g",
    "ɡ": "g",
    "ŋ": "ng",
    "x": "hh",
    "ɣ": "g",
    "h": "hh",
    "ʔ": "sil",
    "ɲ": "n",
    "ɳ": "n",
    "l": "l",
    "ɫ": "l",
    "ʎ": "l",
    "ɾ": "d",
    "r": "r",
    "ɹ": "r",
    "ʁ": "r",
    "ʀ": "r",
    "j": "y",
    "w": "w",
    "ɥ": "w",
    "i": "iy",
    "ɪ": "ih",
    "y": "uw",
    "ʏ": "uh",
    "e": "ey",
    "ɛ": "eh",
    "ø": "ow",
    "œ": "eh",
    "æ": "ae",
    "a": "aa",
    "ɐ": "ah",
    "ɑ": "aa",
    "ɒ": "aa",
    "ɔ": "ao",
    "o": "ow",
    "ʊ": "uh",
    "u": "uw",
    "ɯ": "uw",
    "ə": "ax",
    "ɚ": "er",
    "ɜ": "er",
    "ɝ": "er",
    "ʌ": "ah",
    "ɨ": "ih",
    "ʉ": "uw",
    "ɘ": "ah",
    "ɵ": "ow",
}
_IGNORED = "ːˑˈˌ̃ʰʲʷ̩̯.-_|"
_LONGEST = max(len(k) for k in IPA_TO_ARPABET)


def ipa_to_arpabet(ipa: str) -> str:
    """The ARPAbet label of one eSpeak IPA phoneme ("sil" for pauses and anything unknown)."""
    text = "".join(ch for ch in ipa if ch not in _IGNORED)
    if not text:
        return "sil"
    for length in range(min(_LONGEST, len(text)), 0, -1):
        label = IPA_TO_ARPABET.get(text[:length])
        if label is not None:
            return label
    return "sil"
