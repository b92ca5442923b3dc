"""How fast a training iteration runs: optimizer kernels, determinism and a FLOP count.

:func:`iteration_flops` counts the floating-point operations of one iteration (one D step and one
G step) with :class:`torch.utils.flop_counter.FlopCounterMode`, so that a benchmark can report the
achieved TFLOP/s against the dense peak of the precision used (issue 6; ``bench/``). It runs the
trainer's own objectives (:func:`ganmetrics_train.objectives.discriminator_objective`,
:func:`~ganmetrics_train.objectives.generator_objective`) on fresh networks, forward and backward.

Training may use TF32 or bf16 (``--amp-bf16``); nothing here changes the precision settings that
feature extraction for metrics uses, which :mod:`ganmetrics.features` sets around its own pass.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ganmetrics_train.config import TrainConfig


def make_adam(parameters: list[nn.Parameter], cfg: TrainConfig) -> torch.optim.Adam:
    """Adam (section 2.6); the fused CUDA kernel when every parameter is a CUDA float32 tensor."""
    fused = bool(parameters) and all(p.is_cuda and p.dtype == torch.float32 for p in parameters)
    options = {"fused": True} if fused else {}
    return torch.optim.Adam(parameters, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **options)


def set_determinism(enabled: bool) -> tuple[bool, bool, bool]:
    """Deterministic kernels (or cuDNN autotuning); returns the previous settings to restore."""
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        restore_determinism((True, False, True))
    else:
        torch.backends.cudnn.benchmark = True
    return previous


def restore_determinism(settings: tuple[bool, bool, bool]) -> None:
    deterministic, benchmark, cudnn_deterministic = settings
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = benchmark
    torch.backends.cudnn.deterministic = cudnn_deterministic


def iteration_flops(config: TrainConfig, batch_size: int = 64) -> dict[str, int]:
    """FLOPs of one D step and one G step of ``config`` (resolved) at ``batch_size``.

    Returns ``{"d_step": ..., "g_step": ..., "iteration": ...}`` (forward + backward, as counted by
    ``FlopCounterMode``; the optimizer's elementwise updates are not matrix FLOPs and count 0).
    The networks are built on ``config.device`` from a fixed seed; no random state is changed.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from ganmetrics_train.checkpoint import preserved_global_rng
    from ganmetrics_train.models import build_networks
    from ganmetrics_train.objectives import discriminator_objective, generator_objective, uniform_z

    cfg = config
    device = torch.device(cfg.device)
    with preserved_global_rng():
        torch.manual_seed(0)
        G, D = build_networks(cfg, device)
        noise = torch.Generator(device).manual_seed(0)
        real = torch.rand(batch_size, 3, cfg.image_size, cfg.image_size, device=device)
        z = uniform_z(batch_size, cfg.z_dim, noise)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp_bf16)
        counts = {}
        with FlopCounterMode(display=False) as counter:
            with autocast:
                loss, _, _ = discriminator_objective(cfg, G, D, real, z, noise)
            loss.backward()
        counts["d_step"] = int(counter.get_total_flops())
        D.requires_grad_(False)
        g_real = None if cfg.disc_calls == "split" else real
        with FlopCounterMode(display=False) as counter:
            with autocast:
                loss = generator_objective(cfg, G, D, z, g_real)
            loss.backward()
        counts["g_step"] = int(counter.get_total_flops())
    counts["iteration"] = counts["d_step"] + counts["g_step"]
    return counts
