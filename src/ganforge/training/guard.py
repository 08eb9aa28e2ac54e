"""What keeps a run folder whole: one writer at a time, and signals that save before they stop.

- `RunLock`: an exclusive `flock` on `<run>/.lock`, held while a process trains into the folder.
  The OS releases it when the process dies (even by SIGKILL), so a crashed run never leaves the
  folder locked; a second writer gets a one-line error naming the holder's pid.
- `SignalGuard`: SIGINT (Ctrl-C) and SIGTERM (what job schedulers send) ask the trainer to stop
  after the current step; it saves a checkpoint and the command exits 130 or 143 with a line
  saying how to resume. A second signal exits at once (128 + its number), losing only the steps
  since the last checkpoint, as SIGKILL does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from ganforge.errors import GanforgeError

LOCK_NAME = ".lock"


class RunLock:
    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise GanforgeError(f"{self.path.parent}: cannot write the run folder "
                                f"({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise GanforgeError(
                f"{self.path.parent}: another ganforge process (pid {holder}) is writing to this "
                "run folder; wait for it or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class SignalGuard:
    """Context manager (main thread only, else inert): `requested` is the first signal's number."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested: int | None = None
        self._old: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.requested is not None:  # the second signal: out now
            sys.stderr.write(f"\nganforge: second {signal.Signals(signum).name}: exiting now\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        self.requested = signum

    def __enter__(self):
        for s in self.SIGNALS:
            with contextlib.suppress(ValueError):  # not in the main thread
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> bool:
        for s, old in self._old.items():
            signal.signal(s, old)
        return False
