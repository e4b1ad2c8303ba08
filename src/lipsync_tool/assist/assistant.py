"""One conversation: each turn turns the user's words into a plan or a question."""

from __future__ import annotations

import json
import logging

from .folder import Folder
from .mentions import Question, read_mentions
from .model import ChatModel
from .plan import Plan, PlanError, read_plan
from .prompt import messages
from .schema import plan_schema

log = logging.getLogger(__name__)

RETRIES = 2
"""Answers asked for again after one that is not a valid plan."""


class Assistant:
    """A model, the working folder and the plans made so far (a follow-up edits the last)."""

    def __init__(self, model: ChatModel, folder: Folder, voices: tuple[str, ...]) -> None:
        self.model = model
        self.folder = folder
        self.schema = plan_schema(folder, voices)
        self.history: list[tuple[str, Plan]] = []

    @property
    def last(self) -> Plan | None:
        return self.history[-1][1] if self.history else None

    def turn(self, prompt: str) -> Plan | Question:
        """The plan for `prompt` (remembered for follow-ups), or what to ask the user."""
        mentions = read_mentions(prompt, self.folder)
        if mentions.question is not None:
            return mentions.question
        chat = messages(prompt, self.folder, self.history)
        problem = ""
        for _attempt in range(1 + RETRIES):
            answer = self.model.complete(chat, self.schema)
            try:
                raw = json.loads(answer)
                if not isinstance(raw, dict):
                    raise PlanError("the answer is not a JSON object")
                result = read_plan(raw, self.folder, mentions, self.last, self.model.translates)
            except (json.JSONDecodeError, PlanError) as error:
                problem = str(error)
                log.info("the model's answer was refused (%s): %s", problem, answer[:200])
                chat = [
                    *chat,
                    {"role": "assistant", "content": answer},
                    {
                        "role": "user",
                        "content": f"Not valid: {problem}. Answer with the JSON only.",
                    },
                ]
                continue
            if isinstance(result, Plan):
                self.history.append((prompt, result))
            return result
        raise PlanError(f"the model gave no valid plan in {1 + RETRIES} answers ({problem})")
