"""A synthetic data set that needs no download: one coloured shape on a gradient background.

For tests and demos of training and evaluation ("The GAN Landscape" itself uses CIFAR-10,
CelebA-HQ-128 and LSUN-bedroom, section 2.5). Rendering is vectorised over many images at once
(numpy, float32): the whole training set is drawn in one pass before training instead of one
image per read.

Randomness is counter-based, so image ``i`` of split ``s`` depends only on (seed, split, index,
image_size, num_modes), never on reading order or on how many images the set has: the per-image
parameters are ``splitmix64`` hashes of (key, 64 i + j) for draw ``j``, with the key from
``numpy.random.SeedSequence([seed, stream(s)])`` (``stream`` 0 for train, 1 for test), mapped to
[0, 1) with 53 bits; the colour jitter (sigma 12) is an Irwin-Hall sum of 4 of them. The pixel
noise is a bank of
:data:`NOISE_BANK` Gaussian fields (sigma 4) drawn once per (seed, split, size) with
``numpy.random.default_rng``; image ``i`` adds one of them, cyclically shifted by its own offsets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganmetrics.datasets.base import Dataset, _check_split
from ganmetrics.errors import InputError

#: (background top colour, background bottom colour, shape colour, shape) for each mode.
_PROCEDURAL_MODES = (
    ((40, 70, 160), (120, 170, 230), (245, 150, 40), "disc"),
    ((30, 110, 50), (150, 210, 120), (150, 50, 170), "square"),
    ((25, 25, 30), (110, 110, 120), (250, 220, 60), "triangle"),
    ((220, 120, 160), (250, 220, 230), (20, 140, 140), "ring"),
)
_SPLIT_STREAM = {"train": 0, "test": 1}
#: Number of pixel-noise fields images draw their noise from.
NOISE_BANK = 64
#: Draws per image (the counter stride): mode, 9 colour jitters of 4 uniforms each, tilt,
#: radius, centre (2), noise field, noise offsets (2); the rest are spare.
_DRAWS = 64
#: Images rendered per vectorised pass: about 4 M float32 values (16 MB) in the work buffer.
_PASS_VALUES = 1 << 22

_MODE_COLOURS = np.asarray([mode[:3] for mode in _PROCEDURAL_MODES], dtype=np.float32)
_MODE_SHAPES = tuple(mode[3] for mode in _PROCEDURAL_MODES)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (Steele et al. 2014) on uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _Draws:
    """The per-image random parameters of a batch of image indices."""

    def __init__(self, key: np.ndarray, indices: np.ndarray, num_modes: int, size: int):
        counters = indices.astype(np.uint64)[:, None] * np.uint64(_DRAWS) + np.arange(
            _DRAWS, dtype=np.uint64
        )
        with np.errstate(over="ignore"):
            bits = _splitmix64(_splitmix64(counters ^ key[0]) ^ key[1])
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
        self.mode = np.minimum((u[:, 0] * num_modes).astype(np.int64), num_modes - 1)
        # Irwin-Hall: the sum of 4 uniforms, centred and scaled to sigma 12. Only + and *, so an
        # image's values are the same whichever batch renders it (no SIMD-dependent libm calls).
        quads = u[:, 1:37].reshape(-1, 9, 4)
        summed = quads[..., 0] + quads[..., 1] + quads[..., 2] + quads[..., 3]
        self.jitter = ((summed - 2.0) * (12.0 * 3.0**0.5)).reshape(-1, 3, 3).astype(np.float32)
        self.tilt = (-0.3 + 0.6 * u[:, 37]).astype(np.float32)
        self.radius = (0.15 + 0.15 * u[:, 38]).astype(np.float32)
        span = 1.0 - 2.0 * self.radius
        self.cy = (self.radius + span * u[:, 39]).astype(np.float32)
        self.cx = (self.radius + span * u[:, 40]).astype(np.float32)
        self.noise_field = np.minimum((u[:, 41] * NOISE_BANK).astype(np.int64), NOISE_BANK - 1)
        self.noise_shift = np.minimum((u[:, 42:44] * size).astype(np.int64), size - 1)


def _shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Pixels inside ``shape`` centred at the origin, for (n, S, S) offsets and (n, 1, 1) radii."""
    if shape == "disc":
        return dy**2 + dx**2 <= radius**2
    if shape == "square":
        return (np.abs(dy) <= radius * 0.85) & (np.abs(dx) <= radius * 0.85)
    if shape == "ring":
        squared = dy**2 + dx**2
        return (squared <= radius**2) & (squared >= (radius * 0.55) ** 2)
    # triangle pointing up: apex at cy - radius, base at cy + radius / 2
    half_width = radius * 0.866 * (dy + radius) / (1.5 * radius)
    return (dy >= -radius) & (dy <= radius * 0.5) & (np.abs(dx) <= half_width)


class ProceduralDataset(Dataset):
    """Synthetic images that need no download: one coloured shape on a gradient background.

    Each image belongs to one of ``num_modes`` (at most 4) modes - a blue sky with an orange
    disc, green with a purple square, grey with a yellow triangle, pink with a teal ring - with
    jittered colours, random position and size, and mild pixel noise: easy to learn, and a
    generator that drops modes or blurs shapes gets a clearly worse FID against the test split.
    Image ``i`` depends only on (seed, split, index, image_size, num_modes) (module docstring).
    """

    name = "procedural"
    in_memory = True

    def __init__(
        self,
        num_images: int,
        image_size: int = 32,
        seed: int = 0,
        split: str = "train",
        num_modes: int = len(_PROCEDURAL_MODES),
    ):
        self.split = _check_split(split)
        if int(num_images) <= 0:
            raise InputError(f"num_images {num_images}: the procedural data set needs at least 1")
        if int(image_size) < 4:
            raise InputError(f"image_size {image_size}: the procedural data set needs at least 4")
        if not 1 <= int(num_modes) <= len(_PROCEDURAL_MODES):
            raise InputError(f"num_modes {num_modes}: choose 1 to {len(_PROCEDURAL_MODES)}")
        self.num_images = int(num_images)
        self.resolution = int(image_size)
        self.seed = int(seed)
        self.num_modes = int(num_modes)
        self.description = f"procedural:{split} (seed {seed}, {num_images} images)"
        stream = _SPLIT_STREAM[self.split]
        self._key = np.random.SeedSequence([self.seed, stream]).generate_state(2, np.uint64)
        self._noise: np.ndarray | None = None

    def __len__(self) -> int:
        return self.num_images

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_noise"] = None  # redrawn on first use, not sent through pipes
        return state

    def _check_indices(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        bad = indices[(indices < 0) | (indices >= self.num_images)]
        if bad.size:
            raise IndexError(f"index {int(bad[0])} out of range for {self.num_images} images")
        return indices

    def mode(self, index: int) -> int:
        """The mode (0 .. num_modes - 1) of image ``index``."""
        indices = self._check_indices(np.asarray([index]))
        return int(_Draws(self._key, indices, self.num_modes, self.resolution).mode[0])

    def _noise_fields(self) -> np.ndarray:
        """The noise bank, tiled 2 x 2 so that a cyclic shift is a plain slice: (B, 3, 2S, 2S)."""
        if self._noise is None:
            stream = _SPLIT_STREAM[self.split]
            rng = np.random.default_rng([self.seed, stream, 1])
            shape = (NOISE_BANK, 3, self.resolution, self.resolution)
            fields = rng.normal(0.0, 4.0, size=shape).astype(np.float32)
            self._noise = np.tile(fields, (1, 1, 2, 2))
        return self._noise

    def render(self, indices: Any) -> np.ndarray:
        """Images ``indices`` as a uint8 array (n, 3, S, S), drawn in vectorised passes."""
        indices = self._check_indices(indices)
        size = self.resolution
        output = np.empty((len(indices), 3, size, size), dtype=np.uint8)
        step = max(1, _PASS_VALUES // (size * size * 3))
        work = np.empty((min(step, len(indices)), 3, size, size), dtype=np.float32)
        for start in range(0, len(indices), step):
            chunk = indices[start : start + step]
            self._render_pass(chunk, work[: len(chunk)])
            output[start : start + len(chunk)] = work[: len(chunk)]
        return output

    def _render_pass(self, indices: np.ndarray, image: np.ndarray) -> None:
        """Draw images ``indices`` into the float32 buffer ``image`` (n, 3, S, S), rounded."""
        size = self.resolution
        draws = _Draws(self._key, indices, self.num_modes, size)
        colours = _MODE_COLOURS[draws.mode] + draws.jitter  # (n, 3 colours, RGB)
        top, bottom, fill = (colours[:, k, :, None, None] for k in range(3))  # (n, 3, 1, 1)

        coords = (np.arange(size, dtype=np.float32) + np.float32(0.5)) / np.float32(size)
        yy, xx = coords[None, :, None], coords[None, None, :]
        tilt = draws.tilt[:, None, None]
        t = np.clip(yy + tilt * (xx - np.float32(0.5)), 0.0, 1.0)  # (n, S, S)
        np.multiply(t[:, None], bottom - top, out=image)
        image += top

        dy = yy - draws.cy[:, None, None]
        dx = xx - draws.cx[:, None, None]
        radius = draws.radius[:, None, None]
        mask = np.zeros((len(indices), size, size), dtype=bool)
        for mode in np.unique(draws.mode):
            chosen = np.flatnonzero(draws.mode == mode)
            mask[chosen] = _shape_mask(_MODE_SHAPES[mode], dy[chosen], dx[chosen], radius[chosen])
        np.copyto(image, np.broadcast_to(fill, image.shape), where=mask[:, None])

        fields = self._noise_fields()
        for row, (field, (y, x)) in enumerate(
            zip(draws.noise_field, draws.noise_shift, strict=True)
        ):
            image[row] += fields[field, :, y : y + size, x : x + size]
        np.rint(image, out=image)
        np.clip(image, 0, 255, out=image)

    def read(self, index: int) -> np.ndarray:
        return self.render(np.asarray([index]))[0]

    def to_array(self, num_workers: int = 0) -> np.ndarray:
        """Every image, rendered in vectorised passes (``num_workers`` is not needed)."""
        return self.render(np.arange(self.num_images))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "num_modes": self.num_modes,
            "generator": "splitmix64-counter+noise-bank/2",
        }
