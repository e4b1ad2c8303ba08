"""How the face mesh reads the warp engine's closed lips, in colour and without it.

For each portrait and some of its gallery variants (tests/portrait_variants.py), at three sizes
(the portrait's own, and enlarged 1.5x and 2.1x: the face 105-220 px tall for the astronaut) and
three lip widths (neutral, spread 0.18, rounded 0.3), the portrait's mouth is drawn shut by
`MouthWarp.frame(0, width, close=1)` and the face mesh reads its lip gap (`face.measure.
mouth_opening`, face heights; `evaluate` counts 0.012 or less as closed). The same frame is read
again made grey: where a colour portrait's closed frame reads shut in colour and parted in grey,
the mesh cannot see the lips meet without their colour, whatever the drawing.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import _harness as h
import numpy as np
from bench_gallery import tests_module

SCALES = (1.0, 1.5, 2.1)
WIDTHS = (0.0, 0.18, -0.3)
VARIANTS = ("original", "grayscale", "low_contrast", "sepia")


def readings(image: np.ndarray, analyzer: Any, pv: Any) -> tuple[list[float], list[float]]:
    """The mesh's lip gap of every closed pose (sizes x widths), as drawn and made grey."""
    import cv2

    from lipsync_tool.engine.warp.mouth_warp import MouthWarp
    from lipsync_tool.face.measure import mouth_opening

    drawn, grey = [], []
    for scale in SCALES:
        picture = image
        if scale != 1.0:
            picture = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        warp = MouthWarp(picture, analyzer.analyze(picture).landmarks.points)
        for width in WIDTHS:
            frame = warp.frame(0.0, width, 1.0)
            drawn.append(mouth_opening(analyzer.analyze(frame).landmarks.points))
            grey.append(mouth_opening(analyzer.analyze(pv.grayscale(frame)).landmarks.points))
    return drawn, grey


def summary(values: list[float]) -> dict[str, float]:
    """Median, largest, and the share read as closed."""
    from lipsync_tool.evaluation.metrics import CLOSED_OPENING

    array = np.array(values)
    return {
        "median": float(np.median(array)),
        "max": float(array.max()),
        "closed": float(np.mean(array <= CLOSED_OPENING)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--portraits", nargs="+", choices=h.PORTRAITS, default=list(h.PORTRAITS))
    args = parser.parse_args()
    from PIL import Image

    from lipsync_tool.face.analyzer import FaceAnalyzer

    env = h.environment()
    h.print_header("bench_closed_lips: the face mesh on the warp engine's closed lips", env)
    pv, analyzer = tests_module("portrait_variants"), FaceAnalyzer()
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-closed-") as temp:
        for name in args.portraits:
            image = np.asarray(Image.open(h.portrait(Path(temp), name)).convert("RGB"))
            variants = pv.gallery(image, analyzer.analyze(image).landmarks.points)
            for variant in VARIANTS:
                h.log(f"{name}: {variant}")
                drawn, grey = readings(variants[variant], analyzer, pv)
                rows[f"{name}: {variant}"] = {"drawn": summary(drawn), "grey": summary(grey)}

    def cells(row: dict[str, float]) -> list[str]:
        return [f"{row['median'] * 1000:.1f}", f"{row['max'] * 1000:.1f}", f"{row['closed']:.0%}"]

    h.print_table(
        f"closed lips read by the mesh ({len(SCALES) * len(WIDTHS)} poses each; thousandths "
        "of the face height)",
        ["portrait", "median", "max", "closed", "grey: median", "max", "closed"],
        [[key, *cells(row["drawn"]), *cells(row["grey"])] for key, row in rows.items()],
        ["closed: read at most 0.012 apart, as `evaluate` counts a closure"],
    )
    h.emit_json("bench_closed_lips", {"environment": env, "settings": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
