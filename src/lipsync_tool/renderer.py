"""Renderer: one engine and the face and speech models, loaded once, serving any RenderRequest.

A render: validate → analyse the speech and the face → the engine renders → encode and scale in
one ffmpeg pass → atomic move into place. Nothing is left behind when it fails or is cancelled.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import resolve_cache_dir
from .control import ProgressCallback, StageClock, cancellable, check_cancelled, no_progress
from .engine.base import Engine, EngineContext, EngineJob, FrameStream, RenderedClip
from .engine.registry import DEFAULT_ENGINE, engine_class
from .errors import Cancelled, EngineError, InputError, RendererBusy
from .media.audio import check_audio, frame_count
from .media.encode import EncodeSettings, clip_command, encoders_for, frames_command
from .media.ffmpeg import FrameWriter, find_ffmpeg, run_ffmpeg
from .media.image import load_portrait
from .media.locate import require_encoders
from .media.output import OutputTarget, resolve_output
from .media.probe import probe
from .option_specs import build
from .plan import RenderPlan, ignored_flags
from .request import RenderRequest
from .speech.track import MouthTrackSource
from .speech_input import PreparedSpeech, check_save_audio, keep_copy, prepare_speech

if TYPE_CHECKING:
    import numpy as np

    from .face.analyzer import FaceAnalyzer, PortraitFace
    from .speech.track import SpeechAnalyzer

log = logging.getLogger(__name__)

STAGES = ("validate", "analysis", "prepare", "render", "encode", "finish")
"""The stages of `RenderResult.stage_seconds`, in order."""
PLACEHOLDER = "<work-dir>"


@dataclass(frozen=True)
class RenderResult:
    """What one render produced and how long each of its stages took. JSON-ready through `to_dict`."""

    output: Path
    """The finished video."""
    engine: str
    """Engine that rendered it."""
    duration: float
    """Speech duration in seconds (the video matches it to within one frame)."""
    fps: float
    """Frame rate of the video."""
    frames: int
    """Number of video frames."""
    frame_size: tuple[int, int]
    """Width and height of the finished video."""
    render_size: tuple[int, int]
    """Width and height the engine rendered at, before scaling."""
    faces_seen: int
    """Faces found in the portrait (the largest one is animated)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds per stage of this render (see `STAGES`)."""
    engine_seconds: dict[str, float] = field(default_factory=dict)
    """The engine's own stages of this render (within `prepare` and `render`)."""
    temp_dir: Path | None = None
    """The kept temporary directory, with `keep_temp`."""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output"] = str(self.output)
        data["temp_dir"] = str(self.temp_dir) if self.temp_dir else None
        data["frame_size"], data["render_size"] = list(self.frame_size), list(self.render_size)
        return data


@dataclass(frozen=True)
class InputCheck:
    """What `Renderer.check` found."""

    duration: float | None
    """Seconds of speech (None when the recording's container does not say)."""
    faces_seen: int
    """Faces found in the portrait (the largest one is animated)."""


@dataclass(frozen=True)
class ValidatedInputs:
    """Everything checked before the engine starts."""

    request: RenderRequest
    """The request with its paths made absolute."""
    target: OutputTarget
    image: np.ndarray
    face: PortraitFace
    prepared: PreparedSpeech
    save_audio: Path | None


class Renderer:
    """One engine with its settings and every model it needs, loaded once; renders any request.

    `Renderer(engine, **settings)`: `settings` are the engine's load-time settings (for wav2lip
    `checkpoint` and `impl`; see `lipsync_tool.engine()`), which need a reload to change.
    Everything else changes per render in the `RenderRequest`. With `load=False` the models load
    on the first render instead (a dry run never loads them), and only those it uses: PocketSphinx's
    phone-loop search, which a render whose words Whisper hears never needs, loads on first use.

    Concurrency: one Renderer renders one request at a time. A second thread calling `render` or
    `plan` while one runs gets `RendererBusy` at once; it neither waits nor shares state. Serve
    several threads with one Renderer each.
    """

    def __init__(
        self,
        engine: str = DEFAULT_ENGINE,
        *,
        cache_dir: Path | str | None = None,
        install_deps: bool = False,
        load: bool = True,
        progress: ProgressCallback = no_progress,
        **settings: Any,
    ) -> None:
        engine_type = engine_class(engine)
        self.settings = build(
            engine_type.settings_type, settings, f"{engine} setting", engine_type.flag_prefix
        )
        self.cache_dir = resolve_cache_dir(Path(cache_dir) if cache_dir is not None else None)
        self.ffmpeg = find_ffmpeg()
        self.engine: Engine = engine_type(
            self.settings, EngineContext(self.cache_dir, install_deps)
        )
        self.load_seconds: dict[str, float] = {}
        """Seconds each load took: face, speech, engine (filled once)."""
        self._face: FaceAnalyzer | None = None
        self._speech: SpeechAnalyzer | None = None
        self._engine_loaded = False
        self._lock = threading.Lock()
        if load:
            with self._busy():
                self._load(progress, None)

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def render(
        self,
        request: RenderRequest,
        *,
        progress: ProgressCallback = no_progress,
        cancel: threading.Event | None = None,
    ) -> RenderResult:
        """Render `request`; `progress(stage, done, total)` follows it, setting `cancel` stops it.

        A cancelled render raises Cancelled. Whether it fails or is cancelled, it leaves no
        partial output, and no temporary directory unless `keep_temp` asked to keep it on failure.
        """
        with self._busy():
            return self._render(request, cancellable(progress, cancel), cancel)

    def plan(self, request: RenderRequest) -> RenderPlan:
        """Validate `request` and describe the render without doing it; nothing is loaded or fetched."""
        with self._busy():
            return self._plan(request)

    def check(self, request: RenderRequest) -> InputCheck:
        """Check `request` as a render does before it starts, without rendering: the options, the
        files, the portrait and its face, the speech (a recording is probed, not decoded; text is
        synthesised). Raises the InputError a render would; nothing is loaded but the face models."""
        with self._busy():
            self._options(request)
            request, _, _, image = self._check_files(request)
            if request.audio is not None:
                info = check_audio(self.ffmpeg, request.audio, max_duration=request.max_duration)
                duration = info.duration
            else:
                work_dir = Path(tempfile.mkdtemp(prefix="lipsync-"))
                try:
                    duration = prepare_speech(self.ffmpeg, request, work_dir).speech.duration
                finally:
                    shutil.rmtree(work_dir, ignore_errors=True)
            face = self._find_face(image, request.portrait)
            return InputCheck(duration, face.faces_seen)

    def ignored(self, request: RenderRequest) -> list[str]:
        """Flags of `request` that this engine does not use."""
        return ignored_flags(request, self.engine)

    @contextmanager
    def _busy(self) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise RendererBusy(
                "this Renderer is already rendering in another thread; use one Renderer per thread"
            )
        try:
            yield
        finally:
            self._lock.release()

    def _load(self, progress: ProgressCallback, request: RenderRequest | None) -> None:
        """Load the face models, the speech recognisers and the engine (each once).

        Built warm (no `request`), every recogniser loads, so no later render loads one; loading on
        a first render, the speech recognisers that `request` may not need load when first used."""
        self._face_analyzer()
        if "speech" not in self.load_seconds:
            start = time.perf_counter()
            if request is None:
                self._speech_analyzer().load()
            else:
                self._speech_analyzer().load(request.asr, request.language, phone_loop=False)
            self.load_seconds["speech"] = round(time.perf_counter() - start, 4)
        if not self._engine_loaded:
            notice = self.engine.notice()
            if notice:
                log.warning("%s", notice)
            start = time.perf_counter()
            self.engine.load(progress)
            self._engine_loaded = True
            self.load_seconds["engine"] = round(time.perf_counter() - start, 4)

    def _face_analyzer(self) -> FaceAnalyzer:
        if self._face is None:
            from .face.analyzer import FaceAnalyzer

            start = time.perf_counter()
            self._face = FaceAnalyzer()
            self.load_seconds["face"] = round(time.perf_counter() - start, 4)
        return self._face

    def _speech_analyzer(self) -> SpeechAnalyzer:
        if self._speech is None:
            from .speech.track import SpeechAnalyzer

            self._speech = SpeechAnalyzer(
                self.cache_dir
            )  # recognisers load in _load or on first use
        return self._speech

    def _options(self, request: RenderRequest) -> object:
        engine = self.engine
        return build(
            engine.options_type, request.options, f"{engine.name} option", engine.flag_prefix
        )

    def _render(
        self, request: RenderRequest, progress: ProgressCallback, cancel: threading.Event | None
    ) -> RenderResult:
        options = self._options(request)
        for flag in self.ignored(request):
            log.info("%s is ignored by the %s engine", flag, self.engine.name)
        clock, engine_clock = StageClock(), StageClock()
        work_dir = Path(tempfile.mkdtemp(prefix="lipsync-"))
        partial: Path | None = None
        keep = request.keep_temp
        try:
            check_cancelled(cancel)
            inputs = self._validate(request, clock, work_dir)
            request, target = inputs.request, inputs.target
            partial = target.partial_path()
            job = self._job(inputs, options, work_dir, progress, cancel, engine_clock)
            self.engine.check(job)
            self._load(progress, request)  # no-op when loaded; else only now that the inputs passed
            check_cancelled(cancel)
            with clock.stage("prepare"):  # the engine's own set-up: speech analysis, models, warps
                rendered = self.engine.render(job)
            check_cancelled(cancel)
            settings = self._encode_settings(request, target, inputs.prepared.mux_audio)
            render_size = self._encode(rendered, settings, partial, clock, cancel)
            with clock.stage("finish"):
                info = probe(self.ffmpeg, partial)
                check_cancelled(cancel)
                self._write_extras(job, inputs)
                target.commit(partial)
        except (Cancelled, KeyboardInterrupt):
            keep = False
            raise
        finally:
            if partial is not None:
                partial.unlink(missing_ok=True)
            if keep:
                log.warning("temporary files kept in %s", work_dir)
            else:
                shutil.rmtree(work_dir, ignore_errors=True)
        video = info.video
        frame_size = (video.width or 0, video.height or 0) if video else (0, 0)
        for name, seconds in clock.seconds.items():
            log.info("stage %-8s %6.2f s", name, seconds)
        return RenderResult(
            output=target.path,
            engine=self.engine.name,
            duration=job.speech.duration,
            fps=request.fps,
            frames=job.frame_count,
            frame_size=frame_size,
            render_size=render_size,
            faces_seen=inputs.face.faces_seen,
            stage_seconds=clock.rounded(),
            engine_seconds=engine_clock.rounded(),
            temp_dir=work_dir if request.keep_temp else None,
        )

    def _plan(self, request: RenderRequest) -> RenderPlan:
        options = self._options(request)
        work_dir = Path(tempfile.mkdtemp(prefix="lipsync-"))
        try:
            inputs = self._validate(request, StageClock(), work_dir)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        request, target, image = inputs.request, inputs.target, inputs.image
        engine_plan = self.engine.full_plan(request, options)
        settings = self._encode_settings(request, target, inputs.prepared.mux_audio)
        if engine_plan.clip is not None:
            encode = clip_command(
                self.ffmpeg, Path(engine_plan.clip), settings, target.partial_path()
            )
        else:
            size = (image.shape[1], image.shape[0])
            if self.engine.learns(request):
                from .upscale.enlarge import scaled_size, video_scale

                size = scaled_size(*size, video_scale(*size))
            encode = frames_command(self.ffmpeg, size, settings, target.partial_path())
        commands = tuple(
            tuple(arg.replace(str(work_dir), PLACEHOLDER) for arg in command)
            for command in (*engine_plan.commands, encode)
        )
        notes = (
            *engine_plan.notes,
            f"{PLACEHOLDER}: a fresh temporary directory; the speech is first decoded there as PCM",
        )
        return RenderPlan(
            engine=self.engine.name,
            output=target.path,
            duration=inputs.prepared.speech.duration,
            frames=frame_count(inputs.prepared.speech.duration, request.fps),
            faces_seen=inputs.face.faces_seen,
            resources=engine_plan.resources,
            commands=commands,
            notes=notes,
            ignored=self.ignored(request),
            settings=dataclasses.asdict(self.settings),
            request=request.to_dict(),
        )

    def _job(
        self,
        inputs: ValidatedInputs,
        options: object,
        work_dir: Path,
        progress: ProgressCallback,
        cancel: threading.Event | None,
        clock: StageClock,
    ) -> EngineJob[object]:
        request, prepared = inputs.request, inputs.prepared
        frames = frame_count(prepared.speech.duration, request.fps)
        mouth = MouthTrackSource(
            self._speech_analyzer(),
            prepared.speech,
            request.fps,
            frames,
            visemes=request.visemes,
            language=request.language,
            transcript=request.transcript,
            phones=prepared.phones,
            asr=request.asr,
        )
        return EngineJob(
            portrait_path=request.portrait,
            portrait=inputs.image,
            face=inputs.face,
            audio_path=prepared.mux_audio,
            speech=prepared.speech,
            frame_count=frames,
            request=request,
            options=options,
            work_dir=work_dir,
            mouth=mouth,
            progress=progress,
            cancel=cancel,
            clock=clock,
        )

    def _validate(
        self, request: RenderRequest, clock: StageClock, work_dir: Path
    ) -> ValidatedInputs:
        with clock.stage("validate"):
            request, target, save_audio, image = self._check_files(request)
        with clock.stage("analysis"):
            prepared = prepare_speech(self.ffmpeg, request, work_dir)
            face = self._find_face(image, request.portrait)
        # Warnings only once every input has passed, so a failing run prints its error alone.
        if face.faces_seen > 1:
            log.warning("%d faces found in PORTRAIT; animating the largest", face.faces_seen)
        if prepared.speech.is_silent:
            log.warning("AUDIO %s is silent: the mouth will stay closed", request.audio)
        return ValidatedInputs(request, target, image, face, prepared, save_audio)

    def _check_files(
        self, request: RenderRequest
    ) -> tuple[RenderRequest, OutputTarget, Path | None, np.ndarray]:
        """The request with absolute paths, its output target, where synthesised speech is kept,
        and the portrait; InputError for a missing file, an unusable output or portrait."""
        portrait = _existing_file(request.portrait, "PORTRAIT")
        audio = _existing_file(request.audio, "AUDIO") if request.audio is not None else None
        request = request.replace(portrait=portrait, audio=audio)
        inputs = [p for p in (portrait, audio) if p is not None]
        target = resolve_output(request.output, inputs, overwrite=request.overwrite)
        require_encoders(
            self.ffmpeg, encoders_for(target.container), f"{target.path.suffix} output"
        )
        _check_cues_path(request, target, inputs)
        save_audio = check_save_audio(request, [*inputs, target.path])
        return request, target, save_audio, load_portrait(portrait)

    def _find_face(self, image: np.ndarray, path: Path) -> PortraitFace:
        try:
            return self._face_analyzer().analyze(image)
        except InputError as exc:
            raise InputError(
                f"no face found in PORTRAIT {path}; "
                "use a photo with one clearly visible, roughly frontal face"
            ) from exc

    def _write_extras(self, job: EngineJob, inputs: ValidatedInputs) -> None:
        """The files written beside the video: mouth cues, the synthesised speech."""
        request = inputs.request
        if request.export_cues is not None:
            from .speech.cues import write_cues

            path = request.export_cues.absolute()
            track = job.mouth.get()
            # The file the user gave (or asked for): the muxed copy lives in the work dir.
            sound = request.audio or inputs.save_audio
            write_cues(
                path, track.cues(), duration=job.speech.duration, sound_file=str(sound or "")
            )
            log.info("mouth cues written to %s (%s)", path, track.method)
        synthesized = inputs.prepared.synthesized
        if synthesized is not None and inputs.save_audio is not None:
            keep_copy(synthesized, inputs.save_audio)
            log.info("synthesised speech written to %s", inputs.save_audio)
        if synthesized is not None and request.keep_temp:
            beside = inputs.target.path.with_suffix(".speech.wav")
            if not beside.exists() or request.overwrite:
                keep_copy(synthesized, beside)
                log.warning("synthesised speech kept beside the video: %s", beside)

    def _encode_settings(
        self, request: RenderRequest, target: OutputTarget, audio: Path
    ) -> EncodeSettings:
        audio_filter = None
        if request.normalize_loudness is not None:
            from .media.loudness import loudness_filter

            audio_filter = loudness_filter(
                self.ffmpeg, audio, target_lufs=request.normalize_loudness
            )
        return EncodeSettings(
            fps=request.fps,
            upscale=request.upscale,
            container=target.container,
            audio=audio,
            audio_filter=audio_filter,
        )

    def _encode(
        self,
        rendered: FrameStream | RenderedClip,
        settings: EncodeSettings,
        partial: Path,
        clock: StageClock,
        cancel: threading.Event | None,
    ) -> tuple[int, int]:
        if isinstance(rendered, RenderedClip):
            with clock.stage("encode"):
                command = clip_command(self.ffmpeg, rendered.path, settings, partial)
                run_ffmpeg(self.ffmpeg, command[1:], what="scaling the clip", cancel=cancel)
            info = probe(self.ffmpeg, rendered.path)
            return (info.video.width or 0, info.video.height or 0) if info.video else (0, 0)
        command = frames_command(self.ffmpeg, rendered.size, settings, partial)
        start = time.perf_counter()
        render_seconds = 0.0
        with FrameWriter(command, rendered.size) as writer:
            frames = iter(rendered.frames)
            while True:
                check_cancelled(cancel)
                t0 = time.perf_counter()
                frame = next(frames, None)
                render_seconds += time.perf_counter() - t0
                if frame is None:
                    break
                writer.write(frame)
        clock.add("render", render_seconds)
        clock.add("encode", time.perf_counter() - start - render_seconds)
        if writer.frames_written != rendered.count:
            raise EngineError(
                f"engine produced {writer.frames_written} frames, expected {rendered.count}"
            )
        return rendered.size


def _existing_file(path: Path, role: str) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise InputError(f"{role} {path} does not exist")
    if not path.is_file():
        raise InputError(f"{role} {path} is not a file")
    return path.absolute()


def _check_cues_path(request: RenderRequest, target: OutputTarget, inputs: list[Path]) -> None:
    if request.export_cues is None:
        return
    cues = request.export_cues.absolute()
    if not cues.parent.is_dir():
        raise InputError(f"the folder of --export-cues does not exist: {cues.parent}")
    if cues == target.path or any(cues == p for p in inputs):
        raise InputError(
            f"--export-cues {cues} would overwrite an input or the video; choose another name"
        )
    if cues.exists() and not request.overwrite:
        raise InputError(f"--export-cues {cues} already exists; pass --overwrite to replace it")


def render(
    portrait: str | Path,
    audio: str | Path | None,
    output: str | Path,
    engine: str = DEFAULT_ENGINE,
    *,
    progress: ProgressCallback = no_progress,
    cancel: threading.Event | None = None,
    cache_dir: str | Path | None = None,
    install_deps: bool = False,
    **fields: Any,
) -> RenderResult:
    """Render PORTRAIT speaking AUDIO into OUTPUT with a Renderer made for this one call.

    `fields` are RenderRequest fields (text, seed, options, ...) and the engine's settings
    (wav2lip: checkpoint, impl); `audio` may be None with `text`.
    """
    setting_names = {f.name for f in dataclasses.fields(engine_class(engine).settings_type)}
    settings = {k: v for k, v in fields.items() if k in setting_names}
    request_fields = {k: v for k, v in fields.items() if k not in setting_names}
    known = {f.name for f in dataclasses.fields(RenderRequest)}
    unknown = sorted(set(request_fields) - known)
    if unknown:
        raise InputError(f"unknown render option: {', '.join(unknown)}")
    request = RenderRequest(
        portrait=Path(portrait),
        audio=Path(audio) if audio is not None else None,
        output=Path(output),
        **request_fields,
    )
    renderer = Renderer(
        engine, cache_dir=cache_dir, install_deps=install_deps, load=False, **settings
    )
    return renderer.render(request, progress=progress, cancel=cancel)
