"""Layers with compare_gan's TensorFlow semantics: "SAME" padding, unpooling, weight initialisers.

"The GAN Landscape" (Kurach, Lucic et al. 2019) ran its models in TensorFlow; compare_gan's
``ops.conv2d`` / ``ops.deconv2d`` use ``padding="SAME"``, whose zero padding is asymmetric when the
total padding is odd (the extra row/column goes at the end). :class:`Conv2dSame` and
:class:`ConvTranspose2dSame` reproduce ``tf.nn.conv2d`` and ``tf.nn.conv2d_transpose`` with SAME
padding exactly; :func:`unpool` is the zero-insertion upsampling of the ResNet generator blocks
(Appendix C.2, "unpool from tensorflow/tensorflow#2169").

Weights are initialised as compare_gan's paper-era ops (``compare_gan/src/gans/ops.py``) do:

* ``ops.conv2d``: ``tf.truncated_normal_initializer(stddev=0.02)`` ("truncated_normal") unless the
  caller passes ``initializer=tf.random_normal_initializer`` (the SNDCGAN discriminator does);
* ``ops.deconv2d`` and ``ops.linear``: ``tf.random_normal_initializer(stddev=0.02)`` ("normal");
* every bias: zeros.

(The later gin-configured ``compare_gan/architectures/arch_ops.py`` defaults all three to
``random_normal(stddev=0.02)``; none of them uses Glorot/Xavier.)

Each layer optionally reparametrises its weight (see :mod:`.normalization`): "spectral" (spectral
normalization), "weight" (Xiang & Li's strict weight-normalized layer: no scale, no bias) or
"weight_affine" (their affine weight-normalized layer: per-channel scale and bias).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganmetrics_train.models.normalization import (
    WEIGHT_REPARAMETRISATIONS,
    SpectralNorm,
    WeightNorm,
)

INIT_STDDEV = 0.02
"""Standard deviation of every weight initialiser in compare_gan (``stddev=0.02``)."""
WEIGHT_INITIALISERS = ("normal", "truncated_normal")


def tf_same_padding(input_size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """Zero padding (before, after) that TF's ``padding="SAME"`` adds along one axis.

    TF: ``out = ceil(in / stride)``, ``total = max((out - 1) * stride + kernel - in, 0)``,
    ``before = total // 2``, ``after = total - before``. E.g. 3x3/1 pads (1, 1); 4x4/2 on an even
    input pads (1, 1); 5x5/2 on an even input pads (1, 2).
    """
    output_size = -(-input_size // stride)
    total = max((output_size - 1) * stride + kernel_size - input_size, 0)
    return total // 2, total - total // 2


def tf_same_output_size(input_size: int, stride: int) -> int:
    """Output length of a TF "SAME" convolution: ``ceil(input_size / stride)``."""
    return -(-input_size // stride)


def unpool(x: torch.Tensor) -> torch.Tensor:
    """Zero-insertion 2x upsampling of compare_gan's ``unpool`` (``resnet_architecture.py``).

    The TF op reshapes ``[b, h, w, c]`` to ``[b*h, w, c]``, concatenates zeros along channels and
    then along width, and reshapes to ``[b, 2h, 2w, c]``: input pixel (i, j) lands at (2i, 2j) and
    the other three pixels of each 2x2 cell are zero. Same here for NCHW tensors.
    """
    n, c, h, w = x.shape
    columns = F.pad(x.unsqueeze(-1), (0, 1)).reshape(n, c, h, 2 * w)
    return F.pad(columns.unsqueeze(3), (0, 0, 0, 1)).reshape(n, c, 2 * h, 2 * w)


def _truncated_normal_(weight: torch.Tensor, stddev: float) -> None:
    """TF ``truncated_normal_initializer``: N(0, stddev**2), values beyond 2 stddev redrawn.

    Only the rejected entries are redrawn (``torch.nn.init.trunc_normal_`` redraws whole tensors
    and is much slower on multi-million-parameter kernels); the distribution is the same.
    """
    flat = weight.view(-1)
    flat.normal_(0.0, stddev)
    rejected = (flat.abs() > 2 * stddev).nonzero().squeeze(1)
    while rejected.numel():
        redrawn = torch.empty(rejected.numel(), dtype=flat.dtype, device=flat.device)
        redrawn.normal_(0.0, stddev)
        flat[rejected] = redrawn
        rejected = rejected[redrawn.abs() > 2 * stddev]


def initialise_weight_(weight: torch.Tensor, initialiser: str) -> None:
    """Fill ``weight`` like TF's ``random_normal`` / ``truncated_normal`` initialiser, stddev 0.02.

    ``truncated_normal`` redraws values beyond two standard deviations, as TF does.
    """
    if initialiser not in WEIGHT_INITIALISERS:
        raise ValueError(
            f"weight initialiser {initialiser!r} is unknown; use one of {WEIGHT_INITIALISERS}"
        )
    if weight.is_meta:
        return
    with torch.no_grad():
        if initialiser == "normal":
            weight.normal_(0.0, INIT_STDDEV)
        else:
            _truncated_normal_(weight, INIT_STDDEV)


class _ReparametrisedLayer(nn.Module):
    """A layer whose ``weight`` parameter may pass through a normalizer before use."""

    weight: nn.Parameter
    bias: nn.Parameter | None
    weight_normalizer: nn.Module | None

    def _create_parameters(
        self,
        weight_shape: tuple[int, ...],
        out_channels: int,
        output_dim: int,
        initialiser: str,
        reparametrisation: str,
        weight_norm_factor: float = 1.0,
    ) -> None:
        if reparametrisation not in WEIGHT_REPARAMETRISATIONS:
            raise ValueError(
                f"weight reparametrisation {reparametrisation!r} is unknown; "
                f"use one of {WEIGHT_REPARAMETRISATIONS}"
            )
        self.reparametrisation = reparametrisation
        self.weight = nn.Parameter(torch.empty(weight_shape))
        initialise_weight_(self.weight, initialiser)
        if reparametrisation == "weight":
            self.register_parameter("bias", None)
        else:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        if reparametrisation == "spectral":
            if output_dim != 0:
                raise ValueError("spectral normalization is implemented for output-first kernels")
            self.weight_normalizer = SpectralNorm(self.weight)
        elif reparametrisation in ("weight", "weight_affine"):
            self.weight_normalizer = WeightNorm(
                out_channels,
                output_dim=output_dim,
                norm_factor=weight_norm_factor,
                affine=reparametrisation == "weight_affine",
            )
        else:
            self.weight_normalizer = None

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer applies: ``weight`` after its normalizer, if any."""
        if self.weight_normalizer is None:
            return self.weight
        return self.weight_normalizer(self.weight)


class Conv2dSame(_ReparametrisedLayer):
    """``tf.nn.conv2d(padding="SAME")`` plus bias, as compare_gan's ``ops.conv2d``.

    The padding is computed from the input size at every call (:func:`tf_same_padding`), so
    asymmetric SAME padding (e.g. 5x5 stride 2 on an even input: 1 before, 2 after) is exact.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        initialiser: str = "truncated_normal",
        reparametrisation: str = "none",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self._create_parameters(
            (out_channels, in_channels, kernel_size, kernel_size),
            out_channels,
            0,
            initialiser,
            reparametrisation,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_padding(x.shape[-2], self.kernel_size, self.stride)
        left, right = tf_same_padding(x.shape[-1], self.kernel_size, self.stride)
        weight = self.effective_weight()
        if top == bottom and left == right:
            return F.conv2d(x, weight, self.bias, self.stride, (top, left))
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, weight, self.bias, self.stride)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding=SAME, reparametrisation={self.reparametrisation}"
        )


class ConvTranspose2dSame(_ReparametrisedLayer):
    """``tf.nn.conv2d_transpose(padding="SAME")`` plus bias, as compare_gan's ``ops.deconv2d``.

    The output is ``stride`` times the input size (compare_gan's ``output_shape``). TF computes the
    op as the gradient of a SAME convolution whose input has the output size, so the full transposed
    convolution (length ``(in - 1) * stride + kernel``) is cropped by that convolution's padding:
    ``before`` at the start, ``after`` at the end (:func:`tf_same_padding` on the output size).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        initialiser: str = "normal",
        reparametrisation: str = "none",
    ) -> None:
        super().__init__()
        if kernel_size < stride:
            raise ValueError("a SAME transposed convolution needs kernel_size >= stride")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self._create_parameters(
            (in_channels, out_channels, kernel_size, kernel_size),
            out_channels,
            1,
            initialiser,
            reparametrisation,
            weight_norm_factor=1.0 / (stride * stride),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_h, out_w = x.shape[-2] * self.stride, x.shape[-1] * self.stride
        top, _ = tf_same_padding(out_h, self.kernel_size, self.stride)
        left, _ = tf_same_padding(out_w, self.kernel_size, self.stride)
        y = F.conv_transpose2d(x, self.effective_weight(), self.bias, self.stride, (top, left))
        return y[..., :out_h, :out_w]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding=SAME, reparametrisation={self.reparametrisation}"
        )


class Linear(_ReparametrisedLayer):
    """``tf.matmul(x, W) + b`` as compare_gan's ``ops.linear`` (W ~ N(0, 0.02**2), b = 0)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        initialiser: str = "normal",
        reparametrisation: str = "none",
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self._create_parameters(
            (out_features, in_features), out_features, 0, initialiser, reparametrisation
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, reparametrisation={self.reparametrisation}"
        )


class LinearToFeatureMap(nn.Module):
    """A generator's first row: linear layer, normalization, activation, reshape to ``(C, s, s)``.

    ``normalize_before_reshape`` selects compare_gan's two orders: the SNDCGAN generator batch-
    normalises the flat linear output per feature (``sn_generator``: linear, ``g_bn1``, ReLU,
    reshape), the DCGAN generator per channel after the reshape (``generator``: linear, reshape,
    ``g_bn1``, ReLU). The activation is applied to the reshaped map (a translated ReLU is per
    channel, as ``initial.tprelu`` in Xiang & Li's generator).
    """

    def __init__(
        self,
        linear: nn.Module,
        channels: int,
        size: int,
        norm: nn.Module | None = None,
        activation: nn.Module | None = None,
        normalize_before_reshape: bool = False,
    ) -> None:
        super().__init__()
        self.linear = linear
        self.norm = norm if norm is not None else nn.Identity()
        self.activation = activation if activation is not None else nn.Identity()
        self.channels = channels
        self.size = size
        self.normalize_before_reshape = normalize_before_reshape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.linear(z)
        if self.normalize_before_reshape:
            h = self.norm(h)
        h = h.view(h.shape[0], self.channels, self.size, self.size)
        if not self.normalize_before_reshape:
            h = self.norm(h)
        return self.activation(h)


class GlobalPool(nn.Module):
    """Global pooling over H, W: ``tf.reduce_mean`` (default) or ``tf.reduce_sum`` (SUM)."""

    def __init__(self, mode: str = "mean") -> None:
        super().__init__()
        if mode not in ("mean", "sum"):
            raise ValueError(f"pooling mode {mode!r} is unknown; use 'mean' or 'sum'")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "sum":
            return x.sum(dim=(2, 3))
        return x.mean(dim=(2, 3))

    def extra_repr(self) -> str:
        return self.mode


class AveragePool2x(nn.Module):
    """``tf.nn.pool([2, 2], "AVG", "SAME", strides=[2, 2])`` on even inputs: plain 2x2 average."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2)
