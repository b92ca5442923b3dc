"""GAN losses of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.1), as in compare_gan.

Every function takes the discriminator's raw outputs (logits), shape (N,) (any shape works: the
losses are means over all elements), and returns a scalar tensor to be *minimised*.

Reference code: google/compare_gan ``compare_gan/gans/loss_lib.py`` (non-saturating, Wasserstein,
least-squares, hinge) and, for the minimax generator loss that loss_lib no longer carries, the
earlier ``compare_gan/src/gans/GAN.py`` (``GAN_MINMAX``: ``g_loss = -d_loss_fake``).

The log-sigmoid terms use ``softplus`` so that they stay finite for any logit:
``-log σ(t) = softplus(-t)`` and ``-log(1 - σ(t)) = softplus(t)``; this is what TensorFlow's
``sigmoid_cross_entropy_with_logits`` (used by compare_gan) computes.

Least squares follows the code, not the paper's printed formula: section 2.1 writes
``L_D = -E[(D(x) - 1)^2] + E[D(x̂)^2]`` (the minus sign is a typo) and omits the factor 1/2;
compare_gan applies the squares to the sigmoid *output* ``σ(logit)`` and halves both losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganmetrics.errors import InputError
from ganmetrics_train.choices import LOSSES

__all__ = ["LOSSES", "discriminator_loss", "generator_loss"]


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise InputError(f"loss {loss!r} is not known; choose one of {', '.join(LOSSES)}")


def discriminator_loss(loss: str, d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Discriminator loss L_D from D's logits on real (``d_real``) and generated (``d_fake``) data.

    - ``ns`` and ``minimax`` (Goodfellow et al. 2014; "The GAN Landscape" section 2.1):
      ``-E log σ(D(x)) - E log(1 - σ(D(x̂)))``.
    - ``wgan`` (Arjovsky et al. 2017): ``-E D(x) + E D(x̂)``.
    - ``ls`` (Mao et al. 2016, as compare_gan): ``½ (E (σ(D(x)) - 1)² + E σ(D(x̂))²)``.
    - ``hinge`` (Miyato et al. 2018): ``E relu(1 - D(x)) + E relu(1 + D(x̂))``.
    """
    _check_loss(loss)
    if loss in ("ns", "minimax"):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if loss == "wgan":
        return -d_real.mean() + d_fake.mean()
    if loss == "ls":
        real_term = (torch.sigmoid(d_real) - 1.0).square().mean()
        fake_term = torch.sigmoid(d_fake).square().mean()
        return 0.5 * (real_term + fake_term)
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def generator_loss(loss: str, d_fake: Tensor) -> Tensor:
    """Generator loss L_G from D's logits on generated images (``d_fake``).

    - ``ns`` (non-saturating): ``-E log σ(D(x̂))``.
    - ``minimax``: ``E log(1 - σ(D(x̂)))``, the negated fake term of L_D.
    - ``wgan`` and ``hinge``: ``-E D(x̂)``.
    - ``ls`` (as compare_gan): ``½ E (σ(D(x̂)) - 1)²``.
    """
    _check_loss(loss)
    if loss == "ns":
        return F.softplus(-d_fake).mean()
    if loss == "minimax":
        return -F.softplus(d_fake).mean()
    if loss == "ls":
        return 0.5 * (torch.sigmoid(d_fake) - 1.0).square().mean()
    return -d_fake.mean()
