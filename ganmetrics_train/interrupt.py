"""Preemption-safe training: a first SIGINT/SIGTERM stops the run at a checkpoint.

Clusters (SLURM, Kubernetes, Ray spot nodes) send SIGTERM and wait a grace period before they
kill; Ctrl-C sends SIGINT. While :class:`GracefulStop` is active, the first of either signal only
sets :attr:`GracefulStop.signal_number`; the loop finishes the discriminator step (and the
generator step, evaluation and checkpoint that belong to it), writes a checkpoint at that step and
raises :class:`TrainingInterrupted`, which carries the checkpoint and the ``--resume`` command. A
second signal raises :class:`TrainingAborted` at once (nothing more is saved; every checkpoint
write is atomic, so none is left torn).

Exit codes follow the shell's ``128 + signal number`` convention: 130 after SIGINT, 143 after
SIGTERM, for a graceful stop and an abort alike (the message tells them apart).

A study trial (or any caller of :func:`ganmetrics_train.train.train`) catches
:class:`TrainingInterrupted` to learn that the run stopped on request and where its checkpoint
is; resuming the run (``resume=True``) continues it exactly.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["GracefulStop", "TrainingAborted", "TrainingInterrupted", "resume_command_for"]

#: The signals that ask a run to stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(number: int) -> str:
    return signal.Signals(number).name


def resume_command_for(run_dir: str | Path, extra: tuple[str, ...] = ()) -> str:
    """The shell command that continues the run in ``run_dir``."""
    words = ["ganmetrics-train", "run", "--out", str(run_dir), "--resume", *extra]
    return " ".join(shlex.quote(word) for word in words)


class TrainingInterrupted(Exception):
    """The run stopped on a signal after writing a checkpoint at :attr:`step`."""

    def __init__(self, run_dir: Path, step: int, checkpoint: Path, signal_number: int):
        self.run_dir = Path(run_dir)
        self.step = int(step)
        self.checkpoint = Path(checkpoint)
        self.signal_number = int(signal_number)
        self.exit_code = 128 + self.signal_number
        #: Flags the resume command repeats (the CLI adds ``--yes`` when the run was given it).
        self.resume_flags: tuple[str, ...] = ()
        super().__init__(
            f"{self.run_dir}: stopped by {signal_name(self.signal_number)} at step {self.step}; "
            f"checkpoint {self.checkpoint}"
        )

    def __reduce__(self):  # picklable: it crosses process pools and Ray
        state = {"resume_flags": self.resume_flags}
        return type(self), (self.run_dir, self.step, self.checkpoint, self.signal_number), state

    @property
    def resume_command(self) -> str:
        """The exact shell command that continues the run."""
        return resume_command_for(self.run_dir, self.resume_flags)

    def message(self) -> str:
        """One line for the user: what happened and the exact command that continues the run."""
        return f"{self}; continue with: {self.resume_command}"


class TrainingAborted(KeyboardInterrupt):
    """A second stop signal: the run ends at once, without a new checkpoint."""

    def __init__(self, signal_number: int):
        self.signal_number = int(signal_number)
        self.exit_code = 128 + self.signal_number
        super().__init__(f"aborted by a second {signal_name(self.signal_number)}")

    def __reduce__(self):
        return type(self), (self.signal_number,)


class GracefulStop:
    """Context manager: SIGINT/SIGTERM handlers that ask the loop to stop at a step boundary.

    Outside the main thread (where Python cannot install signal handlers) it does nothing, and
    :attr:`signal_number` stays ``None``. ``announce`` prints the one line said on the first
    signal, ``doing`` says what happens next, and ``abort(signal_number)`` is the exception a
    second signal raises (a study driver, which checkpoints nothing itself, raises a plain
    ``KeyboardInterrupt``). The previous handlers come back on exit.
    """

    def __init__(
        self,
        announce: Any = None,
        doing: str = "finishing this step, then writing a checkpoint",
        abort: Callable[[int], BaseException] = TrainingAborted,
    ):
        self.signal_number: int | None = None
        self._announce = announce or (lambda line: print(line, file=sys.stderr, flush=True))
        self._doing = doing
        self._abort = abort
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_number is not None

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal_number is not None:
            self._restore()
            raise self._abort(number)
        self.signal_number = number
        self._announce(
            f"{signal_name(number)} received: {self._doing} (send it again to abort at once)"
        )

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._restore()
