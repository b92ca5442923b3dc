"""The training loop of "The GAN Landscape" (Kurach, Lucic et al. 2019), as compare_gan ran it.

Adam for G and D with one learning rate and the given (beta1, beta2) (section 2.6, Table 1).
``steps`` counts discriminator steps (compare_gan: "These are discriminator steps"). Every
discriminator step draws a fresh real batch and a fresh ``z ~ U(-1, 1)^z_dim`` and minimizes
``L_D + lambda * penalty`` (sections 2.1-2.2). How D sees the two batches and when G trains is
``disc_calls``:

``"split"`` (default): the paper-era code, compare_gan df8998c ``compare_gan/src/gans/``.
  * ``gans_with_penalty.py`` ``build_model`` calls the discriminator twice, on ``self.inputs``
    (real) and on ``generator(self.z)`` (fake); a batch-normalized D normalizes each batch over
    itself.
  * ``abstract_gan.py`` ``run_single_train_step``: after the D step of ``counter`` (``step`` of
    ``train``, which runs 1, 2, ..., ``training_steps``), G trains when
    ``(counter - 1) % disc_iters == 0``, fed ``{self.z: batch_z}``: the same z as the D step just
    taken, no real batch, D called on the fake batch only. So G trains right after D steps
    1, n+1, 2n+1, ... - the FIRST D step of each group of ``n_disc`` - and a run of ``steps``
    steps makes ``ceil(steps / n_disc)`` G steps. (``or g_loss is None`` there also trains G
    after the first step of every *session*, so a restored TF run takes one extra G step; a
    resumed run here continues exactly as the uninterrupted one, so that clause fires at step 1
    only.)

``"concat"``: compare_gan v3 (``compare_gan/gans/modular_gan.py``): ``create_loss`` calls D once
  on ``tf.concat([images, generated])``; ``model_fn`` runs the G "sub step" after the ``n_disc``-th
  D step of each group (D steps n, 2n, ...), drawing its own real batch and z and again feeding
  ``concat(real, fake)`` through D, so a BN discriminator sees mixed batches of 2 x batch_size.

Layer norm and a normalization-free D give the same logits either way; batch norm does not;
spectral norm runs one power iteration per D call, so "split" makes two per D step (in the TF graph
both calls read the same ``u``). ``docs/training.md`` states both steps and the measured difference.

Seeds fix the initial weights (global torch RNG, seeded before the networks are built), the data
order (:class:`ganmetrics_train.data.TrainingBatches`) and the noise: ``z`` and the penalty's random
draws come from their own ``torch.Generator``; samples and evaluations use fixed, separate noise
and leave every training random state untouched. Checkpoints store all of it, so that resuming
continues the run exactly (bit for bit on the CPU). Losses, gradient norms and the finiteness of
the losses accumulate on the device and are read every ``log_every`` steps (no host-device sync
per step); a non-finite loss stops the run there, before any later checkpoint is written.

Under :func:`train` a first SIGINT/SIGTERM stops the run after the step under way, at a checkpoint
(:mod:`ganmetrics_train.interrupt`), and a CPU run whose first steps project beyond a day says so
(:mod:`ganmetrics_train.pace`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train.checkpoint import run_status
from ganmetrics_train.config import TrainConfig, is_resolved, resolve_config, save_config_files
from ganmetrics_train.evaluation import RunEvaluation, generate_uint8, images_to_uint8
from ganmetrics_train.failure_modes import failure_warning
from ganmetrics_train.interrupt import GracefulStop, TrainingInterrupted
from ganmetrics_train.objectives import discriminator_objective, generator_objective, uniform_z
from ganmetrics_train.pace import ON_SLOW_CPU, PaceCheck, SlowRun, TrainingTooSlow
from ganmetrics_train.performance import make_adam, restore_determinism, set_determinism
from ganmetrics_train.run_logging import (
    SCORES_NAME,
    RunLogger,
    drop_scores_after,
    write_done_marker,
)
from ganmetrics_train.step_metrics import StepMetrics, gradient_norm

__all__ = [
    "RunResult",
    "Trainer",
    "TrainingDiverged",
    "derive_seed",
    "generator_trains_after",
    "images_to_uint8",
    "run_status",
    "train",
]

#: Penalties that differentiate D's output w.r.t. its input (double backward does not compile).
_GRADIENT_PENALTIES = ("gp", "dragan", "r1")


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN/inf; the run stopped without saving the broken state."""

    exit_code = 1


@dataclasses.dataclass
class RunResult:
    """What :func:`train` returns."""

    run_dir: Path
    step: int
    config_hash: str
    last_scores: dict[str, Any] | None
    best_fid: float | None
    best_step: int | None
    generator_path: Path | None


def derive_seed(seed: int, stream: str) -> int:
    """An independent 62-bit seed for the random stream ``stream`` of a run seeded ``seed``."""
    digest = hashlib.sha256(f"ganmetrics_train:{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 2


def generator_trains_after(step: int, n_disc: int, disc_calls: str) -> bool:
    """Whether G takes a step right after D step ``step`` (1, 2, ...); see the module docstring.

    "split": ``(step - 1) % n_disc == 0`` (df8998c ``abstract_gan.py``, ``counter`` = ``step``);
    "concat": ``step % n_disc == 0`` (v3 ``modular_gan.py``: G after the n_disc-th D step).
    """
    return (step - 1) % n_disc == 0 if disc_calls == "split" else step % n_disc == 0


class Trainer:
    """Builds a run from a :class:`TrainConfig` (or resumes it) and trains it.

    Use :func:`train` for the whole thing; :meth:`run` with ``until_step`` and :meth:`finish` let
    a benchmark or test drive the loop in pieces.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = True,
        tensorboard: bool = True,
        announce: bool = True,
        on_slow_cpu: str = "warn",
    ):
        from ganmetrics_train.data import TrainingBatches, dataset_for_training
        from ganmetrics_train.models import build_networks

        if on_slow_cpu not in ON_SLOW_CPU:
            raise ValueError(f"on_slow_cpu {on_slow_cpu!r}: choose one of {ON_SLOW_CPU}")
        self.on_slow_cpu = on_slow_cpu
        #: The signal handlers of :func:`train` (first SIGINT/SIGTERM: stop at a checkpoint).
        self.stop: GracefulStop | None = None
        # A progress bar only on a terminal: in a log file tqdm's cursor codes are noise.
        bars = progress and sys.stderr.isatty()
        self.config = cfg = config if is_resolved(config) else resolve_config(config)
        self.config_hash = cfg.hash()
        # Data first: a missing or malformed data set fails before the run folder is touched.
        self.train_source = dataset_for_training(
            cfg.dataset, cfg.data_dir, cfg.image_size, **cfg.dataset_options
        )
        if len(self.train_source) < cfg.batch_size:
            raise InputError(
                f"{self.train_source.description}: {len(self.train_source)} training images, fewer "
                f"than one batch of {cfg.batch_size}; use a smaller --batch-size or more images"
            )
        self.evaluation = RunEvaluation(cfg, progress=bars)
        if cfg.eval_every:
            self.evaluation.check_inputs()
        self.run_dir = ckpt.prepare_run_dir(cfg, resume=resume, overwrite=overwrite)
        self.device = torch.device(cfg.device)
        self._previous_determinism = set_determinism(cfg.deterministic)

        # Initial weights come from the global RNG, seeded here; everything else has its own stream.
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        random.seed(cfg.seed)
        self.G, self.D = build_networks(cfg, self.device)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.ema_decay else None
        self.G_forward: nn.Module = torch.compile(self.G) if cfg.compile else self.G
        compile_d = cfg.compile and cfg.penalty not in _GRADIENT_PENALTIES
        self.D_forward: nn.Module = torch.compile(self.D) if compile_d else self.D
        self.g_optimizer = make_adam(list(self.G.parameters()), cfg)
        self.d_optimizer = make_adam(list(self.D.parameters()), cfg)
        self.z_generator = torch.Generator(self.device).manual_seed(derive_seed(cfg.seed, "z"))
        self.penalty_generator = torch.Generator(self.device).manual_seed(
            derive_seed(cfg.seed, "penalty")
        )
        sample_noise = torch.Generator().manual_seed(derive_seed(cfg.seed, "samples"))
        self.sample_z = uniform_z(cfg.num_samples, cfg.z_dim, sample_noise).to(self.device)
        self._d_step_z: torch.Tensor | None = None

        self.step = 0
        self.g_steps = 0
        self.best_fid: float | None = None
        self.best_step: int | None = None
        self.elapsed_before = 0.0
        self.last_scores: dict[str, Any] | None = None
        self.last_losses: dict[str, float] | None = None
        self.last_checkpoint: Path | None = None
        start_batch = 0
        found = ckpt.latest_checkpoint(self.run_dir) if resume else None
        if found is not None:
            self.last_checkpoint, state = found
            start_batch = ckpt.restore_training_state(self, state)
        if resume and found is None:
            warnings.warn(
                f"{self.run_dir}: no checkpoint to resume from yet (the run stopped before its "
                "first one); training starts at step 0",
                stacklevel=2,
            )
        if resume:
            drop_scores_after(self.run_dir / SCORES_NAME, self.step)
            self._recover_best()
        save_config_files(cfg, self.run_dir)
        self.batches = TrainingBatches(
            self.train_source,
            cfg.batch_size,
            seed=derive_seed(cfg.seed, "data"),
            num_workers=cfg.num_workers,
            start_batch=start_batch,
            pin_memory=self.device.type == "cuda",
        )
        self.logger = RunLogger(
            self.run_dir,
            total_steps=cfg.steps,
            start_step=self.step,
            progress=bars,
            progress_lines=progress and not bars,
            tensorboard=tensorboard,
        )
        self.pace = PaceCheck(self.device.type, self.step, cfg.steps, cfg.n_disc)
        self._start_time = time.perf_counter()
        self.metrics = StepMetrics(self.device, self.step)
        if announce:
            self._announce(resumed_from=self.last_checkpoint)

    def _announce(self, resumed_from: Path | None) -> None:
        lines = [f"ganmetrics-train: run {self.run_dir} (config hash {self.config_hash})"]
        if resumed_from is not None:
            lines.append(f"resuming from {resumed_from} at step {self.step}")
        lines.append(yaml.safe_dump(self.config.user_facing(), sort_keys=False).rstrip())
        self.logger.info("\n".join(lines))

    @property
    def test_source(self):
        """The test split the evaluation compares against (section 4: FID w.r.t. test data)."""
        return self.evaluation.test_source

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.amp_bf16)

    def _real_batch(self) -> torch.Tensor:
        return next(self.batches).to(self.device, non_blocking=True)

    # ----------------------------------------------------------------------------------------
    # One discriminator step and one generator step

    def discriminator_step(self) -> None:
        """One Adam step on ``L_D + lambda * penalty`` with a fresh real batch and fresh z."""
        cfg = self.config
        real = self._real_batch()
        z = self._d_step_z = uniform_z(cfg.batch_size, cfg.z_dim, self.z_generator)
        with self._autocast():
            loss, gan_loss, penalty = discriminator_objective(
                cfg, self.G_forward, self.D_forward, real, z, self.penalty_generator, self.D
            )
        self.metrics.watch(loss, "discriminator", self.step + 1)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()
        self.metrics.record(
            **{
                "loss/d": loss.detach(),
                "loss/d_gan": gan_loss.detach(),
                "loss/penalty": penalty.detach(),
                "grad_norm/d": gradient_norm(list(self.D.parameters())),
            }
        )

    def generator_step(self) -> None:
        """One Adam step on ``L_G``: on the D step's z ("split"), or on fresh inputs ("concat")."""
        cfg = self.config
        if cfg.disc_calls == "split":
            z, real = self._d_step_z, None
        else:
            real = self._real_batch()
            z = uniform_z(cfg.batch_size, cfg.z_dim, self.z_generator)
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                loss = generator_objective(cfg, self.G_forward, self.D_forward, z, real)
            self.metrics.watch(loss, "generator", self.step)
            self.g_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.g_optimizer.step()
        finally:
            self.D.requires_grad_(True)
        self.g_steps += 1
        self._update_ema()
        self.metrics.record(
            **{"loss/g": loss.detach(), "grad_norm/g": gradient_norm(list(self.G.parameters()))}
        )

    @torch.no_grad()
    def _update_ema(self) -> None:
        """EMA of G's weights (compare_gan ``g_use_ema``: decay 0 before ``ema_start_step``)."""
        if self.G_ema is None:
            return
        decay = self.config.ema_decay if self.step >= self.config.ema_start_step else 0.0
        for average, current in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            average.lerp_(current, 1.0 - decay)
        for average, current in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            average.copy_(current)

    # ----------------------------------------------------------------------------------------
    # The loop

    def run(self, until_step: int | None = None) -> None:
        """Train until ``until_step`` (default: ``config.steps``) discriminator steps."""
        cfg = self.config
        end = cfg.steps if until_step is None else min(until_step, cfg.steps)
        if self.step == 0 and cfg.sample_every:
            self.save_samples()
        while self.step < end:
            started = time.perf_counter()
            self.discriminator_step()
            self.step += 1
            if generator_trains_after(self.step, cfg.n_disc, cfg.disc_calls):
                self.generator_step()
            slow = self.pace.record(self.step, time.perf_counter() - started)
            self.logger.advance()

            if self.step % cfg.log_every == 0:
                self._log()
            if cfg.sample_every and self.step % cfg.sample_every == 0:
                self.save_samples()
            if cfg.eval_every and self.step % cfg.eval_every == 0:
                self.evaluate()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
            if slow is not None:
                self._too_slow(slow)
            if self.stop is not None and self.stop.requested:
                raise TrainingInterrupted(
                    self.run_dir, self.step, self.checkpoint_here(), self.stop.signal_number
                )

    def _too_slow(self, slow: SlowRun) -> None:
        """A CPU run projected beyond a day: one warning line, or a checkpoint and a stop."""
        if self.on_slow_cpu == "stop":
            raise TrainingTooSlow(self.run_dir, slow, self.checkpoint_here())
        self.logger.info(f"warning: {self.run_dir}: {slow.line()}")

    def checkpoint_here(self) -> Path:
        """The checkpoint at the current step, written unless it already exists."""
        if self.last_checkpoint != ckpt.checkpoint_path(self.run_dir, self.step):
            self.save_checkpoint()
        self.logger.flush()
        return self.last_checkpoint

    def finish(self) -> RunResult:
        """At the last step: final evaluation, checkpoint, samples, ``generator.pt``, done.json."""
        cfg = self.config
        self._raise_if_nonfinite()
        if self.metrics.counts:
            self._log()
        if cfg.sample_every and self.step % cfg.sample_every:
            self.save_samples()
        evaluated = self.last_scores is not None and self.last_scores["step"] == self.step
        if cfg.eval_every and not evaluated:
            self.evaluate()
        self.checkpoint_here()
        generator_path = self.run_dir / "generator.pt"
        with ckpt.preserved_global_rng():
            ckpt.export_generator_from_checkpoint(
                {
                    "generator_config": dict(self.G.config),
                    "generator": self.G.state_dict(),
                    "generator_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
                },
                generator_path,
            )
        summary = {
            "step": self.step,
            "config_hash": self.config_hash,
            "best_fid": self.best_fid,
            "best_step": self.best_step,
            "last_metrics": (self.last_scores or {}).get("metrics"),
            "elapsed_s": round(self.elapsed(), 3),
        }
        if self.step >= cfg.steps:
            write_done_marker(self.run_dir, summary)
        self.logger.flush()
        return RunResult(
            run_dir=self.run_dir,
            step=self.step,
            config_hash=self.config_hash,
            last_scores=self.last_scores,
            best_fid=self.best_fid,
            best_step=self.best_step,
            generator_path=generator_path,
        )

    def close(self) -> None:
        self.logger.close()
        self.batches.close()
        restore_determinism(self._previous_determinism)

    # ----------------------------------------------------------------------------------------
    # Logging and non-finite values: device tensors, read every log_every steps

    def _raise_if_nonfinite(self) -> None:
        found = self.metrics.first_nonfinite()
        if found is not None:
            self._diverged(found[1], found[0])

    def _diverged(self, what: str, step: int | None = None) -> None:
        last = (
            f"the last good checkpoint is {self.last_checkpoint}"
            if self.last_checkpoint is not None
            else "no checkpoint was saved yet"
        )
        raise TrainingDiverged(
            f"{self.run_dir}: step {step or self.step + 1}: {what}; training diverged and stopped, "
            f"{last} (try a smaller --lr or a different seed)"
        )

    def _log(self) -> None:
        self._raise_if_nonfinite()
        values = self.metrics.means(self.step)
        if any(not math.isfinite(v) for v in values.values()):
            self._diverged("a loss or gradient norm became non-finite")
        self.last_losses = values
        self.logger.scalars(self.step, values)

    # ----------------------------------------------------------------------------------------
    # Samples, evaluation, checkpoints

    def sampling_generator(self) -> nn.Module:
        """The generator that samples and exports use: the EMA copy when enabled."""
        return self.G_ema if self.G_ema is not None else self.G

    def generate(self, z: torch.Tensor) -> np.ndarray:
        """uint8 images (N, 3, H, W) for ``z``, with G in inference mode; RNG states untouched."""
        return generate_uint8(self.sampling_generator(), z, self._autocast())

    def save_samples(self) -> Path:
        self._raise_if_nonfinite()
        return self.logger.samples(self.step, self.generate(self.sample_z))

    def evaluate(self) -> dict[str, Any]:
        """FID/IS/KID (+MS-SSIM) at the protocol counts; appended to scores.jsonl (section 4)."""
        self._raise_if_nonfinite()
        started = time.perf_counter()
        record = self.evaluation.score(self.sampling_generator(), self.step, self.logger.info)
        record.update(
            elapsed_s=round(self.elapsed(), 3),
            config_hash=self.config_hash,
            config_path=str(self.run_dir / "config.json"),
        )
        warning = failure_warning(self.step, self.config.loss, record["metrics"], self.last_losses)
        if warning:
            record["warning"] = warning
        self.logger.scores(record)
        self.last_scores = record
        metrics = record["metrics"]
        fid = metrics.get("fid")
        improved = self.best_fid is None or (isinstance(fid, float) and fid < self.best_fid)
        if isinstance(fid, float) and math.isfinite(fid) and improved:
            self.best_fid, self.best_step = fid, self.step
            ckpt.save_best(
                self.run_dir,
                self.G.config,
                self.sampling_generator().state_dict(),
                fid=fid,
                step=self.step,
                config_hash=self.config_hash,
            )
        self.logger.info(
            f"step {self.step}: "
            + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
        )
        if warning:
            self.logger.info(f"warning: {warning}")
        self.metrics.pause(started)
        return record

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._start_time

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly here (a checkpoint's content)."""
        return ckpt.training_state(self)

    def _recover_best(self) -> None:
        """Take the best FID from ``best.pt`` if it is better than the checkpoint's record."""
        recorded = ckpt.recorded_best(self.run_dir)
        if recorded is not None and (self.best_fid is None or recorded[0] < self.best_fid):
            self.best_fid, self.best_step = recorded

    def save_checkpoint(self) -> Path:
        self._raise_if_nonfinite()
        started = time.perf_counter()
        path = ckpt.checkpoint_path(self.run_dir, self.step)
        try:
            ckpt.save_checkpoint(path, self.state_dict())
        except ValueError as exc:
            self._diverged(str(exc))
        self.last_checkpoint = path
        ckpt.prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        self.metrics.pause(started)
        return path


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    tensorboard: bool = True,
    on_slow_cpu: str = "warn",
) -> RunResult:
    """Train one run to ``config.steps`` discriminator steps (resuming it with ``resume``).

    A first SIGINT/SIGTERM stops the run at a checkpoint and raises
    :class:`~ganmetrics_train.interrupt.TrainingInterrupted`; a CPU run projected beyond a day
    warns, or with ``on_slow_cpu="stop"`` raises :class:`~ganmetrics_train.pace.TrainingTooSlow`
    at a checkpoint (:mod:`ganmetrics_train.pace`).
    """
    trainer = Trainer(
        config,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        tensorboard=tensorboard,
        on_slow_cpu=on_slow_cpu,
    )
    try:
        with GracefulStop(trainer.logger.info) as trainer.stop:
            trainer.run()
            return trainer.finish()
    finally:
        trainer.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `ganmetrics-train run` (python -m ganmetrics_train run)")
