"""Training statistics without host syncs in the hot loop, and the sinks they go to.

`StatsAccumulator.add` keeps running sums on the device; `collect` turns them into Python floats
once per tick (one synchronisation). Every sink shares the slash-namespaced names (`D/real`,
`G/adv`): a JSONL log in the run folder, TensorBoard, and the progress bar.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch


class StatsAccumulator:
    """Means of named scalar tensors since the last `collect`, kept on their device until then.

    `add` only appends the detached tensor (no kernel runs in the hot loop); `collect` stacks
    each name's values once per tick."""

    def __init__(self) -> None:
        self._vals: dict[str, list[torch.Tensor]] = {}

    def add(self, name: str, value: torch.Tensor) -> None:
        self._vals.setdefault(name, []).append(value.detach())

    def collect(self, reduce=None) -> dict[str, float]:
        """Means since the last collect, as floats (one host sync); `reduce` averages over ranks."""
        if not self._vals:
            return {}
        names = sorted(self._vals)
        vec = torch.stack([torch.stack(self._vals[k]).float().mean() for k in names])
        if reduce is not None:
            vec = reduce(vec)
        out = dict(zip(names, vec.cpu().tolist()))
        self._vals.clear()
        return out


class JsonlLog:
    """Appends one JSON object per line; on resume, drops records past the resumed step."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        if not self.path.is_file():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if rec.get("step", 0) <= step:
                keep.append(line)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(k + "\n" for k in keep))
        os.replace(tmp, self.path)

    def write(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_jsonl(path: str | Path) -> list[dict]:
    """All complete records of a JSONL log."""
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


class TensorBoardSink:
    """Scalars to a TensorBoard event file; silently absent if tensorboard cannot be imported."""

    def __init__(self, log_dir: str | Path, *, purge_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # pragma: no cover - tensorboard is a declared dependency
            self.writer = None
            return
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def write(self, step: int, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
