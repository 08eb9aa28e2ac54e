"""Train a benchmark's run to its last step, or stop the benchmark.

`Trainer.fit()` returns normally when a signal (Ctrl-C, SIGTERM) stops it, after saving a
checkpoint: right for a user, who resumes later, but a benchmark that went on would score the
stopped run, and cache it, as if it had trained all its steps. So every benchmark trains through
`fit_to_end`, which stops the whole script instead (exit code 128 + the signal, as the CLI's).
"""

from __future__ import annotations


def fit_to_end(trainer) -> dict:
    """trainer.fit(); its summary, or SystemExit when a signal stopped it before the last step."""
    summary = trainer.fit()
    if summary.get("signal"):
        print(f"{trainer.run_dir}: stopped by signal {summary['signal']} at step {trainer.step}; "
              "nothing scored or cached", flush=True)
        raise SystemExit(128 + summary["signal"])
    return summary
