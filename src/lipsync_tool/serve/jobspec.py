"""What a client may ask of a job, and the RenderRequest it becomes in the job's folder.

The web process and the workers build the request with the same function, so a job that passed
validation at submission renders with exactly the options that were checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.registry import DEFAULT_ENGINE, engine_class
from ..errors import InputError
from ..option_specs import check_json_types
from ..request import RenderRequest

SERVER_FIELDS = frozenset(
    {"portrait", "audio", "output", "save_audio", "export_cues", "overwrite", "keep_temp"}
)
"""RenderRequest fields the server sets itself: paths on its disk and file handling."""
RESULT_NAME = "result.mp4"


@dataclass(frozen=True)
class JobSpec:
    """A client's choice of engine and RenderRequest fields (the engine's own under `options`)."""

    engine: str
    options: dict[str, Any]

    @classmethod
    def parse(cls, text: str | None, max_duration: float | None = None) -> JobSpec:
        """From the `options` form field: JSON of `engine` plus RenderRequest fields; a
        `max_duration` above the server's (`max_duration`) is refused."""
        spec = cls._parse(text)
        if max_duration is None:
            return spec
        asked = spec.options.get("max_duration")
        if isinstance(asked, (int, float)) and asked > max_duration:
            raise InputError(
                f"options max_duration: this server renders at most {max_duration:g} s of speech"
            )
        if asked is None and max_duration < RenderRequest.max_duration:
            return cls(spec.engine, {**spec.options, "max_duration": max_duration})
        return spec

    @classmethod
    def _parse(cls, text: str | None) -> JobSpec:
        if text is None or not text.strip():
            return cls(DEFAULT_ENGINE, {})
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"options is not valid JSON ({exc.msg} at character {exc.pos})"
            ) from None
        if not isinstance(data, dict):
            raise InputError('options must be a JSON object, e.g. {"engine": "warp", "fps": 30}')
        engine = data.pop("engine", DEFAULT_ENGINE)
        if not isinstance(engine, str):
            raise InputError("options engine must be a string")
        engine_class(engine)
        refused = sorted(SERVER_FIELDS & set(data))
        if refused:
            raise InputError(
                f"options {', '.join(refused)}: the server chooses these; send the files as "
                "the portrait and audio parts of the form"
            )
        known = RenderRequest.__dataclass_fields__
        unknown = sorted(set(data) - set(known))
        if unknown:
            allowed = ", ".join(sorted(set(known) - SERVER_FIELDS))
            raise InputError(f"unknown options: {', '.join(unknown)} (known: engine, {allowed})")
        check_json_types(RenderRequest, data, "options")
        return cls(engine, data)

    def request(
        self,
        job_dir: Path,
        *,
        portrait: str,
        audio: str | None,
        text: str | None,
        estimate_seconds: float | None = None,
    ) -> RenderRequest:
        """The RenderRequest of this job, its files named inside `job_dir`."""
        return RenderRequest(
            portrait=job_dir / portrait,
            audio=job_dir / audio if audio is not None else None,
            text=text,
            output=job_dir / RESULT_NAME,
            overwrite=True,
            **self.options,
        )
