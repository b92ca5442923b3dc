"""Normalization layers of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.2).

Every layer reproduces the TensorFlow op that compare_gan's paper-era code
(``compare_gan/src/gans``, the code behind the paper and its Appendix D ablation) calls, translated
to PyTorch's NCHW layout:

* :class:`BatchNorm` - ``tf.contrib.layers.batch_norm(decay=0.9, epsilon=1e-5, scale=True,
  fused=False, updates_collections=None)`` from ``batch_norm_resnet`` (``resnet_architecture.py``)
  and ``batch_norm_dcgan`` (``dcgan_architecture.py``; the SNDCGAN generator passes
  ``epsilon=2e-5``). TF's ``decay`` d is PyTorch's ``momentum`` 1 - d = 0.1. Unlike
  ``torch.nn.BatchNorm2d`` the moving variance is updated with the *biased* batch variance, because
  the non-fused TF op feeds the output of ``tf.nn.moments`` into the moving average.
* :class:`LayerNorm` - ``tf.contrib.layers.layer_norm`` (``ops.layer_norm``): each sample is
  normalised over all of C, H, W (``begin_norm_axis=1``) with epsilon 1e-12, then a per-channel
  gamma and beta (``begin_params_axis=-1``, the channel axis in NHWC) are applied.
* :class:`SpectralNorm` - ``ops.spectral_norm`` (Miyato et al. 2018): one power iteration per
  forward pass in training mode, a persistent singular-vector estimate, no gradient through it.
* :class:`WeightNorm` and :class:`TranslatedReLU` - weight normalization with the translated ReLU of
  Xiang & Li, "On the Effects of Batch and Weight Normalization in Generative Adversarial Networks"
  (2017), as in the authors' code (``stormraiser/GAN-weight-norm``, ``pytorch/model.py``,
  ``modules/WeightNormalizedConv.py``, ``modules/TPReLU.py``). compare_gan lists ``weight_norm``
  among its normalizers but its ResNet blocks treat it as no normalization; "wn" here is Xiang &
  Li's.

:func:`normalization_scheme` turns a norm name ("none", "bn", "ln", "sn", "wn") into what a network
builds at each site: the feature normalization before an activation, the reparametrisation of the
layer weights, and the activation itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

BATCH_NORM_DECAY = 0.9
"""TF ``decay`` of compare_gan's batch norms; PyTorch momentum ``1 - decay`` = 0.1."""
BATCH_NORM_EPSILON = 1e-5
"""``batch_norm_resnet`` / ``batch_norm_dcgan`` epsilon ("1e-5 in TensorFlow", Appendix D)."""
LAYER_NORM_EPSILON = 1e-12
"""``variance_epsilon`` of ``tf.contrib.layers.layer_norm`` for float32 inputs."""
SPECTRAL_NORM_EPSILON = 1e-12
"""``epsilon`` of the ``tf.nn.l2_normalize`` calls in ``ops.spectral_norm``."""
WEIGHT_NORM_EPSILON = 1e-6
"""Added to the squared weight norm in Xiang & Li's ``weight_norm()`` before the square root."""


class BatchNorm(nn.Module):
    """Batch normalization (Ioffe & Szegedy 2015) with TensorFlow's non-fused semantics.

    Training mode normalises with the batch mean and biased variance over every axis except the
    channel axis (axis 1; a 2-D input ``(N, F)`` is normalised per feature) and updates
    ``running = decay * running + (1 - decay) * batch`` with the biased variance. Evaluation mode
    uses the running statistics. gamma starts at 1 and beta at 0 (``scale=True``, ``center=True``).
    """

    def __init__(
        self,
        num_features: int,
        epsilon: float = BATCH_NORM_EPSILON,
        decay: float = BATCH_NORM_DECAY,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.epsilon = epsilon
        self.decay = decay
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                False,
                0.0,
                self.epsilon,
            )
        output = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.epsilon)
        with torch.no_grad():
            reduce_dims = [0, *range(2, x.dim())]
            batch_var, batch_mean = torch.var_mean(x.detach(), dim=reduce_dims, correction=0)
            self.running_mean.lerp_(batch_mean.to(self.running_mean.dtype), 1.0 - self.decay)
            self.running_var.lerp_(batch_var.to(self.running_var.dtype), 1.0 - self.decay)
        return output

    def extra_repr(self) -> str:
        return f"{self.num_features}, epsilon={self.epsilon}, decay={self.decay}"


class LayerNorm(nn.Module):
    """Layer normalization (Ba et al. 2016) as ``tf.contrib.layers.layer_norm`` applies it.

    Each sample is standardised over all its non-batch axes (C, H, W), then scaled and shifted by a
    per-channel gamma (init 1) and beta (init 0). The statistics never depend on other samples.
    """

    def __init__(self, num_channels: int, epsilon: float = LAYER_NORM_EPSILON) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.epsilon = epsilon
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        standardised = F.layer_norm(x, x.shape[1:], eps=self.epsilon)
        shape = (1, self.num_channels) + (1,) * (x.dim() - 2)
        return standardised * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, epsilon={self.epsilon}"


def _l2_normalize(vector: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``tf.nn.l2_normalize(x, axis=None, epsilon)``: ``x / sqrt(max(sum(x**2), epsilon))``."""
    return vector * torch.rsqrt(torch.clamp(vector.square().sum(), min=epsilon))


class SpectralNorm(nn.Module):
    """Spectral normalization (Miyato et al. 2018) as compare_gan's ``ops.spectral_norm`` does it.

    Maps a weight ``W`` to ``W / sigma`` where sigma estimates its largest singular value.
    compare_gan reshapes a TF kernel (HWIO) to ``w`` of shape ``(kh*kw*in, out)`` and persists
    ``u`` of length ``kh*kw*in``; PyTorch kernels are ``(out, in, kh, kw)``, flattened here to
    ``M = (out, in*kh*kw)``, which is ``w`` transposed with its rows permuted, so both have the same
    singular values. One power iteration per training-mode forward, in TF's order::

        v = l2_normalize(M u);  u = l2_normalize(M^T v);  sigma = v^T M u

    u and v carry no gradient (``tf.stop_gradient``). The buffer ``u`` starts as a normalised
    standard normal vector (TF: ``random_normal_initializer()``; the first iteration is invariant to
    its scale). In evaluation mode ``u`` is not updated and sigma is computed from the stored ``u``.
    """

    def __init__(self, weight: torch.Tensor, epsilon: float = SPECTRAL_NORM_EPSILON) -> None:
        super().__init__()
        self.epsilon = epsilon
        with torch.no_grad():
            initial = torch.randn(weight[0].numel(), dtype=weight.dtype, device=weight.device)
            self.register_buffer("u", _l2_normalize(initial, epsilon))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.device.type in ("cpu", "cuda") and torch.is_autocast_enabled(weight.device.type):
            # The power iteration and sigma stay in the weight's precision under mixed precision.
            with torch.autocast(weight.device.type, enabled=False):
                return self._normalise(weight)
        return self._normalise(weight)

    def _normalise(self, weight: torch.Tensor) -> torch.Tensor:
        matrix = weight.flatten(1)
        with torch.no_grad():
            v = _l2_normalize(matrix @ self.u, self.epsilon)
            if self.training:
                u = _l2_normalize(matrix.t() @ v, self.epsilon)
                self.u.copy_(u)
            else:
                u = self.u.clone()
        sigma = torch.dot(v, matrix @ u)
        return weight / sigma


class WeightNorm(nn.Module):
    """Per-output-channel weight normalization of Xiang & Li (2017): "strict" or "affine" layer.

    ``w = v / ||v||`` per output channel ("strict weight-normalized layer", no scale and no bias)
    or ``w = g * v / ||v||`` ("affine weight-normalized layer"; the bias ``b`` lives in the layer).
    As in the authors' ``WeightNormalizedConv.py``, the norm is ``sqrt(sum(v**2) * factor + 1e-6)``
    where ``factor = 1 / (stride_h * stride_w)`` for transposed convolutions (each output pixel of a
    stride-s transposed convolution sees 1/s**2 of the kernel taps) and 1 otherwise.
    """

    def __init__(
        self,
        out_channels: int,
        output_dim: int = 0,
        norm_factor: float = 1.0,
        affine: bool = False,
        epsilon: float = WEIGHT_NORM_EPSILON,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.output_dim = output_dim
        self.norm_factor = norm_factor
        self.epsilon = epsilon
        self.scale = nn.Parameter(torch.ones(out_channels)) if affine else None

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        reduce_dims = [d for d in range(weight.dim()) if d != self.output_dim]
        squared_norm = weight.square().sum(reduce_dims, keepdim=True) * self.norm_factor
        normalised = weight * torch.rsqrt(squared_norm + self.epsilon)
        if self.scale is None:
            return normalised
        shape = [1] * weight.dim()
        shape[self.output_dim] = self.out_channels
        return normalised * self.scale.view(shape)

    def extra_repr(self) -> str:
        return (
            f"{self.out_channels}, affine={self.scale is not None}, norm_factor={self.norm_factor}"
        )


class TranslatedReLU(nn.Module):
    """Translated (leaky) ReLU of Xiang & Li (2017): ``TReLU_a(x) = max(x, a)``, a per channel.

    Written as ``leaky_relu(x - a) + a`` so that ``negative_slope`` > 0 gives the translated leaky
    ReLU that replaces the leaky ReLUs of the DCGAN-style discriminators (the authors' ``TPReLU``
    with its slope fixed to the architecture's). ``a`` starts at 0 (their ``bias`` init), so at
    initialisation the layer equals the activation it replaces.
    """

    def __init__(self, num_channels: int, negative_slope: float = 0.0) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.negative_slope = negative_slope
        self.threshold = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        threshold = self.threshold.view((1, self.num_channels) + (1,) * (x.dim() - 2))
        return F.leaky_relu(x - threshold, self.negative_slope) + threshold

    def extra_repr(self) -> str:
        return f"{self.num_channels}, negative_slope={self.negative_slope}"


WEIGHT_REPARAMETRISATIONS = ("none", "spectral", "weight", "weight_affine")


@dataclass(frozen=True)
class NormalizationScheme:
    """What a norm name means at each site of a network.

    ``feature_norm`` is the layer placed where the paper's tables say "BN" (before an activation),
    ``hidden_weight`` / ``output_weight`` the reparametrisation of hidden and last-layer weights
    (one of :data:`WEIGHT_REPARAMETRISATIONS`), ``translated_activation`` whether ReLUs become
    :class:`TranslatedReLU`.
    """

    name: str
    feature_norm: str
    hidden_weight: str
    output_weight: str
    translated_activation: bool

    def make_feature_norm(
        self, num_features: int, epsilon: float = BATCH_NORM_EPSILON
    ) -> nn.Module:
        """The feature normalization for ``num_features`` channels (``epsilon``: batch norm)."""
        if self.feature_norm == "bn":
            return BatchNorm(num_features, epsilon=epsilon)
        if self.feature_norm == "ln":
            return LayerNorm(num_features)
        return nn.Identity()

    def make_activation(self, num_channels: int, negative_slope: float = 0.0) -> nn.Module:
        """ReLU / leaky ReLU, or their translated versions when the scheme is weight norm."""
        if self.translated_activation:
            return TranslatedReLU(num_channels, negative_slope)
        if negative_slope == 0.0:
            return nn.ReLU()
        return nn.LeakyReLU(negative_slope)


_SCHEMES = {
    "none": NormalizationScheme("none", "none", "none", "none", False),
    "bn": NormalizationScheme("bn", "bn", "none", "none", False),
    "ln": NormalizationScheme("ln", "ln", "none", "none", False),
    "sn": NormalizationScheme("sn", "none", "spectral", "spectral", False),
    # Xiang & Li (pytorch/model.py, norm == "weight"): strict WN layers followed by a translated
    # ReLU everywhere except the last layer, which is an affine WN layer.
    "wn": NormalizationScheme("wn", "none", "weight", "weight_affine", True),
}


def normalization_scheme(norm: str) -> NormalizationScheme:
    """The :class:`NormalizationScheme` for ``norm`` in ("none", "bn", "ln", "sn", "wn")."""
    try:
        return _SCHEMES[norm]
    except KeyError:
        raise ValueError(
            f"normalization {norm!r} is unknown; use one of {', '.join(_SCHEMES)}"
        ) from None
