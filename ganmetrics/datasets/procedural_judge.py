"""A judge of generated images for the procedural set that needs no downloaded weights.

Why: FID on stand-in (random) Inception weights is the only offline FID, and it is noisy and hard
to read while a model learns. The procedural set (:mod:`ganmetrics.datasets.procedural`) is ours:
every image is one of four modes, each a vertical colour gradient between two known colours with
one shape in a third known colour, plus colour jitter (sigma 12 per channel) and pixel noise
(sigma 4). So a generated image can be checked against what the data *is*, pixel by pixel:

1. **Palette.** For each mode, a pixel is explained by the mode when its RGB colour lies within
   :data:`PALETTE_RADIUS` of the mode's background segment (the line from the top to the bottom
   colour; the gradient's colours lie on it) or of its shape colour. The radius covers the jitter
   and noise (their 3-d norm is below 45 for >99% of real pixels). The image's mode is the one that
   explains most pixels, and it must explain at least :data:`MIN_EXPLAINED` of them: real images
   100%, a recognisable but blurred or checkerboarded sample of one mode (an early generator)
   70-80%, uniform noise about 10%. A flat image of a palette colour is explained fully, so the
   shape and gradient checks below are what rule it out (an untrained generator's grey).
2. **Shape.** The pixels of the mode's shape colour must cover :data:`SHAPE_AREA` of the image
   (the data's shapes cover about 3-28%; none, or a flood of the shape colour, is not the data) and
   form one compact blob: their RMS distance from their centroid is at most :data:`SHAPE_SPREAD` of
   the side (a ring of radius 0.3 has about 0.24).
3. **Gradient.** Along the background segment, the background pixels' position must grow from top
   to bottom: their correlation with the row index is at least :data:`GRADIENT_CORRELATION` (the
   data's tilt is at most 0.3, giving about 0.9 or more).

An image passing all three is *in distribution* for its mode. The scores:

* ``quality``: the share of images in distribution (0..1);
* ``modes``: how many modes are produced in a fair share - at least half of ``1 / num_modes`` of
  the in-distribution images, and at least 2 images (0..num_modes);
* ``coverage``: ``sum_m min(share_m, 1 / num_modes)`` with ``share_m`` the share of ALL images
  that are in distribution and of mode ``m``: 1 only when every mode has its fair share of good
  images, ``quality`` when modes are balanced, at most ``1 / num_modes`` for a collapse;
* ``mode_shares``: ``share_m`` for each mode;
* ``colour_fd``: a graded companion that moves long before images pass all checks - the Frechet
  distance (Heusel et al. 2017, on pixels instead of Inception features) between the images and
  :data:`REFERENCE_IMAGES` test images of the set, both average-pooled to 4 x 4 colours (48
  values in [0, 1]). It measures whether colours and layout are distributed as in the data: 512
  real training images score about 0.03, uniform noise about 2, an untrained generator's grey about
  2.5, and a collapse to one mode 3 or more (one mode's colours are far from the mixture's).
  Lower is better.

Calibrated in ``tests/test_procedural_judge.py``: real images score quality >= 0.97, all modes and
coverage >= 0.9; uniform noise and flat colours score quality 0; one mode repeated scores 1 mode.
numpy only, about a millisecond per 100 images at 16 px.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from ganmetrics.datasets.procedural import _MODE_COLOURS, _PROCEDURAL_MODES, ProceduralDataset
from ganmetrics.errors import InputError

__all__ = ["JudgeScores", "judge_procedural"]

#: Colour distance (RGB, 0..255) within which a pixel belongs to a palette entry.
PALETTE_RADIUS = 45.0
#: Share of pixels the image's mode must explain.
MIN_EXPLAINED = 0.7
#: (lowest, highest) share of pixels in the shape colour.
SHAPE_AREA = (0.015, 0.45)
#: Largest RMS distance of shape pixels from their centroid, as a share of the side.
SHAPE_SPREAD = 0.3
#: Smallest correlation of background pixels' position along the gradient with their row.
GRADIENT_CORRELATION = 0.5
#: Test images the colour distance compares against (rendered once per size and mode count).
REFERENCE_IMAGES = 1024
#: Side of the pooled colour grid of the colour distance.
POOLED_SIDE = 4


@dataclass(frozen=True)
class JudgeScores:
    """What :func:`judge_procedural` returns (see the module docstring)."""

    quality: float
    modes: int
    coverage: float
    mode_shares: tuple[float, ...]
    num_images: int
    colour_fd: float

    def as_dict(self) -> dict:
        return asdict(self)


def _pooled_colours(images: np.ndarray) -> np.ndarray:
    """(N, 48) colours in [0, 1] of images average-pooled to 4 x 4 (sides cropped to a multiple)."""
    n, _, height, width = images.shape
    side = POOLED_SIDE
    crop = images[:, :, : height - height % side, : width - width % side].astype(np.float64)
    blocks = crop.reshape(n, 3, side, crop.shape[2] // side, side, crop.shape[3] // side)
    return blocks.mean(axis=(3, 5)).reshape(n, -1) / 255.0


@functools.lru_cache(maxsize=8)
def _reference_statistics(size: int, num_modes: int) -> tuple[np.ndarray, np.ndarray]:
    from ganmetrics.fid import feature_statistics

    real = ProceduralDataset(REFERENCE_IMAGES, size, seed=0, split="test", num_modes=num_modes)
    return feature_statistics(_pooled_colours(real.to_array()))


def colour_distance(images: np.ndarray, num_modes: int) -> float:
    """Frechet distance of 4 x 4 pooled colours to the procedural test split (module docstring)."""
    from ganmetrics.fid import feature_statistics, frechet_distance

    if images.shape[-1] < POOLED_SIDE or images.shape[-2] < POOLED_SIDE:
        raise InputError(f"procedural judge: images of side {images.shape[-1]}; need >= 4 px")
    mu, sigma = _reference_statistics(int(images.shape[-1]), int(num_modes))
    features = _pooled_colours(images)
    if len(features) < 2:
        return float("nan")
    return float(frechet_distance(*feature_statistics(features), mu, sigma))


def _segment_distance(pixels: np.ndarray, top: np.ndarray, bottom: np.ndarray):
    """Distance of (n, P, 3) colours from the segment top-bottom, and the position t in [0, 1]."""
    direction = bottom - top
    t = np.clip((pixels - top) @ direction / float(direction @ direction), 0.0, 1.0)
    nearest = top + t[..., None] * direction
    return np.linalg.norm(pixels - nearest, axis=-1), t


def _row_correlation(t: np.ndarray, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per image: Pearson correlation of t with the row index over the pixels in ``mask``."""
    weight = mask.astype(np.float64)
    count = np.maximum(weight.sum(1), 1.0)
    mean_t = (t * weight).sum(1) / count
    mean_r = (rows * weight).sum(1) / count
    dt, dr = (t - mean_t[:, None]) * weight, (rows - mean_r[:, None]) * weight
    denominator = np.sqrt((dt**2).sum(1) * (dr**2).sum(1))
    return np.where(denominator > 0, (dt * dr).sum(1) / np.maximum(denominator, 1e-12), 0.0)


def judge_procedural(images, num_modes: int = len(_PROCEDURAL_MODES)) -> JudgeScores:
    """Judge uint8 images (N, 3, S, S) against the procedural set's modes (module docstring).

    ``num_modes`` is the data set's (``dataset_options`` of the trainer; 4 by default): modes
    beyond it do not count as the data.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] < 1:
        raise InputError(
            f"procedural judge: images of shape {images.shape}; pass uint8 (N, 3, S, S)"
        )
    if not 1 <= int(num_modes) <= len(_PROCEDURAL_MODES):
        raise InputError(f"procedural judge: num_modes {num_modes}; choose 1 to 4")
    n, _, height, width = images.shape
    pixels = images.reshape(n, 3, -1).transpose(0, 2, 1).astype(np.float64)  # (n, P, 3)
    rows = np.broadcast_to(np.repeat(np.arange(height), width)[None], (n, height * width))
    cols = np.broadcast_to(np.tile(np.arange(width), height)[None], (n, height * width))

    explained = np.zeros((num_modes, n))
    passed = np.zeros((num_modes, n), dtype=bool)
    for mode in range(num_modes):
        top, bottom, fill = (c.astype(np.float64) for c in _MODE_COLOURS[mode])
        background_distance, t = _segment_distance(pixels, top, bottom)
        shape_distance = np.linalg.norm(pixels - fill, axis=-1)
        background = background_distance <= PALETTE_RADIUS
        shape = (shape_distance <= PALETTE_RADIUS) & (shape_distance < background_distance)
        background &= ~shape
        explained[mode] = (background | shape).mean(1)
        area = shape.mean(1)
        count = np.maximum(shape.sum(1), 1)
        centre_r = (rows * shape).sum(1) / count
        centre_c = (cols * shape).sum(1) / count
        spread = np.sqrt(
            (((rows - centre_r[:, None]) ** 2 + (cols - centre_c[:, None]) ** 2) * shape).sum(1)
            / count
        ) / max(height, width)
        gradient = _row_correlation(t, rows, background)
        passed[mode] = (
            (explained[mode] >= MIN_EXPLAINED)
            & (area >= SHAPE_AREA[0])
            & (area <= SHAPE_AREA[1])
            & (spread <= SHAPE_SPREAD)
            & (gradient >= GRADIENT_CORRELATION)
        )
    assigned = explained.argmax(0)
    good = passed[assigned, np.arange(n)]
    counts = np.bincount(assigned[good], minlength=num_modes)
    shares = counts / n
    fair = 1.0 / num_modes
    modes = int(np.sum((counts >= 2) & (counts >= 0.5 * fair * good.sum())))
    coverage = float(np.minimum(shares, fair).sum())
    return JudgeScores(
        quality=float(good.mean()),
        modes=modes,
        coverage=coverage,
        mode_shares=tuple(float(s) for s in shares),
        num_images=n,
        colour_fd=colour_distance(images, num_modes),
    )
