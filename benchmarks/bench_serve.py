"""The service under load: 10 clients submit 50 jobs of 3 s speech to `lipsync-tool serve` with
2 workers (the SQLite queue), against a direct `Renderer.render` of the same job in the same run.

Reports:
* whether every job succeeded, none was lost (every id submitted is listed) and none ran twice
  (each job's event stream holds exactly one `running` and one `succeeded`);
* p50 and p95 of the queue wait (`timings.queued`) and of the render time (`timings.running`);
* the peak RSS (VmHWM) of the web process and of each worker process;
* the per-job overhead: one client submitting one job at a time, from the POST to the
  `succeeded` event on the job's SSE stream, less a direct warm `Renderer.render` of the same
  request in a fresh process run beside the idle server (medians). Goal: at most 0.3 s. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _harness as h

TARGET_OVERHEAD_S = 0.3
SENTENCE = "We bake fresh bread and buns for the shop every morning."


def child_direct(spec: dict[str, Any]) -> dict[str, Any]:
    """A warm Renderer rendering the benchmark's job `repeats` times (after one warm-up)."""
    import lipsync_tool as lt

    renderer = lt.Renderer("warp")
    request = lt.RenderRequest(
        portrait=spec["portrait"], audio=spec["audio"], output=spec["output"], overwrite=True
    )
    renderer.render(request)
    walls = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        renderer.render(request)
        walls.append(time.perf_counter() - start)
    return {"walls": walls}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    command = [
        sys.executable, "-m", "lipsync_tool", "serve", "--data-dir", str(data),
        "--port", str(port), "--workers", str(workers), "--jobs-per-owner", "1000",
    ]  # fmt: skip
    server = subprocess.Popen(command, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).json()["workers"] >= workers:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up")


def submit(client: Any, files: dict[str, Any]) -> str:
    response = client.post("/v1/jobs", files=files)
    response.raise_for_status()
    return str(response.json()["id"])


def job_files(portrait: Path, audio: Path) -> dict[str, Any]:
    return {
        "portrait": (portrait.name, portrait.read_bytes()),
        "audio": (audio.name, audio.read_bytes()),
    }


def until_succeeded(client: Any, job_id: str) -> None:
    """Read the job's event stream until its final state."""
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=600) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and '"status": "' in line:
                status = json.loads(line[6:])["status"]
                if status in ("succeeded", "failed", "cancelled"):
                    return


def sequential_latency(url: str, files: dict[str, Any], count: int) -> dict[str, list[float]]:
    """One job at a time: the POST's wall, the job's own timings, and submit-to-succeeded."""
    import httpx

    parts: dict[str, list[float]] = {"latency": [], "post": [], "queued": [], "running": []}
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(count):
            start = time.perf_counter()
            job_id = submit(client, files)
            parts["post"].append(time.perf_counter() - start)
            until_succeeded(client, job_id)
            parts["latency"].append(time.perf_counter() - start)
            timings = client.get(f"/v1/jobs/{job_id}").json()["timings"]
            parts["queued"].append(timings["queued"])
            parts["running"].append(timings["running"])
    return parts


def load(url: str, files: dict[str, Any], jobs: int, clients: int) -> tuple[list[str], float]:
    """`clients` threads submit `jobs` in all as fast as they can; the ids, and the wall until
    every job ended."""
    import httpx

    ids: list[str] = []
    lock = threading.Lock()
    share = [jobs // clients + (1 if n < jobs % clients else 0) for n in range(clients)]

    def client_run(count: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            mine = [submit(client, files) for _ in range(count)]
            with lock:
                ids.extend(mine)
            for job_id in mine:
                until_succeeded(client, job_id)

    start = time.perf_counter()
    threads = [threading.Thread(target=client_run, args=(n,)) for n in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids, time.perf_counter() - start


def peaks(server_pid: int) -> dict[str, Any]:
    """VmHWM (MB) of the web process, the worker command (huey's consumer) and each render
    worker process it forked."""

    def hwm(pid: int) -> float:
        return round(h._kib(h._status(pid), "VmHWM") / 1024, 1)

    consumers = [pid for pid in h._children(server_pid) if b"worker" in h._cmdline(pid)]
    workers = [hwm(pid) for consumer in consumers for pid in h._children(consumer)]
    return {
        "web_mb": hwm(server_pid),
        "consumer_mb": [hwm(pid) for pid in consumers],
        "workers_mb": sorted(workers),
    }


def check(url: str, ids: list[str]) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        jobs = [client.get(f"/v1/jobs/{job_id}").json() for job_id in ids]
        listed: set[str] = set()
        offset = 0
        while True:
            page = client.get("/v1/jobs", params={"limit": 100, "offset": offset}).json()
            listed |= {job["id"] for job in page["jobs"]}
            offset += 100
            if offset >= page["total"]:
                break
        runs = []
        for job_id in ids:
            states = [
                json.loads(line[6:]).get("status")
                for line in client.get(f"/v1/jobs/{job_id}/events").text.splitlines()
                if line.startswith("data: ")
            ]
            runs.append((states.count("running"), states.count("succeeded")))
    return {
        "jobs": jobs,
        "succeeded": sum(1 for job in jobs if job["status"] == "succeeded"),
        "lost": len(set(ids) - listed),
        "duplicate_ids": len(ids) - len(set(ids)),
        "ran_more_than_once": sum(1 for running, _ in runs if running != 1),
        "succeeded_more_than_once": sum(1 for _, done in runs if done != 1),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    h.run_if_child({"direct": child_direct})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="direct renders and single jobs")
    args = parser.parse_args()
    env = h.environment()
    h.print_header("lipsync-tool serve under load", env)

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        work = Path(folder)
        portrait = h.portrait(work)
        speech = h.espeak_wav(work / "speech.wav", SENTENCE)
        audio = work / "speech.wav"
        h.log(f"speech: {speech.duration:.2f} s")
        files = job_files(portrait, audio)
        server, url = start_server(work / "data", args.workers)
        try:
            # the baseline runs beside the idle server, so both see the same background
            direct = h.run_child(
                __file__,
                "direct",
                {
                    "portrait": str(portrait),
                    "audio": str(audio),
                    "output": str(work / "direct.mp4"),
                    "repeats": args.repeats,
                },
            ).result["walls"]
            h.log("one job at a time")
            sequential = sequential_latency(url, files, args.repeats)
            h.log(f"{args.jobs} jobs from {args.clients} clients")
            ids, wall = load(url, files, args.jobs, args.clients)
            memory = peaks(server.pid)
            outcome = check(url, ids)
        finally:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(60)

    queued = [job["timings"]["queued"] for job in outcome["jobs"]]
    running = [job["timings"]["running"] for job in outcome["jobs"]]
    overhead = statistics.median(sequential["latency"]) - statistics.median(direct)
    summary = {
        "speech_s": round(speech.duration, 3),
        "jobs": args.jobs,
        "clients": args.clients,
        "workers": args.workers,
        "succeeded": outcome["succeeded"],
        "lost": outcome["lost"],
        "duplicate_ids": outcome["duplicate_ids"],
        "ran_more_than_once": outcome["ran_more_than_once"],
        "succeeded_more_than_once": outcome["succeeded_more_than_once"],
        "load_wall_s": round(wall, 2),
        "jobs_per_minute": round(60 * args.jobs / wall, 1),
        "queue_wait_p50_s": round(percentile(queued, 0.5), 3),
        "queue_wait_p95_s": round(percentile(queued, 0.95), 3),
        "render_p50_s": round(percentile(running, 0.5), 3),
        "render_p95_s": round(percentile(running, 0.95), 3),
        "direct_render_s": round(statistics.median(direct), 3),
        "single_job_latency_s": round(statistics.median(sequential["latency"]), 3),
        "single_job_post_s": round(statistics.median(sequential["post"]), 3),
        "single_job_queued_s": round(statistics.median(sequential["queued"]), 3),
        "single_job_running_s": round(statistics.median(sequential["running"]), 3),
        "overhead_s": round(overhead, 3),
        "memory": memory,
    }
    rows = [(name, value) for name, value in summary.items() if name != "memory"]
    h.print_table("results", ["measure", "value"], rows, spec=".3f")
    print(
        f"memory (VmHWM): web {memory['web_mb']} MB, worker command {memory['consumer_mb']} MB, "
        f"render workers {memory['workers_mb']} MB"
    )
    verdict = "met" if overhead <= TARGET_OVERHEAD_S else "NOT met"
    print(f"per-job overhead {overhead:.3f} s: target <= {TARGET_OVERHEAD_S} s {verdict}")
    h.emit_json("serve", {"environment": env, **summary})


if __name__ == "__main__":
    main()
