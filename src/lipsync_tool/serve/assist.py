"""The assistant as the web process runs it: the model chosen at start, loaded on the first turn;
each turn made from what the browser sends (its message, its files' names, the conversation so
far), since the server keeps no conversation and may run several processes."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..assist.choose import ModelChoice
from ..assist.model import ChatModel
from ..errors import LipSyncError

if TYPE_CHECKING:
    from ..assist.assistant import Assistant
    from ..assist.mentions import Question
    from ..assist.plan import Plan

log = logging.getLogger(__name__)

ATTACHED = "the files attached to the form"
"""How a question names the folder: the browser's files have no folder on the server."""


class AssistantUnavailable(Exception):
    """No model can answer here (the message says how to fix it), or it did not answer."""


@dataclass(frozen=True)
class Turn:
    """One request from the browser."""

    message: str
    portraits: tuple[str, ...] = ()
    """Names of the attached photos: labels only, never paths."""
    recordings: tuple[str, ...] = ()
    history: Sequence[tuple[str, Mapping[str, Any]]] = ()
    """Earlier prompts and the plans they gave (`Plan.to_json`), oldest first."""


class ServerAssistant:
    """The model of one server process. The embedded model answers one turn at a time
    (llama.cpp is not thread-safe); an endpoint takes turns concurrently."""

    def __init__(self, choice: ModelChoice) -> None:
        self.choice = choice
        self._model: ChatModel | None = None
        self._voices: tuple[str, ...] | None = None
        self._load_lock = threading.Lock()
        self._turn_lock = threading.Lock()

    def problem(self) -> str | None:
        """Why no model can answer here, and how to fix it; None when one can."""
        return None if self._model is not None else self.choice.problem()

    def answer(self, turn: Turn) -> dict[str, Any]:
        """`{"plan", "summary"}` or `{"question"}`. Raises AssistantUnavailable, InputError for
        unusable names, HistoryError for an earlier plan that does not hold, PlanError when the
        model gave no usable plan."""
        from ..assist.assistant import Assistant
        from ..assist.folder import Folder
        from ..assist.history import checked_history
        from ..assist.mentions import Question
        from ..assist.summary import describe

        problem = self.problem()
        if problem is not None:
            raise AssistantUnavailable(problem)
        # the names label the browser's files; this empty folder is all they could point into
        with tempfile.TemporaryDirectory(prefix="lipsync-assist-") as root:
            folder = Folder.named(Path(root), turn.portraits, turn.recordings)
            voices = self._voice_list()
            history = checked_history(turn.history, folder, voices)
            assistant = Assistant(self._loaded(), folder, voices)
            assistant.history = history
            answer = self._turn(assistant, turn.message)
            if isinstance(answer, Question):
                return {"question": answer.text.replace(str(folder.root), ATTACHED)}
            return {"plan": answer.to_json(), "summary": describe(answer)}

    def _loaded(self) -> ChatModel:
        with self._load_lock:
            if self._model is None:
                try:
                    self._model = self.choice.load()
                except LipSyncError as error:
                    log.warning("the assistant's model cannot be loaded: %s", error)
                    raise AssistantUnavailable(
                        f"the assistant's model cannot be loaded: {error}"
                    ) from error
            return self._model

    def _voice_list(self) -> tuple[str, ...]:
        if self._voices is None:
            from ..speech.tts import voices

            self._voices = tuple(v.language for v in voices())
        return self._voices

    def _turn(self, assistant: Assistant, message: str) -> Plan | Question:
        from ..assist.plan import PlanError

        one_at_a_time: AbstractContextManager[Any] = (
            nullcontext() if self.choice.remote else self._turn_lock
        )
        try:
            with one_at_a_time:
                return assistant.turn(message)
        except PlanError:
            raise
        except Exception as error:  # noqa: BLE001 -- an endpoint's or llama.cpp's failure
            log.warning("the assistant's model failed: %s", error, exc_info=True)
            raise AssistantUnavailable(
                "the assistant's language model did not answer; try again (the server's log "
                "says why)"
            ) from error
