"""A plan in a few lines, as the terminal and the web page show it."""

from __future__ import annotations

from pathlib import Path

from .plan import Plan


def describe(plan: Plan, output: Path | str | None = None) -> str:
    """Engine, inputs, the video written (when `output` is given) and every setting that is not a
    default."""
    fields = dict(plan.fields)
    speech = (
        f"recording {fields.pop('audio')}" if "audio" in fields else f'text "{fields.pop("text")}"'
    )
    lines = [f"plan:      {plan.engine}: {fields.pop('portrait')} speaking {speech}"]
    if output is not None:
        lines.append(f"output:    {output}")
    fields.pop("output", None)
    if fields:
        lines.append("settings:  " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    if plan.note:
        lines.append(f"note:      {plan.note}")
    return "\n".join(lines)
