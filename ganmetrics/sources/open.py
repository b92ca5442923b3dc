"""From what a user names to a source: :func:`open_source`.

Sources and stats files pass through (``num`` limits a source); folders, ``.zip``, ``.npy``,
``.npz`` (statistics if it has ``mu``/``sigma``, else images), ``.pt``/``.pth`` generator exports
and ``module:callable`` specs are opened by path; arrays, tensors, modules and callables are
wrapped.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmetrics.errors import InputError
from ganmetrics.sources.arrays import ArraySource
from ganmetrics.sources.base import SOURCE_KINDS_HINT, ImageSource, _require_num
from ganmetrics.sources.files import FolderSource, ZipSource
from ganmetrics.sources.generator_export import load_generator_export
from ganmetrics.sources.generators import (
    _CALLABLE_SPEC,
    CallableGeneratorSource,
    ModuleGeneratorSource,
    _callable_name,
    resolve_callable_spec,
)
from ganmetrics.sources.npz import npz_keys
from ganmetrics.sources.stats_file import StatsFile, load_stats


def open_source(
    spec: Any,
    *,
    num: int | None = None,
    value_range: str | tuple[float, float] | None = None,
    resize: tuple[int, int] | bool | None = None,
    seed: int = 0,
    z_dim: int | None = None,
    device: str | torch.device | None = None,
    stats_dim: int | None = 2048,
    round_generated: bool | None = True,
) -> ImageSource | StatsFile:
    """Turn what the user named into an :class:`ImageSource` or a :class:`StatsFile`.

    Sources and stats files pass through (``num`` limits a source; stats stay as they are);
    folders, ``.zip``, ``.npy``, ``.npz`` (statistics if it has ``mu``/``sigma``, else images),
    ``.pt``/``.pth`` generator exports and ``module:callable`` specs are opened by path; arrays,
    tensors, modules and callables are wrapped. Generators need ``num``; with
    ``round_generated=False`` they yield float32 images in [0, 255], not rounded to uint8
    (``None`` means True; sources that are already open keep theirs).
    """
    rounded = round_generated is not False
    if isinstance(spec, StatsFile):
        return spec
    if isinstance(spec, ImageSource):
        return spec if num is None else spec.limit(num)
    if isinstance(spec, np.ndarray | torch.Tensor):
        return ArraySource(spec, num=num, value_range=value_range)
    if isinstance(spec, torch.nn.Module):
        return _module_source(spec, type(spec).__name__, num, z_dim, seed, device, rounded=rounded)
    if isinstance(spec, str | os.PathLike):
        return _open_path(spec, num, value_range, resize, seed, z_dim, device, stats_dim, rounded)
    if callable(spec):
        name = _callable_name(spec)
        _require_num(name, num)
        return CallableGeneratorSource(spec, num, seed, value_range, description=name,
                                       round_generated=rounded)  # fmt: skip
    raise InputError(f"{type(spec).__name__} object: cannot be used as images; {SOURCE_KINDS_HINT}")


def _module_source(
    module: torch.nn.Module,
    description: str,
    num: int | None,
    z_dim: int | None,
    seed: int,
    device: Any,
    z_distribution: str = "uniform",
    *,
    rounded: bool = True,
) -> ModuleGeneratorSource:
    _require_num(description, num)
    if z_dim is None:
        raise InputError(f"{description}: a generator module needs its latent size; pass --z-dim")
    return ModuleGeneratorSource(
        module, num, z_dim, seed, z_distribution, device, description=description,
        round_generated=rounded,
    )  # fmt: skip


def _open_path(
    spec: str | os.PathLike,
    num: int | None,
    value_range: Any,
    resize: Any,
    seed: int,
    z_dim: int | None,
    device: Any,
    stats_dim: int | None,
    rounded: bool,
) -> ImageSource | StatsFile:
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        return FolderSource(path, num=num, resize=resize)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return ZipSource(path, num=num, resize=resize)
        if suffix == ".npy":
            return ArraySource.from_file(path, num=num, value_range=value_range)
        if suffix == ".npz":
            keys = npz_keys(path)
            if "mu" in keys or "sigma" in keys:
                return load_stats(path, expected_dim=stats_dim)
            return ArraySource.from_file(path, num=num, value_range=value_range)
        if suffix in (".pt", ".pth"):
            _require_num(text, num)
            module, header = load_generator_export(path, device=device)
            if z_dim is not None and z_dim != header["z_dim"]:
                raise InputError(
                    f"{text}: the export has z_dim {header['z_dim']} but --z-dim {z_dim} was "
                    "given; drop --z-dim"
                )
            return _module_source(
                module, text, num, header["z_dim"], seed, device, header["z_distribution"],
                rounded=rounded,
            )  # fmt: skip
        if not suffix and zipfile.is_zipfile(path) and {"mu", "sigma"} <= set(npz_keys(path)):
            raise InputError(
                f"{text}: a statistics file without the .npz suffix, by which stats files are "
                f"known; rename it to {text}.npz"
            )
        raise InputError(
            f"{text}: unsupported file type {suffix or '(none)'!r}; {SOURCE_KINDS_HINT}"
        )
    if isinstance(spec, str) and _CALLABLE_SPEC.match(text):
        if num is None:
            raise InputError(
                f"{text}: no such file or folder, so it is read as a module:callable generator, "
                "which needs the number of images to draw; pass --num N (e.g. --num 10000)"
            )
        target = resolve_callable_spec(text)
        if isinstance(target, torch.nn.Module):
            return _module_source(target, text, num, z_dim, seed, device, rounded=rounded)
        if not callable(target):
            raise InputError(
                f"{text}: {type(target).__name__} is not callable; point to a function "
                "fn(n, seed) returning images"
            )
        return CallableGeneratorSource(target, num, seed, value_range, description=text,
                                       round_generated=rounded)  # fmt: skip
    if Path(text + ".npz").is_file():
        raise InputError(f"{text}: no such file or folder; did you mean {text}.npz?")
    raise InputError(f"{text}: no such file or folder; {SOURCE_KINDS_HINT}")
