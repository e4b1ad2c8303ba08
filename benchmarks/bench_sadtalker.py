"""SadTalker wrapper overhead on a warm cache: everything the engine does except upstream's inference,
measured through the Renderer with a stand-in upstream.

Self-contained (a benchmark does not import from tests/): it makes a local git repository whose
inference.py copies a ready clip into upstream's result layout, serves fake checkpoint files from
127.0.0.1, builds a venv without packages through the engine's own builder, renders once to warm
the cache, then renders --repeats times in this process with one `Renderer("sadtalker")` whose
engine uses the stand-ins (scikit-image's astronaut, 2 s of speech-like sound, no upscale).

Per render: `RenderResult.engine_seconds` (the engine's stages) and `stage_seconds`; the wrapper
overhead is the sum of the engine's stages minus its "inference" stage (the stand-in's process).
The store hashes a model file once and afterwards only compares its size, inode, mtime and ctime
with the stamp it left, so warm renders cost the same whatever the files' size; the sha256 rate
of this machine is measured too, and the one-off cost of verifying the real files (their sizes
from the table) printed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import _harness as h
import numpy as np

STANDIN = """import os, shutil, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
save_dir = os.path.join(args["--result_dir"], time.strftime("%Y_%m_%d_%H.%M.%S"))
shutil.copyfile(os.environ["BENCH_CLIP"], save_dir + ".mp4")
print("The generated video is named:", save_dir + ".mp4")
"""
UNKNOWN_SIZE = 194_000_000  # alignment_WFLW_4HG.pth: no size in the table; ~194 MB upstream
SECONDS = 2.0
INFERENCE = "inference"


def _git(*args: str, cwd: Path) -> str:
    names = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b"}
    names |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    env = {**names, "PATH": os.environ["PATH"], "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    done.check_returncode()
    return done.stdout.strip()


def make_upstream(root: Path, required: tuple[str, ...]) -> tuple[Path, str]:
    """A bare repository with the files the pinned checkout must have and the stand-in."""
    work = root / "work-repo"
    for name in required:
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


def standin_renderer(root: Path, url: str, files: dict[str, bytes]) -> Any:
    """A Renderer whose sadtalker engine clones the stand-in and fetches the fake files."""
    from lipsync_tool.engine.base import EngineContext, NoOptions
    from lipsync_tool.engine.sadtalker.engine import SadTalkerEngine, SadTalkerSetup
    from lipsync_tool.engine.sadtalker.environment import DependencySet
    from lipsync_tool.media.ffmpeg import find_ffmpeg
    from lipsync_tool.renderer import Renderer
    from lipsync_tool.resources.repository import SADTALKER_REPOSITORY
    from lipsync_tool.resources.table import for_engine

    bare, commit = make_upstream(root, SADTALKER_REPOSITORY.required_files)
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
            f"{SECONDS:g}",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    environ = {**os.environ, "LIPSYNC_SADTALKER_REPO_URL": bare.as_uri(), "BENCH_CLIP": str(clip)}
    cache = root / "cache"
    renderer = Renderer("sadtalker", cache_dir=cache, load=False)
    context = EngineContext(cache, install_deps=True)
    renderer.engine = SadTalkerEngine(NoOptions(), context, setup=setup, environ=environ)
    return renderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm renders (default 5)")
    args = parser.parse_args()
    import lipsync_tool as lt
    from lipsync_tool.engine.sadtalker.options import SadTalkerOptions
    from lipsync_tool.engine.sadtalker.weights import needed_names
    from lipsync_tool.resources.table import for_engine

    env = h.environment()
    h.print_header("bench_sadtalker: wrapper overhead on a warm cache (stand-in upstream)", env)
    with tempfile.TemporaryDirectory(prefix="bench-sadtalker-") as folder:
        root = Path(folder)
        files = {r.name: f"fake {r.name}".encode() * 1000 for r in for_engine("sadtalker")}
        httpd, requests = serve(files)
        renderer = standin_renderer(root, f"http://127.0.0.1:{httpd.server_address[1]}", files)
        request = lt.RenderRequest(
            portrait=h.portrait(root, "astronaut"),
            audio=h.speech_like_wav(root / "speech.wav", SECONDS),
            output=root / "out.mp4",
            upscale=False,
            overwrite=True,
        )
        h.log("cold render: clone, venv, downloads")
        cold = renderer.render(request)
        cold_requests = len(requests)
        runs = []
        for repeat in range(args.repeats):
            h.log(f"warm render {repeat + 1}/{args.repeats}")
            start = time.perf_counter()
            result = renderer.render(request)
            engine = result.engine_seconds
            runs.append(
                {
                    "render_s": time.perf_counter() - start,
                    "overhead_s": sum(engine.values()) - engine.get(INFERENCE, 0.0),
                    "stage_seconds": result.stage_seconds,
                    "engine_seconds": engine,
                }
            )
        httpd.shutdown()
    rate = sha256_rate()
    real_bytes = sum(
        r.size or UNKNOWN_SIZE
        for r in for_engine("sadtalker")
        if r.name in needed_names(SadTalkerOptions())
    )
    engine_names = h.keys_in_order(r["engine_seconds"] for r in runs)
    stage_names = h.keys_in_order(r["stage_seconds"] for r in runs)
    h.print_table(
        f"Warm renders (seconds): RenderResult.engine_seconds, then stage_seconds ({SECONDS:g} s clip)",
        ["run", *engine_names, "overhead", "|", *stage_names, "render()"],
        [
            [
                str(n + 1),
                *(r["engine_seconds"].get(k) for k in engine_names),
                r["overhead_s"],
                "|",
                *(r["stage_seconds"].get(k) for k in stage_names),
                r["render_s"],
            ]
            for n, r in enumerate(runs)
        ],
        ["overhead = the engine's stages without inference (the stand-in's process)"],
        spec=".3f",
    )
    summary = {
        "overhead_median_s": h.median(r["overhead_s"] for r in runs),
        "inference_median_s": h.median(r["engine_seconds"].get(INFERENCE, 0.0) for r in runs),
        "render_median_s": h.median(r["render_s"] for r in runs),
        "cold_engine_seconds": cold.engine_seconds,
        "warm_requests": len(requests) - cold_requests,
        "sha256_mb_per_s": rate / 1e6,
        "real_files_bytes": real_bytes,
        "real_files_rehash_s": real_bytes / rate,
    }
    print(
        f"wrapper overhead, median of {args.repeats} warm renders: "
        f"{summary['overhead_median_s']:.3f} s (target < 2 s); stand-in inference "
        f"{summary['inference_median_s']:.3f} s; network requests on warm renders: "
        f"{summary['warm_requests']}"
    )
    print(
        f"first use (or `resources verify`) hashes the real files of a default job "
        f"({real_bytes / 1e9:.2f} GB) once at {rate / 1e6:.0f} MB/s sha256: "
        f"{summary['real_files_rehash_s']:.2f} s; warm renders only stat them\n"
    )
    h.emit_json(
        "bench_sadtalker",
        {"environment": env, "settings": vars(args), "summary": summary, "runs": runs},
    )


if __name__ == "__main__":
    main()
