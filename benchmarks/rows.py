"""Result rows of the benchmarks: JSON lines written as soon as known, and their spread."""

from __future__ import annotations

import json
import math


def mean_std(v: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1))


def emit(row: dict, out: str | None) -> None:
    """Print a result row and append it to the JSON-lines file `out`, as soon as it is known."""
    print(json.dumps(row), flush=True)
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
