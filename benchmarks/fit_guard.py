"""Train a benchmark's run to its last step, or stop the benchmark.

`Trainer.fit()` returns normally when a signal (Ctrl-C, SIGTERM) stops it, after saving a
checkpoint: right for a user, who resumes later, but a benchmark that went on would score the
stopped run, and cache it, as if it had trained all its steps. So every benchmark that trains in
its own process goes through `fit_to_end`, which stops the whole script instead, with the exit
code the CLI gives a stopped run (128 + the signal: 130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import sys
from typing import Any


def fit_to_end(trainer: Any) -> dict:
    """trainer.fit(); its summary, or SystemExit(128 + signal) when a signal stopped it. A
    signal that arrives in the last step counts too: fit() skipped the end-of-run work."""
    summary = trainer.fit()
    if summary.get("signal"):
        print(f"{trainer.run_dir}: stopped by signal {summary['signal']} at step {trainer.step}; "
              "nothing scored or cached", file=sys.stderr, flush=True)
        raise SystemExit(128 + summary["signal"])
    return summary
