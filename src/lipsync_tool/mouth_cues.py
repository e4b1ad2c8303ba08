"""`lipsync_tool.cues()`: the mouth cues of a speech recording, without a portrait or a video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .option_specs import option_fields
from .request import RenderRequest
from .speech.cues import MouthCue, cues_text, write_cues

CUES_RATE = 100.0
"""Poses per second when the cues come from the sound alone."""


@dataclass(frozen=True)
class CueTrack:
    """Mouth cues (Rhubarb Lip Sync shapes A-H and X) of one recording."""

    cues: tuple[MouthCue, ...]
    duration: float
    """Seconds of speech."""
    method: str
    """How the mouth shapes were found: aligned, recognized or acoustic."""
    sound_file: str

    def text(self, suffix: str = ".json") -> str:
        """The cues as Rhubarb's JSON (`.json`) or TSV (`.tsv`)."""
        return cues_text(
            self.cues, duration=self.duration, sound_file=self.sound_file, suffix=suffix
        )

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the cues to `path` (.json or .tsv), atomically; refuse to replace unless `overwrite`."""
        target = Path(path).expanduser()
        if target.exists() and not overwrite:
            raise InputError(f"{target} already exists; pass --overwrite to replace it")
        if not target.parent.is_dir():
            raise InputError(f"the folder of {target} does not exist")
        write_cues(target, self.cues, duration=self.duration, sound_file=self.sound_file)
        return target

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, in Rhubarb's JSON layout plus the method."""
        import json

        data: dict[str, Any] = json.loads(self.text(".json"))
        data["method"] = self.method
        return data


def cues(
    audio: str | Path,
    *,
    transcript: str | None = None,
    visemes: str | None = None,
    language: str | None = None,
    max_duration: float | None = None,
    asr: str | None = None,
) -> CueTrack:
    """The mouth cues of the speech in `audio` (any file ffmpeg decodes).

    `transcript`, `visemes`, `language`, `max_duration` and `asr` mean what they mean in a
    RenderRequest, with its defaults where None.
    """
    from .media.audio import decode_speech, frame_count
    from .media.ffmpeg import find_ffmpeg
    from .request import VISEMES_CHOICES
    from .speech.track import SpeechAnalyzer
    from .speech.whisper import choose

    defaults = {f.name: f.default for f in option_fields(RenderRequest)}
    visemes = visemes if visemes is not None else defaults["visemes"]
    language = language if language is not None else defaults["language"]
    max_duration = max_duration if max_duration is not None else defaults["max_duration"]
    asr = asr if asr is not None else defaults["asr"]
    path = Path(audio).expanduser()
    if not path.is_file():
        raise InputError(f"AUDIO {path} does not exist")
    if visemes not in VISEMES_CHOICES:
        raise InputError(f"visemes must be one of {', '.join(VISEMES_CHOICES)}, not {visemes!r}")
    choose(asr, language)  # an unusable --asr fails before any work
    speech = decode_speech(find_ffmpeg(), path, max_duration=max_duration)
    track = SpeechAnalyzer().track(
        speech,
        CUES_RATE,
        frame_count(speech.duration, CUES_RATE),
        mode=visemes,
        language=language,
        transcript=transcript,
        asr=asr,
    )
    return CueTrack(tuple(track.cues()), speech.duration, track.method, str(path))
