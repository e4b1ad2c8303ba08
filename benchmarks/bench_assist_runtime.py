"""The assistant's model on the two runtimes that can run it here: llama.cpp (llama-cpp-python,
what the tool uses) and transformers with torch, which loads the same GGUF by dequantizing it.
Load time and one plan's answer on the same chat, in fresh interpreters, shortest of --repeats.

transformers' side needs `pip install transformers accelerate gguf` (not the tool's dependencies)
and decodes without a grammar; llama.cpp's holds the answer to the plan's schema.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as h

PROMPT = "Make grace.jpg say 'Welcome to our shop' in a British voice"


def _chat_and_schema() -> tuple[list[dict[str, str]], dict[str, Any]]:
    from lipsync_tool.assist.folder import Folder
    from lipsync_tool.assist.prompt import messages
    from lipsync_tool.assist.schema import plan_schema

    folder = Folder(Path(tempfile.gettempdir()), ("grace.jpg", "anna.png"), ("intro.m4a",))
    return messages(PROMPT, folder, []), plan_schema(folder, ("en-us", "en-gb", "de"))


def _gguf() -> Path:
    from lipsync_tool.cache import resolve_cache_dir
    from lipsync_tool.resources.store import ResourceStore
    from lipsync_tool.resources.table import for_engine

    return next(iter(ResourceStore(resolve_cache_dir(None)).ensure(for_engine("assist")).values()))


def llama_cpp(spec: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    from lipsync_tool.assist.model import EmbeddedModel

    model = EmbeddedModel(Path(spec["gguf"]))
    load = time.perf_counter() - start
    chat, schema = _chat_and_schema()
    start = time.perf_counter()
    answer = model.complete(chat, schema)
    return {"load_s": load, "turn_s": time.perf_counter() - start, "answer": answer}


def transformers(spec: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(2)
    gguf = Path(spec["gguf"])
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    load = time.perf_counter() - start
    chat, _schema = _chat_and_schema()
    ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
    ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]
    start = time.perf_counter()
    out = model.generate(ids, max_new_tokens=150, do_sample=False)
    answer = tokenizer.decode(out[0][ids.shape[1] :], skip_special_tokens=True)
    return {"load_s": load, "turn_s": time.perf_counter() - start, "answer": answer}


def main() -> None:
    h.run_if_child({"llama_cpp": llama_cpp, "transformers": transformers})
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    env = h.environment()
    h.print_header("the assistant's model on llama.cpp and on transformers", env)
    spec = {"gguf": str(_gguf())}
    rows = []
    for runtime in ("llama_cpp", "transformers"):
        runs = [h.run_child(__file__, runtime, spec) for _ in range(args.repeats)]
        results = [run.result for run in runs]
        best = min(results, key=lambda r: r["load_s"] + r["turn_s"])
        rows.append(
            {
                "runtime": runtime,
                **best,
                "peak_mb": min(run.memory.python_mb or 0.0 for run in runs),
            }
        )
        h.log(f"{runtime}: {json.dumps(best)[:200]}")
    base = rows[0]
    h.print_table(
        "load and one turn (shortest run)",
        ["runtime", "load s", "turn s", "load ratio", "turn ratio", "peak MB"],
        [
            (r["runtime"], f"{r['load_s']:.2f}", f"{r['turn_s']:.2f}",
             f"{r['load_s'] / base['load_s']:.0f}x", f"{r['turn_s'] / base['turn_s']:.1f}x",
             f"{r['peak_mb']:.0f}")
            for r in rows
        ],
    )  # fmt: skip
    h.emit_json("assist_runtime", {"environment": env, "prompt": PROMPT, "runtimes": rows})


if __name__ == "__main__":
    sys.exit(main())
