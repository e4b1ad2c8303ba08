"""The one ffmpeg pass that turns frames (or an engine's clip) plus speech into the final video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..machine import threads_given

OUTPUT_LINES = 1080
SCALE_FLAGS = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"
X264_PRESET = "veryfast"
X264_CRF = 18
AUDIO_RATE = 48000
"""Speech is written at 48 kHz: a low input rate would leave AAC's last-frame padding audible
past the final frame on demuxers that ignore the edit list's end (ffmpeg 5.1 among them)."""


@dataclass(frozen=True)
class EncodeSettings:
    """What the final pass produces."""

    fps: float
    upscale: bool
    container: str
    audio: Path
    audio_filter: str | None = None
    """An ffmpeg audio filter for the muxed speech (loudness normalisation)."""


def scale_filter(upscale: bool) -> str:
    """Bicubic scale to 1080 lines (aspect kept, even width) or to even native size; BT.709 limited range."""
    size = f"-2:{OUTPUT_LINES}" if upscale else "trunc(iw/2)*2:trunc(ih/2)*2"
    return f"scale={size}:flags={SCALE_FLAGS}:out_color_matrix=bt709:out_range=tv,format=yuv420p"


def encoders_for(container: str) -> tuple[str, str]:
    """The (video, audio) ffmpeg encoders a container is written with."""
    return ("libvpx-vp9", "libopus") if container == "webm" else ("libx264", "aac")


def _codec_args(container: str) -> list[str]:
    video_encoder, audio_encoder = encoders_for(container)
    if container == "webm":
        video = ["-c:v", video_encoder, "-crf", "30", "-b:v", "0", "-row-mt", "1"]
        video += ["-deadline", "good", "-cpu-used", "4"]
        return [*video, "-c:a", audio_encoder, "-b:a", "128k", "-ar", str(AUDIO_RATE)]
    video = ["-c:v", video_encoder, "-preset", X264_PRESET, "-crf", str(X264_CRF)]
    return [*video, "-c:a", audio_encoder, "-b:a", "192k", "-ar", str(AUDIO_RATE)]


def _output_args(settings: EncodeSettings, output: Path) -> list[str]:
    args = [
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-vf",
        scale_filter(settings.upscale),
        *(["-af", settings.audio_filter] if settings.audio_filter else []),
        *_codec_args(settings.container),
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-color_range",
        "tv",
    ]
    if settings.container in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    given = threads_given()
    if given is not None:
        args += ["-threads", str(given), "-filter_threads", str(given)]
    return [*args, "-f", settings.container, "-y", str(output)]


def frames_command(
    ffmpeg: str, frame_size: tuple[int, int], settings: EncodeSettings, output: Path
) -> list[str]:
    """Command that reads raw RGB frames on stdin and writes the finished video."""
    width, height = frame_size
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-framerate",
        f"{settings.fps:g}",
        "-i",
        "pipe:0",
        "-i",
        str(settings.audio),
        *_output_args(settings, output),
    ]


def clip_command(ffmpeg: str, clip: Path, settings: EncodeSettings, output: Path) -> list[str]:
    """Command that re-encodes an engine's clip once, scaled, with the original speech."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(clip),
        "-i",
        str(settings.audio),
        "-r",
        f"{settings.fps:g}",
        *_output_args(settings, output),
    ]
