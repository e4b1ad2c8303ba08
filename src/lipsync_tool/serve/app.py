"""The FastAPI app: HTTP API v1 (its OpenAPI schema at /docs). Handlers only translate; nothing
renders here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import LipSyncError
from .assist_api import router as assist_router
from .jobs_api import router as jobs_router
from .service import ApiError, Service
from .settings import ServeSettings
from .ui_api import router as ui_router
from .uploads import BodyLimit, TooLarge

log = logging.getLogger(__name__)


def create_app(settings: ServeSettings, **overrides: Any) -> FastAPI:
    """The app over `settings`; `overrides` replace the Service's parts (tests)."""
    service = Service.create(settings, **overrides)
    app = FastAPI(
        title="lipsync-tool",
        version=__version__,
        summary="A still portrait and speech in, a lip-synced talking video out.",
    )
    app.state.service = service
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.include_router(jobs_router)
    app.include_router(ui_router)
    app.include_router(assist_router)
    _add_error_handlers(app, settings)
    return app


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )


def _add_error_handlers(app: FastAPI, settings: ServeSettings) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Any:
        return _error(exc.status, exc.kind, exc.message, exc.headers)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Any:
        return _error(
            413,
            "TooLarge",
            f"the upload is larger than {settings.max_upload_mb:g} MB; send a shorter "
            "recording or a smaller portrait",
        )

    @app.exception_handler(LipSyncError)
    async def lipsync_error(request: Request, exc: LipSyncError) -> Any:
        return _error(422 if exc.exit_code == 2 else 500, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "query")
        return _error(422, "InputError", f"{where}: {first.get('msg', 'invalid')}".strip(": "))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        return _error(exc.status_code, "HTTPError", str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Any:
        log.exception("internal error")
        return _error(500, "InternalError", f"internal error: {type(exc).__name__}")
