"""The paper's best settings: the rows of Tables 7-9 (Appendix E) as named presets.

"The GAN Landscape" (Kurach, Lucic et al. 2019) reports, per architecture and data set, the
hyperparameters of its best runs with their median and best FID; all use the non-saturating loss.
``ganmetrics-train run --preset NAME`` starts from one
(:func:`ganmetrics_train.config.build_config`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ganmetrics.errors import InputError


@dataclasses.dataclass(frozen=True)
class Preset:
    """One row of Tables 7-9: the hyperparameters plus the reported median/best FID."""

    name: str
    table: str
    median_fid: float
    best_fid: float | None
    settings: dict[str, Any]


_TABLE_ROWS = {
    # (arch, table): rows of (dataset, median, best, lr*1e3, beta1, beta2, n_disc, lambda, norm)
    ("sndcgan", "Table 7"): [
        ("cifar10", 29.75, 28.66, 0.1, 0.5, 0.999, 1, None, "-"),
        ("cifar10", 36.12, 33.23, 0.2, 0.5, 0.999, 1, None, "-"),
        ("celeba-hq-128", 66.42, 63.13, 0.1, 0.5, 0.999, 1, None, "-"),
        ("celeba-hq-128", 67.39, 64.59, 0.2, 0.5, 0.999, 1, None, "-"),
        ("lsun-bedroom", 180.36, 160.12, 0.2, 0.5, 0.999, 1, None, "-"),
        ("lsun-bedroom", 188.99, 162.00, 0.1, 0.5, 0.999, 1, None, "-"),
        ("cifar10", 26.66, 25.27, 0.2, 0.5, 0.999, 1, None, "SN"),
        ("cifar10", 27.32, 26.97, 0.1, 0.5, 0.999, 1, None, "SN"),
        ("celeba-hq-128", 31.14, 29.05, 0.2, 0.5, 0.999, 1, None, "SN"),
        ("celeba-hq-128", 33.52, 31.92, 0.1, 0.5, 0.999, 1, None, "SN"),
        ("lsun-bedroom", 63.46, 58.13, 0.2, 0.5, 0.999, 1, None, "SN"),
        ("lsun-bedroom", 74.66, 59.94, 1.0, 0.5, 0.999, 1, None, "SN"),
        ("cifar10", 26.23, 26.01, 0.2, 0.5, 0.999, 1, 1, "SN+GP"),
        ("celeba-hq-128", 31.13, 30.80, 0.1, 0.5, 0.999, 1, 10, "GP"),
        ("lsun-bedroom", 66.58, 65.75, 0.2, 0.5, 0.999, 1, 10, "GP"),
    ],
    ("resnet19", "Table 8"): [
        ("celeba-hq-128", 43.73, 39.10, 0.1, 0.5, 0.999, 5, None, "-"),
        ("celeba-hq-128", 43.77, 39.60, 0.1, 0.5, 0.999, 1, None, "-"),
        ("lsun-bedroom", 160.97, 119.58, 0.1, 0.5, 0.900, 5, None, "-"),
        ("lsun-bedroom", 161.70, 125.55, 0.1, 0.5, 0.900, 5, None, "-"),
        ("celeba-hq-128", 32.46, 28.52, 0.1, 0.5, 0.999, 1, None, "LN"),
        ("celeba-hq-128", 40.58, 36.37, 0.2, 0.5, 0.900, 1, None, "LN"),
        ("lsun-bedroom", 70.30, 48.88, 1.0, 0.5, 0.999, 1, None, "SN"),
        ("lsun-bedroom", 73.84, 60.54, 0.1, 0.5, 0.900, 5, None, "SN"),
        ("celeba-hq-128", 29.13, None, 0.1, 0.5, 0.900, 5, 1, "LN+DR"),
        ("celeba-hq-128", 29.65, None, 0.2, 0.5, 0.900, 5, 1, "GP"),
        ("lsun-bedroom", 55.72, None, 0.2, 0.5, 0.900, 5, 1, "LN+GP"),
        ("lsun-bedroom", 57.81, None, 0.1, 0.5, 0.999, 1, 10, "SN+GP"),
    ],
    ("resnet_cifar", "Table 9"): [
        ("cifar10", 31.40, 28.12, 0.2, 0.5, 0.999, 5, None, "-"),
        ("cifar10", 33.79, 30.08, 0.1, 0.5, 0.999, 5, None, "-"),
        ("cifar10", 23.57, 22.91, 0.2, 0.5, 0.999, 5, None, "SN"),
        ("cifar10", 25.50, 24.21, 0.1, 0.5, 0.999, 5, None, "SN"),
        ("cifar10", 22.98, 22.73, 0.2, 0.5, 0.999, 1, 1, "SN+GP"),
    ],
}
_NORM_TAGS = {"SN": "sn", "LN": "ln", "BN": "bn", "WN": "wn"}
_PENALTY_TAGS = {"GP": "gp", "DR": "dragan", "L2": "l2"}


def _build_presets() -> dict[str, Preset]:
    presets: dict[str, Preset] = {}
    for (arch, table), rows in _TABLE_ROWS.items():
        for dataset, median, best, lr_milli, beta1, beta2, n_disc, lam, regularizer in rows:
            norm, penalty = "none", "none"
            for part in regularizer.split("+"):
                if part in _NORM_TAGS:
                    norm = _NORM_TAGS[part]
                elif part in _PENALTY_TAGS:
                    penalty = _PENALTY_TAGS[part]
            tag = "-".join(t for t in (norm, penalty) if t != "none") or "none"
            base = f"{arch}-{dataset}-{tag}"
            name, rank = base, 1
            while name in presets:
                rank += 1
                name = f"{base}-{rank}"
            presets[name] = Preset(
                name=name,
                table=table,
                median_fid=median,
                best_fid=best,
                settings={
                    "arch": arch,
                    "dataset": dataset,
                    "loss": "ns",
                    "norm": norm,
                    "penalty": penalty,
                    "lambda_": float(lam) if lam is not None else None,
                    "lr": round(lr_milli * 1e-3, 10),
                    "beta1": beta1,
                    "beta2": beta2,
                    "n_disc": n_disc,
                },
            )
    return presets


#: Named presets: ``<arch>-<dataset>-<norm>[-<penalty>][-<rank>]``, e.g. "sndcgan-cifar10-sn".
PRESETS: dict[str, Preset] = _build_presets()


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            f"--preset: unknown preset {name!r}; `ganmetrics-train presets` lists them"
        ) from None
