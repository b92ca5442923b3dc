"""Options shared by the ``ganmetrics-train`` commands: the output flag, and the
``[default: ...]`` of each ``run`` / ``sweep`` setting flag in ``--help``.

The output file or folder is ``-o/--out`` in every command of both CLIs (``ganmetrics stats``,
``ganmetrics-train export``, ``plot``, ``study export``); ``--output``, the older spelling, is kept
as a hidden alias so that no script breaks.

The flags themselves default to "not given" (so that a preset, a ``--config`` file or a resumed
run's ``config.json`` can supply the value: base < preset < file < flags); what ``--help`` shows is
the base value, :class:`ganmetrics_train.config.TrainConfig`'s field default, or, where
:func:`ganmetrics_train.config.resolve_config` derives the value, the rule it follows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import click

from ganmetrics_train.config import (
    DEFAULT_EVAL_COUNTS,
    DEFAULT_STEPS,
    PROTOCOL_STEPS,
    TrainConfig,
)

__all__ = ["default_text", "out_option", "with_default"]

_STEPS = ", ".join(f"{n} on {name}" for name, n in PROTOCOL_STEPS.items() if n != DEFAULT_STEPS)
_EVAL_COUNT = f"the data set's protocol count ({DEFAULT_EVAL_COUNTS[0]} without one)"

#: Settings whose default ``resolve_config`` derives from other settings (or that have none).
DERIVED_DEFAULTS: dict[str, str | None] = {
    "g_norm": "bn; wn with --norm wn",
    "lambda_": "0 without a penalty, 1 with one",
    "image_size": "the data set's; for procedural the architecture's (128 resnet19, else 32)",
    "steps": f"{_STEPS}, else {DEFAULT_STEPS}",
    "eval_num_real": _EVAL_COUNT,
    "eval_num_fake": _EVAL_COUNT,
    "eval_metrics": "the data set's protocol (fid,is,kid; +msssim on celeba-hq-128)",
    "inception_weights": None,  # the help text says where the file comes from
    "data_dir": None,
    "dataset_options": None,
    "ema_decay": "off",
    "ablations": "none",
    "out": None,
}
_FIELD_DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(TrainConfig)
    if field.default is not dataclasses.MISSING
}
_ALIASES = {"lambda": "lambda_", "dataset_option": "dataset_options"}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def default_text(declarations: tuple[str, ...]) -> str | None:
    """``"128"`` for ``("--z-dim",)``: the default shown for a setting flag, or None (none)."""
    long = next((d for d in declarations if d.startswith("--")), None)
    if long is None:
        return None
    name = long.split("/")[0][2:].replace("-", "_")  # "--amp-bf16/--no-amp-bf16" -> amp_bf16
    field = _ALIASES.get(name, name)
    if field in DERIVED_DEFAULTS:
        return DERIVED_DEFAULTS[field]
    if field not in _FIELD_DEFAULTS:
        return None
    return _shown(_FIELD_DEFAULTS[field])


def with_default(declarations: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """``click.option`` keywords whose help ends with the flag's ``[default: ...]``."""
    given = options.get("default") is not None or options.get("is_flag")
    text = None if given else default_text(declarations)
    if text is None or "help" not in options:
        return options
    return {**options, "help": f"{options['help']}  [default: {text}]"}


def out_option(help_text: str, path: click.ParamType | None = None) -> Callable:
    """``-o/--out`` into the parameter ``output``, with ``--output`` as a hidden alias
    (parameter ``output_alias``); the command uses ``output or output_alias``."""
    path = path or click.Path(dir_okay=False)

    def decorate(function: Callable) -> Callable:
        function = click.option("--output", "output_alias", type=path, hidden=True)(function)
        return click.option("-o", "--out", "output", type=path, help=help_text)(function)

    return decorate
