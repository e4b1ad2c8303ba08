"""SadTalker wrapper overhead on a warm cache: everything the engine does except upstream's inference (and the
pipeline's upscale, which is not part of the engine), measured with a stand-in upstream.

    python benchmarks/bench_sadtalker.py [--runs 5] [--json out.json]

Self-contained (a benchmark does not import from tests/): it makes a local git repository whose inference.py
copies a ready clip into upstream's result layout, serves fake checkpoint files from 127.0.0.1, builds a venv
without packages through the engine's own builder, renders once to warm the cache, then times `--runs` renders.
The store hashes a model file once and afterwards only compares its size, inode, mtime and ctime with the
stamp it left, so warm renders cost the same whatever the files' size; the sha256 rate of this machine is
measured too and the one-off cost of verifying the real files (their sizes from the table) printed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from lipsync_tool.options import RenderOptions

from lipsync_tool.engine.base import EngineJob
from lipsync_tool.engine.sadtalker.engine import SadTalkerEngine, SadTalkerSetup
from lipsync_tool.engine.sadtalker.environment import DependencySet
from lipsync_tool.engine.sadtalker.weights import needed_names
from lipsync_tool.media.ffmpeg import find_ffmpeg
from lipsync_tool.resources.repository import SADTALKER_REPOSITORY
from lipsync_tool.resources.table import for_engine

STANDIN = """import os, shutil, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
save_dir = os.path.join(args["--result_dir"], time.strftime("%Y_%m_%d_%H.%M.%S"))
shutil.copyfile(os.environ["BENCH_CLIP"], save_dir + ".mp4")
print("The generated video is named:", save_dir + ".mp4")
"""
UNKNOWN_SIZE = (
    194_000_000  # alignment_WFLW_4HG.pth: the table has no size; ~194 MB per the upstream notes
)
REQUIRED = ("src/utils/audio.py", "src/facerender/animate.py", "src/config/facerender.yaml")


def _git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def make_upstream(root: Path) -> tuple[Path, str]:
    work = root / "work-repo"
    for name in REQUIRED:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("# stand-in\n")
    (work / "inference.py").write_text(STANDIN)
    _git("init", "-q", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "stand-in", cwd=work)
    bare = root / "upstream.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare, _git("rev-parse", "HEAD", cwd=work)


def serve(files: dict[str, bytes]) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            body = files[self.path.lstrip("/")]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, requests


def sha256_rate(megabytes: int = 256) -> float:
    """Bytes per second this machine hashes."""
    block = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(megabytes):
        digest.update(block)
    return megabytes * (1 << 20) / (time.perf_counter() - start)


def make_job(root: Path, index: int, options: RenderOptions) -> EngineJob:
    work = root / f"job{index}"
    work.mkdir()
    audio = work / "speech_for_mux.wav"
    subprocess.run(
        [
            find_ffmpeg(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2:sample_rate=16000",
            "-c:a",
            "pcm_s16le",
            str(audio),
        ],
        check=True,
    )
    portrait = np.full((512, 512, 3), 128, np.uint8)
    return EngineJob(
        portrait_path=root / "p.png",
        portrait=portrait,
        face=None,
        audio_path=audio,  # type: ignore[arg-type]
        speech=None,
        frame_count=50,
        options=options,
        work_dir=work,
        mouth=None,
    )  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    options = RenderOptions(engine="sadtalker", install_deps=True)
    with tempfile.TemporaryDirectory(prefix="bench-sadtalker-") as folder:
        root = Path(folder)
        bare, commit = make_upstream(root)
        files = {r.name: f"fake {r.name}".encode() * 1000 for r in for_engine("sadtalker")}
        httpd, requests = serve(files)
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        resources = tuple(
            replace(
                r,
                url=f"{url}/{r.name}",
                size=len(files[r.name]),
                sha256=hashlib.sha256(files[r.name]).hexdigest(),
            )
            for r in for_engine("sadtalker")
        )
        setup = SadTalkerSetup(
            repository=replace(SADTALKER_REPOSITORY, commit=commit),
            resources=resources,
            dependencies=DependencySet((), (), disk_bytes=1),
        )
        clip = root / "clip.mp4"
        subprocess.run(
            [
                find_ffmpeg(),
                "-nostdin",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=256x256:rate=25",
                "-t",
                "2",
                "-pix_fmt",
                "yuv420p",
                str(clip),
            ],
            check=True,
        )
        environ = {
            **os.environ,
            "LIPSYNC_SADTALKER_REPO_URL": bare.as_uri(),
            "BENCH_CLIP": str(clip),
        }
        engine = SadTalkerEngine(options, root / "cache", setup=setup, environ=environ)
        engine.render(make_job(root, 0, options))  # cold: clone, venv, downloads
        cold_requests = len(requests)
        runs = []
        for index in range(1, args.runs + 1):
            job = make_job(root, index, options)
            start = time.perf_counter()
            engine.render(job)
            total = time.perf_counter() - start
            runs.append(
                {
                    "total": total,
                    "overhead": total - engine.stage_seconds["inference"],
                    **engine.stage_seconds,
                }
            )
        httpd.shutdown()
        rate = sha256_rate()
        real_bytes = sum(
            r.size or UNKNOWN_SIZE
            for r in for_engine("sadtalker")
            if r.name in needed_names(options)
        )
        report = {
            "runs": runs,
            "overhead_median_s": statistics.median(r["overhead"] for r in runs),
            "inference_median_s": statistics.median(r["inference"] for r in runs),
            "warm_requests": len(requests) - cold_requests,
            "sha256_mb_per_s": rate / 1e6,
            "real_files_bytes": real_bytes,
            "real_files_rehash_s": real_bytes / rate,
        }
    for run in runs:
        print("  " + ", ".join(f"{k} {v:.3f} s" for k, v in run.items()))
    print(
        f"wrapper overhead (median of {args.runs} warm renders, stand-in files): {report['overhead_median_s']:.3f} s "
        f"(target < 2 s); stand-in inference {report['inference_median_s']:.3f} s"
    )
    print(f"network requests on warm renders: {report['warm_requests']}")
    print(
        f"first use (or `resources verify`) hashes the real files of this job ({real_bytes / 1e9:.2f} GB) once at "
        f"{rate / 1e6:.0f} MB/s sha256: {report['real_files_rehash_s']:.2f} s; warm renders only stat them"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
