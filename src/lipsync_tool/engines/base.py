"""What every engine is: a named class that turns a validated job into frames or a clip."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..errors import EngineUnavailableError
from ..media.audio import SpeechAudio
from ..options import RenderOptions

if TYPE_CHECKING:
    from ..face.analyzer import PortraitFace
    from ..speech.track import MouthTrack, SpeechAnalyzer


class MouthTrackSource:
    """The job's mouth track, computed on first request and kept (the engine and --export-cues share it)."""

    def __init__(
        self,
        analyzer: SpeechAnalyzer,
        speech: SpeechAudio,
        options: RenderOptions,
        frame_count: int,
        phones: tuple[object, ...] | None = None,
    ) -> None:
        self._analyzer, self._speech, self._options, self._frames = (
            analyzer,
            speech,
            options,
            frame_count,
        )
        self._phones = phones
        self._track: MouthTrack | None = None

    def get(self, progress: ProgressCallback | None = None) -> MouthTrack:
        if self._track is None:
            options = self._options
            self._track = self._analyzer.track(
                self._speech,
                options.fps,
                self._frames,
                mode=options.visemes,
                language=options.language,
                transcript=options.transcript,
                phones=self._phones,  # type: ignore[arg-type]
                progress=progress,
            )
        return self._track


ProgressCallback = Callable[[str, int, int | None], None]
"""progress(stage, done, total): called as work advances; total is None when unknown."""


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A progress callback that does nothing."""


@dataclass(frozen=True)
class EngineJob:
    """Everything an engine needs for one render, already validated."""

    portrait_path: Path
    portrait: np.ndarray
    face: PortraitFace
    audio_path: Path
    speech: SpeechAudio
    frame_count: int
    options: RenderOptions
    work_dir: Path
    mouth: MouthTrackSource


@dataclass
class FrameStream:
    """Frames an engine renders one by one: RGB uint8 arrays of `size` (width, height)."""

    size: tuple[int, int]
    count: int
    frames: Iterator[np.ndarray]


@dataclass(frozen=True)
class RenderedClip:
    """A finished clip an engine wrote (upstream tools do), to be scaled and muxed once."""

    path: Path


@dataclass(frozen=True)
class EnginePlan:
    """What a render would do: resources to fetch and external commands to run."""

    resources: tuple[str, ...] = ()
    commands: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    clip: str | None = None
    """The clip the engine writes, which the final pass scales and muxes; None: frames are piped to it."""


class Engine(ABC):
    """Base class of the engines; subclasses register themselves in `registry.ENGINES`."""

    name: ClassVar[str]
    summary: ClassVar[str]
    honoured_options: ClassVar[frozenset[str]]
    """RenderOptions fields this engine uses; any other set by the user is logged as ignored."""
    honours_wav2lip_options: ClassVar[bool] = False

    def __init__(self, options: RenderOptions, cache_dir: Path) -> None:
        self.options = options
        self.cache_dir = cache_dir

    @abstractmethod
    def plan(self) -> EnginePlan:
        """Describe the work without doing any (for --dry-run)."""

    @abstractmethod
    def render(
        self, job: EngineJob, progress: ProgressCallback = no_progress
    ) -> FrameStream | RenderedClip:
        """Render the job; frames are produced lazily by the returned stream."""


class PendingEngine(Engine):
    """An engine whose implementation has not landed yet: selecting it fails with one clear line."""

    issue: ClassVar[str]

    def _unavailable(self) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"the {self.name} engine is not available in this version yet ({self.issue}); "
            "use the built-in engine: --engine warp"
        )

    def plan(self) -> EnginePlan:
        raise self._unavailable()

    def render(
        self, job: EngineJob, progress: ProgressCallback = no_progress
    ) -> FrameStream | RenderedClip:
        raise self._unavailable()
