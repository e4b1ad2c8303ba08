"""The Ray backend on a real Ray: a local one, and a two-node cluster started by the test.

Ray advertises the machine's network address, so every Ray here runs in a network namespace
that has only loopback (`unshare -n`, which needs root): no traffic can leave 127.0.0.1. Without
Ray or unshare these tests skip, except where LIPSYNC_REQUIRE_RAY is set (`.ci/run` sets it)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .local_services import skip_or_fail
from .serve_helpers import free_port
from .test_batch import FAST, results, write_manifest

pytestmark = pytest.mark.slow


def netns_or_skip() -> None:
    problem = None
    try:
        import ray  # noqa: F401
    except ImportError:
        problem = "Ray is not installed (the [cluster] extra)"
    if problem is None and (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0
    ):
        problem = "unshare -n is not permitted here (it needs root)"
    skip_or_fail(problem, "LIPSYNC_REQUIRE_RAY")


@pytest.fixture()
def ray_tmp() -> Iterator[Path]:
    """Ray's session folder: short, as its socket paths must stay under 108 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def in_loopback_netns(script: str, tmp_path: Path, ray_tmp: Path) -> subprocess.Popen:
    """`script` (bash) in a new network namespace whose only interface is loopback."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "RAY_TMPDIR": str(ray_tmp),
        "HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    full = f"set -e\nip link set lo up\n{script}"
    return subprocess.Popen(
        ["unshare", "-n", "bash", "-c", full],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def rows(count: int) -> list[dict]:
    names = ["astronaut.png", "grace_hopper.jpg"]
    return [
        {"portrait": names[n % 2], "text": f"Row number {n}.", "output": f"r{n}.mp4"}
        for n in range(count)
    ]


def test_a_local_ray_renders_and_a_killed_actor_is_retried(
    workdir: Path, tmp_path: Path, ray_tmp: Path
) -> None:
    netns_or_skip()
    manifest = write_manifest(workdir, rows(6))
    out = workdir / "out"
    script = f"lipsync-tool batch {manifest} --out-dir {out} --backend ray --workers 2 " + " ".join(
        FAST
    )
    proc = in_loopback_netns(script, tmp_path, ray_tmp)
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        # once a row has finished, kill an actor mid-render: Ray restarts it, the row is retried
        if (out / "results.jsonl").exists():
            found = subprocess.run(["pgrep", "-f", "ray::RowActor"], capture_output=True, text=True)
            pids = [int(p) for p in found.stdout.split()]
            if pids:
                os.kill(pids[0], 9)
                killed = pids[0]
        time.sleep(0.2)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert killed is not None, "no actor was found to kill"
    lines = results(out)
    assert sorted(r["row"] for r in lines) == [1, 2, 3, 4, 5, 6]
    assert all(r["status"] == "succeeded" for r in lines), lines
    assert sorted(p.name for p in out.glob("*.mp4")) == [f"r{n}.mp4" for n in range(6)]
    assert not list(out.glob(".*partial*"))


def test_a_two_node_cluster_renders_the_manifest(
    workdir: Path, tmp_path: Path, ray_tmp: Path
) -> None:
    netns_or_skip()
    manifest = write_manifest(workdir, rows(4))
    out = workdir / "out"
    port = free_port()
    ray_opts = "--node-ip-address 127.0.0.1 --num-cpus 1 --disable-usage-stats"
    script = f"""
trap 'ray stop --force > /dev/null 2>&1' EXIT
ray start --head --port {port} {ray_opts} --include-dashboard false > head.log 2>&1
ray start --address 127.0.0.1:{port} {ray_opts} > node.log 2>&1
python -c "import ray; ray.init(address='127.0.0.1:{port}', log_to_driver=False); \\
print('nodes', sorted({{n['NodeManagerAddress'] for n in ray.nodes() if n['Alive']}}), \\
sum(1 for n in ray.nodes() if n['Alive']))"
lipsync-tool batch {manifest} --out-dir {out} --backend ray --workers 2 \\
    --ray-address 127.0.0.1:{port} {" ".join(FAST)}
"""
    proc = in_loopback_netns(script, tmp_path, ray_tmp)
    output, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, output
    assert "nodes ['127.0.0.1'] 2" in output  # two nodes, both on loopback
    lines = results(out)
    assert [r["status"] for r in lines] == ["succeeded"] * 4, lines
    assert len({r["node"] for r in lines}) == 2, "both nodes rendered"
    assert sorted(p.name for p in out.glob("*.mp4")) == [f"r{n}.mp4" for n in range(4)]
    leftover = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True)
    assert leftover.stdout == b"", "every Ray process the test started is stopped"
    json.dumps(lines)
