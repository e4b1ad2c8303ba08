"""Phones from speech with PocketSphinx, checked against real eSpeak NG speech whose timing is known."""

from __future__ import annotations

import ctypes
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from lipsync_tool.errors import InputError, ResourceError
from lipsync_tool.speech import phones as phones_module
from lipsync_tool.speech.phones import (
    PhoneRecognizer,
    PhoneSearchOptions,
    PhoneSegment,
    bridge_loud_pauses,
    contiguous,
    delayed,
    quiet_cuts,
    reading_lattice,
    snap_to_sound,
    spell,
    to_phone,
)

RATE = 16000
LEAD = 0.3  # seconds of silence around the synthesised speech, as in a real recording
BILABIALS = {"m", "b", "p"}
VOWELS = {"aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw"}


# --- eSpeak NG through ctypes (speak_lib.h), only for making test speech -------------------------

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 1
POS_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_WORD = 1
EVENT_PHONEME = 7


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union: phoneme mnemonic for phoneme events
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Speech:
    """Synthesised speech at 16 kHz with eSpeak's own word and phoneme start times (seconds)."""

    samples: np.ndarray
    words: list[float]
    phonemes: list[tuple[str, float]]

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE

    def word_spans(self) -> list[tuple[float, float]]:
        """Each word from its start to the next word's start (the last to the end of the voice)."""
        ends = self.words[1:] + [self.duration - LEAD]
        return list(zip(self.words, ends))


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Linear-interpolation resampling (eSpeak has little energy near the new Nyquist)."""
    times = np.arange(int(round(len(samples) * new_rate / rate))) * (rate / new_rate)
    return np.interp(times, np.arange(len(samples)), samples).astype(np.float32)


class ESpeak:
    """The eSpeak NG library shipped by espeakng-loader, synthesising synchronously into memory."""

    def __init__(self) -> None:
        import espeakng_loader as loader

        lib = ctypes.CDLL(loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, loader.get_data_path().encode(), INITIALIZE_PHONEME_EVENTS
        )
        if self.rate <= 0:
            pytest.fail("eSpeak NG failed to initialise")
        self.lib = lib

    def speak(self, text: str) -> Speech:
        chunks: list[np.ndarray] = []
        events: list[tuple[int, float, str]] = []

        def collect(wav: ctypes.Array, n: int, event: ctypes.Array) -> int:
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
            i = 0
            while event[i].type != 0:
                name = event[i].id.decode("ascii", "replace")
                events.append((event[i].type, event[i].audio_position / 1000, name))
                i += 1
            return 0

        callback = _CALLBACK(collect)  # kept alive until synthesis returns
        self.lib.espeak_SetSynthCallback(callback)
        assert self.lib.espeak_SetVoiceByName(b"en-us") == 0
        data = text.encode()
        assert (
            self.lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            == 0
        )
        voice = resample(np.concatenate(chunks).astype(np.float32) / 32768, self.rate, RATE)
        pad = np.zeros(int(LEAD * RATE), np.float32)
        words = [t + LEAD for kind, t, _ in events if kind == EVENT_WORD]
        phonemes = [
            (name.strip("',"), t + LEAD) for kind, t, name in events if kind == EVENT_PHONEME
        ]
        return Speech(np.concatenate([pad, voice, pad]), words, phonemes)


@pytest.fixture(scope="module")
def espeak() -> ESpeak:
    return ESpeak()


@pytest.fixture(scope="module")
def recognizer() -> PhoneRecognizer:
    return PhoneRecognizer()


def pronunciations(words: list[str]) -> list[set[tuple[str, ...]]]:
    """Every pronunciation PocketSphinx's dictionary lists for each word, as lowercase phones."""
    import pocketsphinx

    wanted = {w: set() for w in words}  # type: dict[str, set[tuple[str, ...]]]
    with open(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as handle:
        for line in handle:
            entry, *phones = line.split()
            base = entry.split("(")[0]
            if base in wanted:
                wanted[base].add(tuple(p.lower() for p in phones))
    return [wanted[w] for w in words]


def matches_dictionary(spoken: list[PhoneSegment], words: list[str]) -> list[tuple[int, int]]:
    """Split aligned phones into the words' dictionary pronunciations; (first, stop) per word, or fail."""
    spans, at = [], 0
    for word, variants in zip(words, pronunciations(words)):
        said = [v for v in variants if tuple(s.phone for s in spoken[at : at + len(v)]) == v]
        assert said, f"{word}: {[s.phone for s in spoken[at : at + 6]]} is none of {variants}"
        spans.append((at, at + len(said[0])))
        at += len(said[0])
    assert at == len(spoken), "no phones beyond the transcript's"
    return spans


def save(path: Path, **measures: object) -> None:
    """Leave what was measured beside the test, for a look when it fails."""

    def plain(value: object) -> object:
        if isinstance(value, PhoneSegment):
            return asdict(value)
        return str(value)

    path.write_text(json.dumps(measures, indent=1, default=plain))


def assert_covers(segments: list[PhoneSegment], duration: float) -> None:
    assert segments[0].start == 0.0
    assert segments[-1].end == pytest.approx(duration)
    for before, after in zip(segments, segments[1:]):
        assert before.end == after.start
        assert after.end > after.start


# --- small pieces --------------------------------------------------------------------------------


def test_unit_names_become_plain_lowercase_arpabet() -> None:
    assert [to_phone(n) for n in ("AA", "OW1", "SIL", "+NSN+", "<sil>", "[NOISE]", "M")] == [
        "aa",
        "ow",
        "sil",
        "sil",
        "sil",
        "sil",
        "m",
    ]


def test_spans_become_contiguous_segments() -> None:
    spans = [("m", 5, 10), ("aa", 8, 20), ("sil", 20, 22), ("p", 30, 35), ("aa", 40, 60)]
    segments = contiguous(spans, 0.5)
    assert [(s.phone, s.start, s.end) for s in segments] == [
        ("sil", 0.0, 0.05),
        ("m", 0.05, 0.1),
        ("aa", 0.1, 0.2),
        ("sil", 0.2, 0.3),
        ("p", 0.3, 0.35),
        ("sil", 0.35, 0.4),
        ("aa", 0.4, 0.5),
    ]
    assert contiguous([], 0.123) == [PhoneSegment("sil", 0.0, 0.123)]
    assert contiguous([("m", 0, 5)], 0.0) == []


def test_pause_boundaries_snap_to_the_first_and_last_audible_sample() -> None:
    samples = np.zeros(RATE // 2, np.float32)
    samples[int(0.1 * RATE) : int(0.3 * RATE)] = 0.1
    segments = [
        PhoneSegment("sil", 0.0, 0.07),
        PhoneSegment("m", 0.07, 0.2),
        PhoneSegment("aa", 0.2, 0.33),
        PhoneSegment("sil", 0.33, 0.5),
    ]
    assert snap_to_sound(segments, samples) == [
        PhoneSegment("sil", 0.0, 0.1),
        PhoneSegment("m", 0.1, 0.2),
        PhoneSegment("aa", 0.2, 0.3),
        PhoneSegment("sil", 0.3, 0.5),
    ]
    at_the_edges = [PhoneSegment("m", 0.0, 0.2), PhoneSegment("aa", 0.2, 0.5)]
    assert snap_to_sound(at_the_edges, samples) == [
        PhoneSegment("sil", 0.0, 0.1),
        PhoneSegment("m", 0.1, 0.2),
        PhoneSegment("aa", 0.2, 0.3),
        PhoneSegment("sil", 0.3, 0.5),
    ]
    inaudible = [
        PhoneSegment("sil", 0.0, 0.35),
        PhoneSegment("p", 0.35, 0.4),
        PhoneSegment("sil", 0.4, 0.5),
    ]
    assert (
        snap_to_sound(inaudible, samples) == inaudible
    )  # never dropped: alignments keep every phone


def test_a_pause_placed_over_ongoing_speech_goes_back_to_the_phones_beside_it() -> None:
    """The aligner's "pause" over sound as loud as the speech is split between its neighbours; a
    real pause (quiet) and the silences at the ends stay."""
    samples = np.zeros(RATE, np.float32)
    samples[int(0.1 * RATE) : int(0.6 * RATE)] = 0.1  # speech, then a quiet pause, then speech
    samples[int(0.6 * RATE) : int(0.8 * RATE)] = 0.0005
    samples[int(0.8 * RATE) : int(0.9 * RATE)] = 0.1
    segments = [
        PhoneSegment("sil", 0.0, 0.1),
        PhoneSegment("ey", 0.1, 0.2),
        PhoneSegment("m", 0.2, 0.25),
        PhoneSegment("sil", 0.25, 0.45),  # loud: not a pause
        PhoneSegment("ah", 0.45, 0.6),
        PhoneSegment("sil", 0.6, 0.8),  # quiet: a pause
        PhoneSegment("l", 0.8, 0.9),
        PhoneSegment("sil", 0.9, 1.0),
    ]
    assert bridge_loud_pauses(segments, samples) == [
        PhoneSegment("sil", 0.0, 0.1),
        PhoneSegment("ey", 0.1, 0.2),
        PhoneSegment("m", 0.2, 0.35),
        PhoneSegment("ah", 0.35, 0.6),
        PhoneSegment("sil", 0.6, 0.8),
        PhoneSegment("l", 0.8, 0.9),
        PhoneSegment("sil", 0.9, 1.0),
    ]


def test_aligned_boundaries_move_later_but_the_clip_keeps_its_ends() -> None:
    segments = [
        PhoneSegment("sil", 0.0, 0.3),
        PhoneSegment("b", 0.3, 0.35),
        PhoneSegment("aa", 0.35, 0.5),
        PhoneSegment("sil", 0.5, 0.505),
    ]
    assert delayed(segments, 0.014) == [
        PhoneSegment("sil", 0.0, 0.314),
        PhoneSegment("b", 0.314, 0.364),
        PhoneSegment("aa", 0.364, 0.505),
    ]  # the last pause, shorter than the delay, is gone; the clip still ends at 0.505
    assert delayed([], 0.014) == []


def test_other_readings_join_the_best_one_where_they_differ() -> None:
    best = "maybe we'll ring some lemons like the must top".split()
    others = [
        "maybe we'll bring some lemons like the must top".split(),
        "maybe we'll ring some lemons like the bus stop".split(),
        "maybe we'll ring lemons like the must top".split(),  # a word left out: no side path
    ]
    transitions, final = reading_lattice(best, others)
    assert final == len(best)
    assert transitions[:final] == [(i, i + 1, 1.0, w) for i, w in enumerate(best)]
    sides = transitions[final:]
    assert (2, 3, 1.0, "bring") in sides  # replaces "ring" between the same two states
    must_top = best.index("must")
    bus, stop = [t for t in sides if t[3] in ("bus", "stop")]
    assert bus[0] == must_top and stop[1] == must_top + 2 and bus[1] == stop[0] > final
    assert len(sides) == 3


def test_alignment_picks_the_readings_the_sound_fits(
    recognizer: PhoneRecognizer, espeak: ESpeak
) -> None:
    """A recogniser's misheard best reading, with its other readings: the aligner keeps the words the
    sound fits, combining two readings' differences, and with them the lip closures."""
    speech = espeak.speak("maybe Bill will bring some lemons by the bus stop")
    best = "maybe we'll ring some lemons like the must top"
    others = [
        "maybe we'll bring some lemons like the must top",
        "maybe we'll ring some lemons like the bus stop",
        "maybe we'll ring some lemons I must stop",
    ]
    plain = [s.phone for s in recognizer.align(speech.samples, best)]
    chosen = [s.phone for s in recognizer.align(speech.samples, best, alternatives=others)]
    joined = " ".join(chosen)
    assert "b r ih ng" in joined and "b ah s s t" in joined and "l ay k" in joined, joined
    assert sum(p in BILABIALS for p in chosen) == sum(p in BILABIALS for p in plain) + 1 == 7
    unknown = recognizer.align(speech.samples, best, alternatives=["maybe zzqx bring"])
    assert [s.phone for s in unknown] == plain  # a reading with a word it cannot say is left out


def test_unknown_words_are_spelled_by_letter_rules() -> None:
    assert spell("zorblax") == "Z AO R B L AE K S"
    assert spell("Mumble") == "M AH M B L"
    assert spell("phish") == "F IH SH"
    assert spell("42") == ""


# --- errors --------------------------------------------------------------------------------------


def test_missing_models_raise_resource_error(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="en-us-phone.lm.bin") as caught:
        PhoneRecognizer(model_dir=tmp_path)
    assert "pip install" in str(caught.value)


@pytest.mark.parametrize("transcript", ["", "   ", " ,. -- !"])
def test_empty_transcript_is_an_input_error(recognizer: PhoneRecognizer, transcript: str) -> None:
    with pytest.raises(InputError, match="no words"):
        recognizer.align(np.zeros(RATE, np.float32), transcript)


def test_wrong_rate_or_shape_is_an_input_error(recognizer: PhoneRecognizer) -> None:
    with pytest.raises(InputError, match="16000 Hz"):
        recognizer.recognize(np.zeros(44100, np.float32), sample_rate=44100)
    with pytest.raises(InputError, match="mono"):
        recognizer.recognize(np.zeros((RATE, 2), np.float32))


# --- silence -------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.0, 1e-4])
def test_silence_is_only_sil(recognizer: PhoneRecognizer, level: float) -> None:
    samples = (np.random.default_rng(3).normal(0, 1, 2 * RATE) * level).astype(np.float32)
    assert recognizer.recognize(samples) == [PhoneSegment("sil", 0.0, 2.0)]
    assert recognizer.align(samples, "hello world") == [PhoneSegment("sil", 0.0, 2.0)]
    assert recognizer.recognize(np.zeros(0, np.float32)) == []


# --- real speech ---------------------------------------------------------------------------------


@pytest.mark.parametrize("context_dependent", [True, False], ids=["triphones", "monophones"])
def test_recognition_finds_lip_closures_where_espeak_closed_the_lips(
    espeak: ESpeak, context_dependent: bool, tmp_path: Path
) -> None:
    speech = espeak.speak("my mother made a pumpkin pie")
    recognizer = PhoneRecognizer(options=PhoneSearchOptions(context_dependent=context_dependent))
    segments = recognizer.recognize(speech.samples)
    save(tmp_path / "recognised.json", segments=segments, espeak=speech.phonemes)

    assert_covers(segments, speech.duration)
    closures = [t for name, t in speech.phonemes if name in BILABIALS]
    found = [s for s in segments if s.phone in BILABIALS]
    near = lambda t, s: s.start - 0.08 <= t <= s.end + 0.08  # noqa: E731
    assert sum(any(near(t, s) for s in found) for t in closures) >= len(closures) / 2
    assert sum(any(near(t, s) for t in closures) for s in found) >= 0.75 * len(found)
    assert sum(s.phone in VOWELS for s in segments) >= 5
    assert segments[0].phone == segments[-1].phone == "sil"
    assert recognizer.recognize(speech.samples) == segments  # no state carried between calls


def test_alignment_gives_dictionary_phones_where_espeak_spoke(
    recognizer: PhoneRecognizer, espeak: ESpeak, tmp_path: Path
) -> None:
    speech = espeak.speak("hello, we buy blue boots")
    segments = recognizer.align(speech.samples, "Hello, we buy blue boots!")
    save(tmp_path / "aligned.json", segments=segments, espeak=speech.phonemes, words=speech.words)

    assert_covers(segments, speech.duration)
    spoken = [s for s in segments if s.phone != "sil"]
    words = matches_dictionary(spoken, ["hello", "we", "buy", "blue", "boots"])
    assert [s.phone for s in spoken[4:]] == [
        "w",
        "iy",
        "b",
        "ay",
        "b",
        "l",
        "uw",
        "b",
        "uw",
        "t",
        "s",
    ]

    voiced = np.flatnonzero(np.abs(speech.samples) > 0.01)[0] / RATE
    assert abs(spoken[0].start - voiced) <= 0.08
    assert abs(spoken[-1].end - (speech.duration - LEAD)) <= 0.08

    for (start, end), (first, stop) in zip(speech.word_spans(), words):
        aligned_start, aligned_end = spoken[first].start, spoken[stop - 1].end
        assert aligned_start < end and aligned_end > start, (start, end, aligned_start, aligned_end)
        assert abs(aligned_start - start) <= 0.08

    closures = [t for name, t in speech.phonemes if name in BILABIALS]
    aligned = [s.start for s in spoken if s.phone in BILABIALS]
    assert len(closures) == len(aligned) == 3
    assert np.max(np.abs(np.array(closures) - aligned)) <= 0.06


def test_the_phone_loop_is_built_by_the_first_recognition_not_by_alignment(
    espeak: ESpeak, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its search is most of PocketSphinx's load time, and aligning words never needs it."""
    built: list[dict[str, object]] = []
    load = PhoneRecognizer._load

    def counted(self: PhoneRecognizer, pocketsphinx: object, **params: object) -> object:
        built.append(params)
        return load(self, pocketsphinx, **params)

    monkeypatch.setattr(PhoneRecognizer, "_load", counted)
    speech = espeak.speak("we buy blue boots")
    fresh = PhoneRecognizer()
    assert len(built) == 1  # the aligner
    aligned = fresh.align(speech.samples, "we buy blue boots")
    assert len(built) == 1 and [s.phone for s in aligned if s.phone in BILABIALS] == ["b"] * 3
    recognised = fresh.recognize(speech.samples)
    assert len(built) == 2 and "allphone_ci" in built[1]
    assert any(s.phone in VOWELS for s in recognised)
    assert fresh.recognize(speech.samples) == recognised
    assert len(built) == 2  # built once


def test_alignment_spells_words_missing_from_the_dictionary(
    recognizer: PhoneRecognizer, espeak: ESpeak, caplog: pytest.LogCaptureFixture
) -> None:
    speech = espeak.speak("hello zorblax")
    with caplog.at_level(logging.WARNING, logger="lipsync_tool.speech.phones"):
        segments = recognizer.align(speech.samples, "hello zorblax")
    assert "'zorblax' is not in the dictionary" in caplog.text
    phones = [s.phone for s in segments if s.phone != "sil"]
    assert phones == ["hh", "ah", "l", "ow", "z", "ao", "r", "b", "l", "ae", "k", "s"]
    assert_covers(segments, speech.duration)


def test_alignment_falls_back_to_recognition_when_the_text_cannot_fit(
    recognizer: PhoneRecognizer, espeak: ESpeak, caplog: pytest.LogCaptureFixture
) -> None:
    speech = espeak.speak("hi")
    transcript = "this sentence has far too many words to be spoken in so short a clip of audio"
    with caplog.at_level(logging.WARNING, logger="lipsync_tool.speech.phones"):
        segments = recognizer.align(speech.samples, transcript)
    assert "recognising phones instead" in caplog.text
    assert segments == recognizer.recognize(speech.samples)


def test_long_clips_are_cut_at_quiet_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phones_module, "CHUNK_FRAMES", 100)
    samples = np.full(int(3.5 * RATE), 0.1, np.float32)
    samples[int(0.82 * RATE) : int(0.83 * RATE)] = 0.0
    samples[int(1.6 * RATE) : int(1.61 * RATE)] = 0.001
    assert quiet_cuts(samples) == [
        0,
        82,
        160,
        210,
        260,
        350,
    ]  # quietest frames, else the earliest allowed
    assert quiet_cuts(samples[: RATE // 2]) == [0, 50]


def test_long_clips_are_aligned_and_recognised_in_pieces(
    recognizer: PhoneRecognizer, espeak: ESpeak, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = "Bob and Pam moved the piano upstairs. My mother made a pumpkin pie, and we ate it."
    speech = espeak.speak(text)
    whole = [s for s in recognizer.align(speech.samples, text) if s.phone != "sil"]
    monkeypatch.setattr(phones_module, "CHUNK_FRAMES", 150)  # pieces of at most 1.5 s
    pieces = recognizer.align(speech.samples, text)
    save(tmp_path / "pieces.json", whole=whole, pieces=pieces)

    assert_covers(pieces, speech.duration)
    spoken = [s for s in pieces if s.phone != "sil"]
    matches_dictionary(spoken, phones_module.transcript_words(text))
    if len(spoken) == len(whole):
        moved = np.abs(np.array([s.start for s in spoken]) - [s.start for s in whole])
        assert np.median(moved) <= 0.01
    fast = PhoneRecognizer(options=PhoneSearchOptions(context_dependent=False))
    recognised = fast.recognize(speech.samples)
    assert_covers(recognised, speech.duration)
    assert sum(s.phone in BILABIALS for s in recognised) >= 3
