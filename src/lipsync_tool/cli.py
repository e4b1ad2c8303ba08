"""The command line: parse flags into RenderOptions, call the library, turn its errors into one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from . import __version__
from .errors import InputError, LipSyncError
from .options import (
    ENHANCER_CHOICES,
    PREPROCESS_CHOICES,
    RESOLUTION_CHOICES,
    WAV2LIP_IMPL_CHOICES,
    RenderOptions,
    Wav2LipOptions,
)

log = logging.getLogger("lipsync_tool")

EXAMPLES = """\
examples:
  lipsync-tool portrait.jpg speech.wav out.mp4
      built-in engine, offline, 1080p H.264 + AAC
  lipsync-tool portrait.png speech.mp3 out.mp4 --expression-scale 1.3 --no-upscale
      livelier mouth, video kept at the portrait's own size
  lipsync-tool portrait.jpg speech.m4a out.mp4 --dry-run
      check the inputs and print what would run, without rendering
  lipsync-tool portrait.jpg speech.wav out.mp4 --transcript "Hello and welcome" --export-cues cues.json
      words known: aligned visemes; the mouth cues also written for 2D animation
  lipsync-tool portrait.jpg rede.wav out.mp4 --language de
      another language: visemes from the sound itself
  lipsync-tool portrait.jpg out.mp4 --text "Guten Tag!" --voice de --save-audio gruss.wav
      no recording: the text is spoken offline by eSpeak NG, its phoneme timings drive the mouth
  lipsync-tool cues speech.wav -o cues.tsv
      only the mouth cues (Rhubarb Lip Sync shapes A-H, X), no video
  lipsync-tool evaluate out.mp4 --portrait portrait.jpg --json report.json
      measure sync, articulation and stability of any talking-head video

subcommands:
  cues AUDIO        mouth cues only (see lipsync-tool cues --help)
  evaluate VIDEO    quality measurements (see lipsync-tool evaluate --help)
  resources ACTION  list, fetch, verify or clear the neural engines' model files

environment:
  LIPSYNC_CACHE_DIR   where downloaded models are kept (default: the platform user cache dir)
"""


USAGE = """lipsync-tool PORTRAIT AUDIO OUTPUT [options]
       lipsync-tool PORTRAIT OUTPUT --text TEXT [options]
       lipsync-tool cues AUDIO [options]
       lipsync-tool evaluate VIDEO [options]"""


class UsageError(Exception):
    """A command-line usage error (argparse's own complaints)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _engine_help() -> tuple[tuple[str, ...], str]:
    from .engines.registry import ENGINES

    lines = "; ".join(f"{name}: {cls.summary}" for name, cls in ENGINES.items())
    return tuple(ENGINES), f"engine to use (default: warp). {lines}"


def add_speech_analysis_arguments(group: argparse._ActionsContainer) -> None:
    """--visemes, --language and the transcript flags, shared by the render and `cues`."""
    group.add_argument(
        "--visemes",
        choices=("auto", "phonetic", "acoustic"),
        default="auto",
        help="mouth shapes from recognised phones (English) or from the sound itself (any language); auto: by --language (default: auto)",
    )
    group.add_argument(
        "--language", default="en", help="language of the speech, e.g. en, de, es (default: en)"
    )
    words = group.add_mutually_exclusive_group()
    words.add_argument(
        "--transcript",
        default=None,
        metavar="TEXT",
        help="the words spoken: aligned instead of recognised (more accurate)",
    )
    words.add_argument(
        "--transcript-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the words spoken, from a UTF-8 text file",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `lipsync-tool PORTRAIT AUDIO OUTPUT`."""
    parser = _Parser(
        prog="lipsync-tool",
        usage=USAGE,
        description="Turn a still portrait and a speech recording into a lip-synced talking video in full HD.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "portrait",
        metavar="PORTRAIT",
        type=Path,
        help="photo of a face (jpg, png, webp, bmp, tiff)",
    )
    parser.add_argument(
        "paths",
        metavar="AUDIO OUTPUT",
        type=Path,
        nargs="+",
        help="AUDIO: speech, any file ffmpeg decodes (wav, mp3, m4a, ogg, flac, video with sound); left out with --text. "
        "OUTPUT: the video to write (.mp4, .mov, .mkv or .webm)",
    )
    parser.add_argument(
        "--list-voices", action="store_true", help="list the eSpeak NG voices for --voice and exit"
    )
    parser.add_argument("--version", action="version", version=f"lipsync-tool {__version__}")
    engines, engine_help = _engine_help()
    general = parser.add_argument_group("general")
    general.add_argument("--engine", choices=engines, default="warp", help=engine_help)
    general.add_argument(
        "--fps", type=float, default=25.0, help="frame rate of the video (default: 25)"
    )
    general.add_argument(
        "--expression-scale",
        type=float,
        default=1.0,
        help="scale of mouth and head motion (default: 1.0)",
    )
    general.add_argument(
        "--no-still",
        action="store_true",
        help="allow larger head motion (default: keep the head nearly still)",
    )
    general.add_argument(
        "--no-upscale",
        action="store_true",
        help="keep the engine's native size instead of 1080 lines",
    )
    general.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    general.add_argument(
        "--max-duration",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="longest audio accepted (default: 600)",
    )
    general.add_argument(
        "--dry-run",
        action="store_true",
        help="check the inputs, print the plan and exit without rendering",
    )
    general.add_argument(
        "--keep-temp",
        action="store_true",
        help="keep the temporary work directory and print where it is",
    )
    general.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where downloaded models are kept (default: $LIPSYNC_CACHE_DIR or the user cache dir)",
    )
    general.add_argument(
        "--install-deps", action="store_true", help="let the engine install what it lacks"
    )
    general.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="how much to log (default: INFO)",
    )
    warp = parser.add_argument_group("warp engine")
    add_speech_analysis_arguments(warp)
    warp.add_argument("--no-blink", action="store_true", help="do not blink")
    warp.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of blinks and head motion (default: derived from the audio)",
    )
    general.add_argument(
        "--export-cues",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the mouth cues (Rhubarb Lip Sync shapes A-H, X) as .json or .tsv",
    )
    neural = parser.add_argument_group("sadtalker engine")
    neural.add_argument(
        "--resolution",
        type=int,
        choices=RESOLUTION_CHOICES,
        default=256,
        help="face render size (default: 256)",
    )
    neural.add_argument(
        "--preprocess",
        choices=PREPROCESS_CHOICES,
        default="crop",
        help="how the portrait is cropped (default: crop; extreme_crop = extcrop)",
    )
    neural.add_argument(
        "--enhancer", choices=ENHANCER_CHOICES, default=None, help="face enhancer (default: none)"
    )
    neural.add_argument(
        "--sadtalker-batch-size",
        type=int,
        default=2,
        metavar="N",
        help="face-renderer batch: larger is faster, needs more GPU memory (default: 2)",
    )
    sound = parser.add_argument_group("speech clean-up")
    sound.add_argument(
        "--trim-silence",
        action="store_true",
        help="cut leading/trailing silence and shorten long pauses before rendering",
    )
    sound.add_argument(
        "--max-pause",
        type=float,
        default=0.6,
        metavar="SECONDS",
        help="with --trim-silence: longest pause kept (default: 0.6)",
    )
    sound.add_argument(
        "--normalize-loudness",
        type=float,
        nargs="?",
        const=-16.0,
        default=None,
        metavar="LUFS",
        help="level the speech to this EBU R128 loudness (default when given: -16 LUFS)",
    )
    tts = parser.add_argument_group("text to speech (eSpeak NG, offline)")
    text = tts.add_mutually_exclusive_group()
    text.add_argument(
        "--text", default=None, metavar="TEXT", help="speak this text instead of reading AUDIO"
    )
    text.add_argument(
        "--text-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="speak the text of this UTF-8 file",
    )
    tts.add_argument(
        "--voice",
        default="en-us",
        help="eSpeak NG voice, e.g. en-us, en-gb, de, es, fr (default: en-us; see --list-voices)",
    )
    tts.add_argument(
        "--rate",
        type=int,
        default=160,
        help="speaking rate in words per minute, 80-450 (default: 160)",
    )
    tts.add_argument("--pitch", type=int, default=50, help="voice pitch, 0-99 (default: 50)")
    tts.add_argument(
        "--save-audio",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the synthesised speech as WAV",
    )
    w2l = parser.add_argument_group("wav2lip engine")
    w2l.add_argument(
        "--wav2lip-pads",
        type=int,
        nargs=4,
        metavar=("T", "B", "L", "R"),
        default=[0, 10, 0, 0],
        help="padding of the face box in pixels (default: 0 10 0 0)",
    )
    static = w2l.add_mutually_exclusive_group()
    static.add_argument(
        "--wav2lip-static",
        dest="wav2lip_static",
        action="store_true",
        default=None,
        help="use only the first frame of the face input",
    )
    static.add_argument(
        "--wav2lip-no-static",
        dest="wav2lip_static",
        action="store_false",
        help="use every frame of the face input",
    )
    w2l.add_argument(
        "--wav2lip-nosmooth", action="store_true", help="do not smooth the face box over 5 frames"
    )
    w2l.add_argument(
        "--wav2lip-batch-size",
        type=int,
        default=None,
        help="generator batch size (default: 128 on CUDA, 16 on the CPU)",
    )
    w2l.add_argument(
        "--wav2lip-face-det-batch-size",
        type=int,
        default=16,
        help="face detection batch size (default: 16)",
    )
    w2l.add_argument(
        "--wav2lip-resize-factor",
        type=int,
        default=1,
        help="downscale the input by this factor first (default: 1)",
    )
    w2l.add_argument(
        "--wav2lip-crop",
        type=int,
        nargs=4,
        metavar=("X1", "Y1", "X2", "Y2"),
        default=None,
        help="face box by hand, in portrait pixels",
    )
    w2l.add_argument(
        "--wav2lip-checkpoint",
        default="gan",
        metavar="{gan,base,PATH}",
        help="generator checkpoint: gan (wav2lip_gan.pth), base (wav2lip.pth) or a .pth/.pt file (default: gan)",
    )
    w2l.add_argument(
        "--wav2lip-impl",
        default="native",
        choices=WAV2LIP_IMPL_CHOICES,
        help="native: our own PyTorch inference; upstream: the pinned repository's inference.py (default: native)",
    )
    return parser


def options_from_args(args: argparse.Namespace) -> RenderOptions:
    """The one RenderOptions object the parsed flags describe."""
    wav2lip = Wav2LipOptions(
        pads=tuple(args.wav2lip_pads),
        static=args.wav2lip_static,
        nosmooth=args.wav2lip_nosmooth,
        batch_size=args.wav2lip_batch_size,
        face_det_batch_size=args.wav2lip_face_det_batch_size,
        resize_factor=args.wav2lip_resize_factor,
        crop=tuple(args.wav2lip_crop) if args.wav2lip_crop else None,
        checkpoint=args.wav2lip_checkpoint,
        impl=args.wav2lip_impl,
    )
    return RenderOptions(
        engine=args.engine,
        fps=args.fps,
        resolution=args.resolution,
        preprocess=args.preprocess,
        expression_scale=args.expression_scale,
        still=not args.no_still,
        enhancer=args.enhancer,
        sadtalker_batch_size=args.sadtalker_batch_size,
        cache_dir=args.cache_dir,
        upscale=not args.no_upscale,
        keep_temp=args.keep_temp,
        overwrite=args.overwrite,
        install_deps=args.install_deps,
        max_duration=args.max_duration,
        visemes=args.visemes,
        language=args.language,
        transcript=read_transcript(args.transcript, args.transcript_file),
        blink=not args.no_blink,
        seed=args.seed,
        export_cues=args.export_cues,
        text=read_text(args.text, args.text_file),
        voice=args.voice,
        rate=args.rate,
        pitch=args.pitch,
        save_audio=args.save_audio,
        trim_silence=args.trim_silence,
        max_pause=args.max_pause,
        normalize_loudness=args.normalize_loudness,
        wav2lip=wav2lip,
    )


def _read_text_file(text: str | None, path: Path | None, flag: str) -> str | None:
    if path is None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {flag} {path}: {exc}") from exc


def read_transcript(text: str | None, path: Path | None) -> str | None:
    """The transcript from --transcript or --transcript-file."""
    return _read_text_file(text, path, "--transcript-file")


def read_text(text: str | None, path: Path | None) -> str | None:
    """The text to speak from --text or --text-file."""
    return _read_text_file(text, path, "--text-file")


def split_paths(paths: list[Path], speaking_text: bool) -> tuple[Path | None, Path]:
    """(AUDIO, OUTPUT) from the positional paths after PORTRAIT."""
    if speaking_text:
        if len(paths) != 1:
            raise UsageError("with --text/--text-file give PORTRAIT OUTPUT, without AUDIO")
        return None, paths[0]
    if len(paths) != 2:
        raise UsageError("give PORTRAIT AUDIO OUTPUT (or PORTRAIT OUTPUT with --text)")
    return paths[0], paths[1]


def configure_logging(level: str) -> None:
    """Plain log lines on stderr for our loggers only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(levelname)s: %(message)s" if level == "DEBUG" else "%(message)s")
    )
    package_log = logging.getLogger("lipsync_tool")
    package_log.handlers[:] = [handler]
    package_log.setLevel(level)
    package_log.propagate = False


def _run(args: argparse.Namespace) -> int:
    from .pipeline import LipSyncPipeline
    from .progress import ProgressReporter

    audio, output = split_paths(args.paths, args.text is not None or args.text_file is not None)
    options = options_from_args(args)
    reporter = ProgressReporter(enabled=args.log_level in ("DEBUG", "INFO"))
    try:
        pipeline = LipSyncPipeline(options, progress=reporter)
        if args.dry_run:
            print(pipeline.plan(args.portrait, audio, output).describe())
            return 0
        result = pipeline.render(args.portrait, audio, output)
    finally:
        reporter.close()
    width, height = result.frame_size
    total = sum(result.stage_seconds.values())
    print(
        f"wrote {result.output} ({width}x{height}, {result.duration:.2f} s, {result.fps:g} fps) in {total:.1f} s"
    )
    if result.temp_dir:
        print(f"temporary files kept in {result.temp_dir}")
    return 0


CUES_RATE = 100.0  # poses per second when cues come from the sound alone


def build_cues_parser() -> argparse.ArgumentParser:
    """`lipsync-tool cues AUDIO`: only the mouth cues, no portrait, no video."""
    parser = _Parser(
        prog="lipsync-tool cues",
        description="Write the mouth cues of a speech recording in Rhubarb Lip Sync's format (shapes A-H and X).",
    )
    parser.add_argument("audio", metavar="AUDIO", type=Path, help="speech: any file ffmpeg decodes")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="write to this .json or .tsv file (default: JSON on stdout)",
    )
    add_speech_analysis_arguments(parser)
    parser.add_argument(
        "--max-duration",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="longest audio accepted (default: 600)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output file if it exists"
    )
    parser.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="WARNING"
    )
    return parser


def _run_cues(args: argparse.Namespace) -> int:
    from .media.audio import decode_speech, frame_count
    from .media.ffmpeg import find_ffmpeg
    from .speech.cues import write_cues
    from .speech.track import SpeechAnalyzer

    if not args.audio.is_file():
        raise InputError(f"AUDIO {args.audio} does not exist")
    output = args.output
    if output is not None and output.exists() and not args.overwrite:
        raise InputError(f"{output} already exists; pass --overwrite to replace it")
    speech = decode_speech(find_ffmpeg(), args.audio, max_duration=args.max_duration)
    transcript = read_transcript(args.transcript, args.transcript_file)
    track = SpeechAnalyzer().track(
        speech,
        CUES_RATE,
        frame_count(speech.duration, CUES_RATE),
        mode=args.visemes,
        language=args.language,
        transcript=transcript,
    )
    if output is None:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            temporary = Path(folder) / "cues.json"
            write_cues(
                temporary, track.cues(), duration=speech.duration, sound_file=str(args.audio)
            )
            print(temporary.read_text(encoding="utf-8"), end="")
    else:
        write_cues(output, track.cues(), duration=speech.duration, sound_file=str(args.audio))
        print(f"wrote {output} ({track.method} visemes)")
    return 0


@dataclass(frozen=True)
class LazySubcommand:
    """A subcommand whose module is imported only when it runs: `module` provides `build_hook(parser)` and `run_hook(args)`."""

    name: str
    module: str
    build_hook: str
    run_hook: str
    description: str
    log_level: str = "WARNING"

    def build(self) -> argparse.ArgumentParser:
        parser = _Parser(prog=f"lipsync-tool {self.name}", description=self.description)
        getattr(import_module(self.module, __package__), self.build_hook)(parser)
        parser.add_argument(
            "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default=self.log_level
        )
        return parser

    def run(self, args: argparse.Namespace) -> int:
        return int(getattr(import_module(self.module, __package__), self.run_hook)(args))


EVALUATE = LazySubcommand(
    "evaluate",
    ".evaluate.command",
    "build_evaluate_parser",
    "run_evaluate",
    "Measure the lip sync, articulation and stability of any talking-head video.",
)
RESOURCES = LazySubcommand(
    "resources",
    ".resources.command",
    "build_resources_parser",
    "run_resources",
    "List, fetch, verify or clear the downloaded model files.",
    log_level="INFO",
)

SUBCOMMANDS = {
    "cues": (build_cues_parser, _run_cues),
    EVALUATE.name: (EVALUATE.build, EVALUATE.run),
    RESOURCES.name: (RESOURCES.build, RESOURCES.run),
}


def _dispatch(argv: list[str]) -> int:
    if "--list-voices" in argv and "-h" not in argv and "--help" not in argv:
        from .speech.tts import voice_table

        print(voice_table())
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        build, run = SUBCOMMANDS[argv[0]]
        args = build().parse_intermixed_args(argv[1:])
        configure_logging(args.log_level)
        return run(args)
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lipsync-tool` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "DEBUG" in argv
    try:
        return _dispatch(argv)
    except UsageError as exc:
        print(f"error: {exc} (see lipsync-tool --help)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # our stdout was closed early (e.g. `| head`): not an error of ours
        sys.stdout = None  # type: ignore[assignment]  # keep the interpreter from failing to flush it at exit
        return 0
    except LipSyncError as exc:
        if debug:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: say so in one line, the traceback only with DEBUG
        if debug:
            log.exception("internal error")
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (rerun with --log-level DEBUG for details)",
            file=sys.stderr,
        )
        return 1
