"""DCGAN (Radford et al. 2016) as compare_gan defines it, an architecture of "The GAN Landscape".

The paper (Kurach, Lucic et al. 2019, section 2.3) names DCGAN as the family SNDCGAN modifies and
gives no table for it; the layers below are those of compare_gan's paper-era
``compare_gan/src/gans/dcgan_architecture.py`` (``generator``, ``discriminator``), identical in the
later ``compare_gan/architectures/dcgan.py``. With s = image size:

Generator: ``g_fc1`` linear z -> (s/16)(s/16)512; reshape to s/16 x s/16 x 512; ``g_bn1`` batch norm
(per channel); ReLU; four 5x5/2 SAME deconvolutions to 256, 128, 64 and 3 channels, the first three
followed by batch norm and ReLU; output ``0.5 * tanh(x) + 0.5`` in [0, 1]. Batch norm: decay 0.9,
epsilon 1e-5 (``batch_norm_dcgan``). Linear and deconvolution weights ~ N(0, 0.02**2), biases 0.

Discriminator: the [0, 1] image is used as is (no mapping to [-1, 1]); four 5x5/2 SAME
convolutions to 64, 128, 256, 512 channels (5x5/2 SAME pads 1 before and 2 after on even inputs),
each followed by leaky ReLU with slope 0.2 (``lrelu``'s default); batch norm (decay 0.9, epsilon
1e-5) between the convolution and the leaky ReLU of layers 2-4 when the discriminator norm is "bn";
flatten; linear to one logit. Convolution weights ~ truncated N(0, 0.02**2) (``ops.conv2d``
default), linear weights ~ N(0, 0.02**2). ``dcgan_architecture.discriminator`` asserts none, batch
norm or spectral norm, so "ln" is refused for this discriminator.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ganmetrics_train.models.layers import (
    Conv2dSame,
    ConvTranspose2dSame,
    Linear,
    LinearToFeatureMap,
)
from ganmetrics_train.models.normalization import (
    BATCH_NORM_EPSILON,
    NormalizationScheme,
    normalization_scheme,
)

DCGAN_LEAK = 0.2
"""Slope of compare_gan's ``lrelu`` default, used by every DCGAN discriminator layer."""
DCGAN_KERNEL = 5
DCGAN_GENERATOR_CHANNELS = (256, 128, 64)
DCGAN_DISCRIMINATOR_CHANNELS = (64, 128, 256, 512)


# Rows shared by DCGAN and SNDCGAN (``dcgan_architecture.py`` builds both from the same ops).


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width factor (at least 1); ``width`` 1 is the paper's network."""
    return max(1, round(channels * width))


def seed_row(
    scheme: NormalizationScheme,
    z_dim: int,
    size: int,
    epsilon: float,
    normalize_before_reshape: bool,
    channels: int = 512,
) -> nn.Module:
    """Linear z -> size x size x channels (512), batch norm (flat or per channel), ReLU."""
    features = size * size * channels
    return LinearToFeatureMap(
        Linear(z_dim, features, initialiser="normal", reparametrisation=scheme.hidden_weight),
        channels=channels,
        size=size,
        norm=scheme.make_feature_norm(features if normalize_before_reshape else channels, epsilon),
        activation=scheme.make_activation(channels),
        normalize_before_reshape=normalize_before_reshape,
    )


def deconvolution_row(
    scheme: NormalizationScheme, channels: int, out_channels: int, kernel: int, stride: int, epsilon
) -> nn.Sequential:
    """SAME deconvolution with N(0, 0.02^2) weights, batch norm, ReLU."""
    return nn.Sequential(
        ConvTranspose2dSame(
            channels,
            out_channels,
            kernel,
            stride,
            initialiser="normal",
            reparametrisation=scheme.hidden_weight,
        ),
        scheme.make_feature_norm(out_channels, epsilon),
        scheme.make_activation(out_channels),
    )


def output_row(scheme: NormalizationScheme, channels: int, kernel: int, stride: int) -> nn.Module:
    """The last deconvolution to 3 channels, then tanh."""
    return nn.Sequential(
        ConvTranspose2dSame(
            channels,
            3,
            kernel,
            stride,
            initialiser="normal",
            reparametrisation=scheme.output_weight,
        ),
        nn.Tanh(),
    )


def convolution_row(
    scheme: NormalizationScheme,
    channels: int,
    out_channels: int,
    kernel: int,
    stride: int,
    initialiser: str,
    leak: float,
    norm: nn.Module | None = None,
) -> nn.Sequential:
    """SAME convolution, optionally a normalization layer, leaky ReLU."""
    convolution = Conv2dSame(
        channels,
        out_channels,
        kernel,
        stride,
        initialiser=initialiser,
        reparametrisation=scheme.hidden_weight,
    )
    layers = [convolution] + ([norm] if norm is not None else [])
    return nn.Sequential(*layers, scheme.make_activation(out_channels, leak))


def logit_row(scheme: NormalizationScheme, features: int) -> nn.Sequential:
    """Flatten, then a linear layer with N(0, 0.02^2) weights to one logit."""
    return nn.Sequential(
        nn.Flatten(),
        Linear(features, 1, initialiser="normal", reparametrisation=scheme.output_weight),
    )


class DCGANGenerator(nn.Module):
    """DCGAN generator: ``forward(z)`` with z of shape (N, z_dim) -> images in [0, 1].

    ``rows``: linear/reshape/BN/ReLU (s/16 x s/16 x 512), three deconvolution rows (s/8 x 256,
    s/4 x 128, s/2 x 64) and the output deconvolution with tanh (s x 3); ``forward`` maps the tanh
    output to [0, 1]. ``norm``: "bn", "none" or "wn" (Xiang & Li, see :mod:`.normalization`).
    """

    def __init__(
        self, image_size: int, z_dim: int = 128, norm: str = "bn", width: float = 1.0
    ) -> None:
        super().__init__()
        scheme = normalization_scheme(norm)
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        channels = scaled(512, width)
        rows["linear_bn_relu"] = seed_row(
            scheme, z_dim, image_size // 16, BATCH_NORM_EPSILON, False, channels
        )
        for index, out_channels in enumerate(scaled(c, width) for c in DCGAN_GENERATOR_CHANNELS):
            rows[f"deconv{index + 1}_bn_relu"] = deconvolution_row(
                scheme, channels, out_channels, DCGAN_KERNEL, 2, BATCH_NORM_EPSILON
            )
            channels = out_channels
        rows["deconv_tanh"] = output_row(scheme, channels, DCGAN_KERNEL, 2)
        self.rows = nn.Sequential(rows)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.rows(z) + 0.5


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: ``forward(x)`` with x in [0, 1] -> logits of shape (N,).

    ``norm``: "none", "bn" (batch norm after convolutions 2-4), "sn" (spectral norm on every kernel
    and the linear weight) or "wn" (strict weight-normalized convolutions with translated leaky
    ReLUs, an affine weight-normalized linear layer).
    """

    def __init__(self, image_size: int, norm: str = "none", width: float = 1.0) -> None:
        super().__init__()
        scheme = normalization_scheme(norm)
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        channels = 3
        for index, out_channels in enumerate(
            scaled(c, width) for c in DCGAN_DISCRIMINATOR_CHANNELS
        ):
            norm_layer = (
                nn.Identity()
                if index == 0
                else scheme.make_feature_norm(out_channels, BATCH_NORM_EPSILON)
            )
            rows[f"conv{index + 1}_lrelu"] = convolution_row(
                scheme,
                channels,
                out_channels,
                DCGAN_KERNEL,
                2,
                "truncated_normal",
                DCGAN_LEAK,
                norm_layer,
            )
            channels = out_channels
        bottom = image_size // 16
        rows["linear"] = logit_row(scheme, bottom * bottom * channels)
        self.rows = nn.Sequential(rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rows(x).squeeze(1)
