"""What the web page needs beyond the job API: the page itself, sign-in, face preview, thumbnails."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..errors import InputError
from .auth import COOKIE
from .jobs_api import Owner, Svc, check_origin, find_job, read_job_form, service_of, uploaded
from .jobspec import JobSpec
from .service import ApiError, Service
from .uploads import save_portrait

router = APIRouter()
WEB = Path(__file__).with_name("web")
ASSETS = {"app.js": "text/javascript", "assist.js": "text/javascript", "style.css": "text/css"}
THUMBNAIL_SIZE = 192


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html", headers=_no_store())


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    if name not in ASSETS:  # a fixed list: the name never becomes a path of its own
        raise ApiError(404, "NotFound", f"no file {name}")
    return FileResponse(WEB / name, media_type=ASSETS[name], headers=_no_store())


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-cache"}


@router.get("/v1/session", summary="Whether keys are needed and whether this browser has one")
def session(request: Request, service: Svc) -> dict[str, Any]:
    required = service.keys.required
    key = request.cookies.get(COOKIE)
    return {"keys_required": required, "signed_in": service.keys.owner(key) is not None}


@router.post("/v1/session", status_code=204, summary="Sign a browser in with a key (a cookie)")
async def sign_in(request: Request, service: Svc) -> Response:
    check_origin(request)
    form = await request.form(max_files=0, max_fields=2)
    key = form.get("key")
    if not isinstance(key, str) or service.keys.owner(key.strip()) is None:
        raise ApiError(401, "Unauthorized", "that key is not one of this server's keys")
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 86400,
    )
    return response


@router.delete("/v1/session", status_code=204, summary="Sign this browser out")
def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE)
    return response


@router.post("/v1/faces", summary="Find the face a portrait would be animated with")
async def faces(
    request: Request, service: Annotated[Service, Depends(service_of)], owner: Owner
) -> Any:
    """Multipart `portrait`: its size and the box of the face that would be animated."""
    form = await request.form(max_files=1, max_fields=1)
    portrait = form.get("portrait")
    if not isinstance(portrait, UploadFile):
        raise ApiError(422, "InputError", "no portrait: send the photo as the file part `portrait`")
    return await run_in_threadpool(_find_face, service, portrait)


def _find_face(service: Service, portrait: UploadFile) -> dict[str, Any]:
    from ..media.image import load_portrait

    with tempfile.TemporaryDirectory(prefix="lipsync-face-") as folder:
        try:
            name = save_portrait(portrait.file, Path(folder))
            image = load_portrait(Path(folder) / name)
            face = service.checker.face(image)
        except InputError as exc:
            raise ApiError(422, "InputError", str(exc).replace(f"{folder}/", "")) from exc
    box = face.box
    return {
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "faces_seen": face.faces_seen,
        "box": [round(box.x0, 1), round(box.y0, 1), round(box.x1, 1), round(box.y1, 1)],
    }


@router.post("/v1/estimate", summary="What a job would cost, before it is submitted")
async def estimate_job(request: Request, service: Svc, owner: Owner) -> Any:
    """The same form as `POST /v1/jobs`; the render's estimate (`lipsync_tool.estimate`) with
    the workers' models loaded: seconds, seconds_high, memory, disk, downloads, fits."""
    spec, parts = await read_job_form(request, service)
    return await run_in_threadpool(_estimate, service, spec, parts)


def _estimate(service: Service, spec: JobSpec, parts: dict[str, Any]) -> dict[str, Any]:
    from ..estimate import estimate

    with tempfile.TemporaryDirectory(prefix="lipsync-estimate-") as folder:
        try:
            inputs = uploaded(parts)(Path(folder))
            request = spec.request(Path(folder), **inputs)
            found = estimate(
                request, spec.engine, cache_dir=service.settings.cache_dir, loaded=True
            )
        except InputError as exc:
            raise ApiError(422, "InputError", str(exc).replace(f"{folder}/", "")) from exc
    return found.to_dict()


@router.get("/v1/jobs/{job_id}/thumbnail", summary="A small JPEG of the job's portrait")
def thumbnail(job_id: str, service: Svc, owner: Owner) -> Response:
    job = find_job(service, job_id, owner)
    folder = service.job_dir(job_id)
    cached = folder / "thumbnail.jpg"
    if not cached.is_file():
        source = folder / job.inputs.get("portrait", "")
        if not source.is_file():
            raise ApiError(404, "NotFound", f"job {job_id} has no portrait any more")
        cached.write_bytes(_thumbnail(source))
    return FileResponse(cached, media_type="image/jpeg")


def _thumbnail(source: Path) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(source) as image:
        small = ImageOps.exif_transpose(image).convert("RGB")
        small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
