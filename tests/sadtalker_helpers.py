"""Helpers of the sadtalker tests: a local bare repository standing in for upstream, checkpoints served from
127.0.0.1 (requests counted), tiny wheels and a ready isolated environment built from them."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from lipsync_tool.engine.sadtalker.engine import SadTalkerSetup
from lipsync_tool.engine.sadtalker.environment import (
    DependencySet,
    SadTalkerEnvironment,
    default_venv_path,
)
from lipsync_tool.resources.repository import SADTALKER_REPOSITORY
from lipsync_tool.resources.table import Resource, for_engine

from .local_services import LocalHTTPServer

HERE = Path(__file__).parent
DATA = HERE / "data" / "sadtalker"
TINY_DEPENDENCIES = DependencySet(
    packages=("standin-dep==1.0", "torchvision==0.0.1"),
    no_deps_packages=("standin-nodeps==1.0",),
    disk_bytes=50_000_000,
)


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
        },
    )
    return result.stdout.strip()


HANG_VARIABLE = "SADTALKER_STANDIN_HANG"
"""Set to a file name, the stand-in's inference.py renders "forever" (see HANG_HOOK)."""
HANG_HOOK = '''
GRANDCHILD = """
import json, os, sys, time
with open(sys.argv[1] + ".tmp", "w") as handle:
    json.dump({"inference": os.getppid(), "grandchild": os.getpid()}, handle)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


def hang_if_asked():
    """With SADTALKER_STANDIN_HANG=<file> (added by the tests): a long render that started a process of its own,
    which writes both pids to <file> as JSON once it runs."""
    pid_file = os.environ.get("SADTALKER_STANDIN_HANG")
    if not pid_file:
        return
    subprocess.Popen([sys.executable, "-c", GRANDCHILD, pid_file])
    sys.stderr.write("Face Renderer::   0%|  | 0/25 [00:00<?, ?it/s]\\r")
    sys.stderr.flush()
    time.sleep(600)
    sys.exit(0)


'''


def standin_inference() -> str:
    """The stand-in inference.py with the hang hook (inactive unless HANG_VARIABLE is set)."""
    text = (DATA / "inference_standin.py").read_text(encoding="utf-8")
    for anchor, insert in (
        ("def main():\n", HANG_HOOK),
        ("    check_layout(args)\n", "    hang_if_asked()\n"),
    ):
        assert text.count(anchor) == 1, (
            f"the stand-in inference.py changed: {anchor!r} not found once"
        )
        text = text.replace(anchor, insert + anchor)
    return text


def make_upstream(root: Path) -> tuple[Path, str]:
    """A bare repository laid out like OpenTalker/SadTalker with the stand-in inference.py; (path, commit)."""
    work = root / "upstream-work"
    for name in (
        "src/utils/audio.py",
        "src/facerender/animate.py",
        "src/utils/preprocess.py",
        "src/face3d/util/preprocess.py",
        "src/config/facerender.yaml",
        "src/config/facerender_still.yaml",
        "scripts/download_models.sh",
    ):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(f"# stand-in for upstream {name}\n", encoding="utf-8")
    (work / "inference.py").write_text(standin_inference(), encoding="utf-8")
    shutil.copyfile(HERE / "sadtalker_args.py", work / "sadtalker_args.py")
    shutil.copyfile(DATA / "sadtalker_inference_args.json", work / "sadtalker_inference_args.json")
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "stand-in", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    bare = root / "upstream.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare, commit


@dataclass
class FileServer:
    """Serves `files` (name → bytes) on 127.0.0.1; counts the requests it answers."""

    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(self.path)
                body = server.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.local = LocalHTTPServer(Handler)
        self.url = self.local.url

    def close(self) -> None:
        self.local.close()


def fake_resources(
    server_url: str, missing: tuple[str, ...] = ()
) -> tuple[tuple[Resource, ...], dict[str, bytes]]:
    """The sadtalker table with small fake files served from `server_url` (names in `missing` answer 404)."""
    table, files = [], {}
    for entry in for_engine("sadtalker"):
        body = f"fake {entry.name}\n".encode() * 64
        if entry.name not in missing:
            files[entry.name] = body
        table.append(
            replace(
                entry,
                url=f"{server_url}/{entry.name}",
                size=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
            )
        )
    return tuple(table), files


def test_setup(bare: Path, commit: str, resources: tuple[Resource, ...]) -> SadTalkerSetup:
    """The engine's setup pointing at the stand-ins (the repo URL itself comes from LIPSYNC_SADTALKER_REPO_URL)."""
    return SadTalkerSetup(
        repository=replace(SADTALKER_REPOSITORY, commit=commit, url=bare.as_uri()),
        resources=resources,
        dependencies=TINY_DEPENDENCIES,
    )


test_setup.__test__ = False  # type: ignore[attr-defined]


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    meta = {
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entries = {**files, **meta}
    record = "".join(f"{n},,\n" for n in entries) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for n, text in {**entries, f"{dist}.dist-info/RECORD": record}.items():
            archive.writestr(n, text)
    return path


def make_wheelhouse(folder: Path) -> Path:
    """Tiny wheels for TINY_DEPENDENCIES, including a torchvision without functional_tensor (the shim's case)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_wheel(folder, "standin-dep", "1.0", {"standin_dep/__init__.py": "VALUE = 'dep'\n"})
    make_wheel(
        folder, "standin-nodeps", "1.0", {"standin_nodeps/__init__.py": "VALUE = 'nodeps'\n"}
    )
    make_wheel(
        folder,
        "torchvision",
        "0.0.1",
        {
            "torchvision/__init__.py": "",
            "torchvision/transforms/__init__.py": "",
            "torchvision/transforms/functional.py": "def rgb_to_grayscale(image):\n    return ('gray', image)\n",
        },
    )
    return folder


def offline_pip_env(wheelhouse: Path, base: dict[str, str]) -> dict[str, str]:
    """An environment in which pip installs only from `wheelhouse` (no index, no config file)."""
    env = {k: v for k, v in base.items() if not k.startswith("PIP_")}
    return {
        **env,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def ready_venv(base: Path) -> Path:
    """A venv built by our own builder from the tiny wheels, once per test session (later calls find it ready)."""
    wheelhouse = make_wheelhouse(base / "wheelhouse")
    environment = SadTalkerEnvironment(
        base / "venv", TINY_DEPENDENCIES, environ=offline_pip_env(wheelhouse, dict(os.environ))
    )
    environment.ensure(install=True)
    return environment.path


def link_ready_venv(cache_dir: Path, venv: Path) -> Path:
    """Make the session's ready venv the engine's environment under `cache_dir`."""
    target = default_venv_path(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(venv, target_is_directory=True)
    return target
