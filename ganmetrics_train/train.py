"""The training loop of "The GAN Landscape" (Kurach, Lucic et al. 2019), as compare_gan v2 runs it.

One readable loop (:meth:`Trainer.run`):

* Adam for G and D with one learning rate and the given (beta1, beta2) (section 2.6, Table 1);
* every discriminator step draws a fresh real batch and a fresh ``z ~ U(-1, 1)^z_dim`` and
  minimizes ``L_D + lambda * penalty`` (sections 2.1-2.2); real and generated images go through D
  in one call, as compare_gan's ``ModularGAN.create_loss`` (``tf.concat([images, generated])``);
* after every ``n_disc`` discriminator steps one generator step, which - as the separate "sub step"
  of compare_gan's ``model_fn`` - draws its own fresh real batch and fresh ``z`` and again feeds
  ``concat(real, fake)`` through D (so batch statistics of a BN discriminator match the D step);
* ``steps`` counts discriminator steps (compare_gan's ``training_steps``: "These are discriminator
  steps. G will be trained for training_steps // disc_iters steps").

Seeds fix the initial weights (global torch RNG, seeded before the networks are built), the data
order (:class:`ganmetrics_train.data.TrainingBatches`) and the noise: ``z`` and the penalty's random
draws come from their own ``torch.Generator``; samples and evaluations use fixed, separate noise
and leave every training random state untouched. Checkpoints store all of it, so that resuming
continues the run exactly (bit for bit on the CPU).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train.config import (
    OPERATIONAL_FIELDS,
    TrainConfig,
    load_run_config,
    resolve_config,
    save_config_files,
)
from ganmetrics_train.losses import discriminator_loss, generator_loss
from ganmetrics_train.penalties import discriminator_penalty
from ganmetrics_train.run_logging import (
    SCORES_NAME,
    RunLogger,
    drop_scores_after,
    read_jsonl,
    write_done_marker,
)

#: Images generated per forward pass when sampling for grids and evaluation.
GENERATION_BATCH = 250


def _last_score_at(scores_path: Path, step: int) -> dict[str, Any] | None:
    """The scores line already recorded for ``step``, so a resumed run does not evaluate twice."""
    if not scores_path.is_file():
        return None
    found = None
    with open(scores_path) as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line from a killed run
            if isinstance(record, dict) and record.get("step") == step:
                found = record
    return found


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


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output in [0, 1] to uint8 (N, 3, H, W): ``round(255 x)`` after clipping."""
    return images.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu().numpy()


@contextlib.contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Run a block (sampling, evaluation, export) without changing any global random state."""
    state = ckpt.capture_rng_state({})
    try:
        yield
    finally:
        ckpt.restore_rng_state(state, {})


def _gradient_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


# --------------------------------------------------------------------------------------------
# Run folder


def prepare_run_dir(config: TrainConfig, resume: bool, overwrite: bool) -> Path:
    """Create or reuse the run folder; an existing one needs ``resume`` or ``overwrite``."""
    run_dir = Path(config.out)
    is_run = (run_dir / "config.json").is_file()
    has_content = run_dir.is_dir() and any(run_dir.iterdir())
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: exists and is not a folder; choose another --out")
    if has_content and overwrite and not resume:
        if not is_run:
            raise InputError(
                f"{run_dir}: not empty and not a ganmetrics-train run folder; refusing to delete "
                "it - choose another --out"
            )
        shutil.rmtree(run_dir)
    elif has_content and resume:
        if not is_run:
            raise InputError(
                f"{run_dir}: not a ganmetrics-train run folder (no config.json); nothing to resume"
            )
        stored = load_run_config(run_dir)
        changed = [
            name
            for name, value in stored.to_dict().items()
            if name not in OPERATIONAL_FIELDS and config.to_dict()[name] != value
        ]
        if changed:
            details = ", ".join(
                f"{n.rstrip('_')} {getattr(stored, n)!r} -> {getattr(config, n)!r}" for n in changed
            )
            raise InputError(
                f"{run_dir}: --resume cannot change {details}; use another --out for a new run"
            )
    elif has_content:
        raise InputError(
            f"{run_dir}: already exists; pass --resume to continue it or --overwrite to start over"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot create the run folder ({exc.strerror})") from None
    return run_dir


# --------------------------------------------------------------------------------------------
# The trainer


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
    ):
        from ganmetrics_train.data import TrainingBatches, dataset_for_training
        from ganmetrics_train.models import build_discriminator, build_generator

        self.config = cfg = resolve_config(config)
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
        self._test_source = None
        if cfg.eval_every:
            self._check_evaluation_inputs()
        self.run_dir = prepare_run_dir(cfg, resume=resume, overwrite=overwrite)
        self.device = torch.device(cfg.device)
        self._previous_determinism = self._set_determinism(cfg.deterministic)
        self._nonfinite: torch.Tensor | None = None

        # Initial weights come from the global RNG, seeded here; everything else has its own stream.
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        random.seed(cfg.seed)
        self.G = build_generator(
            cfg.arch, cfg.image_size, z_dim=cfg.z_dim, norm=cfg.g_norm, ablations=cfg.ablations
        ).to(self.device)
        self.D = build_discriminator(
            cfg.arch, cfg.image_size, norm=cfg.norm, ablations=cfg.ablations
        ).to(self.device)
        self.G_ema = None
        if cfg.ema_decay is not None:
            self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        self.G_forward: nn.Module = self.G
        self.D_forward: nn.Module = self.D
        if cfg.compile:
            self.G_forward = torch.compile(self.G)
            if cfg.penalty not in ("gp", "dragan", "r1"):  # double backward does not compile
                self.D_forward = torch.compile(self.D)

        betas = (cfg.beta1, cfg.beta2)
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.z_generator = torch.Generator(self.device).manual_seed(derive_seed(cfg.seed, "z"))
        self.penalty_generator = torch.Generator(self.device).manual_seed(
            derive_seed(cfg.seed, "penalty")
        )
        sample_noise = torch.Generator().manual_seed(derive_seed(cfg.seed, "samples"))
        self.sample_z = self._uniform_z(cfg.num_samples, sample_noise).to(self.device)

        self.step = 0
        self.g_steps = 0
        self.best_fid: float | None = None
        self.best_step: int | None = None
        self.elapsed_before = 0.0
        self.last_scores: dict[str, Any] | None = None
        self.last_checkpoint: Path | None = None
        start_batch = 0
        found = ckpt.latest_checkpoint(self.run_dir) if resume else None
        if found is not None:
            self.last_checkpoint, state = found
            start_batch = self._load_state(state)
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
            progress=progress,
            tensorboard=tensorboard,
        )
        self._start_time = time.perf_counter()
        self._window = self._new_window()
        if announce:
            self._announce(resumed_from=self.last_checkpoint)

    # ----------------------------------------------------------------------------------------
    # Setup helpers

    @staticmethod
    def _set_determinism(enabled: bool) -> tuple[bool, bool, bool]:
        previous = (
            torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic,
        )
        if enabled:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        else:
            torch.backends.cudnn.benchmark = True
        return previous

    def _announce(self, resumed_from: Path | None) -> None:
        cfg = self.config
        lines = [f"ganmetrics-train: run {self.run_dir} (config hash {self.config_hash})"]
        if resumed_from is not None:
            lines.append(f"resuming from {resumed_from} at step {self.step}")
        lines.append(yaml.safe_dump(cfg.to_dict(), sort_keys=False).rstrip())
        self.logger.info("\n".join(lines))

    def _uniform_z(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``z ~ U(-1, 1)^z_dim`` as compare_gan's default ``z_generator``."""
        device = generator.device
        return torch.rand(count, self.config.z_dim, generator=generator, device=device) * 2 - 1

    def _check_evaluation_inputs(self) -> None:
        """Fail before training, not at the first evaluation: test split and Inception weights."""
        from ganmetrics.inception import resolve_weights_path

        cfg = self.config
        available = len(self.test_source)
        if available < cfg.eval_num_real:
            raise InputError(
                f"{self.test_source.description}: {available} test images, fewer than "
                f"eval_num_real={cfg.eval_num_real}; pass --eval-num-real {available} or less"
            )
        resolve_weights_path()

    @property
    def test_source(self):
        """The test split the evaluation compares against (section 4: FID w.r.t. test data)."""
        if self._test_source is None:
            from ganmetrics.datasets import open_dataset

            cfg = self.config
            self._test_source = open_dataset(
                cfg.dataset, cfg.data_dir, "test", image_size=cfg.image_size, **cfg.dataset_options
            )
        return self._test_source

    # ----------------------------------------------------------------------------------------
    # One discriminator step and one generator step

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.amp_bf16)

    def _real_batch(self) -> torch.Tensor:
        return next(self.batches).to(self.device, non_blocking=True)

    def discriminator_step(self) -> None:
        """One Adam step on ``L_D + lambda * penalty`` with a fresh real batch and fresh z."""
        cfg = self.config
        real = self._real_batch()
        z = self._uniform_z(cfg.batch_size, self.z_generator)
        with self._autocast():
            with torch.no_grad():
                fake = self.G_forward(z)
            logits = self.D_forward(torch.cat([real, fake.to(real.dtype)]))
            d_real, d_fake = logits.float().split(real.shape[0])
            gan_loss = discriminator_loss(cfg.loss, d_real, d_fake)
            if cfg.penalty == "none":
                penalty = torch.zeros((), device=self.device)
                loss = gan_loss
            else:
                penalty = discriminator_penalty(
                    cfg.penalty, self.D, real, fake.to(real.dtype), self.penalty_generator
                ).float()
                loss = gan_loss + cfg.lambda_value * penalty
        self._check_finite(loss, "discriminator")
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()
        self._record(
            **{
                "loss/d": loss.detach(),
                "loss/d_gan": gan_loss.detach(),
                "loss/penalty": penalty.detach(),
                "grad_norm/d": _gradient_norm(list(self.D.parameters())),
            }
        )

    def generator_step(self) -> None:
        """One Adam step on ``L_G`` with its own real batch and z (compare_gan's G sub step)."""
        cfg = self.config
        real = self._real_batch()
        z = self._uniform_z(cfg.batch_size, self.z_generator)
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                fake = self.G_forward(z)
                logits = self.D_forward(torch.cat([real, fake.to(real.dtype)]))
                d_fake = logits.float()[real.shape[0] :]
                loss = generator_loss(cfg.loss, d_fake)
            self._check_finite(loss, "generator")
            self.g_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.g_optimizer.step()
        finally:
            self.D.requires_grad_(True)
        self.g_steps += 1
        self._update_ema()
        self._record(
            **{"loss/g": loss.detach(), "grad_norm/g": _gradient_norm(list(self.G.parameters()))}
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
    # Losses, logging and non-finite values

    def _new_window(self) -> dict[str, Any]:
        return {"sums": {}, "counts": {}, "start_step": self.step, "time": time.perf_counter()}

    def _record(self, **values: torch.Tensor) -> None:
        sums, counts = self._window["sums"], self._window["counts"]
        for name, value in values.items():
            sums[name] = sums[name] + value if name in sums else value
            counts[name] = counts.get(name, 0) + 1

    def _check_finite(self, loss: torch.Tensor, which: str) -> None:
        # On the CPU the check is free, so it runs before the update touches the weights; on an
        # accelerator the flag is read at the next logging/checkpoint point to avoid a sync.
        if self.device.type == "cpu":
            value = float(loss.detach())
            if not math.isfinite(value):
                self._diverged(f"{which} loss is {value}")
        else:
            flag = ~torch.isfinite(loss.detach())
            self._nonfinite = flag if self._nonfinite is None else self._nonfinite | flag

    def _raise_if_nonfinite(self) -> None:
        if self._nonfinite is not None and bool(self._nonfinite):
            self._diverged(f"a loss became non-finite after step {self._window['start_step']}")

    def _diverged(self, what: str) -> None:
        last = (
            f"the last good checkpoint is {self.last_checkpoint}"
            if self.last_checkpoint is not None
            else "no checkpoint was saved yet"
        )
        raise TrainingDiverged(
            f"{self.run_dir}: step {self.step + 1}: {what}; training diverged and stopped, {last} "
            "(try a smaller --lr or a different seed)"
        )

    def _log(self) -> None:
        window = self._window
        seconds = time.perf_counter() - window["time"]
        steps = self.step - window["start_step"]
        values = {
            name: float(total) / window["counts"][name] for name, total in window["sums"].items()
        }
        values["perf/steps_per_sec"] = steps / seconds if seconds > 0 else 0.0
        if any(not math.isfinite(v) for v in values.values()):
            self._diverged("a loss or gradient norm became non-finite")
        self.logger.scalars(self.step, values)
        self._window = self._new_window()

    # ----------------------------------------------------------------------------------------
    # Samples, evaluation, checkpoints

    def sampling_generator(self) -> nn.Module:
        """The generator that samples and exports use: the EMA copy when enabled."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> np.ndarray:
        """uint8 images (N, 3, H, W) for ``z``, with G in inference mode; RNG states untouched."""
        generator = self.sampling_generator()
        was_training = generator.training
        generator.eval()
        try:
            with preserved_global_rng(), self._autocast():
                chunks = [images_to_uint8(generator(c)) for c in z.split(GENERATION_BATCH)]
        finally:
            generator.train(was_training)
        return np.concatenate(chunks)

    def save_samples(self) -> Path:
        return self.logger.samples(self.step, self.generate(self.sample_z))

    def evaluate(self) -> dict[str, Any]:
        """FID/IS/KID (+MS-SSIM) at the protocol counts; appended to scores.jsonl (section 4).

        The generated side is the sampling generator handed to ``ganmetrics.evaluate`` as a
        module with ``seed=config.seed``: the very images (same z stream, same uint8 conversion)
        that ``ganmetrics eval --fake RUN_DIR/generator.pt --seed SEED --num N`` scores.
        """
        self._raise_if_nonfinite()
        evaluate = _ganmetrics_evaluate()
        cfg = self.config
        generator = self.sampling_generator()
        was_training = generator.training
        try:
            with preserved_global_rng():
                result = evaluate(
                    self.test_source,
                    generator,
                    metrics=tuple(cfg.eval_metrics),
                    num_real=cfg.eval_num_real,
                    num_fake=cfg.eval_num_fake,
                    seed=cfg.seed,
                    z_dim=cfg.z_dim,
                    device=str(self.device),
                    cache=True,
                    progress=False,
                )
        finally:
            generator.train(was_training)
        metrics = {k: _plain(v) for k, v in result.items() if k != "meta"}
        record = {
            "step": self.step,
            "time": time.time(),
            "elapsed_s": round(self.elapsed(), 3),
            "metrics": metrics,
            "meta": _plain(result.get("meta", {})),
            "config_hash": self.config_hash,
            "config_path": str(self.run_dir / "config.json"),
        }
        self.logger.scores(record)
        self.last_scores = record
        fid = metrics.get("fid")
        improved = self.best_fid is None or (isinstance(fid, float) and fid < self.best_fid)
        if isinstance(fid, float) and math.isfinite(fid) and improved:
            self.best_fid, self.best_step = fid, self.step
            self._save(ckpt.best_checkpoint_path(self.run_dir))
        self.logger.info(
            f"step {self.step}: "
            + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
        )
        return record

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._start_time

    def state_dict(self) -> dict[str, Any]:
        """Everything :meth:`_load_state` needs to continue exactly here."""
        return {
            "step": self.step,
            "g_steps": self.g_steps,
            "data_next_batch": self.batches.next_batch,
            "config": self.config.to_dict(),
            "config_hash": self.config_hash,
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "generator_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "generator_config": dict(self.G.config),
            "discriminator_config": dict(self.D.config),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "rng": ckpt.capture_rng_state(self._generators()),
            "best": {"fid": self.best_fid, "step": self.best_step},
            "elapsed_s": self.elapsed(),
        }

    def _generators(self) -> dict[str, torch.Generator]:
        return {"z": self.z_generator, "penalty": self.penalty_generator}

    def _load_state(self, state: dict[str, Any]) -> int:
        if state["config_hash"] != self.config_hash:
            raise InputError(
                f"{self.last_checkpoint}: written by a run with config hash "
                f"{state['config_hash']}, not {self.config_hash}; resume with the run's own config"
            )
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["generator_ema"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        ckpt.restore_rng_state(state["rng"], self._generators())
        self.step = int(state["step"])
        self.g_steps = int(state["g_steps"])
        self.best_fid = state["best"]["fid"]
        self.best_step = state["best"]["step"]
        self.elapsed_before = float(state["elapsed_s"])
        self.last_scores = _last_score_at(self.run_dir / "scores.jsonl", self.step)
        return int(state["data_next_batch"])

    def _recover_best(self) -> None:
        """Take the best FID from ``best.pt`` if it is better than the checkpoint's record."""
        path = ckpt.best_checkpoint_path(self.run_dir)
        if not path.is_file():
            return
        with contextlib.suppress(InputError, KeyError):
            best = ckpt.load_checkpoint(path)["best"]
            if best["fid"] is not None and (self.best_fid is None or best["fid"] < self.best_fid):
                self.best_fid, self.best_step = best["fid"], best["step"]

    def _save(self, path: Path) -> None:
        self._raise_if_nonfinite()
        state = self.state_dict()
        try:
            ckpt.save_checkpoint(path, state)
        except ValueError as exc:
            self._diverged(str(exc))

    def save_checkpoint(self) -> Path:
        path = ckpt.checkpoint_path(self.run_dir, self.step)
        self._save(path)
        self.last_checkpoint = path
        ckpt.prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        return path

    # ----------------------------------------------------------------------------------------
    # The loop

    def run(self, until_step: int | None = None) -> None:
        """Train until ``until_step`` (default: ``config.steps``) discriminator steps."""
        cfg = self.config
        end = cfg.steps if until_step is None else min(until_step, cfg.steps)
        if self.step == 0 and cfg.sample_every:
            self.save_samples()
        while self.step < end:
            self.discriminator_step()
            self.step += 1
            if self.step % cfg.n_disc == 0:
                self.generator_step()
            self.logger.advance()

            if self.step % cfg.log_every == 0:
                self._raise_if_nonfinite()
                self._log()
            if cfg.sample_every and self.step % cfg.sample_every == 0:
                self.save_samples()
            if cfg.eval_every and self.step % cfg.eval_every == 0:
                self.evaluate()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()

    def finish(self) -> RunResult:
        """At the last step: final evaluation, checkpoint, samples, ``generator.pt``, done.json."""
        cfg = self.config
        self._raise_if_nonfinite()
        if self._window["counts"]:
            self._log()
        if cfg.sample_every and self.step % cfg.sample_every:
            self.save_samples()
        evaluated = self.last_scores is not None and self.last_scores["step"] == self.step
        if cfg.eval_every and not evaluated:
            self.evaluate()
        if self.last_checkpoint is None or self.last_checkpoint != ckpt.checkpoint_path(
            self.run_dir, self.step
        ):
            self.save_checkpoint()
        generator_path = self.run_dir / "generator.pt"
        with preserved_global_rng():
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
        deterministic, benchmark, cudnn_deterministic = self._previous_determinism
        torch.use_deterministic_algorithms(deterministic)
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = cudnn_deterministic


def _ganmetrics_evaluate():
    try:
        from ganmetrics import evaluate
    except ImportError:
        from ganmetrics.api import evaluate
    return evaluate


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy/torch scalars to Python numbers, unknown objects to strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    tensorboard: bool = True,
) -> RunResult:
    """Train one run to ``config.steps`` discriminator steps (resuming it with ``resume``)."""
    trainer = Trainer(
        config, resume=resume, overwrite=overwrite, progress=progress, tensorboard=tensorboard
    )
    try:
        trainer.run()
        return trainer.finish()
    finally:
        trainer.close()


def run_status(run_dir: str | Path) -> dict[str, Any]:
    """Whether a run folder is finished, and its FIDs (for sweeps and summaries)."""
    run_dir = Path(run_dir)
    done_path = run_dir / "done.json"
    status: dict[str, Any] = {"run_dir": str(run_dir), "done": done_path.is_file()}
    records = read_jsonl(run_dir / SCORES_NAME)
    fids = [
        (int(r["step"]), float(r["metrics"]["fid"]))
        for r in records
        if isinstance(r.get("metrics", {}).get("fid"), int | float)
    ]
    status["final_fid"] = fids[-1][1] if fids else None
    status["final_step"] = fids[-1][0] if fids else None
    status["best_fid"] = min(f for _, f in fids) if fids else None
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `ganmetrics-train run` (python -m ganmetrics_train run)")
