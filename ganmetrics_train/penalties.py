"""Discriminator penalties of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.2).

``discriminator_penalty`` returns the bare penalty; the trainer adds ``λ · penalty`` to the
discriminator loss, as compare_gan's ``ModularGAN.create_loss`` does
(``self.d_loss += self._lambda * penalty_loss``).

Reference code: google/compare_gan ``compare_gan/gans/penalty_lib.py`` (``wgangp_penalty``,
``dragan_penalty``, ``l2_penalty``), identical in substance to the penalties of
``compare_gan/src/gans/gans_with_penalty.py`` that the paper's study ran.

Images are (N, C, H, W) in [0, 1]; the discriminator maps them to logits of shape (N,). Gradient
penalties differentiate the logits (not the sigmoid output) with respect to the input, with
``create_graph=True`` so that the penalty back-propagates into the discriminator's parameters. The
points where the gradient is taken are detached leaves: like compare_gan (which only updates D's
variables with the D loss), no gradient flows from a penalty into the generator.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganmetrics.errors import InputError
from ganmetrics_train.choices import PENALTIES

#: Added under the square root of the gradient norm, as in compare_gan (``tf.sqrt(0.0001 + ...)``).
SLOPE_EPSILON = 1e-4

_NORMALIZATION_LAYERS = (
    nn.modules.batchnorm._NormBase,  # BatchNorm*d, InstanceNorm*d, SyncBatchNorm
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
)


def discriminator_penalty(
    penalty: str,
    discriminator: nn.Module,
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The penalty ``penalty`` of ``discriminator`` on this batch: a scalar, not multiplied by λ.

    - ``none``: zero.
    - ``gp``: WGAN-GP (Gulrajani et al. 2017), see :func:`gradient_penalty`.
    - ``dragan``: DRAGAN (Kodali et al. 2017) as compare_gan, see :func:`dragan_penalty`.
    - ``l2``: mean over D's weight matrices and kernels of ``½‖W‖²``, see :func:`l2_penalty`.
    - ``r1``: R1 (Mescheder et al. 2018) without the ``γ/2`` factor, see :func:`r1_penalty`.

    ``generator`` seeds the random draws (interpolation weights, DRAGAN noise); it may live on the
    CPU while the tensors live on an accelerator.
    """
    if penalty not in PENALTIES:
        raise InputError(f"penalty {penalty!r} is not known; choose one of {', '.join(PENALTIES)}")
    if penalty == "none":
        return torch.zeros((), device=real.device, dtype=real.dtype)
    if penalty == "gp":
        return gradient_penalty(discriminator, real, fake, generator)
    if penalty == "dragan":
        return dragan_penalty(discriminator, real, generator)
    if penalty == "l2":
        return l2_penalty(discriminator)
    return r1_penalty(discriminator, real)


def _uniform(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """U[0, 1) draws of ``shape`` with ``like``'s dtype and device, taken from ``generator``."""
    device = like.device if generator is None else generator.device
    draws = torch.rand(shape, generator=generator, device=device, dtype=like.dtype)
    return draws.to(like.device)


def _input_gradient(discriminator: nn.Module, points: Tensor) -> Tensor:
    """∇_x D(x) at each of ``points`` (a leaf), kept differentiable in D's parameters."""
    logits = discriminator(points)
    (gradient,) = torch.autograd.grad(logits.sum(), points, create_graph=True)
    return gradient


def _unit_slope_penalty(discriminator: nn.Module, points: Tensor) -> Tensor:
    """``mean((√(‖∇_x D(x)‖² + 1e-4) - 1)²)`` over ``points``, as in compare_gan."""
    gradient = _input_gradient(discriminator, points)
    slopes = torch.sqrt(SLOPE_EPSILON + gradient.square().flatten(1).sum(dim=1))
    return (slopes - 1.0).square().mean()


def gradient_penalty(
    discriminator: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017, eq. 3; "The GAN Landscape" section 2.2).

    As compare_gan's ``wgangp_penalty``: one ``α ~ U[0, 1)`` per sample (the first N draws of
    ``generator``), ``x̃ = x + α (x̂ - x)`` (α weighs the *fake* image), and
    the batch mean of ``(√(‖∇_x̃ D(x̃)‖² + 1e-4) - 1)²``, the squared norm summed over C, H, W.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} shapes differ")
    real, fake = real.detach(), fake.detach()
    alpha = _uniform((real.shape[0],) + (1,) * (real.dim() - 1), real, generator)
    interpolates = (real + alpha * (fake - real)).requires_grad_(True)
    return _unit_slope_penalty(discriminator, interpolates)


def dragan_penalty(
    discriminator: nn.Module, real: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """DRAGAN (Kodali et al. 2017) exactly as compare_gan's ``dragan_penalty``.

    ``x_noisy = clip(x + std · (U[0, 1) - 0.5), 0, 1)`` with one uniform draw per element (the
    noise has the shape of the batch) and ``std`` the population standard deviation of *all* values
    of the real batch (``tf.nn.moments`` over every axis); then the same
    ``mean((√(‖∇ D(x_noisy)‖² + 1e-4) - 1)²)`` as WGAN-GP. There is no interpolation with α.

    compare_gan's older standalone ``src/gans/DRAGAN.py`` (not used by "The GAN Landscape")
    differed: ``x_p = x + 0.5 · std · U[0, 1)``, an α-interpolation between x and x_p, no clipping,
    and the gradient of the sigmoid output.
    """
    real = real.detach()
    std = real.std(correction=0)
    noise = _uniform(tuple(real.shape), real, generator)
    noisy = (real + std * (noise - 0.5)).clamp(0.0, 1.0).requires_grad_(True)
    return _unit_slope_penalty(discriminator, noisy)


def penalized_weights(discriminator: nn.Module) -> list[Tensor]:
    """The weight matrices and kernels that the L2 penalty covers.

    compare_gan keeps the discriminator's trainable variables named ``.../kernel`` (every dense,
    conv and deconv kernel, including projection embeddings; never biases, batch/layer-norm scales
    and offsets, or spectral-norm power-iteration vectors). The PyTorch analogue here: every
    parameter with two or more dimensions, excluding the parameters of normalisation layers
    (BatchNorm, InstanceNorm, LayerNorm, GroupNorm), whose scales can be multi-dimensional. Under
    spectral normalisation the raw kernel is a parameter (``weight_orig`` or
    ``parametrizations.weight.original``) and is the one penalised, as in compare_gan, where the
    kernel variable is stored un-normalised. Shared parameters count once.
    """
    weights: list[Tensor] = []
    seen: set[int] = set()
    for module in discriminator.modules():
        if isinstance(module, _NORMALIZATION_LAYERS):
            seen.update(id(parameter) for parameter in module.parameters(recurse=False))
            continue
        for parameter in module.parameters(recurse=False):
            if parameter.dim() >= 2 and id(parameter) not in seen:
                seen.add(id(parameter))
                weights.append(parameter)
    return weights


def l2_penalty(discriminator: nn.Module) -> Tensor:
    """L2 penalty ("The GAN Landscape" section 2.2) exactly as compare_gan's ``l2_penalty``.

    ``tf.reduce_mean([tf.nn.l2_loss(W) for W in kernels])``: the *mean* over the penalised weights
    (see :func:`penalized_weights`) of ``½‖W‖²`` (``tf.nn.l2_loss`` is half the sum of squares).
    """
    weights = penalized_weights(discriminator)
    if not weights:
        raise ValueError("l2 penalty: the discriminator has no weight matrix or kernel to penalise")
    return torch.stack([0.5 * weight.square().sum() for weight in weights]).mean()


def r1_penalty(discriminator: nn.Module, real: Tensor) -> Tensor:
    """R1 (Mescheder, Geiger and Nowozin 2018, "Which Training Methods for GANs do actually
    Converge?", eq. 9) *without* its ``γ/2`` factor: ``E_x ‖∇_x D(x)‖²`` over the real batch, with D
    the logit. The trainer's λ therefore plays the role of ``γ/2`` (the paper's γ = 10 is λ = 5).
    Not part of "The GAN Landscape"; offered as an extra.
    """
    points = real.detach().requires_grad_(True)
    gradient = _input_gradient(discriminator, points)
    return gradient.square().flatten(1).sum(dim=1).mean()
