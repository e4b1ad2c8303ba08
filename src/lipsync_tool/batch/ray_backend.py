"""The Ray backend: actors each holding a Renderer, on a local Ray or any Ray cluster.

Inputs travel to the actor as bytes and the video comes back as bytes, so nodes share no file
system; the batch process writes every output atomically. A bounded number of rows is in flight
(two per actor). An actor whose node dies is restarted once and its row retried once (Ray's
`max_restarts` and `max_task_retries`). A Ray started here is asked for 127.0.0.1, with no
dashboard and no usage statistics; Ray may still announce the machine's network address.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import EngineUnavailableError
from ..request import RenderRequest
from .local import Outcome, RendererHolder, RendererSpec, render_row

log = logging.getLogger(__name__)

IN_FLIGHT_PER_ACTOR = 2
EXTRA_HINT = 'pip install "lipsync-tool[cluster]"'


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineUnavailableError(
            f"--backend ray needs Ray, which is not installed; install it with: {EXTRA_HINT}"
        ) from None
    return ray


class RowActor:
    """The body of a Ray actor: renders rows sent as bytes and returns the video as bytes."""

    def __init__(self, spec: RendererSpec) -> None:
        dataclasses.replace(spec, threads=spec.threads or 1).apply_threads()  # one CPU an actor
        self.renderers = RendererHolder(spec)

    def warm(self) -> None:
        """Load the Renderer ahead of the first row."""
        self.renderers.warm()

    def render(
        self, key: int, fields: dict[str, Any], files: dict[str, bytes], suffix: str
    ) -> tuple[Outcome, bytes | None, bytes | None]:
        with tempfile.TemporaryDirectory(prefix="lipsync-row-") as folder:
            local = Path(folder)
            paths: dict[str, Any] = {}
            for role, data in files.items():
                paths[role] = local / f"{role}{fields.pop(role + '_suffix')}"
                paths[role].write_bytes(data)
            cues = local / f"cues{fields.pop('cues_suffix')}" if "cues_suffix" in fields else None
            request = RenderRequest(
                output=local / f"video{suffix}",
                overwrite=True,
                export_cues=cues,
                **paths,
                **fields,
            )
            outcome = render_row(self.renderers, key, request)
            outcome = dataclasses.replace(outcome, node=_ray().get_runtime_context().get_node_id())
            video = cue_bytes = None
            if outcome.status == "succeeded":
                video = request.output.read_bytes()
                cue_bytes = cues.read_bytes() if cues is not None else None
        return outcome, video, cue_bytes


def shipped(request: RenderRequest) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A request as fields without paths, and its input files as bytes."""
    fields = {
        k: v
        for k, v in request.to_dict().items()
        if k not in ("portrait", "audio", "output", "overwrite", "export_cues", "keep_temp")
    }
    fields["options"] = request.options
    files = {}
    for role in ("portrait", "audio"):
        path = getattr(request, role)
        if path is not None:
            files[role] = path.read_bytes()
            fields[f"{role}_suffix"] = path.suffix
    if request.export_cues is not None:
        fields["cues_suffix"] = request.export_cues.suffix
    return fields, files


class RayPool:
    """Ray actors, each loading its Renderer as soon as it exists, on a local Ray or on the
    cluster at `address`: a batch starts them before it validates its rows."""

    def __init__(self, spec: RendererSpec, workers: int, address: str | None = None) -> None:
        from ..engine.registry import engine_class

        self._ray = ray = _ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                log_to_driver=False,
            )  # fmt: skip
        try:
            if engine_class(spec.engine).accelerated and ray.cluster_resources().get("GPU"):
                resources = {"num_gpus": 1}
            else:
                resources = {"num_cpus": 1}
            actor_class = ray.remote(max_restarts=1, max_task_retries=1, **resources)(RowActor)
            self._actors = [actor_class.remote(spec) for _ in range(max(1, workers))]
            for actor in self._actors:
                actor.warm.remote()
        except BaseException:
            ray.shutdown()
            raise

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self, jobs: Iterable[tuple[int, RenderRequest]], on_outcome: Callable[[Outcome], None]
    ) -> None:
        """Render `jobs` (key, request); outputs are written here as their rows end."""
        _drive(self._ray, self._actors, list(jobs), on_outcome)

    def close(self) -> None:
        self._ray.shutdown()


def _drive(ray: Any, actors: list[Any], jobs: list[tuple[int, RenderRequest]], done: Any) -> None:
    """Keep each actor busy with at most IN_FLIGHT_PER_ACTOR rows until every row has ended."""
    requests = dict(jobs)
    waiting = list(reversed(jobs))
    in_flight: dict[Any, int] = {}
    load = {index: 0 for index in range(len(actors))}
    owner: dict[Any, int] = {}
    while waiting or in_flight:
        while waiting and min(load.values()) < IN_FLIGHT_PER_ACTOR:
            key, request = waiting.pop()
            index = min(load, key=load.__getitem__)
            fields, files = shipped(request)
            ref = actors[index].render.remote(key, fields, files, request.output.suffix)
            in_flight[ref], owner[ref] = key, index
            load[index] += 1
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        ref = ready[0]
        key = in_flight.pop(ref)
        load[owner.pop(ref)] -= 1
        done(_collect(ray, ref, key, requests[key]))


def _collect(ray: Any, ref: Any, key: int, request: RenderRequest) -> Outcome:
    """The row's outcome, its video written atomically into place."""
    try:
        outcome, video, cues = ray.get(ref)
    except ray.exceptions.RayError as exc:
        message = f"the Ray worker rendering it failed twice: {type(exc).__name__}: {exc}"
        return Outcome(key, "failed", error={"type": "EngineError", "message": message})
    if video is not None:
        _write_atomically(request.output, video, request.overwrite)
        if cues is not None and request.export_cues is not None:
            _write_atomically(request.export_cues, cues, True)
    return outcome


def _write_atomically(path: Path, data: bytes, overwrite: bool) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    try:
        if overwrite:
            os.replace(partial, path)
        else:
            os.link(partial, path)  # fails if the path appeared meanwhile
    finally:
        partial.unlink(missing_ok=True)
