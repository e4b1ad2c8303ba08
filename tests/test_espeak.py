"""eSpeak NG text-to-speech: real syntheses, their phoneme timings measured against the audio."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError, ResourceError
from lipsync_tool.speech.espeak import MAX_TEXT_CHARS, EspeakSynthesizer, PhonemeEvent, Speech

ENGLISH = "Hello, my name is Bob. We buy blue boots."
SENTENCES = {
    "en-us": ENGLISH,
    "de": "Guten Morgen, wie geht es dir? Ich bin müde.",
    "es": "Hola, me llamo Pablo. Buenos días.",
}
IPA_VOWELS = set("aeiouyæɐɑɒɔəɘɚɛɜɞɤɨɪʉʊʌʏøœɶ")


@pytest.fixture(scope="module")
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer()


@pytest.fixture(scope="module")
def speeches(
    synth: EspeakSynthesizer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Speech]:
    """One synthesis per language; the WAVs and event tables are left for a person to inspect."""
    folder = tmp_path_factory.mktemp("espeak")
    result = {}
    for voice, text in SENTENCES.items():
        speech = synth.synthesize(text, voice=voice)
        speech.write_wav(folder / f"{voice}.wav")
        events = [dataclasses.asdict(event) for event in speech.events]
        (folder / f"{voice}.json").write_text(
            json.dumps(events, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        result[voice] = speech
    return result


def window_rms(samples: np.ndarray, rate: int, seconds: float = 0.010) -> np.ndarray:
    """RMS over a centred moving window."""
    width = max(1, int(round(seconds * rate)))
    return np.sqrt(
        np.convolve(samples.astype(np.float64) ** 2, np.ones(width) / width, mode="same")
    )


def event_rms(speech: Speech, event: PhonemeEvent) -> float:
    """RMS of the audio inside one event."""
    stop = int(round(event.end * speech.sample_rate))
    part = speech.samples[event.sample : stop].astype(np.float64)
    return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0


def is_vowel(event: PhonemeEvent) -> bool:
    return bool(event.ipa) and event.ipa[0] in IPA_VOWELS


def test_voice_list_has_the_test_languages(synth: EspeakSynthesizer) -> None:
    voices = synth.voices()
    assert len(voices) > 50
    languages = {code for voice in voices for code in voice.languages}
    assert {"en-us", "en-gb", "de", "es"} <= languages
    assert all(voice.name and voice.identifier for voice in voices)
    american = next(voice for voice in voices if voice.language == "en-us")
    assert american.identifier == "gmw/en-US"


@pytest.mark.parametrize("voice", list(SENTENCES))
def test_audio_is_plausible(speeches: dict[str, Speech], voice: str) -> None:
    speech = speeches[voice]
    assert speech.sample_rate == 22050
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert 1.0 <= speech.duration <= 10.0
    peak = float(np.max(np.abs(speech.samples)))
    assert 0.1 < peak <= 1.0
    assert speech.voice == voice and speech.text == SENTENCES[voice]


@pytest.mark.parametrize("voice", list(SENTENCES))
def test_events_tile_the_audio(speeches: dict[str, Speech], voice: str) -> None:
    speech = speeches[voice]
    events = speech.events
    assert len(events) > 15
    assert events[0].start == 0.0
    assert events[-1].end == pytest.approx(speech.duration, abs=1e-9)
    for event, following in zip(events, events[1:]):
        assert event.end == following.start
        assert following.start >= event.start
    for event in events:
        assert event.end >= event.start
        assert event.sample == round(event.start * speech.sample_rate)
    assert all(event.end > event.start for event in events if event.is_pause)
    assert sum(not event.is_pause for event in events) > 10


@pytest.mark.parametrize("voice", list(SENTENCES))
def test_first_phoneme_starts_with_the_voice(speeches: dict[str, Speech], voice: str) -> None:
    speech = speeches[voice]
    rms = window_rms(speech.samples, speech.sample_rate)
    first_voiced = int(np.argmax(rms > 0.01 * np.max(np.abs(speech.samples)))) / speech.sample_rate
    first_phoneme = next(event for event in speech.events if not event.is_pause)
    assert abs(first_phoneme.start - first_voiced) < 0.060


def test_english_bilabials_and_ipa(speeches: dict[str, Speech]) -> None:
    speech = speeches["en-us"]
    bilabials = [event for event in speech.events if event.ipa in ("m", "b", "p")]
    # my, name, Bob (twice), buy, blue, boots
    assert [event.ipa for event in bilabials] == ["m", "m", "b", "b", "b", "b", "b"]
    following = {event: speech.events[speech.events.index(event) + 1] for event in bilabials}
    assert [following[event].ipa for event in bilabials[:2]] == ["aɪ", "ɪ"]  # "my", "name is"
    assert [following[event].ipa for event in bilabials[4:]] == [
        "aɪ",
        "l",
        "uː",
    ]  # buy, blue, boots
    hello = [(event.phoneme, event.ipa) for event in speech.events[1:5]]
    assert hello == [("h", "h"), ("@", "ə"), ("l", "l"), ("oU", "oʊ")]
    assert speech.events[4].stress == 2  # hel'lo
    assert all(event.ipa for event in speech.events if not event.is_pause)
    # the lips close: a bilabial is quieter than the vowel it opens into (or, for "Bob", that precedes it)
    for event in bilabials:
        index = speech.events.index(event)
        vowel = next(e for e in (speech.events[index + 1], speech.events[index - 1]) if is_vowel(e))
        assert event_rms(speech, event) < event_rms(speech, vowel)


@pytest.mark.parametrize("voice", list(SENTENCES))
def test_vowels_are_loud_and_pauses_silent(speeches: dict[str, Speech], voice: str) -> None:
    speech = speeches[voice]
    vowels = [event_rms(speech, event) for event in speech.events if is_vowel(event)]
    pauses = [event_rms(speech, event) for event in speech.events if event.is_pause]
    assert len(vowels) >= 5 and len(pauses) >= 2
    assert min(vowels) > 0.01
    assert np.median(vowels) > 100 * (max(pauses) + 1e-6)


def test_same_input_same_samples(synth: EspeakSynthesizer, speeches: dict[str, Speech]) -> None:
    first, second = synth.synthesize(ENGLISH), EspeakSynthesizer().synthesize(ENGLISH)
    for again in (first, second):
        assert np.array_equal(again.samples, speeches["en-us"].samples)
        assert again.events == speeches["en-us"].events


def test_threads_get_identical_results(synth: EspeakSynthesizer) -> None:
    results: list[Speech] = []
    threads = [
        threading.Thread(target=lambda: results.append(synth.synthesize("Bob buys maps.")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    assert all(
        np.array_equal(r.samples, results[0].samples) and r.events == results[0].events
        for r in results
    )


def test_rate_and_language_codes(synth: EspeakSynthesizer) -> None:
    slow = synth.synthesize("We buy blue boots.", rate=100)
    fast = synth.synthesize("We buy blue boots.", rate=300)
    assert slow.duration > 1.8 * fast.duration
    british = synth.synthesize(
        "Hello there.", voice="en-gb"
    )  # a language code eSpeak's name lookup misses
    assert any(event.ipa == "əʊ" for event in british.events)


def test_write_wav_round_trips(speeches: dict[str, Speech], tmp_path: Path) -> None:
    speech = speeches["en-us"]
    path = speech.write_wav(tmp_path / "speech.wav")
    with wave.open(str(path), "rb") as handle:
        assert (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) == (
            1,
            2,
            speech.sample_rate,
        )
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
    assert np.array_equal(pcm.astype(np.float32) / 32768.0, speech.samples)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "Hello", "voice": "xx-nonexistent"}, "xx-nonexistent"),
        ({"text": ""}, "empty"),
        ({"text": "  \n\t "}, "empty"),
        ({"text": "a" * (MAX_TEXT_CHARS + 1)}, str(MAX_TEXT_CHARS)),
        ({"text": "Hello", "rate": 20}, "rate"),
        ({"text": "Hello", "pitch": 150}, "pitch"),
    ],
)
def test_bad_input_raises_input_error(synth: EspeakSynthesizer, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        synth.synthesize(**kwargs)
    if "voice" in kwargs:
        assert "--list-voices" in str(caught.value)


def test_missing_loader_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # makes the import fail
    with pytest.raises(ResourceError, match="pip install espeakng-loader"):
        EspeakSynthesizer()
