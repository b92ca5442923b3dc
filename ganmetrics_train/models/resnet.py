"""ResNet19 and ResNet CIFAR of "The GAN Landscape" (Kurach, Lucic et al. 2019), Tables 4-6, App. D.

Built as compare_gan's paper-era ``compare_gan/src/gans/resnet_architecture.py``
(``resnet5_generator``/``resnet5_discriminator`` = ResNet19, ``resnet_cifar_*`` = ResNet CIFAR) and
``ablation_resnet_architecture.py``; the later ``compare_gan/architectures/resnet_ops.py``,
``resnet5.py`` and ``resnet_cifar.py`` build the same graph.

ResNet block (Table 5, ``resnet_block``), pre-activation::

    shortcut = conv3x3(resample(x))                       # always a 3x3 convolution
    h = conv3x3(resample_g(relu(norm1(x))))               # generator: unpool before conv1
    h = resample_d(conv3x3(relu(norm2(h))))               # discriminator: avg-pool after conv2
    return h + shortcut

Generator blocks upsample with :func:`~.layers.unpool` (zero insertion, value at (2i, 2j)) before
the first convolution and before the shortcut convolution; discriminator blocks downsample with 2x2
average pooling after the second convolution and after the shortcut convolution. In the generator
norm is batch norm; in the discriminator it is the discriminator normalization ("bn": batch norm,
"ln": layer norm, anything else: identity). Spectral norm ("sn") reparametrises every discriminator
convolution (shortcuts included) and the final linear layer. Convolution weights ~ truncated
N(0, 0.02**2) (``ops.conv2d``), linear weights ~ N(0, 0.02**2) (``ops.linear``), biases 0; batch
norm decay 0.9, epsilon 1e-5 (``batch_norm_resnet``).

ResNet19 (Table 4, 128x128): G linear z -> 4x4x512, five up-blocks 512->512->256->256->128->64
(8x8 ... 128x128), BN, ReLU, 3x3 conv to 3 channels, sigmoid. D six down-blocks
3->64->128->256->256->512->512 (128x128 -> 2x2), ReLU, global mean pooling, linear. compare_gan's
``resnet5_generator`` also builds 64x64 (the fifth block then does not upsample) and its
discriminator accepts any power of two, so image sizes 64 and 128 are supported.

ResNet CIFAR (Table 6, 32x32): G linear z -> 4x4x256, three up-blocks at 256 channels, BN, ReLU,
conv, sigmoid. D four blocks at 128 channels, the first two downsampling, ReLU, global mean, linear.

Appendix D ablations (discriminator unless stated; names in
:data:`ganmetrics_train.choices.ABLATIONS`):

* ``skip``: identity shortcut in discriminator blocks. Following the Chainer reference the appendix
  compares against (``chainer-gan-lib/common/net.py``: ``DownResBlock3`` adds its input, the
  downsampling ``DownResBlock1/2`` keep a convolution shortcut), only blocks that neither resample
  nor change the channel count get the identity; ResNet19 has no such block, so ``skip`` is refused
  there (it would change nothing).
* ``cin``: hidden channels (conv1 output) c_i instead of c_o.
* ``opt``: optimised first discriminator block: no ReLU before its first convolution, a convolution
  shortcut, and c_o hidden channels even with ``cin``. The first norm layer (if any) is kept: the
  appendix removes only the ReLU, and it ran the ablation with spectral norm (no norm layers).
* ``sum``: global sum pooling instead of mean before the linear layer.
* ``tan``: generator output tanh instead of sigmoid (mapped to [0, 1] by ``(x + 1) / 2`` so the
  generator interface stays [0, 1]) and the discriminator maps its [0, 1] input to [-1, 1].
* ``eps``: generator batch-norm epsilon 2e-5 instead of 1e-5 (every generator batch norm).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from ganmetrics_train.models.layers import (
    AveragePool2x,
    Conv2dSame,
    GlobalPool,
    Linear,
    LinearToFeatureMap,
    unpool,
)
from ganmetrics_train.models.normalization import (
    BATCH_NORM_EPSILON,
    NormalizationScheme,
    normalization_scheme,
)

EPS_ABLATION_EPSILON = 2e-5
"""Generator batch-norm epsilon of the EPS ablation (Appendix D; Chainer's default)."""

RESNET19_SEED_CHANNELS = 512
RESNET19_GENERATOR_CHANNELS = ((512, 512), (512, 256), (256, 256), (256, 128), (128, 64))
"""``resnet5_generator``: ``ch = 64``, ``magic = [(8, 8), (8, 4), (4, 4), (4, 2), (2, 1)]``."""
RESNET19_DISCRIMINATOR_CHANNELS = (
    (3, 64),
    (64, 128),
    (128, 256),
    (256, 256),
    (256, 512),
    (512, 512),
)
"""``resnet5_discriminator``: B0 3 -> 64, then ``magic`` (1, 2), (2, 4), (4, 4), (4, 8), (8, 8)."""
RESNET_CIFAR_SEED_CHANNELS = 256
RESNET_CIFAR_GENERATOR_CHANNELS = ((256, 256), (256, 256), (256, 256))
RESNET_CIFAR_DISCRIMINATOR = (
    (3, 128, True),
    (128, 128, True),
    (128, 128, False),
    (128, 128, False),
)
"""``resnet_cifar_discriminator``: (in, out, downsample) of its four blocks."""
SEED_SIZE = 4


@dataclass(frozen=True)
class GeneratorBlockSpec:
    """Channels and resampling of one generator ResBlock (Table 5b)."""

    in_channels: int
    out_channels: int
    upsample: bool


@dataclass(frozen=True)
class DiscriminatorBlockSpec:
    """Channels, resampling and Appendix D variations of one discriminator ResBlock (Table 5a)."""

    in_channels: int
    out_channels: int
    hidden_channels: int
    downsample: bool
    conv_shortcut: bool
    activate_input: bool


def generator_block_specs(arch: str, image_size: int) -> list[GeneratorBlockSpec]:
    """The generator blocks of ``arch`` ("resnet19" or "resnet_cifar") for ``image_size``.

    ResNet19 upsamples in its first ``log2(image_size / 4)`` blocks (``resnet5_generator``).
    """
    if arch == "resnet19":
        up_layers = round(math.log2(image_size / SEED_SIZE))
        return [
            GeneratorBlockSpec(c_in, c_out, index < up_layers)
            for index, (c_in, c_out) in enumerate(RESNET19_GENERATOR_CHANNELS)
        ]
    return [
        GeneratorBlockSpec(c_in, c_out, True) for c_in, c_out in RESNET_CIFAR_GENERATOR_CHANNELS
    ]


def discriminator_block_specs(
    arch: str, ablations: tuple[str, ...]
) -> list[DiscriminatorBlockSpec]:
    """The discriminator blocks of ``arch`` with the SKIP / CIN / OPT ablations applied."""
    if arch == "resnet19":
        layout = [(c_in, c_out, True) for c_in, c_out in RESNET19_DISCRIMINATOR_CHANNELS]
    else:
        layout = list(RESNET_CIFAR_DISCRIMINATOR)
    specs = []
    for index, (c_in, c_out, downsample) in enumerate(layout):
        optimised = index == 0 and "opt" in ablations
        hidden = c_in if ("cin" in ablations and not optimised) else c_out
        identity_possible = c_in == c_out and not downsample
        conv_shortcut = optimised or not ("skip" in ablations and identity_possible)
        specs.append(
            DiscriminatorBlockSpec(c_in, c_out, hidden, downsample, conv_shortcut, not optimised)
        )
    return specs


class GeneratorBlock(nn.Module):
    """Pre-activation generator ResBlock (Table 5b): unpool before conv1 and the shortcut conv."""

    def __init__(
        self, spec: GeneratorBlockSpec, scheme: NormalizationScheme, bn_epsilon: float
    ) -> None:
        super().__init__()
        self.upsample = spec.upsample
        reparam = scheme.hidden_weight
        self.shortcut = Conv2dSame(
            spec.in_channels, spec.out_channels, 3, reparametrisation=reparam
        )
        self.norm1 = scheme.make_feature_norm(spec.in_channels, bn_epsilon)
        self.activation1 = scheme.make_activation(spec.in_channels)
        self.conv1 = Conv2dSame(spec.in_channels, spec.out_channels, 3, reparametrisation=reparam)
        self.norm2 = scheme.make_feature_norm(spec.out_channels, bn_epsilon)
        self.activation2 = scheme.make_activation(spec.out_channels)
        self.conv2 = Conv2dSame(spec.out_channels, spec.out_channels, 3, reparametrisation=reparam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(unpool(x) if self.upsample else x)
        h = self.activation1(self.norm1(x))
        h = self.conv1(unpool(h) if self.upsample else h)
        h = self.conv2(self.activation2(self.norm2(h)))
        return h + shortcut


class DiscriminatorBlock(nn.Module):
    """Pre-activation discriminator ResBlock (Table 5a): avg-pool after conv2 and the shortcut."""

    def __init__(self, spec: DiscriminatorBlockSpec, scheme: NormalizationScheme) -> None:
        super().__init__()
        reparam = scheme.hidden_weight
        if spec.conv_shortcut:
            self.shortcut: nn.Module = Conv2dSame(
                spec.in_channels, spec.out_channels, 3, reparametrisation=reparam
            )
        else:
            self.shortcut = nn.Identity()
        self.norm1 = scheme.make_feature_norm(spec.in_channels, BATCH_NORM_EPSILON)
        self.activation1 = (
            scheme.make_activation(spec.in_channels) if spec.activate_input else nn.Identity()
        )
        self.conv1 = Conv2dSame(
            spec.in_channels, spec.hidden_channels, 3, reparametrisation=reparam
        )
        self.norm2 = scheme.make_feature_norm(spec.hidden_channels, BATCH_NORM_EPSILON)
        self.activation2 = scheme.make_activation(spec.hidden_channels)
        self.conv2 = Conv2dSame(
            spec.hidden_channels, spec.out_channels, 3, reparametrisation=reparam
        )
        self.pool = AveragePool2x() if spec.downsample else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.pool(self.shortcut(x))
        h = self.conv1(self.activation1(self.norm1(x)))
        h = self.pool(self.conv2(self.activation2(self.norm2(h))))
        return h + shortcut


class ResNetGenerator(nn.Module):
    """ResNet19 (Table 4b) or ResNet CIFAR (Table 6b) generator: z (N, z_dim) -> images in [0, 1].

    ``rows``: "linear" (to 4x4xC), "block1"... , "bn_relu", "conv_out" (3x3 conv to 3 channels and
    sigmoid, or tanh with the TAN ablation, mapped to [0, 1] by ``forward``). ``norm``: "bn",
    "none" or "wn" (strict weight-normalized layers with translated ReLUs, affine last conv).
    """

    def __init__(
        self,
        arch: str,
        image_size: int,
        z_dim: int = 128,
        norm: str = "bn",
        ablations: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        scheme = normalization_scheme(norm)
        self.tanh_output = "tan" in ablations
        bn_epsilon = EPS_ABLATION_EPSILON if "eps" in ablations else BATCH_NORM_EPSILON
        seed_channels = RESNET19_SEED_CHANNELS if arch == "resnet19" else RESNET_CIFAR_SEED_CHANNELS
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        rows["linear"] = LinearToFeatureMap(
            Linear(
                z_dim,
                SEED_SIZE * SEED_SIZE * seed_channels,
                initialiser="normal",
                reparametrisation=scheme.hidden_weight,
            ),
            channels=seed_channels,
            size=SEED_SIZE,
        )
        channels = seed_channels
        for index, spec in enumerate(generator_block_specs(arch, image_size)):
            rows[f"block{index + 1}"] = GeneratorBlock(spec, scheme, bn_epsilon)
            channels = spec.out_channels
        rows["bn_relu"] = nn.Sequential(
            scheme.make_feature_norm(channels, bn_epsilon), scheme.make_activation(channels)
        )
        rows["conv_out"] = nn.Sequential(
            Conv2dSame(channels, 3, 3, reparametrisation=scheme.output_weight),
            nn.Tanh() if self.tanh_output else nn.Sigmoid(),
        )
        self.rows = nn.Sequential(rows)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = self.rows(z)
        if self.tanh_output:
            return (images + 1.0) / 2.0
        return images


class ResNetDiscriminator(nn.Module):
    """ResNet19 (Table 4a) or ResNet CIFAR (Table 6a) discriminator: x in [0, 1] -> logits (N,).

    ``rows``: "block1"..., "relu_pool" (ReLU and global mean, or sum with SUM), "linear". The input
    is used in [0, 1], or mapped to [-1, 1] with the TAN ablation.
    """

    def __init__(
        self,
        arch: str,
        image_size: int,
        norm: str = "none",
        ablations: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        del image_size  # Global pooling makes the discriminator size-agnostic.
        scheme = normalization_scheme(norm)
        self.map_input_to_symmetric = "tan" in ablations
        rows: OrderedDict[str, nn.Module] = OrderedDict()
        channels = 3
        for index, spec in enumerate(discriminator_block_specs(arch, ablations)):
            rows[f"block{index + 1}"] = DiscriminatorBlock(spec, scheme)
            channels = spec.out_channels
        rows["relu_pool"] = nn.Sequential(
            scheme.make_activation(channels), GlobalPool("sum" if "sum" in ablations else "mean")
        )
        rows["linear"] = Linear(
            channels, 1, initialiser="normal", reparametrisation=scheme.output_weight
        )
        self.rows = nn.Sequential(rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.map_input_to_symmetric:
            x = x * 2.0 - 1.0
        return self.rows(x).squeeze(1)
