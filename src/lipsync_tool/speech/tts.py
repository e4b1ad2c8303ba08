"""Text → speech for the pipeline: eSpeak NG audio written as WAV, and its phonemes as timed ARPAbet phones."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .ipa import ipa_to_arpabet
from .phones import PhoneSegment

if TYPE_CHECKING:
    from .espeak import VoiceInfo


@dataclass(frozen=True)
class SynthesizedSpeech:
    """Where the speech was written and the phones that were spoken, with exact timings."""

    wav: Path
    phones: tuple[PhoneSegment, ...]
    duration: float
    voice: str


def synthesize_to_wav(
    text: str,
    wav: Path,
    *,
    voice: str = "en-us",
    rate: int = 160,
    pitch: int = 50,
    margin: float = 0.0,
) -> SynthesizedSpeech:
    """Speak `text` with eSpeak NG into `wav`, with `margin` seconds of silence before and after;
    raises InputError for empty text, unknown voices, text too long."""
    from .espeak import EspeakSynthesizer

    speech = EspeakSynthesizer().synthesize(text, voice=voice, rate=rate, pitch=pitch)
    pad = np.zeros(int(round(margin * speech.sample_rate)), np.float32)
    replace(speech, samples=np.concatenate([pad, speech.samples, pad])).write_wav(wav)
    shift = len(pad) / speech.sample_rate
    spoken = [
        PhoneSegment(
            "sil" if event.is_pause else ipa_to_arpabet(event.ipa) if event.ipa else "sil",
            event.start + shift,
            event.end + shift,
        )
        for event in speech.events
        if event.end > event.start
    ]
    duration = speech.duration + 2 * shift
    if shift > 0:
        spoken = [
            PhoneSegment("sil", 0.0, shift),
            *spoken,
            PhoneSegment("sil", duration - shift, duration),
        ]
    return SynthesizedSpeech(wav, tuple(spoken), duration, voice)


def voices() -> tuple[VoiceInfo, ...]:
    """The eSpeak NG voices, by language code; any of a voice's fields can be passed as `voice`."""
    from .espeak import EspeakSynthesizer

    return tuple(sorted(EspeakSynthesizer().voices(), key=lambda v: v.language))


def voice_table() -> str:
    """The eSpeak NG voices, one per line: language, name, identifier."""
    return "\n".join(f"{v.language:<12} {v.name:<32} {v.identifier}" for v in voices())
