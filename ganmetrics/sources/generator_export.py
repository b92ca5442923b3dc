"""The generator export format ``ganmetrics.generator/1``: the trainer's contract with the metrics.

``ganmetrics-train export`` writes it with :func:`save_generator_export`; ``ganmetrics eval
--fake generator.pt`` reads it with :func:`load_generator_export`. The file holds only plain
values and tensors (``format``, ``builder`` as ``package.module:function``, ``builder_kwargs``,
``state_dict``, ``z_dim``, ``z_distribution``), so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganmetrics import atomic, images
from ganmetrics.errors import InputError
from ganmetrics.sources.base import SOURCE_KINDS_HINT
from ganmetrics.sources.generators import (
    _CALLABLE_SPEC,
    Z_DISTRIBUTIONS,
    _callable_name,
    resolve_callable_spec,
)

GENERATOR_EXPORT_FORMAT = "ganmetrics.generator/1"


def _check_plain(value: object, where: str) -> None:
    """Reject values that ``torch.load(weights_only=True)`` could not read back."""
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_plain(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, got {key!r}")
            _check_plain(item, where)
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a plain value (str/number/list/dict)")


def save_generator_export(
    path: str | os.PathLike,
    module: torch.nn.Module,
    builder: str | Callable[..., torch.nn.Module],
    builder_kwargs: dict[str, Any],
    z_dim: int,
    z_distribution: str = "uniform",
) -> None:
    """Write a generator export (format ``ganmetrics.generator/1``) atomically.

    ``builder`` is a ``package.module:function`` spec (or the function itself) that rebuilds the
    architecture from ``builder_kwargs``; the file holds only plain values and tensors, so it
    loads with ``torch.load(weights_only=True)``.
    """
    spec = builder if isinstance(builder, str) else _callable_name(builder)
    if not _CALLABLE_SPEC.match(spec):
        raise ValueError(f"builder must be an importable package.module:function, got {spec!r}")
    _check_plain(builder_kwargs, "builder_kwargs")
    if not isinstance(builder_kwargs, dict):
        raise ValueError("builder_kwargs must be a dict")
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise ValueError(f"z_dim must be a positive integer, got {z_dim!r}")
    if z_distribution not in Z_DISTRIBUTIONS:
        raise ValueError(f"z_distribution must be one of {Z_DISTRIBUTIONS}, got {z_distribution!r}")
    state_dict = {key: value.detach().cpu() for key, value in module.state_dict().items()}
    atomic.torch_save(
        path,
        {
            "format": GENERATOR_EXPORT_FORMAT,
            "builder": spec,
            "builder_kwargs": builder_kwargs,
            "state_dict": state_dict,
            "z_dim": z_dim,
            "z_distribution": z_distribution,
        },
    )


def load_generator_export(
    path: str | os.PathLike, device: str | torch.device | None = None
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a generator from an export: import the builder, build, load weights, eval.

    Returns the module and the export's header (``format``, ``builder``, ``builder_kwargs``,
    ``z_dim``, ``z_distribution``). Loading uses ``torch.load(weights_only=True)``.
    """
    file = Path(path)
    fix = "export it with ganmetrics.sources.save_generator_export (ganmetrics-train does)"
    if not file.is_file():
        raise InputError(f"{file}: no such generator export; {SOURCE_KINDS_HINT}")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(
            f"{file}: cannot load as a generator export ({images.exception_text(error)}); {fix}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != GENERATOR_EXPORT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise InputError(
            f"{file}: not a {GENERATOR_EXPORT_FORMAT} export (format {found!r}); {fix}"
        )
    required = ("builder", "builder_kwargs", "state_dict", "z_dim", "z_distribution")
    missing = [key for key in required if key not in payload]
    if missing:
        raise InputError(f"{file}: generator export lacks {', '.join(missing)}; {fix}")
    builder, kwargs = payload["builder"], payload["builder_kwargs"]
    z_dim, z_distribution = payload["z_dim"], payload["z_distribution"]
    if not isinstance(builder, str) or not _CALLABLE_SPEC.match(builder):
        raise InputError(f"{file}: builder {builder!r} is not a module:function spec; {fix}")
    if not isinstance(kwargs, dict) or not isinstance(payload["state_dict"], dict):
        raise InputError(f"{file}: builder_kwargs and state_dict must be dicts; {fix}")
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise InputError(f"{file}: z_dim {z_dim!r} is not a positive integer; {fix}")
    if z_distribution not in Z_DISTRIBUTIONS:
        raise InputError(f"{file}: z_distribution {z_distribution!r} is not uniform/normal; {fix}")
    build = resolve_callable_spec(builder)
    try:
        module = build(**kwargs)
    except Exception as error:
        raise InputError(
            f"{file}: builder {builder} failed ({images.exception_text(error)}); check "
            "builder_kwargs"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise InputError(
            f"{file}: builder {builder} returned {type(module).__name__}, not a Module"
        )
    try:
        module.load_state_dict(payload["state_dict"])
    except Exception as error:
        raise InputError(
            f"{file}: weights do not fit the module built by {builder} "
            f"({images.exception_text(error)}); re-export the generator"
        ) from None
    if device is not None:
        module = module.to(device)
    module.eval()
    header = {key: payload[key] for key in ("format", *required) if key != "state_dict"}
    return module, header
