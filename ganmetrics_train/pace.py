"""The pace check: a run that would take more than a day on the CPU says so after its first steps.

The paper's runs (100k-200k discriminator steps, section 2.6 of "The GAN Landscape") are GPU
jobs; ResNet19 at 128 px takes minutes per step on a laptop CPU, so its ETA is years. The check
times the training compute (D and G steps, without evaluations, samples or checkpoints) of the
steps after the first one (which pays for start-up), over a window of at least one whole group of
``n_disc`` steps so that the G step is counted at its real rate. The projection is the mean time
per step times the steps left; when the fastest step timed so far already projects beyond the
limit, the verdict comes at once (a run at minutes per step stops after its second step, not its
fourth). The first step is not timed for the mean, but when even it projects beyond
:data:`FIRST_STEP_MARGIN` times the limit, start-up costs cannot explain the gap and the verdict
comes after it (ResNet19 at 128 px: minutes per step, months of steps). Only CPU runs are
checked: on a GPU a long run is the normal case.

What happens then is the caller's choice (``on_slow_cpu``): ``"stop"`` (the ``ganmetrics-train
run`` default) writes a checkpoint and raises :class:`TrainingTooSlow` (exit 2, the run resumes
from there); ``"warn"`` (``--yes``, and the default of :func:`ganmetrics_train.train.train` for
library callers, sweeps and studies) prints the one line and trains on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ganmetrics.errors import InputError
from ganmetrics_train.interrupt import resume_command_for

__all__ = ["ON_SLOW_CPU", "PaceCheck", "SlowRun", "TrainingTooSlow", "format_duration"]

#: What a run does when its CPU projection exceeds :data:`CPU_LIMIT_S`.
ON_SLOW_CPU = ("stop", "warn")
#: The projected training time above which a CPU run is called out (one day).
CPU_LIMIT_S = 86_400.0
#: How far beyond the limit the first step (start-up included) must project to stop after it.
FIRST_STEP_MARGIN = 10.0
#: Steps timed after the first one (at least one whole group of ``n_disc`` steps).
MEASURED_STEPS = 3
_HOW_TO_SHORTEN = (
    "shorten it with --steps N, train on a GPU (--device cuda), or start from the README's "
    "2-core CPU line (SNDCGAN on procedural images, a few minutes)"
)


def format_duration(seconds: float) -> str:
    """``"4,740 hours"``-style: seconds, minutes, hours or days, whichever reads best."""
    for unit, size, limit in (("s", 1, 120), ("min", 60, 7_200), ("hours", 3_600, 172_800)):
        if seconds < limit:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds / 86_400:,.0f} days"


@dataclasses.dataclass(frozen=True)
class SlowRun:
    """A measured step time and the projection of the steps left."""

    step: int
    seconds_per_step: float
    steps_left: int

    @property
    def projected_s(self) -> float:
        return self.seconds_per_step * self.steps_left

    def line(self) -> str:
        """The one warning line: the ETA and how to shorten it."""
        return (
            f"on the CPU a step takes {self.seconds_per_step:.3g} s, so the {self.steps_left:,} "
            f"steps left would take about {format_duration(self.projected_s)} (more than a day, "
            f"evaluations not counted); {_HOW_TO_SHORTEN}"
        )


class TrainingTooSlow(InputError):
    """A CPU run projected beyond a day, stopped at a checkpoint after its measured steps."""

    def __init__(self, run_dir: Path, slow: SlowRun, checkpoint: Path):
        self.run_dir, self.slow, self.checkpoint = Path(run_dir), slow, Path(checkpoint)
        super().__init__(
            f"{self.run_dir}: stopped at step {slow.step} (checkpoint {self.checkpoint}): "
            f"{slow.line()}; to train on anyway: {resume_command_for(self.run_dir, ('--yes',))}"
        )

    def __reduce__(self):  # picklable: it crosses process pools and Ray
        return type(self), (self.run_dir, self.slow, self.checkpoint)


class PaceCheck:
    """Times the steps after ``start_step + 1`` and reports a CPU run projected beyond a day."""

    def __init__(
        self,
        device_type: str,
        start_step: int,
        total_steps: int,
        n_disc: int,
        limit_s: float = CPU_LIMIT_S,
    ):
        self.active = device_type == "cpu"
        self.first_step = start_step + 1
        self.first_timed = start_step + 2
        self.last_timed = start_step + 1 + max(MEASURED_STEPS, n_disc)
        self.total_steps = total_steps
        self.limit_s = limit_s
        self._seconds = 0.0
        self._fastest = float("inf")

    def record(self, step: int, seconds: float) -> SlowRun | None:
        """Add the compute time of ``step``; a :class:`SlowRun` once the projection exceeds the
        limit: at the window's end from the mean, or earlier when even the fastest step timed so
        far projects beyond it (a lower bound: a step with a G step only takes longer)."""
        if self.active and step == self.first_step:
            first = SlowRun(step=step, seconds_per_step=seconds, steps_left=self.total_steps - step)
            if first.projected_s > FIRST_STEP_MARGIN * self.limit_s:
                self.active = False
                return first
            return None
        if not self.active or not self.first_timed <= step <= self.last_timed:
            return None
        self._seconds += seconds
        self._fastest = min(self._fastest, seconds)
        estimate = self._fastest
        if step == self.last_timed:
            self.active = False
            estimate = self._seconds / (self.last_timed - self.first_timed + 1)
        slow = SlowRun(step=step, seconds_per_step=estimate, steps_left=self.total_steps - step)
        if slow.projected_s <= self.limit_s:
            return None
        self.active = False
        return slow
