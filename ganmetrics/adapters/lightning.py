"""``StreamEvaluation``: a Lightning callback that scores the LightningModule's generator.

Every ``every_n_steps`` optimizer steps it samples ``num_images`` images from the module's
generator (``module.generator(z)`` by default, or ``sample(module, z)``) with latents drawn from
its own seeded ``torch.Generator`` (the same z at every evaluation; the training random states are
left alone), feeds them to one :class:`ganmetrics.Stream` whose real side was set once, and logs
the scalar results (``eval/fid``, ``eval/kid_mean``, ...). ``callback.results`` keeps every
``(step, result)`` with its ``meta``. Under DDP each rank samples the images ``rank::world`` and
the stream gathers them by index, so N ranks score the same images as one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch

from ganmetrics.errors import InputError
from ganmetrics.stream import Stream
from ganmetrics.stream_gather import group_rank, group_size


def _default_sample(module: pl.LightningModule, z: torch.Tensor) -> torch.Tensor:
    generator = getattr(module, "generator", None)
    return generator(z) if generator is not None else module(z)


class StreamEvaluation(pl.Callback):
    """Evaluate the generator every ``every_n_steps`` steps with a :class:`ganmetrics.Stream`.

    Args:
        real: the real side: images (array, tensor, folder, ...), a stats or a features ``.npz``.
        every_n_steps: evaluate after these many optimizer steps (``trainer.global_step``).
        num_images: generated images per evaluation.
        z_dim: latent size (default: ``module.hparams.z_dim`` or ``module.z_dim``).
        sample: ``sample(module, z) -> images`` (default ``module.generator(z)`` or ``module(z)``).
        batch_size: latents per generator call.
        seed: seed of the latents.
        prefix: of the logged names.
        stream_options: keywords of :class:`ganmetrics.Stream` (``metrics``, ``value_range``,
            ``inception_weights``, ``device``, ``protocol``, ``bootstrap``, ...).
    """

    def __init__(
        self,
        real: Any,
        every_n_steps: int,
        num_images: int,
        *,
        z_dim: int | None = None,
        sample: Callable[[pl.LightningModule, torch.Tensor], torch.Tensor] | None = None,
        batch_size: int = 64,
        seed: int = 0,
        prefix: str = "eval/",
        **stream_options: Any,
    ):
        super().__init__()
        if every_n_steps < 1 or num_images < 2:
            raise ValueError("every_n_steps must be >= 1 and num_images >= 2")
        self.real, self.every_n_steps, self.num_images = real, every_n_steps, num_images
        self.z_dim, self.sample = z_dim, sample or _default_sample
        self.batch_size, self.seed, self.prefix = batch_size, seed, prefix
        self.stream_options = stream_options
        self.stream: Stream | None = None
        self.results: list[tuple[int, dict[str, Any]]] = []
        self._last_step = -1

    def _latents(self, module: pl.LightningModule) -> torch.Tensor:
        z_dim = self.z_dim or getattr(module.hparams, "z_dim", None) or getattr(module, "z_dim", 0)
        if not z_dim:
            raise InputError(
                f"{type(module).__name__}: no z_dim in its hparams or attributes; pass "
                "StreamEvaluation(z_dim=...)"
            )
        generator = torch.Generator().manual_seed(self.seed)
        return torch.randn(self.num_images, int(z_dim), generator=generator)

    @torch.no_grad()
    def evaluate(self, module: pl.LightningModule) -> dict[str, Any]:
        """The stream's result for the module's generator now."""
        if self.stream is None:
            self.stream = Stream(real=self.real, **self.stream_options)
        self.stream.reset()
        world = group_size()
        mine = torch.arange(self.num_images)[group_rank() :: world]
        z = self._latents(module)[mine]
        was_training = module.training
        module.eval()
        try:
            for start in range(0, len(mine), self.batch_size):
                chunk = slice(start, start + self.batch_size)
                images = self.sample(module, z[chunk].to(module.device))
                self.stream.update(images, indices=mine[chunk] if world > 1 else None)
        finally:
            module.train(was_training)
        return self.stream.compute()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step == 0 or step % self.every_n_steps or step == self._last_step:
            return
        self._last_step = step
        result = self.evaluate(pl_module)
        self.results.append((step, result))
        scalars = {f"{self.prefix}{key}": float(value) for key, value in result.items()
                   if isinstance(value, int | float) and not isinstance(value, bool)}  # fmt: skip
        pl_module.log_dict(scalars, on_step=True, on_epoch=False)


__all__ = ["StreamEvaluation"]
