"""Uploads: a byte cap on the request body, and parts saved under names the server chooses."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InputError
from ..media.audio import AUDIO_SUFFIXES

IMAGE_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tiff"}


class TooLarge(Exception):
    """The request body passed the upload cap."""


class BodyLimit:
    """ASGI middleware: requests whose body passes `limit` bytes raise TooLarge while read."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise TooLarge()
            return message

        await self.app(scope, counted, send)


def save_portrait(source: BinaryIO, job_dir: Path) -> str:
    """Save an uploaded portrait as `portrait.<its real type>`; InputError if it is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            kind = image.format
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(
            "portrait is not an image; send a jpg, png, webp, bmp or tiff photo of a face"
        ) from exc
    suffix = IMAGE_SUFFIXES.get(kind or "")
    if suffix is None:
        allowed = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES.values())
        raise InputError(f"portrait is a {kind} image; send one of: {allowed}")
    return _save(source, job_dir, "portrait" + suffix)


def save_audio(source: BinaryIO, job_dir: Path, client_name: str | None) -> str:
    """Save uploaded speech as `audio` plus the client's suffix when it is a known media one."""
    suffix = Path(client_name or "").suffix.lower()
    return _save(source, job_dir, "audio" + (suffix if suffix in AUDIO_SUFFIXES else ""))


def _save(source: BinaryIO, job_dir: Path, name: str) -> str:
    source.seek(0)
    with open(job_dir / name, "xb") as target:
        shutil.copyfileobj(source, target, 1 << 20)
    if (job_dir / name).stat().st_size == 0:
        raise InputError(f"{name.split('.')[0]} is an empty file; send the file itself")
    return name


def client_message(message: str, job_dir: Path) -> str:
    """A library message with the job folder's paths cut to the names of the parts."""
    return message.replace(f"{job_dir}/", "")
