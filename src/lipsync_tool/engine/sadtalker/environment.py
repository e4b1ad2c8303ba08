"""SadTalker's isolated virtual environment: a dependency set that works on this Python, built once under the cache.

Upstream pins (torch 1.12.1, numpy 1.23.4, scikit-image 0.19.3, ...) do not install on Python 3.11. The set below
was worked out and imported for real on CPython 3.11 (see the README's sadtalker section). It is installed in two
pip steps: the ordinary packages, then basicsr/facexlib/gfpgan with `--no-deps --no-build-isolation` (basicsr's
setup.py imports torch, and its `tb-nightly` requirement is only needed for training). One compatibility fix cannot
come from a version choice: basicsr 1.4.2 imports `torchvision.transforms.functional_tensor`, removed in
torchvision 0.17; a two-line stand-in module is written into the venv's torchvision (never into upstream files).

A marker file in the venv records the dependency set and ENVIRONMENT_VERSION; a different marker means the venv is
rebuilt. The venv is built in a directory beside its final place, under a file lock, and renamed into place.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import EngineUnavailableError, ResourceError

log = logging.getLogger(__name__)

ENVIRONMENT_VERSION = 1
"""Bumped whenever the build steps or the shims change, so existing venvs are rebuilt."""
MARKER = "lipsync-sadtalker.json"
STDERR_LINES = 6
VENV_SIZE_ESTIMATE = (
    7_000_000_000  # bytes: the set with PyPI's CUDA torch measured 5.5 GB, plus pip's temp files
)
LOCK_TIMEOUT = 3600.0

PACKAGES: tuple[str, ...] = (
    # `===` (exact string) keeps pip on the index's torch build, whose torchvision matches; a local `+cpu` torch wheel
    # would satisfy `==` but no CPU torchvision 0.28 is on PyPI, and the CUDA one does not load against it.
    "torch===2.13.0",
    "torchvision==0.28.0",
    "numpy==1.23.5",  # <1.24 keeps np.float and ragged np.array working in upstream's preprocess (no patch needed)
    "scipy==1.10.1",
    "scikit-image==0.20.0",
    "Pillow==9.5.0",  # Pillow<10 keeps Image.ANTIALIAS (croper.py)
    "opencv-python==4.11.0.86",  # the last opencv-python accepting numpy 1.x
    "librosa==0.10.2.post1",
    "numba==0.58.1",
    "resampy==0.4.3",
    "face_alignment==1.3.5",
    "imageio==2.19.3",
    "imageio-ffmpeg==0.4.7",
    "pydub==0.25.1",
    "kornia==0.6.8",
    "tqdm",
    "yacs==0.1.8",
    "pyyaml",
    "joblib==1.3.2",
    "safetensors",
    "addict",
    "future",
    "lmdb",
    "yapf",
    "requests",
    "filterpy",  # what basicsr/facexlib/gfpgan need at run time
    "setuptools",
    "wheel",  # basicsr builds from its sdist without isolation
)
NO_DEPS_PACKAGES: tuple[str, ...] = ("basicsr==1.4.2", "facexlib==0.3.0", "gfpgan==1.3.8")

FUNCTIONAL_TENSOR_SHIM = '''"""Stand-in for torchvision.transforms.functional_tensor (removed in torchvision 0.17), written by lipsync-tool
so that basicsr 1.4.2 imports; only rgb_to_grayscale is used."""
from torchvision.transforms.functional import rgb_to_grayscale  # noqa: F401
'''


@dataclass(frozen=True)
class DependencySet:
    """What goes into the venv: pip requirement specs, installed in two steps."""

    packages: tuple[str, ...] = PACKAGES
    """Installed first, with their dependencies."""
    no_deps_packages: tuple[str, ...] = NO_DEPS_PACKAGES
    """Installed second with --no-deps --no-build-isolation."""
    disk_bytes: int = VENV_SIZE_ESTIMATE
    """Free space a build needs (checked before it starts; not part of the marker)."""

    def marker(self, python_version: str) -> dict[str, object]:
        """What the venv's marker file must hold for it to count as ready (as JSON reads it back: lists)."""
        data = {
            "environment_version": ENVIRONMENT_VERSION,
            "python": python_version,
            "packages": self.packages,
            "no_deps_packages": self.no_deps_packages,
        }
        return json.loads(json.dumps(data))


DEFAULT_DEPENDENCIES = DependencySet()


def venv_python(venv: Path) -> Path:
    """The interpreter of a venv."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def site_packages(venv: Path) -> Path:
    """The venv's site-packages folder (POSIX layout: lib/pythonX.Y/site-packages)."""
    if os.name == "nt":
        return venv / "Lib" / "site-packages"
    return (
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def default_venv_path(cache_dir: Path) -> Path:
    """cache_dir/sadtalker/venv-py3XX, one per Python minor version."""
    return (
        Path(cache_dir) / "sadtalker" / f"venv-py{sys.version_info.major}{sys.version_info.minor}"
    )


class SadTalkerEnvironment:
    """The isolated venv at `path` holding `dependencies`; `ensure(install=True)` builds it when it is not ready."""

    def __init__(
        self,
        path: Path,
        dependencies: DependencySet = DEFAULT_DEPENDENCIES,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.dependencies = dependencies
        self.environ = dict(os.environ if environ is None else environ)
        self.python_version = (
            f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        )

    @property
    def python(self) -> Path:
        return venv_python(self.path)

    def problem(self) -> str | None:
        """None when the venv is ready (interpreter present, marker matching), else why it is not."""
        if not self.python.exists():
            return f"no environment at {self.path}"
        try:
            recorded = json.loads((self.path / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return f"the environment at {self.path} is incomplete (no marker: an interrupted build)"
        if recorded != self.dependencies.marker(self.python_version):
            return f"the environment at {self.path} holds another dependency set or build version"
        return None

    def ensure(self, *, install: bool) -> Path:
        """The venv's interpreter; builds the venv first when it is not ready and `install` allows it."""
        problem = self.problem()
        if problem is None:
            return self.python
        if not install:
            raise EngineUnavailableError(
                f"the sadtalker engine needs its own Python environment ({problem}); pass --install-deps to build it "
                f"once (about 5.5 GB of packages from the package index, into {self.path})"
            )
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self.path) + ".lock").acquire(timeout=LOCK_TIMEOUT):
                if self.problem() is not None:  # another run may have built it while we waited
                    self._build(problem)
        except Timeout as exc:
            raise EngineUnavailableError(
                f"another lipsync-tool run has held the lock on {self.path} for an hour; "
                "is it stuck?"
            ) from exc
        return self.python

    def build_commands(self, venv: Path) -> list[tuple[str, ...]]:
        """The commands a build runs, in order (also shown by --dry-run).

        The running interpreter's pip installs into the venv (`pip --python`), so the venv needs no pip of its own
        (no ensurepip); without a pip here, the venv gets one and installs with it.
        """
        python = str(venv_python(venv))
        if importlib.util.find_spec("pip") is not None:
            commands: list[tuple[str, ...]] = [
                (sys.executable, "-m", "venv", "--without-pip", str(venv))
            ]
            pip: tuple[str, ...] = (sys.executable, "-m", "pip", "--python", python, "install")
        else:
            commands = [(sys.executable, "-m", "venv", str(venv))]
            pip = (python, "-m", "pip", "install")
        pip = (*pip, "--disable-pip-version-check")
        if self.dependencies.packages:
            commands.append((*pip, *self.dependencies.packages))
        if self.dependencies.no_deps_packages:
            commands.append(
                (*pip, "--no-deps", "--no-build-isolation", *self.dependencies.no_deps_packages)
            )
        return commands

    def _build(self, why: str) -> None:
        log.warning(
            "building the sadtalker environment in %s (%s): %s; then %s",
            self.path,
            why,
            " ".join(self.dependencies.packages),
            " ".join(self.dependencies.no_deps_packages),
        )
        _check_free_space(self.path.parent, self.dependencies.disk_bytes)
        temp = Path(tempfile.mkdtemp(prefix=".venv-", dir=self.path.parent))
        try:
            for command in self.build_commands(temp):
                self._run(command)
            install_shims(temp)
            (temp / MARKER).write_text(
                json.dumps(self.dependencies.marker(self.python_version), indent=1),
                encoding="utf-8",
            )
            if self.path.exists():
                shutil.rmtree(self.path)
            os.replace(temp, self.path)
        finally:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)
        log.warning("the sadtalker environment is ready: %s", self.path)

    def _run(self, command: Sequence[str]) -> None:
        log.info("running %s", subprocess.list2cmdline(list(command)))
        process = subprocess.Popen(
            list(command),
            env=self.environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        tail: deque[str] = deque(maxlen=STDERR_LINES)
        assert process.stdout is not None
        for line in process.stdout:
            log.debug("pip: %s", line.rstrip())
            if line.strip():
                tail.append(line.strip())
        if process.wait() != 0:
            text = " | ".join(tail) or f"exit status {process.returncode}"
            if "No space left on device" in text:
                raise ResourceError(
                    f"disk full while building the sadtalker environment in {self.path.parent}: it "
                    f"needs about {self.dependencies.disk_bytes / 1e9:.1f} GB free there "
                    f"(pip says: {text})"
                )
            step = "pip install" if "pip" in command else "python -m venv"
            raise EngineUnavailableError(
                f"building the sadtalker environment in {self.path} failed at `{step}`: {text}"
            )


def install_shims(venv: Path) -> list[Path]:
    """Write the compatibility modules into the venv; returns what was written (nothing when not needed)."""
    written = []
    transforms = site_packages(venv) / "torchvision" / "transforms"
    if transforms.is_dir() and not (transforms / "functional_tensor.py").exists():
        shim = transforms / "functional_tensor.py"
        shim.write_text(FUNCTIONAL_TENSOR_SHIM, encoding="utf-8")
        written.append(shim)
    return written


def _check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ResourceError(
            f"disk full: the sadtalker environment needs about {needed / 1e9:.1f} GB "
            f"free in {folder}, only {free / 1e9:.1f} GB are; free some space or use --cache-dir"
        )


def cuda_usable(venv: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Cheaply (no torch import): the venv's torch is a CUDA build and an NVIDIA driver is loaded and not hidden."""
    env = os.environ if environ is None else environ
    if env.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if not (Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()):
        return False
    try:
        version = (site_packages(venv) / "torch" / "version.py").read_text(encoding="utf-8")
    except OSError:
        return False
    for line in version.splitlines():
        if line.startswith("cuda"):
            return "None" not in line
    return False
