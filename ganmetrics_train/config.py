"""The typed configuration of one training run, and the paper's named settings.

A :class:`TrainConfig` holds every choice that defines a run of "The GAN Landscape" (Kurach,
Lucic et al. 2019): architecture (section 2.3, Tables 3-6), loss (section 2.1), penalty and
normalization of the discriminator (section 2.2), the hyperparameters of Table 1 (learning rate,
Adam's beta1/beta2, n_disc, lambda) and the protocol of section 2.6 (batch size 64, Adam, 100K
discriminator steps on LSUN-BEDROOM and CELEBA-HQ-128, 200K on CIFAR10) with the evaluation
counts of section 4 (10k/10k on CIFAR10 and LSUN-BEDROOM, 3k/3k on CELEBA-HQ-128).

:func:`resolve_config` fills the derived fields (image size, generator normalization, step count,
evaluation counts) and validates everything at the edge, raising
:class:`ganmetrics.errors.InputError` with the reason. :data:`PRESETS` are the best settings of
Tables 7-9 (Appendix E).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ganmetrics.errors import InputError
from ganmetrics_train.choices import (
    ABLATIONS,
    ARCHITECTURES,
    D_NORMALIZATIONS,
    DATASETS,
    DISC_CALLS,
    G_NORMALIZATIONS,
    LOSSES,
    NATIVE_IMAGE_SIZE,
    PENALTIES,
)
from ganmetrics_train.presets import PRESETS, Preset, get_preset

__all__ = [
    "ABLATIONS",
    "ARCHITECTURES",
    "DATASETS",
    "DISC_CALLS",
    "D_NORMALIZATIONS",
    "G_NORMALIZATIONS",
    "LOSSES",
    "PENALTIES",
    "PRESETS",
    "Preset",
    "TrainConfig",
    "build_config",
    "config_from_dict",
    "get_preset",
    "is_resolved",
    "load_config_file",
    "load_run_config",
    "normalize_overrides",
    "refuse_test_width",
    "resolve_config",
    "save_config_files",
    "user_facing_names",
]

#: Image side of each data set of section 2.5.
DATASET_IMAGE_SIZE = {"cifar10": 32, "celeba-hq-128": 128, "lsun-bedroom": 128}
#: Discriminator steps of section 2.6.
PROTOCOL_STEPS = {"cifar10": 200_000, "celeba-hq-128": 100_000, "lsun-bedroom": 100_000}
DEFAULT_STEPS = 100_000
#: (test images, generated images) for a data set without a study protocol (folder, procedural).
DEFAULT_EVAL_COUNTS = (10_000, 10_000)
#: The setting that reads :attr:`TrainConfig.disc_calls` as "concat": runs written before the key
#: existed trained that way, and their config hash stays what it was.
LEGACY_DISC_CALLS = "concat"
#: The paper's network width; any other :attr:`TrainConfig.width` is a test-only shrink, refused by
#: the presets and the study, and left out of the hash when it is the paper's (older runs keep it).
PAPER_WIDTH = 1.0

#: Fields that do not change which model a run trains; they are left out of the config hash and
#: may change when a run is resumed.
OPERATIONAL_FIELDS = frozenset(
    {
        "steps",
        "data_dir",
        "eval_every",
        "eval_num_real",
        "eval_num_fake",
        "eval_metrics",
        "checkpoint_every",
        "keep_checkpoints",
        "out",
        "device",
        "compile",
        "num_workers",
        "log_every",
        "sample_every",
        "num_samples",
        "inception_weights",
    }
)


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines one training run (Table 1 and section 2.6 of the paper)."""

    arch: str = "sndcgan"
    loss: str = "ns"
    penalty: str = "none"
    norm: str = "none"
    g_norm: str | None = None
    lambda_: float | None = None
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_disc: int = 1
    batch_size: int = 64
    z_dim: int = 128
    disc_calls: str = "split"
    steps: int | None = None
    seed: int = 0
    dataset: str = "cifar10"
    data_dir: str | None = None
    dataset_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    image_size: int | None = None
    ablations: tuple[str, ...] = ()
    #: NOT the paper's unless 1: scales every hidden channel count of DCGAN/SNDCGAN, for fast
    #: learning tests only (``tests/test_learning.py``); presets and studies refuse it.
    width: float = PAPER_WIDTH
    eval_every: int = 10_000
    eval_num_real: int | None = None
    eval_num_fake: int | None = None
    eval_metrics: tuple[str, ...] | None = None
    inception_weights: str | None = None
    checkpoint_every: int = 5_000
    keep_checkpoints: int = 3
    out: str | None = None
    deterministic: bool = False
    device: str = "auto"
    amp_bf16: bool = False
    compile: bool = False
    ema_decay: float | None = None
    ema_start_step: int = 0
    num_workers: int = 0
    log_every: int = 100
    sample_every: int = 1_000
    num_samples: int = 64

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML types only (tuples become lists)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def hash(self) -> str:
        """Digest of the fields that define the trained model (not :data:`OPERATIONAL_FIELDS`)."""
        identity = {k: v for k, v in self.to_dict().items() if k not in OPERATIONAL_FIELDS}
        if identity["disc_calls"] == LEGACY_DISC_CALLS:
            del identity["disc_calls"]  # the hash of a run written before the key existed
        if identity["width"] == PAPER_WIDTH:
            del identity["width"]  # the paper's network: the hash of runs before the key existed
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def user_facing(self) -> dict[str, Any]:
        """:meth:`to_dict` under the names users type (``lambda``, not the field ``lambda_``)."""
        return user_facing_names(self.to_dict())

    @property
    def lambda_value(self) -> float:
        return 0.0 if self.lambda_ is None else float(self.lambda_)


def user_facing_names(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings under the names a user writes (``lambda``, not the field name ``lambda_``)."""
    return {key.rstrip("_"): value for key, value in settings.items()}


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))
#: Alternative spellings accepted in YAML/JSON files and overrides.
_ALIASES = {"lambda": "lambda_", "lamba": "lambda_", "disc_iters": "n_disc", "architecture": "arch"}


def _canonical_key(key: str) -> str:
    key = key.strip().replace("-", "_")
    return _ALIASES.get(key, key)


def normalize_overrides(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Map user keys (``lambda``, ``n-disc``...) onto field names; unknown keys are refused."""
    out: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = _canonical_key(str(raw_key))
        if key not in FIELD_NAMES:
            raise InputError(
                f"{origin}: unknown setting {raw_key!r}; known settings: "
                + ", ".join(n.rstrip("_") for n in FIELD_NAMES)
            )
        out[key] = value
    return out


def config_from_dict(values: Mapping[str, Any], origin: str = "config") -> TrainConfig:
    """Build a (not yet resolved) config from a mapping such as a loaded YAML file."""
    return TrainConfig(**_coerce_types(normalize_overrides(values, origin), origin))


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) config file into a mapping of field names."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found; pass an existing --config") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise InputError(f"{path}: not valid YAML ({problem}); fix the file") from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a mapping of settings, got {type(values).__name__}")
    return normalize_overrides(values, str(path))


def save_config_files(config: TrainConfig, run_dir: str | Path) -> None:
    """Write ``config.yaml`` and ``config.json`` into the run folder, atomically."""
    from ganmetrics.atomic import atomic_write, write_json

    run_dir = Path(run_dir)
    values = config.to_dict()
    write_json(run_dir / "config.json", {**values, "config_hash": config.hash()})
    with atomic_write(run_dir / "config.yaml", "w") as handle:
        handle.write(f"# ganmetrics-train run config; hash {config.hash()}\n")
        yaml.safe_dump(config.user_facing(), handle, sort_keys=False)


def load_run_config(run_dir: str | Path) -> TrainConfig:
    """The config saved in a run folder (``config.json``)."""
    path = Path(run_dir) / "config.json"
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(
            f"{path}: not found; {run_dir} is not a ganmetrics-train run folder"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable run config ({exc}); restore or delete it") from None
    values.pop("config_hash", None)
    values.setdefault("disc_calls", LEGACY_DISC_CALLS)
    return config_from_dict(values, str(path))


_INT_FIELDS = {
    "n_disc",
    "batch_size",
    "z_dim",
    "steps",
    "seed",
    "image_size",
    "eval_every",
    "eval_num_real",
    "eval_num_fake",
    "checkpoint_every",
    "keep_checkpoints",
    "ema_start_step",
    "num_workers",
    "log_every",
    "sample_every",
    "num_samples",
}
_FLOAT_FIELDS = {"lambda_", "lr", "beta1", "beta2", "ema_decay", "width"}
_BOOL_FIELDS = {"deterministic", "amp_bf16", "compile"}
_STR_FIELDS = {
    "arch",
    "loss",
    "penalty",
    "norm",
    "g_norm",
    "disc_calls",
    "dataset",
    "data_dir",
    "out",
    "device",
    "inception_weights",
}
_TUPLE_FIELDS = {"ablations", "eval_metrics"}


def _split_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.replace("+", ",").split(",") if p.strip())
    return tuple(str(v).strip() for v in value)


def _coerce_types(values: dict[str, Any], origin: str) -> dict[str, Any]:
    """Convert YAML/CLI values to the field types; a value of the wrong kind is refused."""
    out = {}
    for key, value in values.items():
        name = key.rstrip("_")
        try:
            if value is None:
                out[key] = None
            elif key in _INT_FIELDS:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                out[key] = int(float(value)) if isinstance(value, str) else int(value)
            elif key in _FLOAT_FIELDS:
                if isinstance(value, bool):
                    raise ValueError
                out[key] = float(value)
            elif key in _BOOL_FIELDS:
                if isinstance(value, str):
                    lowered = value.lower()
                    if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                        raise ValueError
                    value = lowered in {"true", "1", "yes"}
                out[key] = bool(value)
            elif key in _TUPLE_FIELDS:
                out[key] = _split_names(value)
            elif key == "dataset_options":
                if not isinstance(value, Mapping):
                    raise ValueError
                out[key] = dict(value)
            elif key in _STR_FIELDS:
                out[key] = str(value)
            else:
                out[key] = value
        except (TypeError, ValueError):
            raise InputError(f"{origin}: {name}={value!r} has the wrong type") from None
    return out


def _choice(origin: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{origin}: unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def resolve_config(config: TrainConfig, origin: str = "config") -> TrainConfig:
    """Fill the derived fields and validate; raise :class:`InputError` naming what is wrong.

    Derived: ``image_size`` from the data set (section 2.5), ``g_norm`` ("bn" as in Tables 3-6,
    "wn" when the discriminator uses weight normalization), ``lambda_`` (0 without a penalty,
    1 otherwise), ``steps`` (section 2.6), the evaluation counts (section 4) and the metrics
    (MS-SSIM only for CELEBA-HQ-128, section 2.4).
    """
    c = dataclasses.replace(config)
    _choice(origin, "loss", c.loss, LOSSES)
    _choice(origin, "penalty", c.penalty, PENALTIES)
    _choice(origin, "disc_calls", c.disc_calls, DISC_CALLS)
    _choice(origin, "dataset", c.dataset, DATASETS)
    if c.g_norm is None:
        c.g_norm = "wn" if c.norm == "wn" else "bn"

    if c.lambda_ is None:
        c.lambda_ = 0.0 if c.penalty == "none" else 1.0
    if not math.isfinite(c.lambda_) or c.lambda_ < 0:
        raise InputError(f"{origin}: lambda={c.lambda_} must be a finite number >= 0")
    if c.penalty == "none" and c.lambda_ > 0:
        raise InputError(
            f"{origin}: lambda={c.lambda_} has no effect without a penalty; "
            "pass --penalty gp|dragan|l2|r1 or drop --lambda"
        )
    if c.penalty != "none" and c.lambda_ == 0:
        raise InputError(
            f"{origin}: penalty {c.penalty!r} with lambda=0 does nothing; "
            "pass --lambda > 0 or --penalty none"
        )
    if not (math.isfinite(c.lr) and c.lr > 0):
        raise InputError(f"{origin}: lr={c.lr} must be > 0")
    for name in ("beta1", "beta2"):
        value = getattr(c, name)
        if not 0.0 <= value < 1.0:
            raise InputError(f"{origin}: {name}={value} must lie in [0, 1)")
    for name in ("n_disc", "batch_size", "z_dim", "keep_checkpoints", "num_samples", "log_every"):
        if getattr(c, name) < 1:
            raise InputError(f"{origin}: {name}={getattr(c, name)} must be >= 1")
    for name in ("eval_every", "checkpoint_every", "sample_every", "num_workers", "seed"):
        if getattr(c, name) < 0:
            raise InputError(f"{origin}: {name}={getattr(c, name)} must be >= 0 (0 turns it off)")
    if c.ema_decay is not None and not 0.0 < c.ema_decay < 1.0:
        raise InputError(f"{origin}: ema_decay={c.ema_decay} must lie in (0, 1), or be unset")
    if c.ema_start_step < 0:
        raise InputError(f"{origin}: ema_start_step={c.ema_start_step} must be >= 0")

    expected_size = DATASET_IMAGE_SIZE.get(c.dataset)
    if c.image_size is None:
        if c.dataset == "folder":
            raise InputError(f"{origin}: dataset 'folder' needs --image-size (e.g. 32 or 128)")
        # The built-in set is rendered at the architecture's own size (resnet19: 128 px).
        c.image_size = expected_size or NATIVE_IMAGE_SIZE.get(c.arch, 32)
    elif expected_size is not None and c.image_size != expected_size:
        raise InputError(
            f"{origin}: dataset {c.dataset} is {expected_size} px, not image_size={c.image_size}; "
            "drop --image-size"
        )
    if c.dataset in DATASET_IMAGE_SIZE and not c.data_dir:
        missing_out = "" if c.out else " --out runs/NAME"
        raise InputError(
            f"{origin}: dataset {c.dataset} needs --data-dir DIR (the data set folder); "
            f"or add --dataset procedural{missing_out} to train on the built-in set"
        )
    if c.dataset == "folder" and not c.data_dir:
        raise InputError(f"{origin}: dataset 'folder' needs --data-dir (a folder of images)")

    from ganmetrics_train.models import validate_architecture

    c.ablations = tuple(dict.fromkeys(c.ablations))
    try:
        validate_architecture(c.arch, c.image_size, c.norm, c.g_norm, c.ablations, c.width)
    except ValueError as exc:
        raise InputError(f"{origin}: {exc}") from None

    if c.steps is None:
        c.steps = PROTOCOL_STEPS.get(c.dataset, DEFAULT_STEPS)
    if c.steps < 1:
        raise InputError(f"{origin}: steps={c.steps} must be >= 1 (discriminator steps)")
    from ganmetrics.metrics import METRICS
    from ganmetrics.protocols import PROTOCOLS

    protocol = PROTOCOLS.get(c.dataset, PROTOCOLS["custom"])
    protocol_real = protocol.num_real or DEFAULT_EVAL_COUNTS[0]
    protocol_fake = protocol.num_fake or DEFAULT_EVAL_COUNTS[1]
    if c.eval_num_real is None:
        c.eval_num_real = protocol_real
    if c.eval_num_fake is None:
        c.eval_num_fake = protocol_fake
    if c.eval_num_real < 2 or c.eval_num_fake < 2:
        raise InputError(f"{origin}: eval_num_real and eval_num_fake must be >= 2")
    if c.eval_metrics is None:
        c.eval_metrics = protocol.metrics
    c.eval_metrics = tuple(dict.fromkeys(c.eval_metrics))
    for metric in c.eval_metrics:
        _choice(origin, "metric", metric, METRICS)
    if "is" in c.eval_metrics and c.eval_num_fake < 10:
        raise InputError(
            f"{origin}: eval_num_fake={c.eval_num_fake} is too few for the Inception Score's 10 "
            "splits; pass --eval-num-fake 10 or more, or drop is from --eval-metrics"
        )
    if c.eval_every and "fid" not in c.eval_metrics:
        raise InputError(f"{origin}: eval_metrics must include fid (best.pt is chosen by FID)")

    if not c.out:
        raise InputError(f"{origin}: no output folder; pass --out runs/NAME")
    if c.device == "auto":
        import torch

        c.device = "cuda" if torch.cuda.is_available() else "cpu"
    device_type = c.device.split(":")[0]
    if device_type not in {"cpu", "cuda", "mps", "xpu"}:
        raise InputError(f"{origin}: unknown device {c.device!r}; use cpu, cuda, cuda:N or auto")
    if device_type == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError(f"{origin}: device {c.device} requested but CUDA is not available")
    for flag in ("amp_bf16", "compile"):
        if getattr(c, flag) and device_type != "cuda":
            raise InputError(f"{origin}: --{flag.replace('_', '-')} needs a CUDA device")
    return c


def is_resolved(config: TrainConfig) -> bool:
    """Whether :func:`resolve_config` has filled the derived fields (it then validated them)."""
    derived = (config.image_size, config.steps, config.g_norm, config.lambda_, config.eval_metrics)
    return config.device != "auto" and all(value is not None for value in derived)


def build_config(
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    origin: str = "config",
    base: TrainConfig | None = None,
) -> TrainConfig:
    """``base`` < preset < config file < explicit overrides (e.g. CLI flags), then resolved.

    ``base`` is e.g. the config stored in a run folder that ``--resume`` continues: flags, a file
    or a preset given with it change only what they name (and :func:`resolve_config` re-derives the
    rest from the stored values).
    """
    values: dict[str, Any] = base.to_dict() if base is not None else {}
    if preset is not None:
        values.update(get_preset(preset).settings)
    if config_file is not None:
        values.update(load_config_file(config_file))
    if overrides:
        values.update(normalize_overrides(overrides, origin))
    config = resolve_config(config_from_dict(values, origin), origin)
    if preset is not None:
        refuse_test_width(config, f"{origin}: preset {preset}")
    return config


def refuse_test_width(config: TrainConfig, origin: str) -> None:
    """The presets and studies reproduce the paper: a shrunk test-only width is refused there."""
    if config.width != PAPER_WIDTH:
        raise InputError(
            f"{origin}: width={config.width} is a test-only shrink of the networks, not the "
            "paper's; drop width (presets and studies train the networks of Tables 3-6)"
        )
