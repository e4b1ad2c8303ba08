"""/v1/assist: a request in words turned into a plan for the job form, or a question. The browser
keeps the conversation and sends it with each message; nothing here renders or reads a file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..assist.folder import MAX_FILES
from ..assist.history import MAX_TURNS, HistoryError
from ..assist.plan import PlanError
from ..errors import InputError
from .assist import AssistantUnavailable, Turn
from .jobs_api import Owner, Svc
from .service import ApiError, Service

router = APIRouter(prefix="/v1")
MAX_MESSAGE = 1000
"""Characters of one message (and of each earlier prompt): the model's context is small."""


class AttachedFiles(BaseModel):
    """The names of the files attached to the form: labels for the model, never paths."""

    portraits: list[str] = Field(default_factory=list, max_length=MAX_FILES)
    recordings: list[str] = Field(default_factory=list, max_length=MAX_FILES)


class EarlierTurn(BaseModel):
    """A message sent before, and the plan it gave (as this endpoint answered it)."""

    prompt: str = Field(max_length=MAX_MESSAGE)
    plan: dict[str, Any]


class AssistRequest(BaseModel):
    """A message, the attached files' names, and the conversation so far (oldest first)."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    files: AttachedFiles = Field(default_factory=AttachedFiles)
    history: list[EarlierTurn] = Field(default_factory=list)


@router.get("/assist", summary="Whether the assistant can answer on this server")
def assist_status(service: Svc, owner: Owner) -> dict[str, Any]:
    """`available`, the `problem` when it is not (how to fix it), and the sizes a request may
    have: `max_message` characters, `max_history` earlier turns."""
    problem = service.assistant.problem()
    return {
        "available": problem is None,
        "problem": problem,
        "max_message": MAX_MESSAGE,
        "max_history": MAX_TURNS,
    }


@router.post("/assist", summary="A request in words: a plan for the job form, or a question")
async def assist(body: AssistRequest, service: Svc, owner: Owner) -> dict[str, Any]:
    """`{"plan": {"engine", "request"}, "summary"}`, where the request's `portrait` and `audio`
    are names from `files`, or `{"question"}`. 400 when an earlier plan is not one the assistant
    could have made with these files; 503 when no model can answer here."""
    return await run_in_threadpool(_answer, service, body)


def _answer(service: Service, body: AssistRequest) -> dict[str, Any]:
    turn = Turn(
        body.message,
        tuple(body.files.portraits),
        tuple(body.files.recordings),
        tuple((earlier.prompt, earlier.plan) for earlier in body.history),
    )
    try:
        return service.assistant.answer(turn)
    except AssistantUnavailable as exc:
        raise ApiError(503, "AssistantUnavailable", str(exc)) from exc
    except HistoryError as exc:
        raise ApiError(400, "HistoryError", str(exc)) from exc
    except PlanError as exc:
        raise ApiError(
            422, "PlanError", f"{exc}; say it another way, or fill in the form yourself"
        ) from exc
    except InputError as exc:  # the files' names
        raise ApiError(422, "InputError", f"files: {exc}") from exc
