"""Text in place of AUDIO: eSpeak NG speech, its phonemes driving the mouth, and the bad inputs."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

import lipsync_tool
from lipsync_tool.cli import main
from lipsync_tool.media.audio import decode_speech
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.media.probe import probe
from lipsync_tool.speech.tts import synthesize_to_wav
from lipsync_tool.speech_input import TEXT_MARGIN

from .test_pipeline import mouth_track


@pytest.mark.parametrize(
    ("voice", "text"),
    [("en-us", "Hello! We buy blue boots."), ("de", "Guten Morgen, wir kaufen blaue Boote.")],
)
def test_text_to_talking_video(workdir: Path, voice: str, text: str) -> None:
    out, saved = workdir / f"{voice}.mp4", workdir / f"{voice}.wav"
    result = lipsync_tool.render(
        workdir / "grace_hopper.jpg",
        None,
        out,
        text=text,
        voice=voice,
        save_audio=saved,
        upscale=False,
        seed=1,
    )
    ffmpeg = find_ffmpeg()
    info = probe(ffmpeg, out)
    speech = decode_speech(ffmpeg, saved, max_duration=60)
    assert (
        abs(info.duration - speech.duration) < 0.06
        and abs(result.duration - speech.duration) < 1e-6
    )
    with wave.open(str(saved)) as handle:
        assert handle.getframerate() == 22050 and handle.getnchannels() == 1

    phones = synthesize_to_wav(text, workdir / "again.wav", voice=voice, margin=TEXT_MARGIN).phones
    first = next(p for p in phones if p.phone != "sil")
    level = np.abs(speech.samples)
    voiced = (
        np.nonzero(np.convolve(level, np.ones(160) / 160, mode="same") > 0.01 * level.max())[0][0]
        / speech.sample_rate
    )
    assert abs(first.start - voiced) < 0.06, "the first phoneme starts with the first sound"

    openings = mouth_track(ffmpeg, out, height=512)
    assert len(openings) == result.frames
    still = int(TEXT_MARGIN * 25) - 2  # the mouth moves ~65 ms ahead of the first sound
    assert np.abs(speech.samples[: int(0.9 * TEXT_MARGIN * speech.sample_rate)]).max() < 1e-3, (
        "a breath of silence first"
    )
    assert openings[:still].max() < 0.02 and openings[-still:].max() < 0.02, (
        "the clip opens and ends on a closed mouth"
    )
    assert openings.max() > 0.04, "the mouth opens on the vowels"
    pause = max((p for p in phones if p.phone == "sil"), key=lambda p: p.end - p.start)
    assert pause.end - pause.start > 0.15, "the sentence has a pause between its phrases"
    inside = openings[int(pause.start * 25) + 2 : int(pause.end * 25) - 1]
    assert inside.min() < 0.02, "the mouth rests in the pause between phrases"
    bilabials = [p for p in phones if p.phone in ("m", "b", "p")]
    assert bilabials, "the sentence has bilabials"
    for phone in bilabials:
        window = openings[int(phone.start * 25) - 2 : int(phone.end * 25) + 2]
        assert window.min() < 0.02, f"the lips close for /{phone.phone}/ at {phone.start:.2f} s"


def test_text_file_and_dry_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "words.txt").write_text("Good evening.", encoding="utf-8")
    code = main(
        [
            str(workdir / "astronaut.png"),
            str(workdir / "o.mp4"),
            "--text-file",
            str(workdir / "words.txt"),
            "--dry-run",
        ]
    )
    assert code == 0
    assert "engine:    warp" in capsys.readouterr().out
    assert not (workdir / "o.mp4").exists()


def test_list_voices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-voices"]) == 0
    listed = capsys.readouterr().out.split()
    assert "en-us" in listed and "de" in listed and "es" in listed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--text", "   "], "empty"),
        (["--text", "hello", "--voice", "zz-nonexistent"], "zz-nonexistent"),
        (["--text", "a" * 5001], "5000"),
        (["--text", "hello", "--rate", "20"], "--rate"),
        (["--save-audio", "s.wav"], "--save-audio"),
    ],
)
def test_bad_text_inputs_are_one_line(
    workdir: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    positional = [str(workdir / "astronaut.png")] + (
        [] if "--text" in argv else [str(workdir / "bursts.wav")]
    )
    code = main(
        [
            *positional,
            str(workdir / "o.mp4"),
            *[a if not a.endswith(".wav") else str(workdir / a) for a in argv],
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (workdir / "o.mp4").exists() and not (workdir / "s.wav").exists()


def test_audio_and_text_together_or_neither(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                str(workdir / "astronaut.png"),
                str(workdir / "bursts.wav"),
                str(workdir / "o.mp4"),
                "--text",
                "hi",
            ]
        )
        == 2
    )
    assert main([str(workdir / "astronaut.png"), str(workdir / "o.mp4")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
