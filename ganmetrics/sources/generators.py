"""Generators as sources: ``fn(n, seed)`` callables and ``nn.Module`` generators of z.

Rules: ``fn(n, seed)`` callables are always called with n = ``GENERATOR_CHUNK`` = 500 and
``seed = seed * 100003 + chunk_index``; the first ``num`` images of the concatenated chunks are
used, so the images depend neither on the batch size nor (for a prefix) on ``num``. Their output
follows the array rules (:mod:`ganmetrics.sources.arrays`; floats need ``value_range``).
``nn.Module`` generators map z of shape (n, z_dim) to float images in [0, 1]: z is drawn in chunks
of 500 rows from one ``torch.Generator`` seeded with ``seed`` (U(-1, 1) for ``"uniform"``,
N(0, 1) for ``"normal"``); the module runs in eval mode under ``torch.inference_mode`` on fixed,
full slices of ``GENERATOR_FORWARD_BATCH`` = 100 latents (surplus images of the last slice are
dropped), so that even floating-point results do not depend on the batch size or ``num`` (up to
nondeterministic GPU kernels); images become ``rint(255 x)`` clipped to uint8. With
``round_generated=False`` both kinds yield float32 ``255 x`` clipped to [0, 255] instead, not
rounded (compare_gan's ``fake_images *= 255.0``, "The GAN Landscape"'s evaluation code), which
the feature extractor resizes as it resizes uint8. Generators are never cached (fingerprint
``None``).
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch

from ganmetrics import images
from ganmetrics.errors import InputError
from ganmetrics.sources.arrays import (
    _channel_layout,
    _check_finite,
    _float_range,
    _to_float255_nchw,
    _to_numpy,
    _to_uint8_nchw,
    parse_value_range,
)
from ganmetrics.sources.base import ImageSource, _check_batch_size, _require_num

GENERATOR_CHUNK = 500
GENERATOR_FORWARD_BATCH = 100
CHUNK_SEED_STRIDE = 100003
Z_DISTRIBUTIONS = ("uniform", "normal")
_CALLABLE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _callable_name(fn: object) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{name}" if module else str(name)


def _rebatch(chunks: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of image arrays into batches of exactly ``batch_size`` (last smaller)."""
    pending: list[np.ndarray] = []
    pending_count = 0
    for chunk in chunks:
        start = 0
        while start < len(chunk):
            take = min(batch_size - pending_count, len(chunk) - start)
            pending.append(chunk[start : start + take])
            pending_count += take
            start += take
            if pending_count == batch_size:
                yield np.ascontiguousarray(np.concatenate(pending))
                pending, pending_count = [], 0
    if pending:
        yield np.ascontiguousarray(np.concatenate(pending))


class _GeneratedImages:
    """Validates generator outputs chunk by chunk and converts them with the array rule."""

    def __init__(self, description: str, value_range: tuple | None, round_generated: bool = True):
        self.description = description
        self.value_range = value_range
        self._convert = _to_uint8_nchw if round_generated else _to_float255_nchw
        self.size: tuple[int, int] | None = None

    def convert(self, output: object, requested: int, keep: int, offset: int) -> np.ndarray:
        images = _to_numpy(output, f"{self.description} (generator output)")
        layout = _channel_layout(images.shape, f"{self.description} (generator output)")
        if images.shape[0] != requested:
            raise InputError(
                f"{self.description}: generator returned {images.shape[0]} images when asked "
                f"for {requested}; it must return exactly n images"
            )
        value_range = _float_range(images.dtype, self.value_range, self.description)
        images = images[:keep]
        _check_finite(images, self.description, offset)
        converted = self._convert(images, layout, value_range)
        size = (int(converted.shape[2]), int(converted.shape[3]))
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise InputError(
                f"{self.description}: generator image size changed from {self.size} to {size} "
                f"at image {offset}; it must always return the same size"
            )
        return converted


class _GeneratorSource(ImageSource):
    """Images drawn on demand: ``num`` of them, never cached, size known once drawn."""

    num: int
    _size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return self.num

    def fingerprint(self) -> None:
        return None

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self._size

    def limit(self, num: int) -> ImageSource:
        limited = copy.copy(self)
        limited.num = _require_num(self.description, num)
        return limited

    def _pieces(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        _check_batch_size(batch_size)
        yield from _rebatch(self._pieces(), batch_size)


class CallableGeneratorSource(_GeneratorSource):
    """``num`` images from ``fn(n, seed)``, called in fixed chunks (see module rules); uint8, or
    float32 in [0, 255] with ``round_generated=False``."""

    def __init__(
        self,
        fn: Callable[[int, int], Any],
        num: int,
        seed: int = 0,
        value_range: str | tuple[float, float] | None = None,
        description: str | None = None,
        round_generated: bool = True,
    ):
        self.fn = fn
        self.round_generated = bool(round_generated)
        self.description = description or _callable_name(fn)
        if not callable(fn):
            raise InputError(f"{self.description}: is not callable; pass module:callable")
        self.num = _require_num(self.description, num)
        self.seed = int(seed)
        self.value_range = parse_value_range(value_range, self.description)
        self._size = None

    def chunk_seed(self, chunk_index: int) -> int:
        """The seed ``fn`` receives for chunk ``chunk_index``: ``seed * 100003 + chunk_index``."""
        return self.seed * CHUNK_SEED_STRIDE + chunk_index

    def _pieces(self) -> Iterator[np.ndarray]:
        generated = _GeneratedImages(self.description, self.value_range, self.round_generated)
        produced = 0
        chunk_index = 0
        while produced < self.num:
            keep = min(GENERATOR_CHUNK, self.num - produced)
            output = self.fn(GENERATOR_CHUNK, self.chunk_seed(chunk_index))
            images = generated.convert(output, GENERATOR_CHUNK, keep, produced)
            self._size = generated.size
            yield images
            produced += keep
            chunk_index += 1


def _module_device(module: torch.nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


class ModuleGeneratorSource(_GeneratorSource):
    """``num`` images from an ``nn.Module`` mapping z (n, z_dim) to images in [0, 1].

    z is drawn in chunks of 500 rows from ``torch.Generator().manual_seed(seed)``; the module
    runs in eval mode under ``torch.inference_mode`` on slices of 100 latents, on ``device``
    (default: where its parameters are; a given ``device`` moves the module there). Images are
    uint8 ``rint(255 x)``, or float32 ``255 x`` with ``round_generated=False``.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        num: int,
        z_dim: int,
        seed: int = 0,
        z_distribution: str = "uniform",
        device: str | torch.device | None = None,
        description: str | None = None,
        round_generated: bool = True,
    ):
        self.description = description or type(module).__name__
        self.round_generated = bool(round_generated)
        if not isinstance(module, torch.nn.Module):
            raise InputError(f"{self.description}: is not a torch.nn.Module")
        if isinstance(z_dim, bool) or not isinstance(z_dim, int | np.integer) or z_dim < 1:
            raise InputError(
                f"{self.description}: z_dim must be a positive integer, got {z_dim!r}; pass --z-dim"
            )
        if z_distribution not in Z_DISTRIBUTIONS:
            raise InputError(
                f"{self.description}: unknown z distribution {z_distribution!r}; use uniform "
                "or normal"
            )
        self.num = _require_num(self.description, num)
        self.z_dim = int(z_dim)
        self.seed = int(seed)
        self.z_distribution = z_distribution
        self.device = torch.device(device) if device is not None else _module_device(module)
        self.module = module.to(self.device) if device is not None else module
        self._size = None

    def latent_chunks(self) -> Iterator[torch.Tensor]:
        """The z stream: float32 CPU tensors of ``GENERATOR_CHUNK`` rows each, forever."""
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            if self.z_distribution == "uniform":
                yield torch.rand(GENERATOR_CHUNK, self.z_dim, generator=generator) * 2 - 1
            else:
                yield torch.randn(GENERATOR_CHUNK, self.z_dim, generator=generator)

    def _pieces(self) -> Iterator[np.ndarray]:
        generated = _GeneratedImages(self.description, (0.0, 1.0), self.round_generated)
        self.module.eval()
        produced = 0
        for latents in self.latent_chunks():
            for start in range(0, GENERATOR_CHUNK, GENERATOR_FORWARD_BATCH):
                keep = min(GENERATOR_FORWARD_BATCH, self.num - produced)
                z = latents[start : start + GENERATOR_FORWARD_BATCH].to(self.device)
                with torch.inference_mode():
                    output = self.module(z)
                images = generated.convert(output, len(z), keep, produced)
                self._size = generated.size
                yield images
                produced += keep
                if produced >= self.num:
                    return


def resolve_callable_spec(spec: str) -> Any:
    """Import ``package.module:attribute`` (the current folder is put on ``sys.path``)."""
    module_name, _, attribute = spec.partition(":")
    if not _CALLABLE_SPEC.match(spec):
        raise InputError(f"{spec}: not a module:callable spec; write it as package.module:name")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:
        raise InputError(
            f"{spec}: cannot import module {module_name!r} ({images.exception_text(error)}); "
            "check the spec and that the module is importable from the current folder"
        ) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(
                f"{spec}: module {module_name!r} has no attribute {attribute!r}; check the spec"
            ) from None
    return obj
