"""What every engine is: a named class with its own options that turns a validated job into frames or a clip."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import numpy as np

from ..control import ProgressCallback, StageClock, check_cancelled, no_progress
from ..media.audio import SpeechAudio
from ..request import UNIVERSAL_FIELDS, RenderRequest

if TYPE_CHECKING:
    from ..face.analyzer import PortraitFace
    from ..speech.track import MouthTrackSource
    from ..upscale.cost import LearnedWork
    from ..upscale.realesrgan import RealEsrgan


@dataclass(frozen=True)
class NoOptions:
    """An engine without options of this kind."""


@dataclass(frozen=True)
class EngineContext:
    """Where an engine keeps what it downloads, and whether it may install what it lacks."""

    cache_dir: Path
    install_deps: bool = False


SettingsT = TypeVar("SettingsT")
OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class EngineJob(Generic[OptionsT]):
    """Everything an engine needs for one render, already validated."""

    portrait_path: Path
    portrait: np.ndarray
    face: PortraitFace
    audio_path: Path
    speech: SpeechAudio
    frame_count: int
    request: RenderRequest
    options: OptionsT
    """The engine's own per-render options (an instance of its `options_type`)."""
    work_dir: Path
    mouth: MouthTrackSource
    progress: ProgressCallback = no_progress
    cancel: threading.Event | None = None
    clock: StageClock = field(default_factory=StageClock)
    """The engine's own stages of this render (they end up in `RenderResult.engine_seconds`)."""

    def check_cancelled(self) -> None:
        """Raise Cancelled when the caller cancelled this render."""
        check_cancelled(self.cancel)


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


class Engine(ABC, Generic[SettingsT, OptionsT]):
    """An engine: class facts for `lipsync_tool.engine()`, its option types, load, plan and render.

        `settings_type` holds what needs a reload (a Renderer's settings); `options_type` what may
        change with every request. Per-render state lives in the job, never on the engine; an engine
    may keep the result of pure set-up work, keyed by its inputs, for the next render.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    code_licence: ClassVar[str]
    weights_licence: ClassVar[str]
    downloads: ClassVar[str]
    settings_type: ClassVar[type] = NoOptions
    options_type: ClassVar[type] = NoOptions
    flag_prefix: ClassVar[str] = ""
    """Prefix of the flags made from the option fields (`wav2lip-` gives `--wav2lip-pads`)."""
    uses: ClassVar[frozenset[str]] = frozenset()
    """RenderRequest fields this engine honours beyond `UNIVERSAL_FIELDS`."""
    accelerated: ClassVar[bool] = False
    """It runs a neural network on a GPU when one is present (and on every core without one):
    the service gives its jobs workers of their own, one per GPU."""

    def __init__(self, settings: SettingsT, context: EngineContext) -> None:
        self.settings = settings
        self.context = context
        self._network: RealEsrgan | None = None

    @property
    def cache_dir(self) -> Path:
        return self.context.cache_dir

    def honoured_fields(self) -> frozenset[str]:
        """Every request field this engine (with its settings) honours."""
        return UNIVERSAL_FIELDS | self.uses

    def notice(self) -> str | None:
        """A line a Renderer logs once when it loads this engine (a licence condition, say)."""
        return None

    def load(self, progress: ProgressCallback = no_progress) -> None:  # noqa: B027
        """Load what is costly (models on their device); a Renderer calls it once."""

    def check(self, job: EngineJob[OptionsT]) -> None:  # noqa: B027
        """Refuse a job the options cannot serve (InputError), before anything is loaded or fetched."""

    @abstractmethod
    def plan(self, request: RenderRequest, options: OptionsT) -> EnginePlan:
        """Describe the work without doing any (for a dry run)."""

    @abstractmethod
    def render(self, job: EngineJob[OptionsT]) -> FrameStream | RenderedClip:
        """Render the job; frames are produced lazily by the returned stream."""

    def full_plan(self, request: RenderRequest, options: OptionsT) -> EnginePlan:
        """`plan`, with the learned upscaler's weights and cost when the request asks for it (its
        frames are then piped to the encoder, enlarged, even from an engine that writes a clip)."""
        plan = self.plan(request, options)
        if not self.learns(request):
            return plan
        from ..upscale.plan import learned_plan

        resources, note = learned_plan(self, request)
        return replace(
            plan, resources=plan.resources + resources, notes=(*plan.notes, note), clip=None
        )

    @classmethod
    def learned_work(cls, width: int, height: int) -> LearnedWork:
        """What `--upscaler realesrgan` makes the network read for a `width` x `height` portrait
        (nothing for an engine that does not honour it)."""
        from ..upscale.cost import LearnedWork

        return LearnedWork()

    def learns(self, request: RenderRequest) -> bool:
        """The request asks this engine for Real-ESRGAN's detail (and for the 1080-line video)."""
        return (
            "upscaler" in self.honoured_fields()
            and request.upscale
            and request.upscaler == "realesrgan"
        )

    def network(self) -> RealEsrgan:
        """Real-ESRGAN, loaded at the first render that asks for it and kept for the next."""
        if self._network is None:
            from ..upscale.realesrgan import RealEsrgan

            self._network = RealEsrgan.from_cache(self.cache_dir)
        return self._network

    def finish_clip(self, clip: Path, job: EngineJob[OptionsT]) -> FrameStream | RenderedClip:
        """An engine's finished clip: as it is, or, when the job learns, its frames enlarged."""
        if not self.learns(job.request):
            return RenderedClip(clip)
        from ..media.ffmpeg import find_ffmpeg
        from ..upscale.clip import enlarged_clip

        with job.clock.stage("upscale"):
            network = self.network()
        return enlarged_clip(find_ffmpeg(), clip, job, network)
