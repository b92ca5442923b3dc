"""Losses, gradient norms and non-finite values of the training steps, kept on the device.

Reading a CUDA tensor from Python waits for the GPU, so the trainer never reads one per step: each
step adds its losses and gradient norms to device tensors and records, still on the device, the
first step whose loss was not finite. :meth:`StepMetrics.read` turns them into Python numbers, once
every ``log_every`` steps and before anything is written (samples, scores, checkpoints), so a
diverged run stops there with its last good checkpoint intact.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

_KINDS = ("discriminator", "generator")


def gradient_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    """The global L2 norm of the gradients of ``parameters`` (a device tensor, no sync)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class StepMetrics:
    """Device-side sums of step values since the last read, and a watch for non-finite losses."""

    def __init__(self, device: torch.device, step: int):
        self.device = device
        zeros = torch.zeros((), dtype=torch.long, device=device)
        self._bad_step, self._bad_kind = zeros, zeros.clone()
        self._bad_value = torch.zeros((), device=device)
        self.reset(step)

    def reset(self, step: int) -> None:
        """Start a new window at ``step`` (sums and timer; the non-finite watch carries on)."""
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.start_step = step
        self.started = time.perf_counter()

    def pause(self, started: float) -> None:
        """Keep time spent outside training steps (since ``started``) out of the steps/s."""
        self.started += time.perf_counter() - started

    def record(self, **values: torch.Tensor) -> None:
        for name, value in values.items():
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1

    def watch(self, loss: torch.Tensor, kind: str, step: int) -> None:
        """Remember ``step`` if ``loss`` is the first non-finite loss seen (on the device)."""
        first = ~torch.isfinite(loss.detach()) & (self._bad_step == 0)
        self._bad_step = torch.where(first, step, self._bad_step)
        self._bad_kind = torch.where(first, _KINDS.index(kind), self._bad_kind)
        self._bad_value = torch.where(first, loss.detach().float(), self._bad_value)

    def first_nonfinite(self) -> tuple[int, str] | None:
        """(step, "discriminator loss is nan") of the first non-finite loss, or ``None``."""
        step = int(self._bad_step)
        if not step:
            return None
        kind = _KINDS[int(self._bad_kind)]
        return step, f"{kind} loss is {float(self._bad_value)}"

    def means(self, step: int) -> dict[str, Any]:
        """Mean of each value over the window, plus ``perf/steps_per_sec``; starts a new window."""
        seconds = time.perf_counter() - self.started
        values = {name: float(total) / self.counts[name] for name, total in self.sums.items()}
        values["perf/steps_per_sec"] = (step - self.start_step) / seconds if seconds > 0 else 0.0
        self.reset(step)
        return values
