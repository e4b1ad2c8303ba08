"""What every benchmark shares: the environment header, fresh child processes with the peak memory
of their whole process tree, the inputs, tables, and the one JSON line a script ends with.

Child processes. `run_child(__file__, KIND, spec)` starts `python SCRIPT --bench-child KIND SPEC`,
a fresh interpreter; the script's `main()` first calls `run_if_child({KIND: function})`, which in
the child runs `function(spec)`, hands its JSON-ready result back on stdout and waits for the parent
before exiting. Meanwhile the parent samples /proc every 20 ms: the child and every descendant
(ffmpeg, upstream inference.py), each one's VmHWM, and the largest sum of their RSS at one moment.
The child's own VmHWM is read once more while it waits, so its peak is exact; a descendant that
exits between two samples is known by its last sample. A process forked but not yet exec'd (its
command line still its parent's) is skipped: it only shares its parent's pages. Without /proc (not
Linux) no memory is reported.

The JSON line. `emit_json(name, data)` prints, as the script's last line of stdout, one JSON object
`{"benchmark": name, "environment": {...}, ...}`, no prefix: `python benchmarks/X.py | tail -n 1`
is the record docs/benchmarks.md cites (date, commit, machine and command are in "environment").
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHILD_FLAG = "--bench-child"
RESULT_MARK = "--- bench child result: "
SAMPLE_SECONDS = 0.02
SPEECH_RATE = 16000
PHRASE, PAUSE = 2.1, 0.35
"""Synthetic speech: phrases of 2.1 s separated by 0.35 s pauses (the tests' generator)."""
MB = 1024 * 1024

# ---------------------------------------------------------------- environment


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def environment() -> dict[str, Any]:
    """Date, commit, machine, load and versions: the stamp of every table."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "lipsync_tool": _version("lipsync-tool"),
        "command": shlex.join(["python", str(shown), *sys.argv[1:]]),
    }


def print_header(title: str, env: Mapping[str, Any]) -> None:
    """The title, the stamp and the command; a warning when other work already loads the CPUs."""
    changes = " + uncommitted changes" if env["uncommitted_changes"] else ""
    print(title)
    print(
        f"{env['date']}, commit {env['commit']}{changes}; {env['cpu']}, {env['cores']} cores, "
        f"load {' '.join(map(str, env['load_average']))}; Python {env['python']}, "
        f"torch {env['torch'] or '-'}"
    )
    print(f"command: {env['command']}")
    cores = env["cores"] or 1
    if env["load_average"][0] >= 0.5 * cores:
        print(
            f"WARNING: the machine is busy (load {env['load_average'][0]} on {cores} cores): "
            "wall times are inflated and noisy; rerun on an idle machine before quoting them"
        )
    print(flush=True)


def emit_json(name: str, data: Mapping[str, Any]) -> None:
    """Print the script's last line: one JSON object, {"benchmark": name, **data}; an
    "environment" in `data` gets the load average at the end added."""
    record: dict[str, Any] = {"benchmark": name, **data}
    if isinstance(record.get("environment"), Mapping):
        record["environment"] = {**record["environment"], "load_average_end": load_average()}
    print(json.dumps(record, default=str), flush=True)


def log(message: str) -> None:
    """Progress on stderr (stdout holds the report and the JSON line)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- child processes


@dataclass(frozen=True)
class TreeMemory:
    """Peak memory of a child's process tree, in MiB; None where /proc cannot tell."""

    python_mb: float | None
    """The child's own VmHWM, read while it waits after its work."""
    children_mb: dict[str, float] = field(default_factory=dict)
    """Per process name (ffmpeg, python3, ...): the largest VmHWM of a descendant of that name."""
    together_mb: float | None = None
    """The largest sum of RSS over the whole tree at one sample."""
    samples: int = 0

    @property
    def sum_of_peaks_mb(self) -> float | None:
        """The child's peak plus each kind of descendant's peak: an upper bound."""
        if self.python_mb is None:
            return None
        return round(self.python_mb + sum(self.children_mb.values()), 1)


@dataclass(frozen=True)
class ChildRun:
    result: dict[str, Any]
    """What the child function returned."""
    wall_s: float
    """The whole process: interpreter start, imports and the work, until it handed the result."""
    memory: TreeMemory

    def to_dict(self) -> dict[str, Any]:
        memory = {**asdict(self.memory), "sum_of_peaks_mb": self.memory.sum_of_peaks_mb}
        return {**self.result, "process_wall_s": round(self.wall_s, 4), "memory": memory}


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _kib(status: Mapping[str, str], name: str) -> int:
    value = status.get(name, "").split()
    return int(value[0]) if value else 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for task in tasks:
        try:
            pids += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return pids


def _label(cmdline: bytes, name: str) -> str:
    """What a descendant is: "ffmpeg", "python inference.py", or its program's name."""
    args = [arg.decode(errors="replace") for arg in cmdline.split(b"\0") if arg]
    program = Path(args[0]).name if args else name
    if program.startswith("ffmpeg"):
        return "ffmpeg"
    if program.startswith("python"):
        script = next((Path(a).name for a in args[1:] if a.endswith(".py")), None)
        return f"python {script}" if script else "python"
    return program


class TreeSampler:
    """Samples the memory of a process and all its descendants (see the module docstring)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.available = Path(f"/proc/{root}/status").exists()
        self.root_hwm = 0
        self.peaks: dict[int, tuple[str, int]] = {}
        self.together = 0
        self.samples = 0

    def sample(self) -> None:
        if not self.available:
            return
        total = 0
        frontier = [(self.root, b"")]
        while frontier:
            pid, parent_cmd = frontier.pop()
            command = _cmdline(pid)
            status = _status(pid)
            if not status:
                continue
            if pid == self.root:
                self.root_hwm = max(self.root_hwm, _kib(status, "VmHWM"))
            elif command != parent_cmd:  # the same command line: forked, not yet exec'd
                name = _label(command, status.get("Name", "?").strip())
                previous = self.peaks.get(pid, (name, 0))[1]
                self.peaks[pid] = (name, max(previous, _kib(status, "VmHWM")))
            else:
                continue
            total += _kib(status, "VmRSS")
            frontier += [(child, command) for child in _children(pid)]
        self.together = max(self.together, total)
        self.samples += 1

    def memory(self) -> TreeMemory:
        if not self.available:
            return TreeMemory(None)
        children: dict[str, float] = {}
        for name, kib in self.peaks.values():
            children[name] = max(children.get(name, 0.0), round(kib / 1024, 1))
        return TreeMemory(
            round(self.root_hwm / 1024, 1), children, round(self.together / 1024, 1), self.samples
        )


def run_child(
    script: str | Path, kind: str, spec: Mapping[str, Any], timeout: float = 3600
) -> ChildRun:
    """Run `kind` of `script` on `spec` in a fresh Python process; its result, wall and memory."""
    command = [sys.executable, str(script), CHILD_FLAG, kind, json.dumps(spec, default=str)]
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdout = proc.stdout
        found: list[str] = []
        handed = threading.Event()

        def read() -> None:
            for line in stdout:
                if line.startswith(RESULT_MARK):
                    found.append(line[len(RESULT_MARK) :])
                    handed.set()
            handed.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sampler = TreeSampler(proc.pid)
        try:
            while not handed.wait(SAMPLE_SECONDS):
                sampler.sample()
                if time.perf_counter() - start > timeout:
                    raise RuntimeError(f"benchmark child {kind!r} ran past {timeout:g} s")
            wall = time.perf_counter() - start
            sampler.sample()  # the child waits on stdin now: alive, its work done
            try:
                proc.stdin.write("\n")
                proc.stdin.close()
            except BrokenPipeError:  # it failed before handing a result
                pass
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join()
        if not found or proc.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"benchmark child {kind!r} failed (exit {proc.returncode}):\n{errors.read()[-3000:]}"
            )
    return ChildRun(json.loads(found[0]), wall, sampler.memory())


def run_if_child(functions: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    """In a process started by `run_child`: run the function asked for, hand back its result,
    wait for the parent to read the peak memory, exit. Elsewhere: return at once."""
    if len(sys.argv) != 4 or sys.argv[1] != CHILD_FLAG:
        return
    result = functions[sys.argv[2]](json.loads(sys.argv[3]))
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    sys.exit(0)


# ---------------------------------------------------------------- inputs

PORTRAITS = ("astronaut", "grace_hopper")


def portrait(folder: Path, name: str = "astronaut") -> Path:
    """A public sample portrait written into `folder`: scikit-image's astronaut (512×512 PNG) or
    matplotlib's grace_hopper (512×600 JPEG)."""
    if name == "astronaut":
        import skimage.data
        from PIL import Image

        path = folder / "astronaut.png"
        Image.fromarray(skimage.data.astronaut()).save(path)
        return path
    if name == "grace_hopper":
        import matplotlib.cbook

        path = folder / "grace_hopper.jpg"
        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
            path.write_bytes(handle.read())
        return path
    raise ValueError(f"unknown portrait {name!r}; choose from {', '.join(PORTRAITS)}")


def write_wav(path: Path, samples: np.ndarray, rate: int = SPEECH_RATE) -> Path:
    """Float samples in [-1, 1] as mono 16-bit PCM WAV."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float32, first channel) and rate of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as handle:
        channels, rate = handle.getnchannels(), handle.getframerate()
        data = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
    return (data[::channels] / 32768.0).astype(np.float32), rate


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Vowel-like harmonics at syllable rate in phrases of PHRASE s with PAUSE s pauses, from
    0.2 s to 0.2 s before the end (the generator of tests/conftest.py)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SPEECH_RATE))) / SPEECH_RATE
    envelope = np.zeros_like(t)
    start = 0.2
    while start < seconds - 0.4:
        inside = (t >= start) & (t < min(start + PHRASE, seconds - 0.2))
        envelope[inside] = 0.25 + 0.75 * np.abs(np.sin(np.pi * 4.0 * (t[inside] - start)))
        start += PHRASE + PAUSE
    phase = 2 * np.pi * np.cumsum(140 + 25 * np.sin(2 * np.pi * 0.7 * t)) / SPEECH_RATE
    voice = sum(np.sin(k * phase) / k * (1.6 if k in (3, 4, 8) else 1.0) for k in range(1, 20))
    signal = voice * envelope + rng.normal(0, 1e-4, len(t))
    return (signal / max(np.max(np.abs(signal)), 1e-9) * 0.5).astype(np.float32)


def speech_like_wav(path: Path, seconds: float, seed: int = 0) -> Path:
    return write_wav(path, speech_like(seconds, seed))


def espeak_wav(path: Path, text: str, voice: str = "en-us", margin: float = 0.0) -> Any:
    """eSpeak NG speaking `text` into `path`; the SynthesizedSpeech (wav, phones, duration)."""
    from lipsync_tool.speech.tts import synthesize_to_wav

    return synthesize_to_wav(text, path, voice=voice, margin=margin)


def espeak_long_wav(
    path: Path, seconds: float, sentences: Sequence[str], pause: float = 0.5
) -> Path:
    """eSpeak NG sentences with `pause` s after each, repeated to exactly `seconds`."""
    pieces, rate = [], SPEECH_RATE
    with tempfile.TemporaryDirectory() as folder:
        for number, sentence in enumerate(sentences):
            samples, rate = read_wav(espeak_wav(Path(folder) / f"{number}.wav", sentence).wav)
            pieces += [samples, np.zeros(int(pause * rate), np.float32)]
    block = np.concatenate(pieces)
    wanted = int(round(seconds * rate))
    return write_wav(path, np.tile(block, -(-wanted // len(block)))[:wanted], rate)


def wav2lip_checkpoint(path: Path, seed: int = 0) -> Path:
    """A Wav2Lip checkpoint in the official layout (`module.`-prefixed state_dict beside optimizer
    entries) with seeded random weights: same network, same cost as the real files (about 145 MB)."""
    import torch

    from lipsync_tool.engine.wav2lip.model import KEY_PREFIX, Wav2LipGenerator

    torch.manual_seed(seed)
    state = {KEY_PREFIX + k: v for k, v in Wav2LipGenerator().state_dict().items()}
    torch.save({"state_dict": state, "optimizer": {}, "global_step": 0, "global_epoch": 0}, path)
    return path


# ---------------------------------------------------------------- figures and tables


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def keys_in_order(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of `mappings`, in the order of first appearance (stage names as results give them)."""
    keys: dict[str, None] = {}
    for mapping in mappings:
        keys.update(dict.fromkeys(mapping))
    return list(keys)


def median_stages(mappings: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per key (in order), the median over `mappings` (a missing key counts 0)."""
    return {
        key: round(median(m.get(key, 0.0) for m in mappings), 4) for key in keys_in_order(mappings)
    }


def fmt(value: Any, spec: str = ".2f") -> str:
    """A table cell: numbers by `spec`, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], spec: str = ".2f") -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [list(headers)] + [[fmt(cell, spec) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        first = row[0].ljust(widths[0])
        lines.append("  ".join([first, *(c.rjust(w) for c, w in zip(row[1:], widths[1:]))]))
    return "\n".join(lines)


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    notes: Sequence[str] = (),
    spec: str = ".2f",
) -> None:
    print(title)
    print(table(headers, rows, spec))
    for note in notes:
        print(f"  {note}")
    print(flush=True)
