"""The MediaPipe face models shipped inside the package, and their verified loading.

The files live in ``lipsync_tool/face/models/`` (see ``NOTICE`` there) and are found with
:mod:`importlib.resources`, never relative to the current directory. Every load checks the
file's sha256; the objects that load a model (detector, mesh) keep it, so each file is read
and verified once per object.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from lipsync_tool.errors import ResourceError
from lipsync_tool.native_output import native_stderr_to_debug_log

if TYPE_CHECKING:
    from ai_edge_litert.interpreter import Interpreter

logger = logging.getLogger(__name__)

_PACKAGE = "lipsync_tool.face"
_FOLDER = "models"
_REINSTALL = "pip install --force-reinstall lipsync-tool"


@dataclass(frozen=True)
class ModelFile:
    """One vendored model file."""

    name: str
    """Short name used in code (``face_detection_short_range`` …)."""
    filename: str
    """File name inside ``lipsync_tool/face/models/``."""
    sha256: str
    """Expected lowercase hex sha256 of the file."""
    description: str
    """What the model does, in a few words."""


MODEL_FILES: Mapping[str, ModelFile] = MappingProxyType(
    {
        m.name: m
        for m in (
            ModelFile(
                "face_detection_short_range",
                "face_detection_short_range.tflite",
                "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
                "BlazeFace short-range face detector, 128x128 input",
            ),
            ModelFile(
                "face_detection_full_range",
                "face_detection_full_range.tflite",
                "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
                "BlazeFace full-range face detector, 192x192 input",
            ),
            ModelFile(
                "face_landmark",
                "face_landmark.tflite",
                "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
                "MediaPipe 468-point face mesh, 192x192 input",
            ),
        )
    }
)
"""Every vendored face model, by name."""


def _damaged(what: str) -> ResourceError:
    return ResourceError(
        f"{what}; the lipsync-tool installation is damaged, reinstall it with `{_REINSTALL}`"
    )


def verify_bytes(data: bytes, expected_sha256: str, label: str) -> bytes:
    """Return ``data`` if its sha256 is ``expected_sha256``; else raise ResourceError."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        raise _damaged(
            f"model file {label} is corrupt (sha256 {actual}, expected {expected_sha256})"
        )
    return data


def read_verified(path: Path, expected_sha256: str) -> bytes:
    """Read the file at ``path`` and check its sha256; raise ResourceError on any failure."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _damaged(f"model file {path} cannot be read ({exc.strerror})") from exc
    return verify_bytes(data, expected_sha256, str(path))


def model_file(name: str) -> ModelFile:
    """Return the table entry of the model called ``name``."""
    try:
        return MODEL_FILES[name]
    except KeyError:
        known = ", ".join(sorted(MODEL_FILES))
        raise ValueError(f"unknown face model {name!r}; known: {known}") from None


def read_model(name: str) -> bytes:
    """Return the verified bytes of the vendored model ``name``."""
    entry = model_file(name)
    resource = resources.files(_PACKAGE).joinpath(_FOLDER).joinpath(entry.filename)
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise _damaged(f"model file {entry.filename} is missing") from exc
    logger.debug("verifying %s (%d bytes)", entry.filename, len(data))
    return verify_bytes(data, entry.sha256, entry.filename)


def model_path(name: str) -> Path:
    """Return the verified filesystem path of the vendored model ``name``.

    Only valid when the package is installed as plain files (the normal case).
    """
    entry = model_file(name)
    resource = resources.files(_PACKAGE).joinpath(_FOLDER).joinpath(entry.filename)
    path = Path(str(resource))
    read_verified(path, entry.sha256)
    return path


def load_interpreter(name: str, num_threads: int = 2) -> Interpreter:
    """Load the vendored model ``name`` (verified) into an allocated LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    content = read_model(name)
    try:
        with native_stderr_to_debug_log(logger, "LiteRT"):
            interpreter = Interpreter(model_content=content, num_threads=num_threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise _damaged(f"model {name} cannot be loaded by LiteRT ({exc})") from exc
    return interpreter


def output_index(interpreter: Interpreter, size: int, *names: str) -> int:
    """Index of the output tensor named one of ``names``, else the one with ``size`` values."""
    outputs = interpreter.get_output_details()
    for detail in outputs:
        if detail["name"] in names:
            return int(detail["index"])
    matches = [d for d in outputs if int(d["shape"].prod()) == size]
    if len(matches) != 1:
        raise _damaged(f"model has no unique output with {size} values")
    return int(matches[0]["index"])
