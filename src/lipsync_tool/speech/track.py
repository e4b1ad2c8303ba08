"""Speech → the mouth track the warp engine animates: phonetic for English, acoustic otherwise."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, LipSyncError, ResourceError
from ..request import VISEMES_CHOICES
from .acoustic import acoustic_poses
from .coarticulation import PoseTrack, TimedPhone, frame_poses, with_loudness
from .cues import MouthCue, cues_from_phones, cues_from_poses
from .envelope import loudness_db
from .whisper import choose

if TYPE_CHECKING:
    from ..media.audio import SpeechAudio

log = logging.getLogger(__name__)

PHONETIC_LANGUAGES = ("en",)


@dataclass(frozen=True)
class MouthTrack:
    """Per-frame mouth poses, how they were found, and the timed phones when there were any."""

    poses: PoseTrack
    method: str
    """'aligned' (transcript), 'transcribed' (Whisper's words, aligned), 'recognized' (phone
    recognition), 'acoustic' or 'given'."""
    phones: tuple[TimedPhone, ...] = ()
    duration: float = 0.0

    def cues(self) -> list[MouthCue]:
        """Rhubarb-style mouth cues of this track."""
        if self.phones:
            return cues_from_phones(self.phones, self.duration)
        return cues_from_poses(self.poses)


def uses_phones(mode: str, language: str) -> bool:
    """Whether `--visemes mode` with `--language language` asks for the phonetic path."""
    if mode not in VISEMES_CHOICES:
        raise InputError(f"visemes (--visemes) must be one of {', '.join(VISEMES_CHOICES)}")
    if mode == "auto":
        return language.lower().split("-")[0] in PHONETIC_LANGUAGES
    return mode == "phonetic"


class SpeechAnalyzer:
    """Owns the phone recogniser and the Whisper models (each loaded on first use) and turns speech into
    mouth tracks; Whisper models come from the resource cache `cache_dir` (None: the default one)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._recognizer: Any = None
        self._transcribers: dict[str, Any] = {}
        self._cache_dir = cache_dir

    def load(self, asr: str = "auto", language: str = "en", *, phone_loop: bool = True) -> None:
        """Load now rather than on first use the recognisers a request with `asr` and `language`
        uses: the aligner, Whisper, and PocketSphinx's phone loop (which a render whose words
        Whisper hears never uses: without `phone_loop` it is built only when Whisper is not used)."""
        recognizer = self.recognizer
        if self._whisper(asr, language) is None or phone_loop:
            recognizer.load_phone_loop()

    @property
    def recognizer(self) -> Any:
        if self._recognizer is None:
            from .phones import PhoneRecognizer

            self._recognizer = PhoneRecognizer()
        return self._recognizer

    def transcriber(self, language: str) -> Any:
        """The Whisper transcriber for `language`, loaded on first use."""
        from .whisper import WhisperTranscriber, model_name

        name = model_name(language)
        if name not in self._transcribers:
            from ..cache import resolve_cache_dir

            cache = resolve_cache_dir(self._cache_dir)
            self._transcribers[name] = WhisperTranscriber.from_cache(cache, language)
        return self._transcribers[name]

    def phones(
        self,
        speech: SpeechAudio,
        transcript: str | None,
        progress: Any = None,
        *,
        asr: str = "auto",
        language: str = "en",
    ) -> tuple[list[Any], str]:
        """Timed phones: forced alignment of the words when known, else of the words Whisper hears
        (`asr` whisper), else phone recognition."""
        if transcript:
            return self.recognizer.align(speech.samples, transcript, speech.sample_rate), "aligned"
        report = (lambda done, total: progress("speech", done, total)) if progress else None
        heard = self._heard(speech, asr, language, report)
        if heard is not None:
            if any(window.words for window in heard):
                log.info("Whisper heard: %s", " ".join(w.text for h in heard for w in h.words))
                return self._align_heard(speech, heard), "transcribed"
            log.info("Whisper heard no words; recognising phones instead")
        return self.recognizer.recognize(
            speech.samples, speech.sample_rate, progress=report
        ), "recognized"

    def _align_heard(self, speech: SpeechAudio, heard: Sequence[Any]) -> list[Any]:
        """The heard words aligned window by window (Whisper's own pieces of under 30 s), so a long
        recording never becomes one alignment search over all its words (its memory grows with both);
        the aligner picks among Whisper's readings of each piece by their sound, and a piece with no
        words gets its phones recognised."""
        rate, samples = speech.sample_rate, speech.samples
        segments: list[Any] = []
        for window in heard:
            first, stop = round(window.start * rate), round(window.end * rate)
            text = " ".join(w.text for w in window.words)
            piece = samples[first:stop]
            found = (
                self.recognizer.align(piece, text, rate, alternatives=window.alternatives)
                if text
                else self.recognizer.recognize(piece, rate)
            )
            segments += [
                replace(s, start=s.start + window.start, end=s.end + window.start) for s in found
            ]
        return segments

    def _whisper(self, asr: str, language: str) -> Any:
        """The transcriber `asr` chooses for `language`; None for PocketSphinx, or when auto finds
        Whisper's model unusable (a warning says why)."""
        if choose(asr, language) != "whisper":
            return None
        try:
            return self.transcriber(language)
        except ResourceError as exc:
            if asr != "auto":
                raise
            log.warning("Whisper is unusable (%s); recognising phones instead", exc)
            return None

    def _heard(self, speech: SpeechAudio, asr: str, language: str, report: Any) -> list[Any] | None:
        """What Whisper heard, piece by piece; None when Whisper is not used."""
        transcriber = self._whisper(asr, language)
        if transcriber is None:
            return None
        heard: list[Any] = transcriber.hear(
            speech.samples, speech.sample_rate, language, progress=report
        )
        return heard

    def track(
        self,
        speech: SpeechAudio,
        fps: float,
        n_frames: int,
        *,
        mode: str = "auto",
        language: str = "en",
        transcript: str | None = None,
        phones: Sequence[TimedPhone] | None = None,
        progress: Any = None,
        asr: str = "auto",
    ) -> MouthTrack:
        """The mouth track for `speech`; `phones` given (e.g. from text-to-speech) are used as they are."""
        if phones is not None:
            return MouthTrack(
                self._poses(phones, speech, fps, n_frames), "given", tuple(phones), speech.duration
            )
        if uses_phones(mode, language):
            try:
                found, method = self.phones(
                    speech, transcript, progress, asr=asr, language=language
                )
            except InputError:
                raise
            except LipSyncError as exc:
                if mode == "phonetic":
                    raise
                log.warning("phone recognition failed (%s); using the acoustic visemes", exc)
            else:
                if any(p.phone != "sil" for p in found) or speech.is_silent:
                    log.info("visemes from %d %s phones", len(found), method)
                    return MouthTrack(
                        self._poses(found, speech, fps, n_frames),
                        method,
                        tuple(found),
                        speech.duration,
                    )
                log.info("no phones recognised; using the acoustic visemes")
        elif transcript:
            log.info("--transcript is only used by the phonetic visemes (English); ignoring it")
        poses = acoustic_poses(speech.samples, speech.sample_rate, fps, n_frames)
        return MouthTrack(poses, "acoustic", (), speech.duration)

    @staticmethod
    def _poses(
        phones: Sequence[TimedPhone], speech: SpeechAudio, fps: float, n_frames: int
    ) -> PoseTrack:
        """Each phone's pose, blended, with part of the jaw following the sound's level."""
        level = loudness_db(speech.samples, speech.sample_rate, fps, n_frames)
        return with_loudness(frame_poses(phones, speech.duration, fps, n_frames), level)


class MouthTrackSource:
    """One render's mouth track, computed on first request and kept (the engine and the cue export share it)."""

    def __init__(
        self,
        analyzer: SpeechAnalyzer,
        speech: SpeechAudio,
        fps: float,
        frame_count: int,
        *,
        visemes: str = "auto",
        language: str = "en",
        transcript: str | None = None,
        phones: Sequence[TimedPhone] | None = None,
        asr: str = "auto",
    ) -> None:
        self._asr = asr
        self._analyzer, self._speech, self._fps, self._frames = analyzer, speech, fps, frame_count
        self._mode, self._language, self._transcript, self._phones = (
            visemes,
            language,
            transcript,
            phones,
        )
        self._track: MouthTrack | None = None

    def get(self, progress: Any = None) -> MouthTrack:
        """The track; `progress(stage, done, total)` follows recognition the first time."""
        if self._track is None:
            self._track = self._analyzer.track(
                self._speech,
                self._fps,
                self._frames,
                mode=self._mode,
                language=self._language,
                transcript=self._transcript,
                phones=self._phones,
                progress=progress,
                asr=self._asr,
            )
        return self._track
