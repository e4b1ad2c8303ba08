"""Speech to timed English phones with PocketSphinx: phone recognition, or forced alignment to a transcript."""

from __future__ import annotations

import difflib
import logging
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import InputError, ResourceError
from .envelope import loudness_db

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
FRAME_RATE = 100  # PocketSphinx frames per second (its default `frate`)
HOP = SAMPLE_RATE // FRAME_RATE  # samples per frame
CHUNK_FRAMES = (
    1000  # longer clips are decoded in pieces: search and alignment memory grow with length
)
SILENCE = "sil"
PAD_FRAMES = (
    25  # background added around the audio: the models expect speech to begin after a pause
)
QUIET_WINDOW = 5  # frames of the quietest stretch of a recording, taken as its background
SILENT_PEAK = 10 ** (-60 / 20)  # below -60 dBFS nothing is spoken (as in media.audio)
DITHER_LSB = 0.5  # standard deviation of the added noise, in 16-bit steps
PHONE_SEARCH = "phones"
ALIGN_SEARCH = "words"
LATTICE_SEARCH = "readings"
ALIGNED_DELAY = 0.014
"""Seconds an aligned boundary is moved later: on bench_asr's five eSpeak NG clips aligned to their
words, 592 phone boundaries came 13.7 ms (median) before eSpeak's own, and 47 of the 48 bilabials
ended early (a frame's features describe the 25-ms window after its 10-ms step, not before)."""
PAUSE_LOUDNESS_DB = 25.0  # an aligned pause this close to the speech's loud level is speech
LOUD_PERCENTILE = 90  # of 10-ms frame levels: the speech's loud level
PAUSE_PROBABILITY = (
    0.005  # of a silence between two words of the transcript (PocketSphinx's `silprob`)
)
ALIGN_CONFIG = MappingProxyType(
    {  # wide beams: a narrow one loses the only allowed path on odd audio
        "lw": 6.5,  # PocketSphinx's default; scales the penalty of pauses between words
        "beam": 1e-80,
        "pbeam": 1e-80,
        "wbeam": 1e-60,
        "fsgusefiller": False,  # the alignment grammar places its own silences
        "bestpath": False,  # lattice rescoring yields word spans too short for their phones
    }
)
MODEL_FILES = ("en-us/en-us", "en-us/cmudict-en-us.dict", "en-us/en-us-phone.lm.bin")


@dataclass(frozen=True)
class PhoneSegment:
    """One phone and the time span it occupies in the audio."""

    phone: str
    """ARPAbet symbol, lowercase, no stress digit ("aa", "m"); silence and noise are "sil"."""
    start: float
    """Start time in seconds from the beginning of the audio."""
    end: float
    """End time in seconds (exclusive); equals the next segment's start."""


@dataclass(frozen=True)
class PhoneSearchOptions:
    """Tuning of the phone-loop search used by `PhoneRecognizer.recognize` (alignment has its own, fixed)."""

    context_dependent: bool = True
    """Score phones in context (triphones, `allphone_ci` off): about 8x slower, finds more lip closures."""
    phone_bigrams: bool = False
    """Weigh phone sequences by PocketSphinx's English phone model; off, every phone may follow any."""
    language_weight: float = 2.5
    """Weight of the phone model against the acoustics (`lw`); used with `phone_bigrams` only."""
    phone_insertion_penalty: float = 1.0
    """Probability of starting a new phone (`pip`) without bigrams; above 1 gives more, shorter phones."""
    beam: float = 1e-10
    """Viterbi beam per frame (`beam`); smaller is wider, slower and more exact."""
    phone_beam: float = 1e-10
    """Beam on phone transitions (`pbeam`)."""


def to_phone(name: str) -> str:
    """Normalise a PocketSphinx unit name: lowercase ARPAbet, stress dropped, fillers and silence as "sil"."""
    name = name.strip().lower().rstrip("012")
    if not name or name.startswith(("+", "<", "[")) or name == SILENCE:
        return SILENCE
    return name


def contiguous(spans: Iterable[tuple[str, int, int]], duration: float) -> list[PhoneSegment]:
    """Turn (phone, first frame, end frame exclusive) spans into segments covering [0, duration] without gaps.

    Gaps become "sil", overlaps are cut in favour of the earlier phone, neighbouring silences merge
    and the last segment ends exactly at `duration`.
    """
    if duration <= 0:
        return []
    n_frames = math.ceil(duration * FRAME_RATE)
    frames: list[tuple[str, int, int]] = []
    cursor = 0
    for phone, start, end in sorted(spans, key=lambda span: span[1]):
        start, end = max(start, cursor), min(end, n_frames)
        if end <= start:
            continue
        if start > cursor:
            frames.append((SILENCE, cursor, start))
        frames.append((phone, start, end))
        cursor = end
    if cursor < n_frames or not frames:
        frames.append((SILENCE, cursor, max(n_frames, cursor + 1)))
    merged: list[tuple[str, int, int]] = []
    for phone, start, end in frames:
        if merged and merged[-1][0] == phone == SILENCE:
            merged[-1] = (phone, merged[-1][1], end)
        else:
            merged.append((phone, start, end))
    segments = [
        PhoneSegment(p, min(s / FRAME_RATE, duration), min(e / FRAME_RATE, duration))
        for p, s, e in merged
    ]
    segments[-1] = PhoneSegment(segments[-1].phone, segments[-1].start, duration)
    return [seg for seg in segments if seg.end > seg.start]


def delayed(segments: list[PhoneSegment], seconds: float) -> list[PhoneSegment]:
    """The segments with every inner boundary `seconds` later (the first start and last end stay)."""
    if not segments:
        return []
    end = segments[-1].end
    bounds = [segments[0].start]
    bounds += [min(seg.start + seconds, end) for seg in segments[1:]]
    bounds.append(end)
    return [
        PhoneSegment(seg.phone, a, b) for seg, a, b in zip(segments, bounds, bounds[1:]) if b > a
    ]


def audible_span(segment: PhoneSegment, audible: np.ndarray) -> tuple[float, float] | None:
    """Where the segment's first audible sample starts and its last one ends, in seconds; None if none is."""
    first = int(round(segment.start * SAMPLE_RATE))
    found = np.flatnonzero(audible[first : int(round(segment.end * SAMPLE_RATE))])
    if len(found) == 0:
        return None
    return (first + int(found[0])) / SAMPLE_RATE, (first + int(found[-1]) + 1) / SAMPLE_RATE


def snap_to_sound(segments: list[PhoneSegment], samples: np.ndarray) -> list[PhoneSegment]:
    """Move each boundary between silence and a phone onto the phone's first or last audible sample.

    The acoustic features look a few frames ahead and behind, so a phone next to a pause tends to
    start early or end late by 10 to 40 ms; where that margin is inaudible it goes back to the
    pause. Phones are never dropped, so an alignment keeps every phone of its transcript.
    """
    if not segments:
        return []
    audible = np.abs(samples) >= SILENT_PEAK
    heard = [audible_span(seg, audible) for seg in segments]
    phones = [seg.phone for seg in segments]
    bounds = [seg.start for seg in segments] + [segments[-1].end]
    for i in range(len(segments)):
        span = heard[i]
        if phones[i] == SILENCE or span is None:
            continue  # nothing audible to snap to: leave the phone as it is
        if i == 0 or phones[i - 1] == SILENCE:
            bounds[i] = span[0]
        if i + 1 == len(segments) or phones[i + 1] == SILENCE:
            bounds[i + 1] = span[1]
    if phones[0] != SILENCE and bounds[0] > 0:
        phones, bounds = [SILENCE] + phones, [0.0] + bounds
    if phones[-1] != SILENCE and bounds[-1] < segments[-1].end:
        phones, bounds = phones + [SILENCE], bounds + [segments[-1].end]
    return [
        PhoneSegment(phone, start, end)
        for phone, start, end in zip(phones, bounds, bounds[1:])
        if end > start
    ]


def bridge_loud_pauses(segments: list[PhoneSegment], samples: np.ndarray) -> list[PhoneSegment]:
    """Give a pause the aligner placed over ongoing speech back to the phones either side of it.

    A quiet nasal or the tail of a vowel can fit the silence model better than its phone, which
    leaves the word before squeezed into a few frames and a "pause" where the voice goes on. A
    pause whose median level is within `PAUSE_LOUDNESS_DB` of the speech's loud frames is such a
    stretch: the phone before it runs to its middle, the phone after it starts there.
    """
    levels = loudness_db(samples, SAMPLE_RATE, FRAME_RATE, len(samples) // HOP)
    if len(levels) == 0:
        return segments
    loud = float(np.percentile(levels, LOUD_PERCENTILE))
    result = list(segments)
    for i in range(1, len(result) - 1):
        pause, before, after = result[i], result[i - 1], result[i + 1]
        if pause.phone != SILENCE or SILENCE in (before.phone, after.phone):
            continue
        inside = levels[int(pause.start * FRAME_RATE) : int(pause.end * FRAME_RATE)]
        if len(inside) == 0 or float(np.median(inside)) < loud - PAUSE_LOUDNESS_DB:
            continue
        middle = (pause.start + pause.end) / 2
        result[i - 1] = replace(before, end=middle)
        result[i] = replace(pause, start=middle, end=middle)
        result[i + 1] = replace(after, start=middle)
    return [seg for seg in result if seg.end > seg.start]


def reading_lattice(
    best: Sequence[str], others: Iterable[Sequence[str]]
) -> tuple[list[tuple[int, int, float, str]], int]:
    """A word grammar of `best` with each other reading's differences as side paths, and its final state.

    State i is the point after `best`'s first i words; where another reading replaces or inserts
    words, a path of those words joins the two states around them, so differences at separate
    places combine freely (one reading's first half with another's second).
    """
    final = len(best)
    transitions = [(i, i + 1, 1.0, word) for i, word in enumerate(best)]
    added: set[tuple[int, int, tuple[str, ...]]] = set()
    state = final + 1
    for other in others:
        matcher = difflib.SequenceMatcher(a=best, b=other, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            side = tuple(other[j1:j2])
            if op == "equal" or not side or (i1, i2, side) in added:
                continue
            added.add((i1, i2, side))
            states = [i1, *range(state, state + len(side) - 1), i2]
            state += len(side) - 1
            transitions += [(a, b, 1.0, word) for a, b, word in zip(states, states[1:], side)]
    return transitions, final


def within(spans: list[tuple[str, int, int]], first: int, stop: int) -> list[tuple[str, int, int]]:
    """The spans clipped to frames [first, stop): a piece's padding must not spill onto its neighbours."""
    clipped = [(phone, max(start, first), min(end, stop)) for phone, start, end in spans]
    return [span for span in clipped if span[2] > span[1]]


def check_samples(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The samples as a 1-D float32 array; InputError for other rates or shapes."""
    if sample_rate != SAMPLE_RATE:
        raise InputError(
            f"phone analysis needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz; "
            "decode it with lipsync_tool.media.audio.decode_speech, which resamples"
        )
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise InputError(
            f"phone analysis needs mono samples (a 1-D array), got shape {samples.shape}"
        )
    return samples.astype(np.float32, copy=False)


def quietest(samples: np.ndarray, length: int) -> np.ndarray:
    """The recording's own background: its quietest stretch of QUIET_WINDOW frames, repeated to `length`."""
    window = QUIET_WINDOW * SAMPLE_RATE // FRAME_RATE
    if len(samples) <= window:
        return np.resize(samples, length)
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    starts = np.arange(0, len(samples) - window + 1, SAMPLE_RATE // FRAME_RATE)
    start = int(starts[np.argmin(energy[starts + window] - energy[starts])])
    return np.resize(samples[start : start + window], length)


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM, with PAD_FRAMES of background before and after.

    The padding lets the models hear a pause before the first word; it repeats the recording's own
    quietest moment, since a step from digital silence into background noise sounds like a plosive.
    """
    samples = np.clip(np.nan_to_num(samples), -1.0, 1.0)
    pad = quietest(samples, PAD_FRAMES * SAMPLE_RATE // FRAME_RATE)
    scaled = np.concatenate([pad, samples, pad]) * 32767.0
    # Digital silence (exact zeros, common in TTS and padded files) breaks the acoustic features and
    # makes alignment fail; a fixed-seed dither of about one bit keeps results reproducible.
    scaled += np.random.default_rng(0).normal(0.0, DITHER_LSB, len(scaled))
    return np.round(np.clip(scaled, -32768, 32767)).astype("<i2").tobytes()


def transcript_words(transcript: str) -> list[str]:
    """Lowercase words of a transcript, punctuation stripped; hyphenated words split; InputError when none."""
    text = transcript.lower().replace("\u2019", "'").replace("\u2018", "'")
    words = [w.strip("'") for w in re.split(r"[^a-z0-9']+", text)]
    words = [w for w in words if w]
    if not words:
        raise InputError(
            f"the transcript {transcript!r} has no words; give the spoken text, or leave it out to recognise phones"
        )
    return words


_LETTER_RULES: tuple[tuple[str, str], ...] = (
    ("tch", "CH"),
    ("sch", "S K"),
    ("igh", "AY"),
    ("ch", "CH"),
    ("sh", "SH"),
    ("th", "TH"),
    ("ph", "F"),
    ("wh", "W"),
    ("ck", "K"),
    ("ng", "NG"),
    ("gh", ""),
    ("qu", "K W"),
    ("ee", "IY"),
    ("ea", "IY"),
    ("oo", "UW"),
    ("ou", "AW"),
    ("ow", "OW"),
    ("oi", "OY"),
    ("oy", "OY"),
    ("ai", "EY"),
    ("ay", "EY"),
    ("au", "AO"),
    ("aw", "AO"),
    ("ie", "IY"),
    ("ei", "EY"),
    ("ue", "UW"),
    ("ew", "UW"),
    ("oa", "OW"),
    ("er", "ER"),
    ("ir", "ER"),
    ("ur", "ER"),
    ("ar", "AA R"),
    ("or", "AO R"),
    ("a", "AE"),
    ("b", "B"),
    ("c", "K"),
    ("d", "D"),
    ("e", "EH"),
    ("f", "F"),
    ("g", "G"),
    ("h", "HH"),
    ("i", "IH"),
    ("j", "JH"),
    ("k", "K"),
    ("l", "L"),
    ("m", "M"),
    ("n", "N"),
    ("o", "AA"),
    ("p", "P"),
    ("q", "K"),
    ("r", "R"),
    ("s", "S"),
    ("t", "T"),
    ("u", "AH"),
    ("v", "V"),
    ("w", "W"),
    ("x", "K S"),
    ("y", "IY"),
    ("z", "Z"),
)


def spell(word: str) -> str:
    """Rough ARPAbet for a word missing from the dictionary, by a few English letter-to-sound rules.

    Lips matter here more than vowels: letters for m, b, p, f, v, w and o-like sounds map reliably.
    Returns "" when the word has no letters.
    """
    letters = re.sub(r"[^a-z]", "", word.lower())
    letters = re.sub(r"([b-df-hj-np-tv-z])\1", r"\1", letters)  # doubled consonants sound once
    if len(letters) > 2 and letters.endswith("e") and letters[-2] not in "aeiouy":
        letters = letters[:-1]  # silent final e
    phones: list[str] = []
    i = 0
    while i < len(letters):
        if letters[i] == "c" and letters[i + 1 : i + 2] in ("e", "i", "y"):
            phones.append("S")
            i += 1
            continue
        if letters[i] == "y" and i == 0:
            phones.append("Y")
            i += 1
            continue
        grapheme, sound = next((g, s) for g, s in _LETTER_RULES if letters.startswith(g, i))
        phones.extend(sound.split())
        i += len(grapheme)
    return " ".join(phones)


def quiet_cuts(samples: np.ndarray) -> list[int]:
    """Frames cutting a clip into pieces of at most CHUNK_FRAMES, each at the quietest frame of a piece's later half."""
    n_frames = math.ceil(len(samples) / HOP)
    squares = np.square(samples, dtype=np.float32)
    energy: np.ndarray | list[float] = (
        np.add.reduceat(squares, np.arange(0, len(samples), HOP), dtype=np.float64)
        if len(samples)
        else []
    )
    del squares
    cuts = [0]
    while n_frames - cuts[-1] > CHUNK_FRAMES:
        low = cuts[-1] + CHUNK_FRAMES // 2
        cuts.append(low + int(np.argmin(energy[low : cuts[-1] + CHUNK_FRAMES])))
    return cuts + [n_frames]


def check_models(model_dir: Path) -> None:
    """Raise ResourceError naming every PocketSphinx model file missing under `model_dir`."""
    missing = [name for name in MODEL_FILES if not (model_dir / name).exists()]
    if missing:
        raise ResourceError(
            f"PocketSphinx model files missing under {model_dir}: {', '.join(missing)}; "
            "reinstall them with: pip install --force-reinstall 'pocketsphinx>=5,<6' "
            "(or point POCKETSPHINX_PATH at a folder holding en-us/)"
        )


def decode(decoder: Any, pcm: bytes) -> None:
    """Run one utterance through a decoder's active search (whole-utterance feature normalisation)."""
    with warnings.catch_warnings():  # "deprecated and unnecessary", yet without it results drift
        warnings.simplefilter("ignore", DeprecationWarning)
        decoder.start_stream()  # forget the previous clip's noise estimate (the model removes noise)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


class PhoneRecognizer:
    """Timed English phones from 16 kHz speech: PocketSphinx models loaded once, used for many clips.

    Decoders keep state between calls, so an instance is not meant for concurrent use; calls are
    serialised by a lock. Words spelled for `align` stay in its dictionary.
    """

    def __init__(
        self, model_dir: Path | None = None, options: PhoneSearchOptions = PhoneSearchOptions()
    ) -> None:
        try:
            import pocketsphinx
        except ImportError as exc:
            raise ResourceError(
                "phone analysis needs PocketSphinx; install it with: pip install 'pocketsphinx>=5,<6'"
            ) from exc
        self.model_dir = (
            Path(model_dir) if model_dir is not None else Path(pocketsphinx.get_model_path())
        )
        self.options = options
        check_models(self.model_dir)
        self._lock = threading.Lock()
        self._pocketsphinx = pocketsphinx
        self._aligner = self._load(pocketsphinx, **ALIGN_CONFIG)
        self._phone_loop: Any = None
        log.debug("PocketSphinx models loaded from %s", self.model_dir)

    @property
    def _phones(self) -> Any:
        """The phone-loop decoder, built on first use: its search takes most of the load time
        (0.4 of 0.6 s) and a render whose words are known or heard never needs it."""
        if self._phone_loop is None:
            options = self.options
            decoder = self._load(
                self._pocketsphinx,
                allphone_ci=not options.context_dependent,
                lw=options.language_weight,
                pip=options.phone_insertion_penalty,
                beam=options.beam,
                pbeam=options.phone_beam,
            )
            bigrams = self.model_dir / MODEL_FILES[2]
            try:
                decoder.add_allphone_file(
                    PHONE_SEARCH, str(bigrams) if options.phone_bigrams else None
                )
                decoder.activate_search(PHONE_SEARCH)
            except RuntimeError as exc:
                raise ResourceError(
                    f"cannot load the PocketSphinx phone model {bigrams} (corrupt file?); "
                    "reinstall it with: pip install --force-reinstall 'pocketsphinx>=5,<6'"
                ) from exc
            self._phone_loop = decoder
        return self._phone_loop

    def load_phone_loop(self) -> None:
        """Build the phone-loop search now rather than on the first `recognize`."""
        with self._lock:
            _ = self._phones

    def _load(self, pocketsphinx: Any, **params: Any) -> Any:
        """A decoder with the acoustic model and dictionary, tuned by `params` (PocketSphinx config keys)."""
        config = pocketsphinx.Config(
            hmm=str(self.model_dir / MODEL_FILES[0]),
            dict=str(self.model_dir / MODEL_FILES[1]),
            lm=None,
            samprate=SAMPLE_RATE,
            frate=FRAME_RATE,
            cmn="batch",  # the model's own setting, stated: each clip normalised on its own
            loglevel="FATAL",  # the C library logs to stderr otherwise; our logger reports instead
            **params,
        )
        try:
            return pocketsphinx.Decoder(config)
        except (RuntimeError, ValueError) as exc:
            raise ResourceError(
                f"cannot load the PocketSphinx models in {self.model_dir} (corrupt files?); "
                "reinstall them with: pip install --force-reinstall 'pocketsphinx>=5,<6'"
            ) from exc

    def recognize(
        self,
        samples: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[PhoneSegment]:
        """Phones heard in the audio, with no transcript (a phone-loop search); `progress(done, total)` per piece."""
        samples = check_samples(samples, sample_rate)
        duration = len(samples) / SAMPLE_RATE
        if duration == 0:
            return []
        with self._lock:
            pieces = list(pairwise(quiet_cuts(samples)))
            spans = []
            for done, (a, b) in enumerate(pieces, start=1):
                spans.extend(self._recognize(samples, a, b))
                if progress is not None:
                    progress(done, len(pieces))
        segments = snap_to_sound(contiguous(spans, duration), samples)
        log.debug(
            "recognised %d phones in %.2f s: %s",
            len(segments),
            duration,
            " ".join(s.phone for s in segments),
        )
        return segments

    def align(
        self,
        samples: np.ndarray,
        transcript: str,
        sample_rate: int = SAMPLE_RATE,
        alternatives: Sequence[str] = (),
    ) -> list[PhoneSegment]:
        """Phones of `transcript` timed against the audio (forced alignment).

        Words missing from the dictionary are spelled by `spell` (a warning says which). When the
        text cannot be aligned to the audio at all, this falls back to `recognize` with a warning.
        `alternatives` are other readings of the same audio (a recogniser's): where they differ
        from `transcript`, the words that fit the sound best are aligned (`reading_lattice`).
        """
        words = transcript_words(transcript)
        samples = check_samples(samples, sample_rate)
        duration = len(samples) / SAMPLE_RATE
        if duration == 0:
            return []
        if not np.any(np.abs(samples) >= SILENT_PEAK):
            log.debug("nothing audible in %.2f s of audio; no words to align", duration)
            return contiguous([], duration)
        with self._lock:
            words = self._pronounceable(words)
            spans = None
            if words and alternatives:
                words, spans = self._likeliest(samples, words, alternatives)
            if spans is None and words:
                spans = self._align(samples, words)
        if spans is None:
            log.warning(
                "could not align the transcript %r to the audio; recognising phones instead",
                transcript,
            )
            return self.recognize(samples, sample_rate)
        timed = delayed(contiguous(spans, duration), ALIGNED_DELAY)
        segments = bridge_loud_pauses(snap_to_sound(timed, samples), samples)
        log.debug(
            "aligned %d phones in %.2f s: %s",
            len(segments),
            duration,
            " ".join(s.phone for s in segments),
        )
        return segments

    def _recognize(self, samples: np.ndarray, first: int, stop: int) -> list[tuple[str, int, int]]:
        """Phone spans, in frames of the whole clip, of the frames [first, stop)."""
        decode(self._phones, pcm16(samples[first * HOP : stop * HOP]))
        shift = first - PAD_FRAMES
        spans = [
            (to_phone(seg.word), seg.start_frame + shift, seg.end_frame + 1 + shift)
            for seg in self._phones.seg()
        ]
        return within(spans, first, stop)

    def _pronounceable(self, words: list[str]) -> list[str]:
        """The words, each known to the dictionary; unknown ones get a spelled pronunciation or are dropped."""
        known = []
        for word in words:
            if self._aligner.lookup_word(word) is None:
                phones = spell(word)
                if not phones:
                    log.warning(
                        "dropping %r from the transcript: no pronunciation and no letters to spell",
                        word,
                    )
                    continue
                log.warning("%r is not in the dictionary; aligning it as spelled: %s", word, phones)
                self._aligner.add_word(word, phones, True)
            known.append(word)
        return known

    def _likeliest(
        self, samples: np.ndarray, words: list[str], alternatives: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, int, int]] | None]:
        """The reading the sound fits best: `words` or other readings' differences from them, combined.

        Readings with a word the dictionary lacks are left out; `words` when the search fails. A
        clip short enough to align in one piece gets its phone spans from the same search (else None).
        """
        others = [transcript_words(text) for text in alternatives]
        others = [o for o in others if o and all(self._aligner.lookup_word(w) for w in o)]
        if not others:
            return words, None
        transitions, final = reading_lattice(words, others)
        pcm = pcm16(samples)
        try:
            chosen = self._search(LATTICE_SEARCH, pcm, transitions, final, range(final + 1))
            if not chosen:
                return words, None
            if chosen != words:
                log.debug("readings: %s chosen over %s", " ".join(chosen), " ".join(words))
            n_frames = math.ceil(len(samples) / HOP)
            spans = self._phone_pass(pcm) if n_frames <= CHUNK_FRAMES else None
            return chosen, None if spans is None else within(spans, 0, n_frames)
        except RuntimeError as exc:  # PocketSphinx reports a failed search this way
            log.debug("choosing among the readings failed: %s", exc)
            return words, None

    def _align(self, samples: np.ndarray, words: list[str]) -> list[tuple[str, int, int]] | None:
        """Phone spans of the words over the whole clip, aligned piece by piece; None if a piece fails."""
        spans: list[tuple[str, int, int]] = []
        for (first, i), (stop, j) in pairwise(self._word_cuts(samples, words)):
            piece = self._align_piece(pcm16(samples[first * HOP : stop * HOP]), words[i:j])
            if piece is None:
                return None
            spans += within(
                [(phone, start + first, end + first) for phone, start, end in piece], first, stop
            )
        return spans

    def _word_cuts(self, samples: np.ndarray, words: list[str]) -> list[tuple[int, int]]:
        """(frame, word index) cuts of a long clip: between words, in a pause when one is in reach."""
        n_frames = math.ceil(len(samples) / HOP)
        if n_frames <= CHUNK_FRAMES or not self._align_words(pcm16(samples), words, pauses=True):
            return [(0, 0), (n_frames, len(words))]
        candidates: list[tuple[int, int, bool]] = []  # (frame, index of the word after, in a pause)
        pause, index = None, 0
        for seg in self._aligner.seg():
            start, end = seg.start_frame - PAD_FRAMES, seg.end_frame + 1 - PAD_FRAMES
            if seg.word.startswith("<"):
                pause = (start + end) // 2
                continue
            if index > 0:
                candidates.append((start if pause is None else pause, index, pause is not None))
            pause, index = None, index + 1
        cuts = [(0, 0)]
        while n_frames - cuts[-1][0] > CHUNK_FRAMES:
            frame, word = cuts[-1]
            reach = [c for c in candidates if frame < c[0] <= frame + CHUNK_FRAMES and c[1] > word]
            if not reach:
                break
            best = max(reach, key=lambda c: (c[2] and c[0] > frame + CHUNK_FRAMES // 2, c[0]))
            cuts.append((best[0], best[1]))
        return cuts + [(n_frames, len(words))]

    def _align_piece(self, pcm: bytes, words: list[str]) -> list[tuple[str, int, int]] | None:
        """Word alignment with each grammar in turn, then phone and state alignment inside it; None if all fail."""
        for pauses in (True, False):
            try:
                if self._align_words(pcm, words, pauses):
                    spans = self._phone_pass(pcm)
                    if spans is not None:
                        return spans
            except RuntimeError as exc:  # PocketSphinx reports a failed search this way
                log.debug("alignment (pauses between words: %s) failed: %s", pauses, exc)
        return None

    def _phone_pass(self, pcm: bytes) -> list[tuple[str, int, int]] | None:
        """Phone spans inside the words the last search found (raises RuntimeError when it cannot)."""
        self._aligner.set_alignment()
        decode(self._aligner, pcm)
        alignment = self._aligner.get_alignment()
        if alignment is None:
            return None
        return [
            (to_phone(p.name), p.start - PAD_FRAMES, p.start + p.duration - PAD_FRAMES)
            for p in alignment.phones()
        ]

    def _align_words(self, pcm: bytes, words: list[str], pauses: bool) -> bool:
        """First pass: a grammar of the words in order, silence allowed at the ends (and between words)."""
        last = len(words)
        transitions = [(i, i + 1, 1.0, word) for i, word in enumerate(words)]
        silent_states = range(last + 1) if pauses else (0, last)
        return self._search(ALIGN_SEARCH, pcm, transitions, last, silent_states) == words

    def _search(
        self,
        name: str,
        pcm: bytes,
        transitions: list[tuple[int, int, float, str]],
        final: int,
        silent_states: Iterable[int],
    ) -> list[str]:
        """The words the aligner hears through a word grammar from state 0 to `final`, a pause
        allowed at `silent_states`; the search stays active for a phone pass over the same audio."""
        pauses = [(state, state, PAUSE_PROBABILITY, "<sil>") for state in silent_states]
        grammar = self._aligner.create_fsg(name, 0, final, transitions + pauses)
        self._aligner.add_fsg(name, grammar)
        self._aligner.activate_search(name)
        decode(self._aligner, pcm)
        hypothesis = self._aligner.hyp()
        heard = (
            [re.sub(r"\(\d+\)$", "", w) for w in hypothesis.hypstr.split()] if hypothesis else []
        )
        return [w for w in heard if w != "<sil>"]
