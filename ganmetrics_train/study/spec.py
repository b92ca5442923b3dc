"""Study files: one slice of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 3) in YAML.

A study keeps some dimensions fixed and varies the others ("we keep some dimensions fixed, and
vary the others", section 3)::

    study: loss                      # the name (default: the file's stem)
    description: Figure 1 ...
    fixed:                           # TrainConfig fields shared by every trial
      arch: resnet19
      dataset: celeba-hq-128
    variants:                        # each entry: list values are crossed
      - {loss: [ns, ls, wgan], norm: none}
      - {loss: [ns, ls, wgan], norm: sn}
    protocol: grid                   # grid | bandit | {grid: .., random: .., bandit: {..}}
                                     # or {settings: [{name: .., lr: .., beta1: .., ...}]}
    seeds: 5                         # seeds per setting, scored by the median (section 3)
    seed: 0                          # seeds the random start and the bandit's proposals
    resources: {cpus: 1, gpus: auto} # per trial (Ray)

Everything is validated here, before anything runs: an unknown key or an impossible value raises
:class:`ganmetrics.errors.InputError` naming the file and the key, and every variant's config is
resolved by :func:`ganmetrics_train.config.resolve_config` with a sample setting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import yaml

from ganmetrics.errors import InputError
from ganmetrics_train.config import (
    config_from_dict,
    normalize_overrides,
    refuse_test_width,
    resolve_config,
)

TOP_LEVEL_KEYS = (
    "study",
    "description",
    "fixed",
    "variants",
    "protocol",
    "seeds",
    "seed",
    "resources",
)
#: Fields that the protocol and the study set for each trial; a study file may not fix them.
PROTOCOL_FIELDS = ("lr", "beta1", "beta2", "n_disc", "lambda_", "seed", "out")
#: Variant keys whose list values are crossed into several variants.
CROSSED_KEYS = ("arch", "loss", "norm", "penalty", "g_norm")
PROTOCOL_KEYS = ("settings", "grid", "random", "bandit")
#: Keys of one given setting (``protocol.settings``); ``name`` and ``lambda`` are optional.
GIVEN_SETTING_KEYS = ("name", "lr", "beta1", "beta2", "n_disc", "lambda")
BANDIT_KEYS = ("rounds", "batch", "beta", "seeds")
RESOURCE_KEYS = ("cpus", "gpus")
#: "12 rounds ... each with a batch of 10 hyperparameter sets" (section 2.6).
DEFAULT_ROUNDS = 12
DEFAULT_BATCH = 10
DEFAULT_SEEDS = 5
FILES_PACKAGE = "ganmetrics_train.study.files"


@dataclasses.dataclass(frozen=True)
class BanditSpec:
    """Rounds of batch GP-UCB (Srinivas et al. 2010); ``beta`` None is the default schedule."""

    rounds: int = DEFAULT_ROUNDS
    batch: int = DEFAULT_BATCH
    beta: float | None = None
    #: Seeds per bandit setting; None: the study's ``seeds``. The paper trains each once
    #: ("The variance for models obtained by Gaussian Process regression is handled
    #: implicitly so we train each model once", section 3).
    seeds: int | None = None


@dataclasses.dataclass(frozen=True)
class ProtocolSpec:
    """Stages, in order: ``settings`` given by name (e.g. a row of Tables 7-9), the Table 1a
    grid, ``random`` seeded Table 1b draws, the bandit."""

    grid: bool = False
    random: int = 0
    bandit: BanditSpec | None = None
    #: (name, {lr, beta1, beta2, n_disc, lambda_}) of each given setting.
    settings: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclasses.dataclass(frozen=True)
class Variant:
    """One model of the study: its name, a label for figures, and its TrainConfig fields."""

    name: str
    label: str
    values: dict[str, Any]

    @property
    def penalty(self) -> str:
        return str(self.values.get("penalty", "none"))


@dataclasses.dataclass(frozen=True)
class StudySpec:
    name: str
    description: str
    fixed: dict[str, Any]
    variants: tuple[Variant, ...]
    protocol: ProtocolSpec
    seeds: int
    seed: int
    cpus_per_trial: float
    gpus_per_trial: float | None  # None: one per trial when the cluster has GPUs
    source: str

    def identity(self) -> dict[str, Any]:
        """What defines the study's results (not where or how fast it runs)."""
        fixed = {k: v for k, v in self.fixed.items() if k not in OPERATIONAL_FIXED}
        protocol = dataclasses.asdict(self.protocol)
        if not protocol["settings"]:
            del protocol["settings"]  # the identity of studies written before given settings
        return {
            "fixed": fixed,
            "variants": [dataclasses.asdict(v) for v in self.variants],
            "protocol": protocol,
            "seeds": self.seeds,
            "seed": self.seed,
        }

    def planned_settings(self) -> int:
        """Settings over all variants once every stage has run."""
        return sum(count for count, _ in self.planned_counts())

    def planned_counts(self) -> list[tuple[int, int]]:
        """(settings, seeds each) of every stage of every variant."""
        from ganmetrics_train.study.grid import grid_settings

        protocol, counts = self.protocol, []
        for variant in self.variants:
            if protocol.settings:
                counts.append((len(protocol.settings), self.seeds))
            if protocol.grid:
                counts.append((len(grid_settings(variant.penalty)), self.seeds))
            counts.append((protocol.random, self.seeds))
            if protocol.bandit:
                bandit_seeds = protocol.bandit.seeds or self.seeds
                counts.append((protocol.bandit.rounds * protocol.bandit.batch, bandit_seeds))
        return counts

    def planned_trials(self) -> int:
        return sum(count * seeds for count, seeds in self.planned_counts())

    def identity_hash(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Fixed keys that say where or how fast trials run, not what they train (not in the identity).
OPERATIONAL_FIXED = ("data_dir", "device", "num_workers", "compile", "log_every")


def _regularizer_tag(values: Mapping[str, Any]) -> str:
    parts = [str(values.get(k, "none")) for k in ("norm", "penalty")]
    return "-".join(p for p in parts if p != "none") or "none"


def _variant_name(
    values: Mapping[str, Any], fixed: Mapping[str, Any], with_arch: bool
) -> tuple[str, str]:
    """``loss_norm-penalty`` (e.g. ``ns_sn-gp``) plus the variant's other keys."""
    merged = {**fixed, **values}
    loss = str(merged.get("loss", "ns"))
    tag = _regularizer_tag(merged)
    name = f"{loss}_{tag}"
    label = f"{loss.upper()}, {tag.upper().replace('-', '+') if tag != 'none' else 'none'}"
    extra = {k: v for k, v in values.items() if k not in ("arch", "loss", "norm", "penalty")}
    for key, value in sorted(extra.items()):
        shown = "-".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        name += f"_{key}-{shown}"
        label += f", {key}={shown}"
    if with_arch:
        arch = str(merged.get("arch"))
        name, label = f"{arch}_{name}", f"{arch}: {label}"
    return name, label


def _integer(origin: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{origin}: {key}={value!r} must be an integer >= {minimum}")
    return value


def _mapping(origin: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{origin}: {key} must be a mapping, not {type(value).__name__}")
    return dict(value)


def _unknown(origin: str, where: str, values: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in values:
        if key not in known:
            raise InputError(
                f"{origin}: unknown key {where}{key!r}; known keys: {', '.join(known)}"
            )


def _given_settings(origin: str, raw: Any) -> tuple[tuple[str, dict[str, Any]], ...]:
    """``protocol.settings``: a list of {name, lr, beta1, beta2, n_disc, lambda} mappings."""
    from ganmetrics_train.sweep import Setting, setting_name

    if not isinstance(raw, list):
        raise InputError(f"{origin}: protocol.settings must be a list of mappings")
    given: list[Setting] = []
    for index, entry in enumerate(raw):
        where = f"protocol.settings[{index}]"
        entry = _mapping(origin, where, entry)
        _unknown(origin, f"{where}.", entry, GIVEN_SETTING_KEYS)
        values: dict[str, Any] = {}
        for key in ("lr", "beta1", "beta2"):
            number = entry.get(key)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise InputError(f"{origin}: {where}.{key}={number!r} must be a number")
            values[key] = float(number)
        values["n_disc"] = _integer(origin, f"{where}.n_disc", entry.get("n_disc"), 1)
        lam = entry.get("lambda")
        if lam is not None and (isinstance(lam, bool) or not isinstance(lam, int | float)):
            raise InputError(f"{origin}: {where}.lambda={lam!r} must be a number or absent")
        values["lambda_"] = None if lam is None else float(lam)
        name = str(entry.get("name") or setting_name(values))
        if any(s.name == name for s in given):
            raise InputError(f"{origin}: {where}: setting {name!r} appears twice; rename one")
        given.append(Setting(name, values))
    return tuple((s.name, s.values) for s in given)


def parse_protocol(origin: str, value: Any) -> ProtocolSpec:
    """``grid``, ``bandit`` (a seeded random start of one batch, then 12 rounds of 10), or a
    mapping of stages."""
    if value == "grid":
        return ProtocolSpec(grid=True)
    if value == "bandit":
        return ProtocolSpec(random=DEFAULT_BATCH, bandit=BanditSpec())
    if not isinstance(value, Mapping):
        raise InputError(
            f"{origin}: protocol={value!r}: use grid, bandit or a mapping of grid/random/bandit"
        )
    _unknown(origin, "protocol.", value, PROTOCOL_KEYS)
    grid = value.get("grid", False)
    if not isinstance(grid, bool):
        raise InputError(f"{origin}: protocol.grid={grid!r} must be true or false")
    given = _given_settings(origin, value["settings"]) if "settings" in value else ()
    bandit = None
    if value.get("bandit") is not None:
        raw = _mapping(origin, "protocol.bandit", value["bandit"])
        _unknown(origin, "protocol.bandit.", raw, BANDIT_KEYS)
        beta = raw.get("beta")
        if beta is not None and (
            isinstance(beta, bool)
            or not isinstance(beta, int | float)
            or not math.isfinite(beta)
            or beta <= 0
        ):
            raise InputError(f"{origin}: protocol.bandit.beta={beta!r} must be a number > 0")
        bandit = BanditSpec(
            rounds=_integer(origin, "protocol.bandit.rounds", raw.get("rounds", DEFAULT_ROUNDS), 1),
            batch=_integer(origin, "protocol.bandit.batch", raw.get("batch", DEFAULT_BATCH), 1),
            beta=None if beta is None else float(beta),
            seeds=None
            if raw.get("seeds") is None
            else _integer(origin, "protocol.bandit.seeds", raw["seeds"], 1),
        )
    default_random = bandit.batch if bandit is not None and not grid and not given else 0
    random = _integer(origin, "protocol.random", value.get("random", default_random), 0)
    if bandit is not None and not grid and not given and random == 0:
        raise InputError(
            f"{origin}: protocol.bandit needs results to start from; set protocol.random >= 1 "
            "or protocol.grid: true"
        )
    if not grid and not given and random == 0:
        raise InputError(
            f"{origin}: protocol has no settings; set grid: true, random >= 1 or settings"
        )
    return ProtocolSpec(grid=grid, random=random, bandit=bandit, settings=given)


def _expand_variants(origin: str, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{origin}: variants must be a non-empty list of mappings")
    expanded: list[dict[str, Any]] = []
    for index, entry in enumerate(raw):
        where = f"variants[{index}]"
        entry = _mapping(origin, where, entry)
        name = entry.pop("name", None)
        entry = normalize_overrides(entry, f"{origin}: {where}")
        if name is not None:
            entry["name"] = name
        for key in entry:
            if key in PROTOCOL_FIELDS:
                raise InputError(
                    f"{origin}: {where}.{key.rstrip('_')} is set by the protocol; remove it"
                )
        crossed = [k for k in CROSSED_KEYS if isinstance(entry.get(k), list)]
        if "name" in entry and crossed:
            raise InputError(f"{origin}: {where}: a named variant cannot cross lists ({crossed})")
        for combo in itertools.product(*(entry[k] for k in crossed)):
            expanded.append({**entry, **dict(zip(crossed, combo, strict=True))})
    return expanded


def _sample_settings(penalty: str, protocol: ProtocolSpec) -> list[dict[str, Any]]:
    """The given settings (each is validated), else the first of the grid."""
    from ganmetrics_train.study.grid import grid_settings

    if protocol.settings:
        return [dict(values) for _, values in protocol.settings]
    return [dict(grid_settings(penalty)[0].values)]


def parse_study(data: Any, source: str) -> StudySpec:
    """Validate a loaded study file; ``source`` names it in every error."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a study file is a mapping of {', '.join(TOP_LEVEL_KEYS)}")
    _unknown(source, "", data, TOP_LEVEL_KEYS)
    for key in ("fixed", "variants", "protocol"):
        if key not in data:
            raise InputError(f"{source}: missing key {key!r}")
    name = str(data.get("study") or Path(source).stem)
    if not name.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"{source}: study={name!r}: use letters, digits, '-' and '_'")
    fixed = normalize_overrides(_mapping(source, "fixed", data["fixed"]), f"{source}: fixed")
    for key in fixed:
        if key in PROTOCOL_FIELDS:
            raise InputError(f"{source}: fixed.{key.rstrip('_')} is set by the protocol; remove it")
    protocol = parse_protocol(source, data["protocol"])
    seeds = _integer(source, "seeds", data.get("seeds", DEFAULT_SEEDS), 1)
    seed = _integer(source, "seed", data.get("seed", 0), 0)
    resources = _mapping(source, "resources", data.get("resources"))
    _unknown(source, "resources.", resources, RESOURCE_KEYS)
    cpus = resources.get("cpus", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not cpus > 0:
        raise InputError(f"{source}: resources.cpus={cpus!r} must be a number > 0")
    gpus = resources.get("gpus", "auto")
    if gpus != "auto" and (isinstance(gpus, bool) or not isinstance(gpus, int | float) or gpus < 0):
        raise InputError(f"{source}: resources.gpus={gpus!r} must be auto or a number >= 0")

    raw_variants = _expand_variants(source, data["variants"])
    with_arch = len({str(v.get("arch", fixed.get("arch"))) for v in raw_variants}) > 1
    variants: list[Variant] = []
    for values in raw_variants:
        values = dict(values)
        explicit = values.pop("name", None)
        auto_name, label = _variant_name(values, fixed, with_arch)
        variant_name = str(explicit or auto_name)
        if any(v.name == variant_name for v in variants):
            raise InputError(f"{source}: variant {variant_name!r} appears twice; remove one")
        variants.append(Variant(variant_name, str(explicit or label), values))
        penalty = str({**fixed, **values}.get("penalty", "none"))
        for setting in _sample_settings(penalty, protocol):
            merged = {**fixed, **values, **setting, "seed": 0, "out": "validation"}
            if str(merged.get("device", "auto")).startswith("cuda"):
                merged["device"] = "cpu"  # the driver may have no GPU; trials resolve their own
            origin = f"{source}: variant {variant_name}"
            refuse_test_width(resolve_config(config_from_dict(merged, origin), origin), origin)
    return StudySpec(
        name=name,
        description=str(data.get("description", "")),
        fixed=fixed,
        variants=tuple(variants),
        protocol=protocol,
        seeds=seeds,
        seed=seed,
        cpus_per_trial=float(cpus),
        gpus_per_trial=None if gpus == "auto" else float(gpus),
        source=source,
    )


def shipped_studies() -> dict[str, Path]:
    """The study files shipped with the package, by name (``loss``, ``mini``, ...)."""
    folder = importlib_resources.files(FILES_PACKAGE)
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


def find_study_file(name_or_path: str | Path) -> Path:
    """A path, or the name of a shipped study file."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_studies()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise InputError(
        f"{name_or_path}: no such study file; give a path or one of: {', '.join(sorted(shipped))}"
    )


def load_study(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> StudySpec:
    """Read and validate a study file; ``overrides`` replace keys of ``fixed`` (``--set``)."""
    path = find_study_file(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise InputError(f"{path}: not valid YAML ({problem}); fix the file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the study file ({exc.strerror})") from None
    if overrides and isinstance(data, dict):
        fixed = normalize_overrides(_mapping(str(path), "fixed", data.get("fixed")), str(path))
        fixed.update(normalize_overrides(overrides, "--set"))
        data = {**data, "fixed": fixed}
    return parse_study(data, str(path))
