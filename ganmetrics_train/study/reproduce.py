"""``ganmetrics-train reproduce PRESET``: retrain a row of Tables 7-9 with several seeds.

"The GAN Landscape" (Kurach, Lucic et al. 2019, Appendix E) reports for its best settings the
median and the best FID over 5 seeds ("Each model was retrained 5 times with a different random
seed and we report the median score", section 3). A reproduce run is a small study
(:mod:`ganmetrics_train.study`): one variant (the preset's model), one given setting (the
preset's hyperparameters, ``protocol.settings``) and ``seeds`` trials. So it runs on Ray, keeps
every result in the SQLite store and resumes like any study; ``study report OUT`` works on it.

Next to the paper's median and best it writes ours (over the seeds' final FIDs, as
:meth:`StudyStore.setting_scores` scores any setting), the seed spread, and a percentile
bootstrap interval of our median (Efron & Tibshirani 1993, ch. 13): the seeds are resampled with
replacement and the median recomputed. With 5 seeds that interval is coarse (it cannot leave the
range of the seeds), which is why the table shows the seeds' spread beside it.
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics.atomic import atomic_write, write_json
from ganmetrics.errors import InputError
from ganmetrics_train.config import config_from_dict, normalize_overrides, resolve_config
from ganmetrics_train.presets import PRESETS, Preset
from ganmetrics_train.study.spec import (
    OPERATIONAL_FIXED,
    PROTOCOL_FIELDS,
    StudySpec,
    parse_study,
)
from ganmetrics_train.study.store import DONE, FINISHED_STATUSES, STORE_NAME, StudyStore

MARKDOWN_NAME = "reproduce.md"
JSON_NAME = "reproduce.json"
DEFAULT_SEEDS = 5
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
MODEL_KEYS = ("arch", "dataset", "loss", "norm", "penalty")


def reproduce_spec(
    preset_name: str, seeds: int, overrides: dict[str, Any] | None = None
) -> StudySpec:
    """The study of one preset: its model fixed, its hyperparameters the one given setting."""
    preset = get_preset(preset_name)
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: use at least 1 seed (the paper reports 5)")
    overrides = normalize_overrides(overrides or {}, "--set")
    for key in overrides:
        if key in PROTOCOL_FIELDS:
            raise InputError(
                f"--set {key.rstrip('_')}: reproduce keeps the preset's {key.rstrip('_')}; "
                "train another value with `ganmetrics-train run --preset`"
            )
    fixed = {k: v for k, v in preset.settings.items() if k in MODEL_KEYS}
    fixed.update(overrides)
    values = preset.settings
    setting = {k: values[k] for k in ("lr", "beta1", "beta2", "n_disc")}
    if values.get("lambda_") is not None:
        setting["lambda"] = values["lambda_"]
    data = {
        "study": f"reproduce-{preset.name}",
        "description": f"{preset.table} row {preset.name}, {seeds} seeds",
        "fixed": fixed,
        "variants": [{"name": preset.name}],
        "protocol": {"settings": [setting]},
        "seeds": seeds,
        "seed": 0,
    }
    return parse_study(data, f"preset {preset.name}")


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(
            f"reproduce: unknown preset {name!r}; `ganmetrics-train presets` lists them"
        )
    return PRESETS[name]


def changed_from_paper(preset: Preset, spec: StudySpec) -> dict[str, Any]:
    """The trained settings that differ from the preset's own, after both are resolved (so
    ``--set steps=200000`` on CIFAR10 changes nothing); where and how fast it runs do not count."""
    base = {**preset.settings, "seed": 0, "out": "paper", "data_dir": "data", "device": "cpu"}
    ours = {**base, **{k: v for k, v in spec.fixed.items() if k not in OPERATIONAL_FIXED}}
    paper_config = resolve_config(config_from_dict(base, "preset"), "preset")
    our_config = resolve_config(config_from_dict(ours, "reproduce"), "reproduce")
    return {
        field.name: getattr(our_config, field.name)
        for field in dataclasses.fields(our_config)
        if field.name not in (*OPERATIONAL_FIXED, "out", "config_hash")
        and getattr(our_config, field.name) != getattr(paper_config, field.name)
    }


def median_interval(
    fids: list[float],
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the median of ``fids`` (None under 2 values)."""
    if len(fids) < 2:
        return None
    values = np.asarray(fids, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, len(values), (resamples, len(values)))], axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def summarize(store: StudyStore, preset: Preset, spec: StudySpec, out: Path) -> dict[str, Any]:
    """The comparison with the paper, from the store alone."""
    trials = store.trials(preset.name)
    [score] = store.setting_scores(preset.name)
    fids = list(score["fids"])
    interval = median_interval(fids)
    changed = changed_from_paper(preset, spec)
    ours = {
        "median_fid": score["median_fid"],
        "best_fid": score["best_fid"],
        "worst_fid": max(fids) if fids else None,
        "std_fid": statistics.stdev(fids) if len(fids) > 1 else None,
        "fids": fids,
        "median_interval": list(interval) if interval else None,
        "confidence": CONFIDENCE,
        "resamples": BOOTSTRAP_RESAMPLES,
        "seeds_done": len(fids),
    }
    return {
        "preset": preset.name,
        "table": preset.table,
        "study": str(out),
        "paper": {"median_fid": preset.median_fid, "best_fid": preset.best_fid},
        "ours": ours,
        "paper_median_inside": None
        if interval is None
        else interval[0] <= preset.median_fid <= interval[1],
        "changed_from_paper": changed,
        "comparable": not changed,
        "trials": [
            {
                k: t[k]
                for k in ("seed", "status", "steps", "final_fid", "best_fid", "wall_s", "error")
            }
            for t in trials
        ],
        "unfinished": sum(t["status"] not in FINISHED_STATUSES for t in trials),
    }


def _fid(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(summary: dict[str, Any]) -> str:
    """reproduce.md: the paper's row beside ours, the spread, the interval and every seed."""
    ours, paper = summary["ours"], summary["paper"]
    trials = summary["trials"]
    counts = ", ".join(
        f"{sum(t['status'] == s for t in trials)} {s}"
        for s in sorted({t["status"] for t in trials})
    )
    lines = [
        f"# Reproducing `{summary['preset']}` ({summary['table']})",
        "",
        f"Study folder `{summary['study']}`; {len(trials)} seeds ({counts}). Ours: the final "
        "FID of each seed, median and best over the seeds, as the paper reports them.",
        "",
        "| | median FID | best FID | seeds |",
        "|---|---|---|---|",
        f"| paper ({summary['table']}) | {_fid(paper['median_fid'])} | {_fid(paper['best_fid'])} "
        "| 5 |",
        f"| ours | {_fid(ours['median_fid'])} | {_fid(ours['best_fid'])} | {ours['seeds_done']} |",
        "",
    ]
    if ours["fids"]:
        std = "-" if ours["std_fid"] is None else f"{ours['std_fid']:.2f}"
        lines.append(
            f"Seed spread: {_fid(ours['best_fid'])} to {_fid(ours['worst_fid'])} "
            f"(range {ours['worst_fid'] - ours['best_fid']:.2f}, standard deviation {std})."
        )
    interval = ours["median_interval"]
    if interval:
        inside = "inside" if summary["paper_median_inside"] else "outside"
        lines.append(
            f"{ours['confidence']:.0%} bootstrap interval of our median ({ours['resamples']:,} "
            f"resamples of the seeds): [{interval[0]:.2f}, {interval[1]:.2f}]; the paper's median "
            f"is {inside} it."
        )
    else:
        lines.append("No bootstrap interval: it needs at least 2 finished seeds.")
    if summary["changed_from_paper"]:
        changed = ", ".join(f"{k}={v}" for k, v in summary["changed_from_paper"].items())
        lines.append(
            f"Changed from the paper's setting: {changed}. These FIDs are not comparable to the "
            "paper's."
        )
    if summary["unfinished"]:
        lines.append(
            f"{summary['unfinished']} seeds have not finished; run the same command again to "
            "resume them."
        )
    lines += ["", "| seed | status | D steps | final FID | wall time | error |"]
    lines.append("|---|---|---|---|---|---|")
    for t in trials:
        wall = "-" if t["wall_s"] is None else f"{t['wall_s']:.0f} s"
        error = (t["error"] or "").replace("|", "/")[:200]
        lines.append(
            f"| {t['seed']} | {t['status']} | {t['steps'] or '-'} | {_fid(t['final_fid'])} | "
            f"{wall} | {error} |"
        )
    return "\n".join(lines) + "\n"


def write_summary(out: str | Path, spec: StudySpec, preset_name: str) -> tuple[str, dict]:
    """Write OUT/reproduce.md and OUT/reproduce.json (atomically); returns (markdown, summary)."""
    out = Path(out)
    preset = get_preset(preset_name)
    with StudyStore(out / STORE_NAME) as store:
        summary = summarize(store, preset, spec, out)
    text = markdown(summary)
    write_json(out / JSON_NAME, summary)
    with atomic_write(out / MARKDOWN_NAME, "w") as handle:
        handle.write(text)
    return text, summary


def all_done(summary: dict[str, Any]) -> bool:
    return all(t["status"] == DONE for t in summary["trials"])
