"""MS-SSIM and the Fedus-style MS-SSIM diversity score, exactly as "The GAN Landscape" computed it.

"The GAN Landscape" (Kurach et al. 2019, section 2.4 and Appendix G) follows Fedus et al. 2018
("Many Paths to Equilibrium", section 5.3): the average pairwise MS-SSIM (Wang et al. 2003) over
5 batches of b generated images, ``5 * b * (b - 1) / 2`` pairs in all; lower means more diverse.
The scorer is compare_gan's TensorFlow MS-SSIM (``compare_gan/metrics/image_similarity.py``,
the code of ``tf.image.ssim_multiscale``), reproduced here step by step:

* images are float in [0, 255], ``max_val = 255``, ``k1 = 0.01``, ``k2 = 0.03``, every colour
  channel on its own;
* at every scale a Gaussian window with sigma 1.5, normalised to sum 1, of size
  ``min(11, H, W)`` for the H x W of that scale (Appendix G: "the minimum of filter size 11 and
  image size in last scale layer"), so 128 x 128 images use windows 11, 11, 11, 11, 8; for an
  even size the window is centred between pixels (coordinates ``i - (size - 1) / 2``);
* VALID filtering (no padding); local statistics ``mu = w * x``,
  ``sigma_xy = w * (x y) - mu_x mu_y`` with no covariance compensation (factor 1);
  ``luminance = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1)``,
  ``cs = (2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2)``, ``c = (k * 255)^2``;
  ``ssim`` and ``cs`` of a scale are the spatial means of ``luminance * cs`` and ``cs``;
* 5 scales; between scales the image is padded SYMMETRICally by one row / column at its end
  where a side is odd (a copy of the last row / column), then 2 x 2 average pooling;
* ``ms_ssim = prod_{s=1..4} relu(cs_s) ** p_s * relu(ssim_5) ** p_5`` with the power factors
  ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``, then the mean over the colour channels.

The window is a normalised 2-D Gaussian, i.e. the outer product of a normalised 1-D Gaussian with
itself, so it is applied separably (as banded matrix products). For the diversity score the
statistics of every image and scale (filtered mean and filtered square) are computed once, so a
pair needs only the filtered product ``w * (x y)``; the luminance term is needed at the last
scale only. The pairs ``i < j`` of a batch (``torch.triu_indices`` order) are scored row by row,
image i against the slice of images i+1.., in memory-bounded chunks, which needs no gathers.

compare_gan computed in float32; here the default is float64 (``dtype=torch.float32`` is offered
and changes the score by ~1e-6).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch

from ganmetrics.errors import InputError

POWER_FACTORS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
NUM_SCALES = len(POWER_FACTORS)
FILTER_SIZE = 11
FILTER_SIGMA = 1.5
K1 = 0.01
K2 = 0.03
MAX_VAL = 255.0
C1 = (K1 * MAX_VAL) ** 2
C2 = (K2 * MAX_VAL) ** 2
# Smallest side for which each of the 4 poolings halves a side of at least 2 px, so that the five
# scales are distinct (ceil(side / 8) >= 2). compare_gan itself has no minimum.
MIN_SIDE = 2 ** (NUM_SCALES - 2) + 1
# Elements of one (pairs, channels, H, W) tensor per chunk (16 MB in float64): bounds memory.
CHUNK_ELEMENTS = 2**21


@dataclasses.dataclass(frozen=True)
class MsssimDiversity:
    """The MS-SSIM diversity score of Fedus et al. 2018 (section 5.3) as used in "The GAN Landscape"
    (Kurach et al. 2019, section 2.4): ``score`` is the mean of ``per_batch``, each the mean
    MS-SSIM over the ``batch_size * (batch_size - 1) / 2`` unordered pairs of one batch.
    ``num_pairs`` is the total number of pairs scored. Lower is more diverse."""

    score: float
    per_batch: tuple[float, ...]
    num_batches: int
    batch_size: int
    num_pairs: int


def gaussian_window_1d(
    size: int, sigma: float = FILTER_SIGMA, *, dtype=torch.float64, device=None
) -> torch.Tensor:
    """The 1-D factor of compare_gan's ``f_special_gauss(size, sigma)`` (MATLAB ``fspecial``):
    ``exp(-c^2 / (2 sigma^2))`` at ``c = i - (size - 1) / 2``, normalised to sum 1. Its outer
    product with itself is the normalised 2-D window (the 2-D softmax factorises)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    window = torch.exp(-0.5 * coords * coords / (sigma * sigma))
    return window / window.sum()


def _valid_filter_matrix(length: int, window: torch.Tensor) -> torch.Tensor:
    """(length, length - k + 1) matrix M with ``(x @ M)[j] = sum_u window[u] x[j + u]``: a VALID
    1-D correlation (TF ``conv2d`` is a correlation; the Gaussian is symmetric anyway)."""
    size = window.numel()
    out_length = length - size + 1
    matrix = torch.zeros(length, out_length, dtype=window.dtype, device=window.device)
    columns = torch.arange(out_length, device=window.device)
    for tap in range(size):
        matrix[columns + tap, columns] = window[tap]
    return matrix


class _ScaleFilter:
    """The 2-D Gaussian VALID filter of one scale, applied as ``M_h^T x M_w``."""

    def __init__(self, height: int, width: int, dtype: torch.dtype, device: torch.device):
        size = min(FILTER_SIZE, height, width)
        window = gaussian_window_1d(size, dtype=dtype, device=device)
        self.rows_matrix_t = _valid_filter_matrix(height, window).T.contiguous()
        self.cols_matrix = _valid_filter_matrix(width, window)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.rows_matrix_t, torch.matmul(x, self.cols_matrix))


def downscale(images: torch.Tensor) -> torch.Tensor:
    """One MS-SSIM scale step of compare_gan: where H or W is odd, pad that side at its end
    SYMMETRICally by one (a copy of the last row / column); then 2 x 2 average pooling."""
    if images.shape[-2] % 2:
        images = torch.cat([images, images[..., -1:, :]], dim=-2)
    if images.shape[-1] % 2:
        images = torch.cat([images, images[..., -1:]], dim=-1)
    *lead, height, width = images.shape
    return images.reshape(*lead, height // 2, 2, width // 2, 2).mean(dim=(-3, -1))


def _scale_sides(height: int, width: int) -> list[tuple[int, int]]:
    sides = [(height, width)]
    for _ in range(NUM_SCALES - 1):
        height, width = sides[-1]
        sides.append(((height + 1) // 2, (width + 1) // 2))
    return sides


@dataclasses.dataclass
class _ScaleStats:
    """Per-image statistics of one scale: the image, its filtered mean ``mu``, and
    ``(sigma^2 + c2 / 2) / 2`` so that a pair's halved cs denominator
    ``(sigma_x^2 + sigma_y^2 + c2) / 2`` is one addition."""

    level: torch.Tensor
    mean: torch.Tensor
    half_denominator: torch.Tensor

    def select(self, rows: slice) -> _ScaleStats:
        return _ScaleStats(self.level[rows], self.mean[rows], self.half_denominator[rows])


class _Pyramid:
    """The five scales of a float (N, C, H, W) image stack in [0, 255] with their filters and
    per-image statistics, in the dtype and on the device of the stack."""

    def __init__(self, images: torch.Tensor):
        height, width = images.shape[-2:]
        self.filters = [
            _ScaleFilter(h, w, images.dtype, images.device) for h, w in _scale_sides(height, width)
        ]
        self.scales: list[_ScaleStats] = []
        level = images
        for scale, scale_filter in enumerate(self.filters):
            if scale:
                level = downscale(level)
            mean = scale_filter(level)
            variance = scale_filter(level * level).sub_(mean * mean)
            self.scales.append(_ScaleStats(level, mean, variance.add_(C2 / 2.0).mul_(0.5)))

    def select(self, rows: slice) -> list[_ScaleStats]:
        return [stats.select(rows) for stats in self.scales]


def _ms_ssim_from_stats(
    filters: list[_ScaleFilter], stats_a: list[_ScaleStats], stats_b: list[_ScaleStats]
) -> torch.Tensor:
    """MS-SSIM of the pairs of ``stats_a`` and ``stats_b`` (broadcast along the first axis: one
    anchor image against many, or image k against image k). Only ``w * (x y)`` is filtered per
    pair; luminance is needed at the last scale only. cs is evaluated as
    ``(w * (x y + c2 / 2) - mu_x mu_y) / ((sigma_x^2 + sigma_y^2 + c2) / 2)``, which equals
    ``(2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2)`` because the window sums to 1."""
    half_c2 = torch.tensor(C2 / 2.0, dtype=stats_a[0].level.dtype, device=stats_a[0].level.device)
    factors = []
    for scale, (scale_filter, a, b) in enumerate(zip(filters, stats_a, stats_b, strict=True)):
        cs_numerator = scale_filter(torch.addcmul(half_c2, a.level, b.level))
        cs_map = cs_numerator.addcmul_(a.mean, b.mean, value=-1.0).div_(
            a.half_denominator + b.half_denominator
        )
        if scale < NUM_SCALES - 1:
            factors.append(torch.relu(cs_map.mean(dim=(-2, -1))))
        else:
            luminance = (2.0 * a.mean * b.mean + C1) / (a.mean * a.mean + b.mean * b.mean + C1)
            factors.append(torch.relu((luminance * cs_map).mean(dim=(-2, -1))))
    power_factors = torch.tensor(POWER_FACTORS, dtype=factors[0].dtype, device=factors[0].device)
    per_channel = torch.prod(torch.stack(factors, dim=-1) ** power_factors, dim=-1)
    return per_channel.mean(dim=-1)


def _pairs_per_chunk(image_shape: Sequence[int]) -> int:
    return max(1, CHUNK_ELEMENTS // math.prod(image_shape))


_NUMPY_FLOATS = (np.float16, np.float32, np.float64)


def _check_images(images, name: str, *, allow_float: bool) -> None:
    """Check that ``images`` is an (N, 3, H, W) numpy array or tensor of a supported dtype with
    sides of at least ``MIN_SIDE``; raise a one-line :class:`InputError` otherwise."""
    wanted = "uint8 or float" if allow_float else "uint8"
    if isinstance(images, np.ndarray):
        supported = images.dtype == np.uint8 or (allow_float and images.dtype in _NUMPY_FLOATS)
    elif isinstance(images, torch.Tensor):
        supported = images.dtype == torch.uint8 or (allow_float and images.is_floating_point())
    else:
        raise InputError(
            f"{name}: expected a numpy array or torch tensor, got {type(images).__name__}; "
            f"pass an (N, 3, H, W) {wanted} array"
        )
    if not supported:
        raise InputError(
            f"{name}: dtype {images.dtype} is not supported; pass {wanted} images in [0, 255]"
            + ("" if allow_float else " (e.g. rint(255 * x) for x in [0, 1])")
        )
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1] != 3:
        hint = (
            "; NHWC arrays need .transpose(0, 3, 1, 2)" if len(shape) == 4 and shape[3] == 3 else ""
        )
        raise InputError(
            f"{name}: shape {shape} is not (N, 3, H, W) with 3 channels first; pass RGB images "
            f"as an (N, 3, H, W) array{hint}"
        )
    if min(shape[2], shape[3]) < MIN_SIDE:
        raise InputError(
            f"{name}: images of {shape[2]}x{shape[3]} px are too small for {NUM_SCALES}-scale "
            f"MS-SSIM; both sides need at least {MIN_SIDE} px (each of the {NUM_SCALES - 1} 2x2 "
            "poolings must halve a side of at least 2 px)"
        )


def _as_tensor(images, name: str) -> torch.Tensor:
    """A checked image array as a tensor (numpy arrays are shared, or copied if read-only);
    float pixel values must be finite and in [0, 255]."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(
            np.ascontiguousarray(images) if images.flags.writeable else images.copy()
        )
    if images.is_floating_point() and images.numel():
        if not bool(torch.isfinite(images).all()):
            raise InputError(f"{name}: images contain NaN or infinity; pass finite pixel values")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > MAX_VAL:
            raise InputError(
                f"{name}: pixel values span [{low:g}, {high:g}], outside [0, 255]; scale images "
                "to [0, 255] (e.g. 255 * x for x in [0, 1], 127.5 * (x + 1) for x in [-1, 1])"
            )
    return images


def _resolve_device(device, fallback: torch.device) -> torch.device:
    if device is None:
        return fallback
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(
            f"device: {device!r} is not a torch device ({exc}); pass e.g. 'cpu'"
        ) from None


def ms_ssim(
    images_a,
    images_b,
    *,
    device=None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """MS-SSIM (Wang et al. 2003) of each pair ``(images_a[k], images_b[k])`` as computed by
    compare_gan / ``tf.image.ssim_multiscale`` with ``max_val=255`` and the window size
    ``min(11, H, W)`` per scale ("The GAN Landscape", Kurach et al. 2019, Appendix G).

    ``images_a`` and ``images_b`` are (N, 3, H, W) uint8 or float arrays / tensors in [0, 255] of
    equal shape, with sides of at least ``MIN_SIDE``. The computation runs in ``dtype`` (float64
    by default) on ``device`` (default: the device of ``images_a``, CPU for numpy). Returns a
    tensor of N scores in [0, 1] on that device.
    """
    _check_images(images_a, "images_a", allow_float=True)
    _check_images(images_b, "images_b", allow_float=True)
    if tuple(images_a.shape) != tuple(images_b.shape):
        raise InputError(
            f"images_b: shape {tuple(images_b.shape)} differs from images_a "
            f"{tuple(images_a.shape)}; pass two image sets of the same shape"
        )
    tensor_a = _as_tensor(images_a, "images_a")
    tensor_b = _as_tensor(images_b, "images_b")
    target = _resolve_device(device, tensor_a.device)
    chunk = _pairs_per_chunk(tensor_a.shape[1:])
    scores = []
    for start in range(0, tensor_a.shape[0], chunk):
        pyramid_a = _Pyramid(tensor_a[start : start + chunk].to(target, dtype))
        pyramid_b = _Pyramid(tensor_b[start : start + chunk].to(target, dtype))
        scores.append(_ms_ssim_from_stats(pyramid_a.filters, pyramid_a.scales, pyramid_b.scales))
    if not scores:
        return torch.zeros(0, dtype=dtype, device=target)
    return torch.cat(scores)


def batch_pairwise_ms_ssim(
    batch: torch.Tensor, *, pairs_per_chunk: int | None = None
) -> torch.Tensor:
    """MS-SSIM of every unordered pair ``i < j`` of a float (b, C, H, W) batch in [0, 255], in
    the order of ``torch.triu_indices(b, b, 1)``, in the dtype and on the device of ``batch``.

    The statistics of each image are computed once; then each row i of the upper triangle is
    scored as image i against the slice ``batch[i + 1:]`` (a view, so no pair gathers), split
    into chunks of at most ``pairs_per_chunk`` pairs (default: a memory-bounded size).
    """
    size = batch.shape[0]
    chunk = pairs_per_chunk or _pairs_per_chunk(batch.shape[1:])
    pyramid = _Pyramid(batch)
    scores = []
    for anchor in range(size - 1):
        anchor_stats = pyramid.select(slice(anchor, anchor + 1))
        for start in range(anchor + 1, size, chunk):
            others = pyramid.select(slice(start, min(start + chunk, size)))
            scores.append(_ms_ssim_from_stats(pyramid.filters, anchor_stats, others))
    if not scores:
        return batch.new_zeros(0)
    return torch.cat(scores)


def msssim_diversity(
    images,
    num_batches: int = 5,
    batch_size: int = 64,
    device=None,
    *,
    dtype: torch.dtype = torch.float64,
) -> MsssimDiversity:
    """The MS-SSIM diversity score of "The GAN Landscape" (Kurach et al. 2019, section 2.4,
    Appendix G), i.e. Fedus et al. 2018, section 5.3: the mean over ``num_batches`` batches of the
    mean MS-SSIM over all ``batch_size * (batch_size - 1) / 2`` unordered pairs of the batch.

    ``images`` is a uint8 (N, 3, H, W) numpy array or tensor with
    ``N >= num_batches * batch_size``; batch i is ``images[i * batch_size:(i + 1) * batch_size]``
    (compare_gan drew its 5 batches of 64 from a shuffle queue; for i.i.d. generated samples
    consecutive slices are an equivalent draw). Computed in ``dtype`` on ``device`` (default CPU).
    Raises :class:`InputError` for too few or malformed images.
    """
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or num_batches < 1:
        raise InputError(f"num_batches: {num_batches!r} is not a positive integer; pass e.g. 5")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise InputError(
            f"batch_size: {batch_size!r} is not an integer >= 2 (a pair needs two images); "
            "pass e.g. 64"
        )
    _check_images(images, "images", allow_float=False)
    needed = num_batches * batch_size
    if images.shape[0] < needed:
        raise InputError(
            f"images: {images.shape[0]} images given, but {num_batches} batches of {batch_size} "
            f"need at least {needed}; pass more images or lower num_batches / batch_size"
        )
    tensor = _as_tensor(images[:needed], "images")
    target = _resolve_device(device, torch.device("cpu"))
    per_batch: list[float] = []
    for batch_index in range(num_batches):
        batch = tensor[batch_index * batch_size : (batch_index + 1) * batch_size]
        scores = batch_pairwise_ms_ssim(batch.to(target, dtype))
        per_batch.append(float(scores.mean()))
    return MsssimDiversity(
        score=float(np.mean(per_batch)),
        per_batch=tuple(per_batch),
        num_batches=num_batches,
        batch_size=batch_size,
        num_pairs=num_batches * batch_size * (batch_size - 1) // 2,
    )


__all__ = [
    "MIN_SIDE",
    "POWER_FACTORS",
    "MsssimDiversity",
    "batch_pairwise_ms_ssim",
    "downscale",
    "gaussian_window_1d",
    "ms_ssim",
    "msssim_diversity",
]
