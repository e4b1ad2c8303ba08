"""Text → speech for the pipeline: eSpeak NG audio written as WAV, and its phonemes as timed ARPAbet phones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .ipa import ipa_to_arpabet
from .phones import PhoneSegment


@dataclass(frozen=True)
class SynthesizedSpeech:
    """Where the speech was written and the phones that were spoken, with exact timings."""

    wav: Path
    phones: tuple[PhoneSegment, ...]
    duration: float
    voice: str


def synthesize_to_wav(text: str, wav: Path, *, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> SynthesizedSpeech:
    """Speak `text` with eSpeak NG into `wav`; raises InputError for empty text, unknown voices, text too long."""
    from .espeak import EspeakSynthesizer

    speech = EspeakSynthesizer().synthesize(text, voice=voice, rate=rate, pitch=pitch)
    speech.write_wav(wav)
    phones = tuple(
        PhoneSegment("sil" if event.is_pause else ipa_to_arpabet(event.ipa) if event.ipa else "sil", event.start, event.end)
        for event in speech.events
        if event.end > event.start
    )
    return SynthesizedSpeech(wav, phones, speech.duration, voice)


def voice_table() -> str:
    """The eSpeak NG voices, one per line: identifier name, language."""
    from .espeak import EspeakSynthesizer

    voices = sorted(EspeakSynthesizer().voices(), key=lambda v: v.language)
    return "\n".join(f"{v.language:<12} {v.name:<32} {v.identifier}" for v in voices)
