"""Speech to timed English phones with PocketSphinx: phone recognition, or forced alignment to a transcript."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InputError, ResourceError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
FRAME_RATE = 100  # PocketSphinx frames per second (its default `frate`)
SILENCE = "sil"
DITHER_LSB = 0.5  # standard deviation of the added noise, in 16-bit steps
PHONE_SEARCH = "phones"
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
    """Tuning of the phone-loop search used by `PhoneRecognizer.recognize`."""

    language_weight: float = 2.5
    """Weight of the phone bigram model against the acoustics (`lw`); lower lets acoustics decide."""
    phone_insertion_penalty: float = 1.0
    """Probability of starting a new phone (`pip`); below 1 favours fewer, longer phones."""
    beam: float = 1e-30
    """Viterbi beam per frame (`beam`); smaller is wider, slower and more exact."""
    phone_beam: float = 1e-30
    """Beam on phone transitions (`pbeam`)."""
    triphones: bool = False
    """Score context-dependent phones (`allphone_ci` off): slower, sometimes sharper."""


def to_phone(name: str) -> str:
    """Normalise a PocketSphinx unit name: lowercase ARPAbet, stress dropped, fillers and silence as "sil"."""
    name = name.strip().lower().rstrip("012")
    if not name or name.startswith(("+", "<", "[")) or name == SILENCE:
        return SILENCE
    return name


def contiguous(spans: Iterable[tuple[str, int, int]], n_frames: int, duration: float) -> list[PhoneSegment]:
    """Turn (phone, first frame, end frame exclusive) spans into segments covering [0, duration] without gaps.

    Gaps become "sil", overlaps are cut in favour of the earlier phone, neighbouring silences merge
    and the last segment ends exactly at `duration`.
    """
    if duration <= 0:
        return []
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
    segments = [PhoneSegment(p, min(s / FRAME_RATE, duration), min(e / FRAME_RATE, duration)) for p, s, e in merged]
    segments[-1] = PhoneSegment(segments[-1].phone, segments[-1].start, duration)
    return [seg for seg in segments if seg.end > seg.start]


def pcm16(samples: np.ndarray, sample_rate: int) -> bytes:
    """Float samples in [-1, 1] at 16 kHz as little-endian 16-bit PCM; InputError for other rates or shapes."""
    if sample_rate != SAMPLE_RATE:
        raise InputError(
            f"phone analysis needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz; "
            "decode it with lipsync_tool.media.audio.decode_speech, which resamples"
        )
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise InputError(f"phone analysis needs mono samples (a 1-D array), got shape {samples.shape}")
    scaled = np.clip(np.nan_to_num(samples.astype(np.float32)), -1.0, 1.0) * 32767.0
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
    ("tch", "CH"), ("sch", "S K"), ("igh", "AY"), ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"),
    ("wh", "W"), ("ck", "K"), ("ng", "NG"), ("gh", ""), ("qu", "K W"), ("ee", "IY"), ("ea", "IY"),
    ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("oi", "OY"), ("oy", "OY"), ("ai", "EY"), ("ay", "EY"),
    ("au", "AO"), ("aw", "AO"), ("ie", "IY"), ("ei", "EY"), ("ue", "UW"), ("ew", "UW"), ("oa", "OW"),
    ("er", "ER"), ("ir", "ER"), ("ur", "ER"), ("ar", "AA R"), ("or", "AO R"),
    ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"), ("g", "G"), ("h", "HH"),
    ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"),
    ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"),
    ("y", "IY"), ("z", "Z"),
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


def check_models(model_dir: Path) -> None:
    """Raise ResourceError naming every PocketSphinx model file missing under `model_dir`."""
    missing = [name for name in MODEL_FILES if not (model_dir / name).exists()]
    if missing:
        raise ResourceError(
            f"PocketSphinx model files missing under {model_dir}: {', '.join(missing)}; "
            "reinstall them with: pip install --force-reinstall 'pocketsphinx>=5,<6' "
            "(or point POCKETSPHINX_PATH at a folder holding en-us/)"
        )


class PhoneRecognizer:
    """Timed English phones from 16 kHz speech: PocketSphinx models loaded once, used for many clips.

    One decoder serves both modes (phone loop and forced alignment), so an instance is not meant
    for concurrent use; calls are serialised by a lock.
    """

    def __init__(self, model_dir: Path | None = None, options: PhoneSearchOptions = PhoneSearchOptions()) -> None:
        try:
            import pocketsphinx
        except ImportError as exc:
            raise ResourceError(
                "phone analysis needs PocketSphinx; install it with: pip install 'pocketsphinx>=5,<6'"
            ) from exc
        self.model_dir = Path(model_dir) if model_dir is not None else Path(pocketsphinx.get_model_path())
        self.options = options
        check_models(self.model_dir)
        self._lock = threading.Lock()
        self._decoder = self._load(pocketsphinx)

    def _load(self, pocketsphinx: Any) -> Any:
        """Build the decoder: acoustic model and dictionary, plus the phone-loop search."""
        config = pocketsphinx.Config(
            hmm=str(self.model_dir / MODEL_FILES[0]),
            dict=str(self.model_dir / MODEL_FILES[1]),
            lm=None,
            samprate=SAMPLE_RATE,
            frate=FRAME_RATE,
            lw=self.options.language_weight,
            pip=self.options.phone_insertion_penalty,
            beam=self.options.beam,
            pbeam=self.options.phone_beam,
            allphone_ci=not self.options.triphones,
            loglevel="FATAL",  # the C library logs to stderr otherwise; our logger reports instead
        )
        try:
            decoder = pocketsphinx.Decoder(config)
            decoder.add_allphone_file(PHONE_SEARCH, str(self.model_dir / MODEL_FILES[2]))
        except (RuntimeError, ValueError) as exc:
            raise ResourceError(
                f"cannot load the PocketSphinx models in {self.model_dir} (corrupt files?); "
                "reinstall them with: pip install --force-reinstall 'pocketsphinx>=5,<6'"
            ) from exc
        log.debug("PocketSphinx models loaded from %s", self.model_dir)
        return decoder

    def recognize(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[PhoneSegment]:
        """Phones heard in the audio, with no transcript (a phone-bigram loop search)."""
        pcm = pcm16(samples, sample_rate)
        duration = len(pcm) / 2 / SAMPLE_RATE
        with self._lock:
            spans = self._recognize(pcm)
            n_frames = self._decoder.n_frames()
        segments = contiguous(spans, n_frames, duration)
        log.debug("recognised %d phones in %.2f s: %s", len(segments), duration, " ".join(s.phone for s in segments))
        return segments

    def align(self, samples: np.ndarray, transcript: str, sample_rate: int = SAMPLE_RATE) -> list[PhoneSegment]:
        """Phones of `transcript` timed against the audio (forced alignment).

        Words missing from the dictionary are spelled by `spell` (a warning says which). When the
        text cannot be aligned to the audio at all, this falls back to `recognize` with a warning.
        """
        words = transcript_words(transcript)
        pcm = pcm16(samples, sample_rate)
        duration = len(pcm) / 2 / SAMPLE_RATE
        with self._lock:
            words = self._pronounceable(words)
            spans = self._align(pcm, words) if words else None
            n_frames = self._decoder.n_frames()
        if spans is None:
            log.warning("could not align the transcript %r to the audio; recognising phones instead", transcript)
            return self.recognize(samples, sample_rate)
        segments = contiguous(spans, n_frames, duration)
        log.debug("aligned %d phones in %.2f s: %s", len(segments), duration, " ".join(s.phone for s in segments))
        return segments

    def _decode(self, pcm: bytes) -> None:
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()

    def _recognize(self, pcm: bytes) -> list[tuple[str, int, int]]:
        self._decoder.activate_search(PHONE_SEARCH)
        self._decode(pcm)
        return [(to_phone(seg.word), seg.start_frame, seg.end_frame + 1) for seg in self._decoder.seg()]

    def _pronounceable(self, words: list[str]) -> list[str]:
        """The words, each known to the dictionary; unknown ones get a spelled pronunciation or are dropped."""
        known = []
        for word in words:
            if self._decoder.lookup_word(word) is None:
                phones = spell(word)
                if not phones:
                    log.warning("dropping %r from the transcript: no pronunciation and no letters to spell", word)
                    continue
                log.warning("%r is not in the dictionary; aligning it as spelled: %s", word, phones)
                self._decoder.add_word(word, phones, True)
            known.append(word)
        return known

    def _align(self, pcm: bytes, words: list[str]) -> list[tuple[str, int, int]] | None:
        """Two passes: word alignment, then phone and state alignment inside it; None when it fails."""
        try:
            self._decoder.set_align_text(" ".join(words))
            self._decode(pcm)
            self._decoder.set_alignment()
            self._decode(pcm)
            alignment = self._decoder.get_alignment()
        except RuntimeError as exc:
            log.debug("alignment failed: %s", exc)
            return None
        if alignment is None:
            return None
        spans = [(to_phone(p.name), p.start, p.start + p.duration) for p in alignment.phones()]
        return spans if any(phone != SILENCE for phone, _, _ in spans) else None
