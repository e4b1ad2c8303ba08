"""LipSyncPipeline: validate → analyse → render → encode and scale in one ffmpeg pass → atomic move."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import resolve_cache_dir
from .engines.base import (
    EngineJob,
    FrameStream,
    MouthTrackSource,
    ProgressCallback,
    RenderedClip,
    no_progress,
)
from .engines.registry import create_engine
from .errors import EngineError, InputError
from .media.audio import frame_count
from .media.encode import EncodeSettings, clip_command, frames_command
from .media.ffmpeg import FrameWriter, find_ffmpeg, run_ffmpeg
from .media.image import load_portrait
from .media.output import OutputTarget, resolve_output
from .media.probe import probe
from .options import RenderOptions, Wav2LipOptions
from .plan import RenderPlan, ignored_flags
from .speech_input import (
    PreparedSpeech,
    check_save_audio,
    check_speech_arguments,
    keep_copy,
    prepare_speech,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    """What a render produced. JSON-ready through `to_dict`."""

    output: Path
    """The finished video."""
    engine: str
    """Engine that rendered it."""
    duration: float
    """Audio duration in seconds (the video matches it to within one frame)."""
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
    """Wall-clock seconds per stage."""
    temp_dir: Path | None = None
    """The kept temporary directory, with --keep-temp."""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output"] = str(self.output)
        data["temp_dir"] = str(self.temp_dir) if self.temp_dir else None
        return data


@dataclass(frozen=True)
class ValidatedInputs:
    """Everything checked before a render starts."""

    portrait_path: Path
    target: OutputTarget
    image: Any
    face: Any
    prepared: PreparedSpeech
    save_audio: Path | None


class StageClock:
    """Accumulates wall-clock seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def _existing_file(path: Path | str, role: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{role} {path} does not exist")
    if not path.is_file():
        raise InputError(f"{role} {path} is not a file")
    return path.absolute()


class LipSyncPipeline:
    """Renders talking-portrait videos with one engine; load once, render many."""

    def __init__(
        self, options: RenderOptions | None = None, *, progress: ProgressCallback = no_progress
    ) -> None:
        self.options = options or RenderOptions()
        self.progress = progress
        self.ffmpeg = find_ffmpeg()
        self.cache_dir = resolve_cache_dir(self.options.cache_dir)
        self.engine = create_engine(self.options, self.cache_dir)
        self._analyzer: Any = None
        self._speech_analyzer: Any = None

    @property
    def analyzer(self) -> Any:
        """The face analyzer, loaded on first use."""
        if self._analyzer is None:
            from .face.analyzer import FaceAnalyzer

            self._analyzer = FaceAnalyzer()
        return self._analyzer

    @property
    def speech_analyzer(self) -> Any:
        """The speech analyzer (phone recognizer loaded on first use)."""
        if self._speech_analyzer is None:
            from .speech.track import SpeechAnalyzer

            self._speech_analyzer = SpeechAnalyzer()
        return self._speech_analyzer

    def plan(self, portrait: Path, audio: Path | None, output: Path) -> RenderPlan:
        """Validate the inputs and describe the render without doing it (--dry-run)."""
        work_dir = Path(tempfile.mkdtemp(prefix="lipsync-"))
        try:
            inputs = self._validate(portrait, audio, output, StageClock(), work_dir)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        target, image, face, speech = (
            inputs.target,
            inputs.image,
            inputs.face,
            inputs.prepared.speech,
        )
        engine_plan = self.engine.plan()
        settings = self._encode_settings(target, inputs.prepared.mux_audio)
        if engine_plan.clip is not None:
            encode = clip_command(
                self.ffmpeg, Path(engine_plan.clip), settings, target.partial_path()
            )
        else:
            encode = frames_command(
                self.ffmpeg, (image.shape[1], image.shape[0]), settings, target.partial_path()
            )
        placeholder = "<work-dir>"
        commands = tuple(
            tuple(arg.replace(str(work_dir), placeholder) for arg in command)
            for command in (*engine_plan.commands, encode)
        )
        notes = (
            *engine_plan.notes,
            f"{placeholder}: a fresh temporary directory; the speech is first decoded there as PCM",
        )
        return RenderPlan(
            engine=self.engine.name,
            output=target.path,
            duration=speech.duration,
            frames=frame_count(speech.duration, self.options.fps),
            faces_seen=face.faces_seen,
            resources=engine_plan.resources,
            commands=commands,
            notes=notes,
            ignored=ignored_flags(self.options, self.engine),
            options=self.options.to_dict(),
        )

    def render(self, portrait: Path, audio: Path | None, output: Path) -> RenderResult:
        """Render PORTRAIT speaking AUDIO (or --text) into OUTPUT; nothing is left behind on failure."""
        for flag in ignored_flags(self.options, self.engine):
            log.info("%s is ignored by the %s engine", flag, self.engine.name)
        clock = StageClock()
        work_dir = Path(tempfile.mkdtemp(prefix="lipsync-"))
        partial: Path | None = None
        try:
            inputs = self._validate(portrait, audio, output, clock, work_dir)
            target, speech = inputs.target, inputs.prepared.speech
            partial = target.partial_path()
            job = self._job(inputs, work_dir)
            with clock.stage("prepare"):  # the engine's own set-up: speech analysis, models, warps
                rendered = self.engine.render(job, self.progress)
            settings = self._encode_settings(target, inputs.prepared.mux_audio)
            render_size = self._encode(rendered, settings, partial, clock)
            with clock.stage("finish"):
                info = probe(self.ffmpeg, partial)
                self._write_extras(job, inputs)
                target.commit(partial)
        finally:
            if partial is not None:
                partial.unlink(missing_ok=True)
            if self.options.keep_temp:
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
            duration=speech.duration,
            fps=self.options.fps,
            frames=job.frame_count,
            frame_size=frame_size,
            render_size=render_size,
            faces_seen=inputs.face.faces_seen,
            stage_seconds={k: round(v, 4) for k, v in clock.seconds.items()},
            temp_dir=work_dir if self.options.keep_temp else None,
        )

    def _job(self, inputs: ValidatedInputs, work_dir: Path) -> EngineJob:
        prepared = inputs.prepared
        frames = frame_count(prepared.speech.duration, self.options.fps)
        return EngineJob(
            portrait_path=inputs.portrait_path,
            portrait=inputs.image,
            face=inputs.face,
            audio_path=prepared.mux_audio,
            speech=prepared.speech,
            frame_count=frames,
            options=self.options,
            work_dir=work_dir,
            mouth=MouthTrackSource(
                self.speech_analyzer, prepared.speech, self.options, frames, prepared.phones
            ),
        )

    def _write_extras(self, job: EngineJob, inputs: ValidatedInputs) -> None:
        """The files written beside the video: mouth cues, the synthesised speech."""
        if self.options.export_cues:
            self._export_cues(job)
        synthesized = inputs.prepared.synthesized
        if synthesized is not None and inputs.save_audio is not None:
            keep_copy(synthesized, inputs.save_audio)
            log.info("synthesised speech written to %s", inputs.save_audio)
        if synthesized is not None and self.options.keep_temp:
            beside = inputs.target.path.with_suffix(".speech.wav")
            if not beside.exists() or self.options.overwrite:
                keep_copy(synthesized, beside)
                log.warning("synthesised speech kept beside the video: %s", beside)

    def _validate(
        self, portrait: Path, audio: Path | None, output: Path, clock: StageClock, work_dir: Path
    ) -> ValidatedInputs:
        with clock.stage("validate"):
            check_speech_arguments(audio, self.options)
            portrait_path = _existing_file(portrait, "PORTRAIT")
            audio_path = _existing_file(audio, "AUDIO") if audio is not None else None
            inputs = [p for p in (portrait_path, audio_path) if p is not None]
            target = resolve_output(Path(output), inputs, overwrite=self.options.overwrite)
            self._check_cues_path(target, inputs)
            save_audio = check_save_audio(self.options, [*inputs, target.path])
            image = load_portrait(portrait_path)
        with clock.stage("analysis"):
            prepared = prepare_speech(self.ffmpeg, audio_path, self.options, work_dir)
            face = self._find_face(image, portrait_path)
        # Warnings only once every input has passed, so a failing run prints its error alone.
        if face.faces_seen > 1:
            log.warning("%d faces found in PORTRAIT; animating the largest", face.faces_seen)
        if prepared.speech.is_silent:
            log.warning("AUDIO %s is silent: the mouth will stay closed", audio_path)
        return ValidatedInputs(portrait_path, target, image, face, prepared, save_audio)

    def _check_cues_path(self, target: OutputTarget, inputs: list[Path]) -> None:
        if self.options.export_cues is None:
            return
        cues = Path(self.options.export_cues).expanduser().absolute()
        if not cues.parent.is_dir():
            raise InputError(f"the folder of --export-cues does not exist: {cues.parent}")
        if cues == target.path or any(cues == p for p in inputs):
            raise InputError(
                f"--export-cues {cues} would overwrite an input or the video; choose another name"
            )
        if cues.exists() and not self.options.overwrite:
            raise InputError(f"--export-cues {cues} already exists; pass --overwrite to replace it")

    def _export_cues(self, job: EngineJob) -> None:
        from .speech.cues import write_cues

        path = Path(self.options.export_cues).expanduser().absolute()
        track = job.mouth.get()
        write_cues(path, track.cues(), duration=job.speech.duration, sound_file=str(job.audio_path))
        log.info("mouth cues written to %s (%s)", path, track.method)

    def _find_face(self, image: Any, path: Path) -> Any:
        try:
            return self.analyzer.analyze(image)
        except InputError as exc:
            raise InputError(
                f"no face found in PORTRAIT {path}; use a photo with one clearly visible, roughly frontal face"
            ) from exc

    def _encode_settings(self, target: OutputTarget, audio: Path) -> EncodeSettings:
        audio_filter = None
        if self.options.normalize_loudness is not None:
            from .media.loudness import loudness_filter

            audio_filter = loudness_filter(
                self.ffmpeg, audio, target_lufs=self.options.normalize_loudness
            )
        return EncodeSettings(
            fps=self.options.fps,
            upscale=self.options.upscale,
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
    ) -> tuple[int, int]:
        if isinstance(rendered, RenderedClip):
            with clock.stage("encode"):
                run_ffmpeg(
                    self.ffmpeg,
                    clip_command(self.ffmpeg, rendered.path, settings, partial)[1:],
                    what="scaling the clip",
                )
            info = probe(self.ffmpeg, rendered.path)
            return (info.video.width or 0, info.video.height or 0) if info.video else (0, 0)
        command = frames_command(self.ffmpeg, rendered.size, settings, partial)
        start = time.perf_counter()
        render_seconds = 0.0
        with FrameWriter(command, rendered.size) as writer:
            frames = iter(rendered.frames)
            while True:
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


def render(
    portrait: str | Path,
    audio: str | Path | None,
    output: str | Path,
    engine: str = "warp",
    *,
    progress: ProgressCallback = no_progress,
    **options: Any,
) -> RenderResult:
    """Render PORTRAIT speaking AUDIO into OUTPUT. `options` are RenderOptions fields (wav2lip: a dict or Wav2LipOptions)."""
    wav2lip = options.pop("wav2lip", None)
    if isinstance(wav2lip, dict):
        wav2lip = Wav2LipOptions(**wav2lip)
    if wav2lip is not None:
        options["wav2lip"] = wav2lip
    for name in ("cache_dir", "export_cues", "save_audio"):
        if options.get(name) is not None:
            options[name] = Path(options[name])
    try:
        render_options = RenderOptions(engine=engine, **options)
    except TypeError as exc:
        raise InputError(f"unknown render option: {exc}") from exc
    pipeline = LipSyncPipeline(render_options, progress=progress)
    return pipeline.render(Path(portrait), Path(audio) if audio is not None else None, Path(output))
