"""Speech to timed words with Whisper (faster-whisper's CTranslate2 model, int8 on the CPU).

The words are what matters: the PocketSphinx aligner then times their phones, as with a given
transcript. Whisper reads 30-s windows; a short clip is encoded at its own length plus three
seconds of padding rather than padded to 30 s (the encoder accepts shorter inputs, as whisper.cpp's
`audio_ctx` does), which is what keeps the cost of a few seconds of speech low.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ResourceError
from ..machine import threads as machine_threads
from ..request import ASR_CHOICES
from ..resources.table import RESOURCES, Resource

log = logging.getLogger(__name__)

EXTRA_HINT = 'pip install "lipsync-tool[asr]"'
SAMPLE_RATE = 16000
MEL_RATE = 100  # feature frames per second
WINDOW_FRAMES = 3000  # Whisper's 30-s window
TAIL_FRAMES = 300
"""Padding after a short clip; with one second, beam search read a 3-s sentence twice."""
MIN_FRAMES = 600  # shortest encoder input
CUT_SEARCH_FRAMES = 1000  # a long clip is cut at the quietest 10 ms of the last 10 s of a window
MAX_TOKENS_PER_SECOND = 12  # fast speech is about 5; more is a decode running away
MAX_COMPRESSION = 2.4  # gzip ratio of text above which Whisper's own rule calls it repetition
NO_SPEECH = 0.6  # Whisper's own no-speech threshold (with an average log-probability under -1)
SURELY_NO_SPEECH = 0.9
"""Above this, no speech whatever the reading's score: in silence a wide beam finds a confident
"Thank you." (p = 0.96); speech read 0.02-0.44 in bench_asr's clips, a quiet word in 16 s 0.62."""
ENGLISH_MODEL = "whisper-tiny.en"
MULTILINGUAL_MODEL = "whisper-tiny"
THREADS = 2
BEAM = 16
ALTERNATIVES = 16
"""Readings kept from the beam, among which the aligner picks by sound (`PhoneRecognizer.align`).

On bench_asr's five eSpeak clips the recognised phones hold 46 of the 50 bilabials with the best
reading of a beam of 5, and 49 with 16 readings, for 0.087 instead of 0.073 of real time."""


@dataclass(frozen=True)
class TimedWord:
    """One word as Whisper heard it, with its time span."""

    text: str
    """The word as written, with any punctuation Whisper added."""
    start: float
    """Start in seconds from the beginning of the audio."""
    end: float
    """End in seconds."""
    probability: float
    """Whisper's mean token probability of the word."""


@dataclass(frozen=True)
class HeardWindow:
    """What Whisper heard in one of its pieces of under 30 s."""

    start: float
    """Start of the piece in seconds."""
    end: float
    """End in seconds."""
    words: tuple[TimedWord, ...]
    """The best reading, timed."""
    alternatives: tuple[str, ...]
    """Other readings of the piece from the beam, best first, each as text."""


def installed() -> bool:
    """Whether the [asr] extra's recogniser (faster-whisper) is installed; nothing is imported."""
    return importlib.util.find_spec("faster_whisper") is not None


def is_english(language: str) -> bool:
    return language.lower().split("-")[0] == "en"


def model_name(language: str) -> str:
    """The Whisper model for `language`: the English-only one for English, else the multilingual one."""
    return ENGLISH_MODEL if is_english(language) else MULTILINGUAL_MODEL


def model_resources(name: str) -> tuple[Resource, ...]:
    """The table's files of one Whisper model."""
    return tuple(r for r in RESOURCES if r.name.startswith(name + "/"))


def choose(asr: str, language: str) -> str:
    """'whisper' or 'pocketsphinx' for English speech without a transcript; InputError for an unusable choice.

    auto takes Whisper when the [asr] extra is installed and the language is English.
    """
    if asr not in ASR_CHOICES:
        raise InputError(f"asr (--asr) must be one of {', '.join(ASR_CHOICES)}, not {asr!r}")
    if asr == "whisper" and not installed():
        raise InputError(
            f"--asr whisper needs the speech recogniser of the [asr] extra; install it with: {EXTRA_HINT}"
        )
    if asr == "pocketsphinx" or not installed() or not is_english(language):
        return "pocketsphinx"
    return "whisper"


def quiet_cut(samples: np.ndarray, first: int, last: int) -> int:
    """The sample starting the quietest 10 ms between samples `first` and `last`."""
    hop = SAMPLE_RATE // MEL_RATE
    piece = samples[first:last]
    frames = len(piece) // hop
    if frames < 2:
        return last
    energy = np.square(piece[: frames * hop].reshape(frames, hop), dtype=np.float64).sum(axis=1)
    return first + int(np.argmin(energy)) * hop


def windows(samples: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) samples of pieces Whisper reads one at a time: under 30 s with room for padding."""
    hop = SAMPLE_RATE // MEL_RATE
    longest = (WINDOW_FRAMES - TAIL_FRAMES) * hop
    pieces, start = [], 0
    while len(samples) - start > longest:
        end = quiet_cut(samples, start + longest - CUT_SEARCH_FRAMES * hop, start + longest)
        pieces.append((start, end))
        start = end
    return pieces + [(start, len(samples))]


def repetitive(text: str) -> bool:
    """Whisper's test for a decode stuck in a loop: the text compresses too well."""
    data = text.encode("utf-8")
    return len(data) > 40 and len(data) / len(zlib.compress(data)) > MAX_COMPRESSION


class WhisperTranscriber:
    """Timed words from 16 kHz speech with one Whisper model, loaded once, used for many clips."""

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise InputError(
                f"transcription needs the [asr] extra; install it with: {EXTRA_HINT}"
            ) from exc
        try:
            self._model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=threads or machine_threads(THREADS),
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ResourceError(
                f"cannot load the Whisper model in {model_dir} (corrupt files?); "
                "check them with: lipsync-tool resources verify --engine asr"
            ) from exc
        self._lock = threading.Lock()
        self.multilingual = bool(self._model.model.is_multilingual)

    @classmethod
    def from_cache(
        cls, cache_dir: Path, language: str = "en", *, offline: bool | None = None
    ) -> WhisperTranscriber:
        """The model for `language` from the resource cache (copied from an installed package, or fetched)."""
        from ..resources.store import ResourceStore

        wanted = model_resources(model_name(language))
        paths = ResourceStore(cache_dir, offline=offline).ensure(wanted)
        return cls(paths[wanted[0].name].parent)

    def transcribe(
        self,
        samples: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        language: str = "en",
        progress: Callable[[int, int], None] | None = None,
    ) -> list[TimedWord]:
        """The words spoken, with their times; [] when nothing is said."""
        heard = self.hear(samples, sample_rate, language, progress)
        return [word for window in heard for word in window.words]

    def hear(
        self,
        samples: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        language: str = "en",
        progress: Callable[[int, int], None] | None = None,
    ) -> list[HeardWindow]:
        """Each piece of `windows(samples)` with its timed words and the beam's other readings."""
        if sample_rate != SAMPLE_RATE:
            raise InputError(f"transcription needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
        samples = np.asarray(samples, dtype=np.float32)
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self.multilingual,
            task="transcribe",
            language=language.lower().split("-")[0] if self.multilingual else "en",
        )
        heard: list[HeardWindow] = []
        with self._lock:
            pieces = windows(samples)
            for done, (start, end) in enumerate(pieces, start=1):
                heard.append(self._window(samples[start:end], start, end, tokenizer))
                if progress is not None:
                    progress(done, len(pieces))
        log.debug("Whisper heard: %s", " ".join(w.text for h in heard for w in h.words))
        return heard

    def _window(self, piece: np.ndarray, first: int, stop: int, tokenizer: Any) -> HeardWindow:
        """Words of one piece of at most 30 s (samples [first, stop)), timed from the start of the clip."""
        offset = first / SAMPLE_RATE
        nothing = HeardWindow(offset, stop / SAMPLE_RATE, (), ())
        if len(piece) < SAMPLE_RATE // MEL_RATE:
            return nothing
        features = self._model.feature_extractor(piece)
        content = min(features.shape[-1], WINDOW_FRAMES)
        frames = min(WINDOW_FRAMES, max(MIN_FRAMES, content + TAIL_FRAMES))
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        padded[:, :content] = features[:, :content]
        encoded = self._model.encode(padded)
        readings = self._decode(encoded, tokenizer, len(piece) / SAMPLE_RATE)
        if not readings:
            return nothing
        aligned = self._model.find_alignment(tokenizer, [readings[0]], encoded, content)[0]
        words = tuple(
            TimedWord(
                w["word"].strip(),
                offset + float(w["start"]),
                offset + float(w["end"]),
                float(w["probability"]),
            )
            for w in aligned
            if any(c.isalnum() for c in w["word"])  # punctuation comes as words of its own
        )
        others = tuple(dict.fromkeys(tokenizer.decode(r).strip() for r in readings[1:]))
        return HeardWindow(nothing.start, nothing.end, words, others)

    def _decode(self, encoded: Any, tokenizer: Any, seconds: float) -> list[list[int]]:
        """The beam's readings without timestamps, best first; [] for silence or a decode that ran away."""
        from faster_whisper.transcribe import get_suppressed_tokens

        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=BEAM,
            num_hypotheses=ALTERNATIVES,
            max_length=len(prompt) + math.ceil(seconds * MAX_TOKENS_PER_SECOND) + 4,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        readings = [[t for t in ids if t < tokenizer.eot] for ids in result.sequences_ids]
        tokens = readings[0]
        if not tokens:
            return []
        average = result.scores[0] * len(tokens) / (len(tokens) + 1)
        silent = result.no_speech_prob > NO_SPEECH and average < -1.0
        if silent or result.no_speech_prob > SURELY_NO_SPEECH:
            log.debug("Whisper: no speech (p=%.2f)", result.no_speech_prob)
            return []
        if repetitive(tokenizer.decode(tokens)):
            log.warning(
                "Whisper repeated itself on %.1f s of audio; ignoring %r",
                seconds,
                tokenizer.decode(tokens),
            )
            return []
        return [r for r in readings if r and not repetitive(tokenizer.decode(r))]
