"""The objectives of one training step: ``L_D + lambda * penalty`` and ``L_G`` on the networks.

"The GAN Landscape" (Kurach, Lucic et al. 2019), section 2: a loss of section 2.1 on D's logits
(:mod:`ganmetrics_train.losses`) plus a penalty of section 2.2
(:mod:`ganmetrics_train.penalties`), with D called on real and fake batches separately ("split",
compare_gan df8998c) or on their concatenation ("concat", compare_gan v3). The loop
(:mod:`ganmetrics_train.train`) and the FLOP count (:mod:`ganmetrics_train.performance`) both call
these, so what is timed is what is trained.
"""

from __future__ import annotations

import torch
from torch import nn

from ganmetrics_train.config import TrainConfig
from ganmetrics_train.losses import discriminator_loss, generator_loss
from ganmetrics_train.penalties import discriminator_penalty


def uniform_z(count: int, z_dim: int, generator: torch.Generator) -> torch.Tensor:
    """``z ~ U(-1, 1)^z_dim`` as compare_gan's ``z_generator`` (``np.random.uniform(-1, 1)``)."""
    return torch.rand(count, z_dim, generator=generator, device=generator.device) * 2 - 1


def discriminator_objective(
    cfg: TrainConfig,
    G: nn.Module,
    D: nn.Module,
    real: torch.Tensor,
    z: torch.Tensor,
    penalty_generator: torch.Generator | None,
    D_penalty: nn.Module | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(``L_D + lambda * penalty``, ``L_D``, penalty) for one real batch and one z."""
    with torch.no_grad():
        fake = G(z).to(real.dtype)
    if cfg.disc_calls == "split":
        d_real, d_fake = D(real).float(), D(fake).float()
    else:
        d_real, d_fake = D(torch.cat([real, fake])).float().split(real.shape[0])
    gan_loss = discriminator_loss(cfg.loss, d_real, d_fake)
    if cfg.penalty == "none":
        return gan_loss, gan_loss, torch.zeros((), device=gan_loss.device)
    penalty = discriminator_penalty(
        cfg.penalty, D_penalty or D, real, fake, penalty_generator
    ).float()
    return gan_loss + cfg.lambda_value * penalty, gan_loss, penalty


def generator_objective(
    cfg: TrainConfig, G: nn.Module, D: nn.Module, z: torch.Tensor, real: torch.Tensor | None
) -> torch.Tensor:
    """``L_G`` for ``z``: D on the fake batch alone ("split"), or on ``concat(real, fake)``."""
    fake = G(z)
    if real is None:
        return generator_loss(cfg.loss, D(fake).float())
    logits = D(torch.cat([real, fake.to(real.dtype)])).float()
    return generator_loss(cfg.loss, logits[real.shape[0] :])


__all__ = ["discriminator_objective", "generator_objective", "uniform_z"]
