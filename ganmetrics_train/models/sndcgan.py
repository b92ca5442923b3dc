"""SNDCGAN of "The GAN Landscape" (Kurach, Lucic et al. 2019), Table 3 and Appendix C.1.

The eight-layer discriminator and four-deconvolution generator of Miyato et al. (2018), exactly as
compare_gan's paper-era ``compare_gan/src/gans/dcgan_architecture.py`` (``sn_generator``,
``sn_discriminator``) builds them:

Generator (``sn_generator``): ``g_fc1`` linear z -> (h/8)(w/8)512, ``g_bn1`` batch norm on the
*flat* linear output (per feature, epsilon 2e-5), ReLU, reshape to h/8 x w/8 x 512; three 4x4/2 SAME
deconvolutions to 256, 128, 64 channels, each followed by batch norm (epsilon 2e-5) and ReLU; a
3x3/1 deconvolution to 3 channels; tanh; ``(x + 1) / 2`` so images are in [0, 1].
Deconvolution and linear weights ~ N(0, 0.02**2), biases 0; batch norm decay 0.9.

Discriminator (``sn_discriminator``): input mapped from [0, 1] to [-1, 1] (``x * 2 - 1``); seven
SAME convolutions 3x3/1 64, 4x4/2 128, 3x3/1 128, 4x4/2 256, 3x3/1 256, 4x4/2 512, 3x3/1 512, each
followed by leaky ReLU with slope 0.1; flatten; linear to one logit. Weights ~ N(0, 0.02**2)
(``initializer=tf.random_normal_initializer``). compare_gan's SNDCGAN discriminator contains no
normalization layer: ``gans_with_penalty.py`` asserts its normalization is spectral norm or none,
so "bn" and "ln" are refused for this architecture
(:func:`ganmetrics_train.models.validate_architecture`).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ganmetrics_train.models.dcgan import (
    convolution_row,
    deconvolution_row,
    logit_row,
    output_row,
    scaled,
    seed_row,
)
from ganmetrics_train.models.normalization import normalization_scheme

SNDCGAN_GENERATOR_BN_EPSILON = 2e-5
"""``sn_generator`` calls ``batch_norm_dcgan(..., epsilon=2e-5)`` (Chainer's default)."""
SNDCGAN_LEAK = 0.1
"""Slope of every leaky ReLU in the SNDCGAN discriminator (Appendix C.1)."""
SNDCGAN_DISCRIMINATOR_LAYERS = (
    (3, 1, 64),
    (4, 2, 128),
    (3, 1, 128),
    (4, 2, 256),
    (3, 1, 256),
    (4, 2, 512),
    (3, 1, 512),
)
"""(kernel, stride, channels) of the seven convolutions of Table 3a."""
SNDCGAN_GENERATOR_DECONVOLUTIONS = ((4, 2, 256), (4, 2, 128), (4, 2, 64))
"""(kernel, stride, channels) of the "Deconv, BN, ReLU" rows of Table 3b."""


class SNDCGANGenerator(nn.Module):
    """SNDCGAN generator (Table 3b): ``forward(z)`` with z of shape (N, z_dim) -> images in [0, 1].

    ``rows`` holds one module per row of Table 3b; the last row ends in tanh and ``forward`` maps
    its output to [0, 1] with ``(x + 1) / 2``. ``norm`` is "bn" (the table), "none" (batch norms
    removed) or "wn" (Xiang & Li: strict weight-normalized layers with translated ReLUs, the
    last deconvolution an affine weight-normalized layer).
    """

    def __init__(
        self, image_size: int, z_dim: int = 128, norm: str = "bn", width: float = 1.0
    ) -> None:
        super().__init__()
        scheme = normalization_scheme(norm)
        epsilon = SNDCGAN_GENERATOR_BN_EPSILON
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        channels = scaled(512, width)
        rows["linear_bn_relu"] = seed_row(scheme, z_dim, image_size // 8, epsilon, True, channels)
        for index, (kernel, stride, out_channels) in enumerate(SNDCGAN_GENERATOR_DECONVOLUTIONS):
            out_channels = scaled(out_channels, width)
            rows[f"deconv{index + 1}_bn_relu"] = deconvolution_row(
                scheme, channels, out_channels, kernel, stride, epsilon
            )
            channels = out_channels
        rows["deconv_tanh"] = output_row(scheme, channels, 3, 1)
        self.rows = nn.Sequential(rows)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.rows(z) + 1.0) / 2.0


class SNDCGANDiscriminator(nn.Module):
    """SNDCGAN discriminator (Table 3a): ``forward(x)`` with x in [0, 1] -> logits of shape (N,).

    The input is mapped to [-1, 1] first, as compare_gan does. ``norm`` is "none", "sn" (spectral
    norm on every convolution kernel and the linear weight) or "wn" (Xiang & Li: strict
    weight-normalized convolutions with translated leaky ReLUs, an affine weight-normalized linear
    layer).
    """

    def __init__(self, image_size: int, norm: str = "none", width: float = 1.0) -> None:
        super().__init__()
        scheme = normalization_scheme(norm)
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        channels = 3
        for index, (kernel, stride, out_channels) in enumerate(SNDCGAN_DISCRIMINATOR_LAYERS):
            out_channels = scaled(out_channels, width)
            rows[f"conv{index + 1}_lrelu"] = convolution_row(
                scheme, channels, out_channels, kernel, stride, "normal", SNDCGAN_LEAK
            )
            channels = out_channels
        bottom = image_size // 8
        rows["linear"] = logit_row(scheme, bottom * bottom * channels)
        self.rows = nn.Sequential(rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rows(x * 2.0 - 1.0).squeeze(1)
