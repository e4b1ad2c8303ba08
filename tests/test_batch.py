"""`lipsync-tool batch`: a manifest validated before anything renders, rows on worker processes,
results.jsonl written as rows end, --resume, --skip-invalid and Ctrl-C."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lipsync_tool.batch.manifest import Row, read_manifest, row_request
from lipsync_tool.cli import main
from lipsync_tool.errors import InputError

from .local_services import default_sigint

FAST = ["--no-upscale", "--fps", "12"]


def write_manifest(folder: Path, rows: list[dict], name: str = "m.csv") -> Path:
    path = folder / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [",".join(columns)]
    lines += [",".join(str(row.get(c, "")) for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_csv_cells_take_their_fields_types_and_paths_their_folders(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path,
        [
            {"portrait": "p.jpg", "audio": "a.wav", "output": "x/o.mp4", "fps": "30",
             "still": "no", "expression_scale": "1.5"},
        ],
    )  # fmt: skip
    (row,) = read_manifest(manifest)
    assert row.values == {
        "portrait": "p.jpg", "audio": "a.wav", "output": "x/o.mp4", "fps": 30.0, "still": False,
        "expression_scale": 1.5,
    }  # fmt: skip
    request = row_request(row, {"rate": 200, "text": "ignored"}, {}, tmp_path, tmp_path / "out")
    assert request.portrait == tmp_path / "p.jpg" and request.audio == tmp_path / "a.wav"
    assert request.output == tmp_path / "out" / "x" / "o.mp4"
    assert request.rate == 200 and request.text is None  # the row's audio beats --text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"portrait": "p.jpg", "text": "Hi", "output": "../o.mp4"}, "inside --out-dir"),
        (
            {"portrait": "p.jpg", "text": "Hi", "output": "o.mp4", "colour": "red"},
            "unknown columns",
        ),
        ({"portrait": "p.jpg", "text": "Hi"}, "no output"),
        ({"portrait": "p.jpg", "text": "Hi", "output": "o.mp4", "rate": "fast"}, "rate must be"),
        ({"portrait": "p.jpg", "text": "Hi", "output": "o.mp4", "keep_temp": True}, "per row"),
    ],
)
def test_a_bad_row_names_its_problem(tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        row_request(Row(1, values), {}, {}, tmp_path, tmp_path / "out")


def test_a_bad_row_stops_the_batch_before_anything_renders_then_the_rows_render(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"portrait": "astronaut.png", "audio": "speech.wav", "output": "a.mp4"},
        {"portrait": "grace_hopper.jpg", "text": "Good morning.", "output": "sub/b.mp4"},
        {"portrait": "missing.jpg", "text": "Hello.", "output": "c.mp4"},
        {"portrait": "astronaut.png", "text": "Bye now.", "output": "d.mp4", "voice": "en-gb"},
    ]
    manifest = write_manifest(workdir, rows)
    out = workdir / "out"
    assert main(["batch", str(manifest), "--out-dir", str(out), *FAST]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-2] == f"row 3: PORTRAIT {workdir / 'missing.jpg'} does not exist"
    assert err[-1].startswith("error: 1 of 4 rows are invalid")
    assert not out.exists()
    assert multiprocessing.active_children() == [], "the workers started meanwhile are stopped"

    code = main(["batch", str(manifest), "--out-dir", str(out), "--skip-invalid", *FAST])
    assert code == 1  # a row was left out
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["a.mp4", "b.mp4", "d.mp4"]
    lines = results(out)
    assert sorted((r["row"], r["status"]) for r in lines) == [
        (1, "succeeded"), (2, "succeeded"), (3, "invalid"), (4, "succeeded")
    ]  # fmt: skip
    assert capsys.readouterr().out.startswith("4 rows: 3 rendered, 0 failed, 1 invalid")
    assert multiprocessing.active_children() == []


def test_resume_skips_what_is_done_and_renders_what_changed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"portrait": "astronaut.png", "text": "One.", "output": "one.mp4"},
        {"portrait": "grace_hopper.jpg", "text": "Two.", "output": "two.mp4"},
    ]
    out = workdir / "out"
    manifest = write_manifest(workdir, rows, "m.jsonl")
    assert main(["batch", str(manifest), "--out-dir", str(out), "--workers", "2", *FAST]) == 0
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    capsys.readouterr()

    assert main(["batch", str(manifest), "--out-dir", str(out), "--resume", *FAST]) == 0
    assert "0 rendered, 0 failed, 0 invalid, 2 done before" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == first

    rows[1]["text"] = "Two, changed."
    write_manifest(workdir, rows, "m.jsonl")
    assert main(["batch", str(manifest), "--out-dir", str(out), "--resume", *FAST]) == 0
    assert "1 rendered, 0 failed, 0 invalid, 1 done before" in capsys.readouterr().out
    now = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    assert now["one.mp4"] == first["one.mp4"] and now["two.mp4"] != first["two.mp4"]
    assert main(["batch", str(manifest), "--out-dir", str(out), *FAST]) == 2  # no clobbering


def test_failed_rows_are_logged_with_their_message(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIPSYNC_OFFLINE", "1")  # no download is tried: the test stays offline
    rows = [
        {"portrait": "astronaut.png", "text": "Fine.", "output": "ok.mp4"},
        {"portrait": "astronaut.png", "text": "Fine too.", "output": "ok2.mp4", "rate": 90},
    ]
    out = workdir / "out"
    manifest = write_manifest(workdir, rows)
    code = main(["batch", str(manifest), "--out-dir", str(out), "--engine", "wav2lip",
                 "--workers", "1", *FAST])  # fmt: skip
    # wav2lip has no checkpoint here (offline): each row fails with the engine's message
    lines = results(out)
    assert code == 1 and [r["status"] for r in lines] == ["failed", "failed"]
    assert all(r["error"]["type"] == "ResourceError" for r in lines)
    assert all("LIPSYNC_OFFLINE" in r["error"]["message"] for r in lines)
    err = capsys.readouterr().err
    assert "failed (1 so far)" in err and "failed (2 so far)" in err
    assert not list(out.glob("*.mp4"))


def test_ctrl_c_keeps_finished_rows_leaves_no_partial_file_and_resume_finishes(
    workdir: Path,
) -> None:
    rows = [
        {"portrait": "astronaut.png", "audio": "speech.wav", "output": f"r{n}.mp4"}
        for n in range(4)
    ]
    manifest = write_manifest(workdir, rows)
    out = workdir / "out"
    command = [sys.executable, "-m", "lipsync_tool", "batch", str(manifest), "--out-dir",
               str(out), "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 180
    while not (out / "results.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the second row is rendering now
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the batch and its workers
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run it again with --resume" in err
    assert not [p for p in out.rglob("*") if "partial" in p.name]
    done = [r["output"] for r in results(out) if r["status"] == "succeeded"]
    assert 1 <= len(done) < 4
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(done)

    env = {**os.environ}
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{4 - len(done)} rendered, 0 failed, 0 invalid, {len(done)} done before" in (
        resumed.stdout
    )
    assert sorted(p.name for p in out.glob("*.mp4")) == [f"r{n}.mp4" for n in range(4)]
