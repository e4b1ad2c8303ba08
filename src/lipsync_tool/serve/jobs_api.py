"""The /v1 routes: jobs, their events and results, engines, voices and health."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..errors import InputError
from .auth import COOKIE
from .jobs import FINAL, STATUSES, DuplicateKey, Job, new_job_id
from .jobspec import RESULT_NAME, JobSpec
from .service import ApiError, Service, input_error
from .uploads import save_audio, save_portrait
from .views import job_view

router = APIRouter(prefix="/v1")
MAX_TEXT_CHARS = 20_000


def service_of(request: Request) -> Service:
    return request.app.state.service


def owner_of(request: Request) -> str:
    """The caller's owner id from `Authorization: Bearer KEY` or the browser's login cookie."""
    service = service_of(request)
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else None
    from_cookie = key is None and COOKIE in request.cookies
    if from_cookie:
        key = request.cookies[COOKIE]
    owner = service.keys.owner(key)
    if owner is None:
        raise ApiError(
            401,
            "Unauthorized",
            "missing or unknown API key; send it as the header Authorization: Bearer KEY",
            {"WWW-Authenticate": "Bearer"},
        )
    if from_cookie and request.method not in ("GET", "HEAD"):
        check_origin(request)
    return owner


def check_origin(request: Request) -> None:
    """A browser's state-changing request must come from a page of this server."""
    origin = request.headers.get("origin")
    if origin is None or urlparse(origin).netloc != request.headers.get("host"):
        raise ApiError(
            403, "Forbidden", "cross-site request refused (its Origin is not this server)"
        )


Owner = Annotated[str, Depends(owner_of)]
Svc = Annotated[Service, Depends(service_of)]


def find_job(service: Service, job_id: str, owner: str) -> Job:
    job = service.store.get(job_id, owner)
    if job is None:
        raise ApiError(404, "NotFound", f"no job {job_id}")
    return job


@router.post("/jobs", status_code=202, summary="Submit a render")
async def submit(
    request: Request,
    service: Svc,
    owner: Owner,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Multipart form: `portrait` (file), `audio` (file) or `text`, and `options` (JSON of
    `engine` plus RenderRequest fields). Answers 202 with the job and its `Location`."""
    await run_in_threadpool(service.check_capacity, owner)
    spec, parts = await read_job_form(request, service)
    body_hash = await run_in_threadpool(_body_hash, spec, parts)
    if idempotency_key is not None:
        earlier = await run_in_threadpool(service.store.by_key, owner, idempotency_key)
        if earlier is not None:
            return _repeat(earlier, body_hash, idempotency_key)
    job = await run_in_threadpool(
        _create, service, owner, spec, uploaded(parts), idempotency_key, body_hash
    )
    return JSONResponse(job_view(job), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


async def read_job_form(request: Request, service: Service) -> tuple[JobSpec, dict[str, Any]]:
    """The job form of `POST /v1/jobs` (and `/v1/estimate`): its spec and its parts; 422 when
    it is not a usable job."""
    form = await request.form(max_files=2, max_fields=10, max_part_size=1024 * 1024)
    try:
        parts = form_parts(form)
        return JobSpec.parse(parts["options"], service.settings.max_duration), parts
    except InputError as exc:
        raise ApiError(422, "InputError", str(exc)) from exc


def form_parts(form: Any) -> dict[str, Any]:
    portrait, audio, text = form.get("portrait"), form.get("audio"), form.get("text")
    options = form.get("options")
    if not isinstance(portrait, UploadFile):
        raise InputError("no portrait: send the photo as the file part `portrait`")
    if audio is not None and not isinstance(audio, UploadFile):
        raise InputError("audio must be a file part; to speak words, send them as `text`")
    if not isinstance(text, (str, type(None))) or not isinstance(options, (str, type(None))):
        raise InputError("text and options must be plain form fields, not files")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text is longer than {MAX_TEXT_CHARS} characters; split it into jobs")
    if (audio is None) == (text is None):
        raise InputError("send either an `audio` file or a `text` field, one of the two")
    return {"portrait": portrait, "audio": audio, "text": text, "options": options}


def _body_hash(spec: JobSpec, parts: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([spec.engine, spec.options, parts["text"]], sort_keys=True).encode())
    for name in ("portrait", "audio"):
        upload = parts[name]
        digest.update(name.encode())
        if upload is not None:
            upload.file.seek(0)
            while block := upload.file.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def key_reused(key: str | None) -> ApiError:
    return ApiError(
        422,
        "IdempotencyKeyReused",
        f"Idempotency-Key {key!r} was used for another request; use a new key",
    )


def _repeat(earlier: Job, body_hash: str, key: str) -> Response:
    if earlier.body_hash != body_hash:
        raise key_reused(key)
    return JSONResponse(
        job_view(earlier), status_code=202, headers={"Location": f"/v1/jobs/{earlier.id}"}
    )


def _create(
    service: Service,
    owner: str,
    spec: JobSpec,
    stage: Callable[[Path], dict[str, Any]],
    key: str | None = None,
    body_hash: str | None = None,
) -> Job:
    """A checked, recorded and enqueued job whose inputs `stage` puts in its new folder."""
    job_id = new_job_id()
    job_dir = service.job_dir(job_id)
    job_dir.mkdir(parents=True)
    try:
        inputs = stage(job_dir)
        inputs["estimate_seconds"] = service.checker.check(spec, job_dir, inputs)
        job = service.store.create(
            owner,
            spec.engine,
            spec.options,
            inputs,
            job_id=job_id,
            idempotency_key=key,
            body_hash=body_hash,
        )
    except InputError as exc:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise input_error(exc, job_dir) from exc
    except DuplicateKey:  # the same key raced in from another request
        shutil.rmtree(job_dir, ignore_errors=True)
        earlier = service.store.by_key(owner, key or "")
        assert earlier is not None
        if earlier.body_hash != body_hash:
            raise key_reused(key) from None
        return earlier
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    service.queue.enqueue(job)
    service.store.mark_enqueued(job.id)
    return job


def uploaded(parts: dict[str, Any]) -> Callable[[Path], dict[str, Any]]:
    def stage(job_dir: Path) -> dict[str, Any]:
        inputs = {
            "portrait": save_portrait(parts["portrait"].file, job_dir),
            "audio": None,
            "text": parts["text"],
        }
        if parts["audio"] is not None:
            inputs["audio"] = save_audio(parts["audio"].file, job_dir, parts["audio"].filename)
        return inputs

    return stage


@router.post("/jobs/{job_id}/rerun", status_code=202, summary="Render a job's inputs again")
def rerun_job(job_id: str, service: Svc, owner: Owner) -> JSONResponse:
    """A new job with the same portrait, speech and options."""
    job = find_job(service, job_id, owner)
    service.check_capacity(owner)
    source = service.job_dir(job_id)
    files = [name for name in (job.inputs.get("portrait"), job.inputs.get("audio")) if name]
    if not all((source / name).is_file() for name in files):
        raise ApiError(410, "Gone", f"job {job_id}'s inputs were deleted; submit them again")

    def stage(job_dir: Path) -> dict[str, Any]:
        for name in files:
            shutil.copyfile(source / name, job_dir / name)
        return {k: job.inputs.get(k) for k in ("portrait", "audio", "text")}

    new = _create(service, owner, JobSpec(job.engine, job.options), stage)
    return JSONResponse(job_view(new), status_code=202, headers={"Location": f"/v1/jobs/{new.id}"})


@router.get("/jobs", summary="Your jobs, newest first")
def list_jobs(
    service: Svc,
    owner: Owner,
    status: Annotated[str | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise ApiError(422, "InputError", f"status must be one of {', '.join(STATUSES)}")
    jobs, total = service.store.page(owner, status=status, limit=limit, offset=offset)
    return {"jobs": [job_view(j) for j in jobs], "total": total, "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", summary="One job: status, progress, error, result, timings")
def get_job(job_id: str, service: Svc, owner: Owner) -> dict[str, Any]:
    return job_view(find_job(service, job_id, owner))


@router.get("/jobs/{job_id}/events", summary="Server-Sent Events of progress and state")
async def job_events(
    job_id: str,
    request: Request,
    service: Svc,
    owner: Owner,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """`progress` and `state` events with ids; reconnect with `Last-Event-ID` to resume. A job
    that has ended and has nothing after `Last-Event-ID` answers 204, which tells a browser's
    EventSource to stop reconnecting."""
    job = await run_in_threadpool(find_job, service, job_id, owner)
    try:
        after = int(last_event_id or 0)
    except ValueError:
        raise ApiError(422, "InputError", "Last-Event-ID must be an event id (a number)") from None
    if job.status in FINAL and not await run_in_threadpool(service.store.events, job_id, after):
        return Response(status_code=204)
    return StreamingResponse(
        _event_stream(service, request, job_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _event_stream(service: Service, request: Request, job_id: str, after: int) -> Any:
    yield "retry: 2000\n\n"
    quiet_since = time.monotonic()
    while True:
        events = await run_in_threadpool(service.store.events, job_id, after)
        for event in events:
            yield f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.data)}\n\n"
            after = event.seq
        job = await run_in_threadpool(service.store.get, job_id)
        if job is None or job.status in FINAL:
            for event in await run_in_threadpool(service.store.events, job_id, after):
                yield f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.data)}\n\n"
            return
        now = time.monotonic()
        if events:
            quiet_since = now
        elif now - quiet_since >= service.sse_heartbeat:
            yield ": heartbeat\n\n"
            quiet_since = now
        if await request.is_disconnected():
            return
        await asyncio.sleep(service.sse_poll)


@router.get("/jobs/{job_id}/result", summary="The video (HTTP Range supported)")
def job_result(job_id: str, service: Svc, owner: Owner, download: bool = False) -> FileResponse:
    job = find_job(service, job_id, owner)
    path = service.job_dir(job_id) / RESULT_NAME
    if job.status != "succeeded" or not path.is_file():
        raise ApiError(
            409 if job.status in ("queued", "running") else 404,
            "NoResult",
            f"job {job_id} has no video: it is {job.status}",
        )
    return FileResponse(
        path,
        media_type="video/mp4",
        filename=f"lipsync-{job_id[:8]}.mp4",
        content_disposition_type="attachment" if download else "inline",
    )


@router.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job(job_id: str, service: Svc, owner: Owner) -> JSONResponse:
    """A queued job is cancelled at once (200); a running one stops at its next step (202)."""
    job = find_job(service, job_id, owner)
    if job.status in FINAL:
        raise ApiError(409, "AlreadyFinished", f"job {job_id} is already {job.status}")
    status = service.store.request_cancel(job_id)
    service.queue.cancel(job_id)
    view = job_view(find_job(service, job_id, owner))
    return JSONResponse(view, status_code=200 if status == "cancelled" else 202)


@router.delete("/jobs/{job_id}", status_code=204, summary="Delete a job and its files")
def delete_job(job_id: str, service: Svc, owner: Owner) -> Response:
    find_job(service, job_id, owner)
    service.store.request_cancel(job_id)
    service.queue.cancel(job_id)
    service.store.delete(job_id)
    shutil.rmtree(service.job_dir(job_id), ignore_errors=True)
    return Response(status_code=204)


@router.get("/engines", summary="The engines and their options")
def list_engines() -> list[dict[str, Any]]:
    from ..engine.registry import engines

    return [info.to_dict() for info in engines()]


@router.get("/voices", summary="The text-to-speech voices")
def list_voices() -> list[dict[str, Any]]:
    from ..speech.tts import voices

    return [dataclasses.asdict(voice) for voice in voices()]


@router.get("/health", summary="Queue depth, live workers, free disk")
def health(service: Svc) -> dict[str, Any]:
    counts = service.store.counts()
    since = time.time() - 3 * service.settings.heartbeat - 1
    return {
        "status": "ok",
        "queued": counts["queued"],
        "running": counts["running"],
        "workers": service.store.live_workers(since),
        "free_disk_mb": round(service.free_disk_mb(), 1),
    }
