"""Phones → visemes → per-frame poses: the mapping, coarticulation, and the acoustic fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from lipsync_tool.speech.acoustic import acoustic_poses
from lipsync_tool.speech.coarticulation import ANTICIPATION, MIN_CLOSURE, frame_poses
from lipsync_tool.speech.ipa import ipa_to_arpabet
from lipsync_tool.speech.visemes import PHONES, VISEME_POSES, Viseme, rhubarb_shape_of, viseme_of

from .conftest import SPEECH_RATE, PaddedSpeech, speech_like


@dataclass(frozen=True)
class Phone:
    phone: str
    start: float
    end: float


@pytest.mark.parametrize(
    ("phone", "viseme", "shape"),
    [
        ("m", Viseme.MBP, "A"),
        ("b", Viseme.MBP, "A"),
        ("p", Viseme.MBP, "A"),
        ("f", Viseme.FV, "G"),
        ("v", Viseme.FV, "G"),
        ("th", Viseme.THL, "H"),
        ("l", Viseme.THL, "H"),
        ("aa", Viseme.OPEN, "D"),
        ("ae", Viseme.OPEN, "C"),
        ("iy", Viseme.WIDE, "B"),
        ("s", Viseme.WIDE, "B"),
        ("uw", Viseme.ROUND, "F"),
        ("w", Viseme.ROUND, "F"),
        ("ow", Viseme.ROUND, "F"),
        ("sil", Viseme.REST, "X"),
        ("AA1", Viseme.OPEN, "D"),
    ],
)
def test_phones_map_to_visemes_and_rhubarb_shapes(phone: str, viseme: Viseme, shape: str) -> None:
    assert viseme_of(phone) == viseme
    assert rhubarb_shape_of(phone) == shape


def test_every_viseme_pose_is_distinct_and_meaningful() -> None:
    poses = {v: p.as_array() for v, p in VISEME_POSES.items()}
    arrays = list(poses.values())
    assert all(not np.array_equal(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :])
    assert VISEME_POSES[Viseme.MBP].close == 1.0
    assert (
        VISEME_POSES[Viseme.OPEN].open
        > VISEME_POSES[Viseme.MID].open
        > VISEME_POSES[Viseme.WIDE].open
    )
    assert VISEME_POSES[Viseme.ROUND].width < 0 < VISEME_POSES[Viseme.WIDE].width
    assert VISEME_POSES[Viseme.FV].tuck > 0 and VISEME_POSES[Viseme.THL].tongue > 0
    assert {viseme for viseme, _ in PHONES.values()} == set(Viseme)


@pytest.mark.parametrize(
    ("ipa", "arpabet"),
    [
        ("m", "m"),
        ("ɑː", "aa"),
        ("uː", "uw"),
        ("oʊ", "ow"),
        ("ˈɛ", "eh"),
        ("tʃ", "ch"),
        ("", "sil"),
        ("ʃ", "sh"),
    ],
)
def test_espeak_ipa_maps_to_arpabet(ipa: str, arpabet: str) -> None:
    assert ipa_to_arpabet(ipa) == arpabet


def around_closure(offset: float) -> list[Phone]:
    return [
        Phone("sil", 0, 0.3),
        Phone("aa", 0.3, 0.5 + offset),
        Phone("m", 0.5 + offset, 0.56 + offset),
        Phone("aa", 0.56 + offset, 0.8),
        Phone("sil", 0.8, 1.2),
    ]


@pytest.mark.parametrize("offset", [0.0, 0.007, 0.013, 0.02, 0.027, 0.033])
def test_a_60_ms_bilabial_closure_survives_at_any_alignment(offset: float) -> None:
    track = frame_poses(around_closure(offset), 1.2, 25, 30)
    opening = track.effective_opening
    vowel = opening[int(0.35 * 25) : int(0.8 * 25)]
    assert vowel.max() > 0.9, "the vowels open the mouth"
    closure = opening[int((0.45 + offset) * 25) : int((0.62 + offset) * 25) + 1]
    assert closure.min() < 0.12, f"the lips close for /m/ (min opening {closure.min():.2f})"


def test_a_very_short_bilabial_still_shuts_the_lips_for_min_closure() -> None:
    """eSpeak gives some /b/ 20 ms: the lips still stay shut MIN_CLOSURE (50 ms), over the end of the vowel
    before, so at 25 fps the closure is not a single frame."""
    phones = [
        Phone("sil", 0.0, 0.4),
        Phone("aa", 0.4, 0.7),
        Phone("b", 0.7, 0.72),
        Phone("iy", 0.72, 1.0),
        Phone("sil", 1.0, 1.4),
    ]
    track = frame_poses(phones, 1.4, 200, 280)
    shut = np.flatnonzero(track.contact > 0.99) / 200
    assert len(shut) and shut.max() - shut.min() >= MIN_CLOSURE - 0.011, (
        f"shut from {shut.min():.3f} to {shut.max():.3f} s"
    )
    assert shut.min() >= 0.7 - MIN_CLOSURE - ANTICIPATION - 0.02, "but not absurdly early"
    at_25 = frame_poses(phones, 1.4, 25, 35).contact
    assert int(np.sum(at_25 > 0.99)) >= 2, f"contact per frame {np.round(at_25, 2)}"


def test_no_jitter_and_bounded_jumps() -> None:
    rng = np.random.default_rng(0)
    names = [p for p in PHONES if p != "sil"]
    t, phones = 0.0, []
    while t < 5.0:
        length = rng.uniform(0.05, 0.2)
        phones.append(Phone(str(rng.choice(names)), t, t + length))
        t += length
    track = frame_poses(phones, 5.0, 25, 125)
    steps = np.abs(np.diff(track.poses, axis=0))
    assert steps[:, 0].max() <= 0.75, "opening never jumps by more than 0.75 in one frame"
    assert steps[:, 1].max() <= 1.2, "width never flips from round to wide in one frame"
    # No flicker: the opening does not go up-down-up on three consecutive frames by more than a little.
    d = np.diff(track.column("open"))
    flicker = np.minimum(np.abs(d[:-1]), np.abs(d[1:]))[np.sign(d[:-1]) != np.sign(d[1:])]
    assert flicker.max(initial=0.0) < 0.25


def test_the_mouth_anticipates_the_sound() -> None:
    """An open vowel starting at 1.0 s has the mouth moving before it is heard."""
    track = frame_poses(
        [Phone("sil", 0, 1.0), Phone("aa", 1.0, 1.5), Phone("sil", 1.5, 2.0)], 2.0, 100, 200
    )
    opening = track.column("open")
    assert opening[int(round((1.0 - 0.05) * 100))] > 0.02, "the movement starts 50 ms or more ahead"
    assert 0.35 < opening[int(round((1.0 - ANTICIPATION) * 100))] < 0.65, (
        "halfway there ANTICIPATION ahead"
    )
    assert opening[int(round((1.0 - 0.12) * 100))] < 0.01, "but not absurdly early"


def test_silence_gives_a_closed_mouth() -> None:
    track = frame_poses([Phone("sil", 0, 2.0)], 2.0, 25, 50)
    assert np.all(track.poses == 0)
    quiet = acoustic_poses(np.zeros(SPEECH_RATE * 2, np.float32), SPEECH_RATE, 25, 50)
    assert np.all(quiet.effective_opening == 0)


def test_loudness_opens_part_of_the_jaw_but_never_the_closed_lips() -> None:
    """Two /aa/ syllables, the second 12 dB quieter, around an /m/: the louder one opens wider, the /m/
    stays shut, silence stays closed, and the same speech 12 dB quieter moves the mouth the same."""
    from lipsync_tool.speech.coarticulation import LOUDNESS_SHARE, with_loudness

    phones = [
        Phone("sil", 0, 0.4),
        Phone("aa", 0.4, 0.8),
        Phone("m", 0.8, 1.0),
        Phone("aa", 1.0, 1.4),
        Phone("sil", 1.4, 2.0),
    ]
    track = frame_poses(phones, 2.0, 25, 50)
    level = np.full(50, -90.0)
    level[10:20], level[20:25], level[25:35] = -15.0, -25.0, -27.0
    loud = with_loudness(track, level)
    first, second = loud.effective_opening[12:18].mean(), loud.effective_opening[27:33].mean()
    assert first > second + 0.3 * LOUDNESS_SHARE, (first, second)
    assert loud.effective_opening[22] < 0.01 and track.effective_opening[22] < 0.01, (
        "the /m/ keeps the lips together"
    )
    assert np.all(loud.effective_opening[:7] == 0) and np.all(loud.effective_opening[-8:] == 0)
    np.testing.assert_allclose(with_loudness(track, level - 12.0).poses, loud.poses, atol=1e-6)
    silent = with_loudness(track, np.full(50, -120.0))
    assert np.array_equal(silent.poses, track.poses), "digital silence leaves the phones' own poses"
    with pytest.raises(ValueError):
        with_loudness(track, level[:10])


def test_acoustic_visemes_open_on_vowels_and_spread_on_hiss() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(SPEECH_RATE) / SPEECH_RATE
    vowel = speech_like(1.0, [(0.0, 1.0)])
    hiss = np.diff(rng.normal(0, 0.2, SPEECH_RATE + 1)).astype(
        np.float32
    )  # high-frequency noise, like /s/
    samples = np.concatenate(
        [
            np.zeros(SPEECH_RATE // 2, np.float32),
            vowel,
            hiss * 0.5,
            np.zeros(SPEECH_RATE // 2, np.float32),
        ]
    )
    track = acoustic_poses(samples, SPEECH_RATE, 25, 75)
    vowel_frames, hiss_frames = slice(15, 35), slice(40, 60)
    assert track.column("open")[vowel_frames].mean() > 2 * track.column("open")[hiss_frames].mean()
    assert track.column("width")[hiss_frames].mean() > 0.5
    assert track.effective_opening[:10].max() == 0 and t.size


def test_english_tts_recognised_phones_drive_the_mouth(english: PaddedSpeech) -> None:
    """Phone recognition on real (synthetic) English: the mouth opens in speech and rests in silence."""
    from lipsync_tool.media.audio import SpeechAudio
    from lipsync_tool.speech.track import SpeechAnalyzer

    speech = SpeechAudio(english.samples_16k, SPEECH_RATE, source=None)  # type: ignore[arg-type]
    n = int(english.duration * 25)
    track = SpeechAnalyzer().track(speech, 25, n, asr="pocketsphinx")
    assert track.method == "recognized"
    start, end = english.speech_span
    opening = track.poses.effective_opening
    assert opening[: int(start * 25) - 2].max() < 0.05 and opening[int(end * 25) + 3 :].max() < 0.05
    assert opening[int(start * 25) : int(end * 25)].max() > 0.8
    assert {"m", "b"} & {p.phone for p in track.phones}, "bilabials are recognised"
