"""Evaluation while training: FID/IS/KID (+MS-SSIM) of the generator against the test split.

"The GAN Landscape" (Kurach, Lucic et al. 2019, section 4) scores a model by FID between test
images and generated images (10k/10k on CIFAR10 and LSUN-BEDROOM, 3k/3k on CELEBA-HQ-128, counts in
:mod:`ganmetrics.protocols`). :class:`RunEvaluation` holds ONE :class:`ganmetrics.Stream` for a
run, the path that users' own training loops take too: the Inception network is loaded once, the
test split's features are computed (or read from the cache) once and kept, and each evaluation
feeds the generated images and calls ``compute()``, which ends in the metric stage of
:func:`ganmetrics.evaluate`.

The generated side is the sampling generator handed to the evaluator as a module with
``seed=config.seed``, under the data set's study protocol (unrounded float images for CIFAR-10,
CelebA-HQ-128 and LSUN, as compare_gan scored them): the very images that
``ganmetrics eval --fake RUN_DIR/generator.pt --seed SEED --num N --protocol DATASET`` scores.
Every random state of training is left untouched
(:func:`ganmetrics_train.checkpoint.preserved_global_rng`).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics_train.checkpoint import preserved_global_rng
from ganmetrics_train.config import TrainConfig

#: Images generated per forward pass when sampling for grids.
GENERATION_BATCH = 250
#: Images the procedural judge scores at each evaluation (numpy, a fraction of a second at 32 px).
JUDGE_IMAGES = 512


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output in [0, 1] to uint8 (N, 3, H, W): ``round(255 x)`` after clipping."""
    return images.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu().numpy()


@torch.no_grad()
def generate_uint8(
    generator: nn.Module, z: torch.Tensor, autocast: contextlib.AbstractContextManager
) -> np.ndarray:
    """uint8 images (N, 3, H, W) for ``z``, with G in inference mode; random states untouched."""
    was_training = generator.training
    generator.eval()
    try:
        with preserved_global_rng(), autocast:
            chunks = [images_to_uint8(generator(c)) for c in z.split(GENERATION_BATCH)]
    finally:
        generator.train(was_training)
    return np.concatenate(chunks)


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy/torch scalars to Python numbers, unknown objects to strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def missing_weights_message(problem: str) -> str:
    """The one line that says how to get past missing Inception weights while training."""
    from ganmetrics.inception import OFFLINE_ROUTE

    problem = problem.removesuffix(f"; {OFFLINE_ROUTE}")  # said below, in the trainer's words
    return (
        f"{problem.rstrip('.')}; evaluation while training needs them: pass "
        "--inception-weights PATH (inception_weights in the config), or --eval-every 0 to train "
        "without evaluation, or write stand-in weights with `ganmetrics make-test-weights PATH` "
        "(scores then not comparable with papers)"
    )


def judge_metrics(config: TrainConfig, generator: nn.Module) -> dict[str, Any]:
    """The procedural judge's scores of ``generator`` as ``judge_*`` metrics; {} for other data.

    :func:`ganmetrics.judge_procedural` on :data:`JUDGE_IMAGES` images from a fixed ``z`` (seeded
    by the run's seed), so successive evaluations judge the same noise.
    """
    if config.dataset != "procedural":
        return {}
    from ganmetrics.datasets.procedural_judge import judge_procedural
    from ganmetrics_train.objectives import uniform_z

    z = uniform_z(
        JUDGE_IMAGES, config.z_dim, torch.Generator().manual_seed(int(config.seed) + 0x5EED)
    )
    device = next(generator.parameters()).device
    images = generate_uint8(generator, z.to(device), contextlib.nullcontext())
    num_modes = int(config.dataset_options.get("num_modes", 4))
    scores = judge_procedural(images, num_modes=num_modes)
    return {
        "judge_quality": scores.quality,
        "judge_modes": scores.modes,
        "judge_coverage": scores.coverage,
        "judge_colour_fd": scores.colour_fd,
    }


class RunEvaluation:
    """The test split, the run's one :class:`ganmetrics.Stream`, and how to score a generator."""

    def __init__(self, config: TrainConfig, progress: bool = False):
        self.config = config
        self.progress = progress
        self._test_source = None
        self._settings = None
        self._stream = None

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

    @property
    def settings(self):
        """The evaluation settings of the run (the data set's study protocol and estimators)."""
        if self._settings is None:
            from ganmetrics.protocols import PROTOCOLS
            from ganmetrics.settings import EvalSettings

            cfg = self.config
            self._settings = EvalSettings(
                # the study's estimators for its data sets (section 4; compare_gan's conventions)
                protocol=cfg.dataset if cfg.dataset in PROTOCOLS else "custom",
                metrics=tuple(cfg.eval_metrics),
                num_real=cfg.eval_num_real,
                num_fake=cfg.eval_num_fake,
                seed=cfg.seed,
                z_dim=cfg.z_dim,
                inception_weights=cfg.inception_weights,
                device=cfg.device,
                cache=True,
                progress=self.progress,
            )
        return self._settings

    @property
    def stream(self):
        """The run's stream; the test split's features are held from the first evaluation on."""
        if self._stream is None:
            from ganmetrics.stream import Stream

            stream = Stream(settings=self.settings)
            if stream.settings.needs_real():
                stream.set_real(self.test_source)
            self._stream = stream
        return self._stream

    def check_inputs(self) -> None:
        """Fail before training, not at the first evaluation: test split and Inception weights."""
        from ganmetrics.inception import resolve_weights_path

        cfg = self.config
        available = len(self.test_source)
        if available < cfg.eval_num_real:
            raise InputError(
                f"{self.test_source.description}: {available} test images, fewer than "
                f"eval_num_real={cfg.eval_num_real}; pass --eval-num-real {available} or less"
            )
        try:
            resolve_weights_path(cfg.inception_weights)
        except InputError as exc:
            raise InputError(missing_weights_message(str(exc))) from None

    def compute(self, generator: nn.Module) -> dict[str, Any]:
        """The stream's result for ``generator`` (scores and ``meta``): the images that
        ``ganmetrics eval --fake generator.pt --seed SEED --num N`` scores, fed batch by batch."""
        stream = self.stream
        stream.reset()
        stream.update_from(generator, num=stream.settings.num_fake)
        return stream.compute()

    def score(self, generator: nn.Module, step: int, announce) -> dict[str, Any]:
        """Evaluate ``generator`` at ``step``; the ``scores.jsonl`` record (without run fields).

        ``announce`` prints a status line first, so that a progress bar that stops moving while
        the networks run says why.
        """
        cfg = self.config
        announce(
            f"step {step}: evaluating {', '.join(cfg.eval_metrics)} on {cfg.eval_num_real} test "
            f"and {cfg.eval_num_fake} generated images"
        )
        started = time.perf_counter()
        was_training = generator.training
        try:
            with preserved_global_rng():
                result = self.compute(generator)
        finally:
            generator.train(was_training)
        metrics = {k: plain(v) for k, v in result.items() if k != "meta"}
        metrics.update(judge_metrics(cfg, generator))
        return {
            "step": step,
            "time": time.time(),
            "eval_s": round(time.perf_counter() - started, 3),
            "metrics": metrics,
            "meta": plain(result.get("meta", {})),
        }
