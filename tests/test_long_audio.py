"""A 10-minute recording renders with bounded memory (frames streamed, never all held)."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from .conftest import SPEECH_RATE, padded_tts
from .memory import run_python_measured

# A Renderer built warm loads every model, so both lengths hold the same ones (a one-shot render
# builds PocketSphinx's phone loop only for a piece where Whisper hears no words).
RENDER = """
import json, sys
import lipsync_tool
request = lipsync_tool.RenderRequest(
    portrait=sys.argv[1], audio=sys.argv[2], output=sys.argv[3], upscale=False, max_duration=3600
)
result = lipsync_tool.Renderer().render(request)
print(json.dumps({"frames": result.frames, "duration": result.duration}))
"""


GROWTH_MB = 200
"""What 10 minutes may add to a 10-s render's peak: the audio and its analysis (150 MB measured on
an Intel 2-core machine, where it was 1.34 times the short render's peak)."""


def repeated_speech(path: Path, seconds: float) -> Path:
    sentence = padded_tts("We buy blue boots and warm hats. Papa made a map.", "en-us").samples_16k
    samples = np.tile(sentence, int(np.ceil(seconds * SPEECH_RATE / len(sentence))))[
        : int(seconds * SPEECH_RATE)
    ]
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SPEECH_RATE)
        handle.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def render_in_child(portrait: Path, audio: Path, out: Path) -> dict:
    """Render in a child process; its result and `peak_mb`, the VmHWM of that process alone (MiB)."""
    run = run_python_measured(RENDER, str(portrait), str(audio), str(out), timeout=1800)
    return {**json.loads(run.stdout.strip().splitlines()[-1]), "peak_mb": run.peak_mb}


@pytest.mark.slow
def test_ten_minutes_render_with_bounded_memory(workdir: Path) -> None:
    short = render_in_child(
        workdir / "astronaut.png", repeated_speech(workdir / "short.wav", 10), workdir / "short.mp4"
    )
    long = render_in_child(
        workdir / "astronaut.png", repeated_speech(workdir / "long.wav", 600), workdir / "long.mp4"
    )
    (workdir / "memory.json").write_text(json.dumps({"10 s": short, "600 s": long}))
    print(
        f"peak memory of the render process (VmHWM): {short['peak_mb']:.0f} MB for 10 s, "
        f"{long['peak_mb']:.0f} MB for 10 min, {long['peak_mb'] - short['peak_mb']:.0f} MB more "
        f"(limit {GROWTH_MB} MB)"
    )
    assert long["frames"] == 15000 and abs(long["duration"] - 600) < 0.01
    # The Python process's own peak (ffmpeg's does not depend on length): the streamed render and
    # the chunked speech analysis keep it near the short clip's. Held, the 10 minutes' frames
    # would be 11.8 GB; the decoded audio itself is 38 MB.
    assert long["peak_mb"] - short["peak_mb"] <= GROWTH_MB, (
        f"{long['peak_mb']:.0f} MB for 10 min vs {short['peak_mb']:.0f} MB for 10 s"
    )
