"""The report of a study: the figures of "The GAN Landscape" (section 3) and Tables 7-9-like tables.

From the store alone (``OUT/study.sqlite``) it writes into ``OUT/report/``:

(a) ``top5_fid.png``: the FID distribution of the top 5% of trained models per variant, as box
    plots (Figures 1-4: "FID distribution for top 5% models");
(b) ``budget.png``: the best median FID reached against the number of settings tried, with a
    bootstrap band over the order in which the settings are tried (section 3's "tradeoff between
    the computational budget (i.e. number of models to train) and model quality");
(c) ``msssim.png``: MS-SSIM diversity of the same top models beside their FID, where it was
    computed (section 2.4, CELEBA-HQ-128);
(d) ``report.md``: per variant the top settings with median and best FID over seeds and the
    hyperparameters in Tables 7-9's columns, and how many settings each variant needs, on
    average over orders, to reach a common FID;
(e) ``hyperparameters.png``: the median FID per variant and hyperparameter bin (Figure 11).

A setting's score is the median over its finished seeds (:meth:`StudyStore.setting_scores`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics.atomic import atomic_write
from ganmetrics_train.study.store import DIVERGED, DONE, FAILED, StudyStore, open_existing

REPORT_DIRNAME = "report"
TOP_FRACTION = 0.05
BOOTSTRAP_ORDERS = 1000
BOOTSTRAP_SEED = 0
BAND = (10, 90)
DPI = 120
LOG_SCALE_RATIO = 20
#: Bin edges of Figure 11's hyperparameter axes (log10 for lr and lambda).
HYPERPARAMETER_BINS = {
    "lr": ("learning rate", [-5, -4.5, -4, -3.5, -3, -2.5, -2], True),
    "beta1": ("beta1", [0, 0.25, 0.5, 0.75, 1.0001], False),
    "beta2": ("beta2", [0, 0.5, 0.9, 0.99, 1.0001], False),
    "n_disc": ("n_disc (D steps / G step)", [0.5, 2.5, 5.5], False),
    "lambda": ("lambda (penalty weight)", [-4, -3, -2, -1, 0, 1, 2], True),
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def top_models(fids: Sequence[float], fraction: float = TOP_FRACTION) -> list[float]:
    """The best ``ceil(fraction * n)`` FIDs (at least one)."""
    ordered = sorted(fids)
    return ordered[: max(1, math.ceil(fraction * len(ordered)))] if ordered else []


def budget_curves(
    scores: Sequence[float | None], orders: int = BOOTSTRAP_ORDERS, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """Running minimum of the setting scores over ``orders`` random orders: (orders, n).

    A setting without a score (every seed failed) is tried but improves nothing.
    """
    values = np.array([np.inf if s is None else s for s in scores], dtype=float)
    rng = np.random.default_rng(seed)
    runs = np.stack(
        [np.minimum.accumulate(values[rng.permutation(len(values))]) for _ in range(orders)]
    )
    return runs


def settings_to_reach(curves: np.ndarray, threshold: float) -> float | None:
    """Mean over orders of the number of settings tried until the best is <= ``threshold``."""
    reached = curves <= threshold
    if not reached[:, -1].all():
        return None
    return float(np.mean(reached.argmax(axis=1) + 1))


class StudyReport:
    """Collects a study's results from the store and draws them."""

    def __init__(self, store: StudyStore):
        self.store = store
        self.name = store.meta("study") or "study"
        self.variants = store.variants()
        self.labels = {v["name"]: v["label"] for v in self.variants}
        self.trials = store.trials()
        self.scores = store.setting_scores()

    def _done_trials(self, variant: str) -> list[dict[str, Any]]:
        return [
            t
            for t in self.trials
            if t["variant"] == variant and t["status"] == DONE and t["final_fid"] is not None
        ]

    def _settings(self, variant: str) -> list[dict[str, Any]]:
        return sorted(
            (s for s in self.scores if s["variant"] == variant), key=lambda s: s["position"]
        )

    # ----------------------------------------------------------------------------------------
    # Figures

    def _variant_axis(self, ax: Any, names: list[str]) -> None:
        labels = [self.labels[n] for n in names]
        ax.set_xticks(range(1, len(names) + 1))
        rotate = len(names) > 4 or max(map(len, labels), default=0) > 14
        ax.set_xticklabels(labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlabel("variant (loss, discriminator normalization + penalty)")

    def _top_box(self, ax: Any, metric_of: Any, ylabel: str, title: str) -> None:
        names, data = [], []
        for variant in self.labels:
            best = sorted(self._done_trials(variant), key=lambda t: t["final_fid"])
            chosen = best[: max(1, math.ceil(TOP_FRACTION * len(best)))] if best else []
            values = [v for v in (metric_of(t) for t in chosen) if v is not None]
            names.append(variant)
            data.append(values)
        positions = [i + 1 for i, values in enumerate(data) if values]
        if positions:
            ax.boxplot([d for d in data if d], positions=positions, widths=0.5)
        rng = np.random.default_rng(0)
        for i, values in enumerate(data):
            jitter = rng.uniform(-0.12, 0.12, len(values))
            ax.scatter(
                np.full(len(values), i + 1) + jitter,
                values,
                s=14,
                alpha=0.7,
                color="tab:blue",
                zorder=3,
                label="one model" if i == 0 else None,
            )
        self._variant_axis(ax, names)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        if any(data):
            ax.legend(loc="best", fontsize=8)

    def figure_top5(self, path: Path) -> Path:
        plt = _pyplot()
        counts = [len(self._done_trials(v)) for v in self.labels]
        fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(counts) + 2), 4.5))
        self._top_box(
            ax,
            lambda t: t["final_fid"],
            "final FID (lower is better)",
            f"{self.name}: FID of the top 5% of models per variant\n"
            f"(best {max(1, math.ceil(TOP_FRACTION * max(counts, default=1)))} of up to "
            f"{max(counts, default=0)} finished trials each)",
        )
        return _save(fig, path)

    def has_msssim(self) -> bool:
        return any(
            self.store.final_metric(t["trial_id"], "msssim") is not None
            for t in self.trials
            if t["status"] == DONE
        )

    def figure_msssim(self, path: Path) -> Path:
        plt = _pyplot()
        fig, (left, right) = plt.subplots(1, 2, figsize=(max(9.0, 2.2 * len(self.labels) + 3), 4.5))
        self._top_box(
            left,
            lambda t: t["final_fid"],
            "final FID (lower is better)",
            "FID of the top 5% of models",
        )
        self._top_box(
            right,
            lambda t: self.store.final_metric(t["trial_id"], "msssim"),
            "MS-SSIM of generated pairs (lower is more diverse)",
            "MS-SSIM of the same models",
        )
        fig.suptitle(f"{self.name}: sample quality (FID) beside diversity (MS-SSIM)")
        return _save(fig, path)

    def figure_budget(self, path: Path) -> Path:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        finite = []
        for index, variant in enumerate(self.labels):
            settings = self._settings(variant)
            if not settings:
                continue
            scores = [s["median_fid"] for s in settings]
            curves = budget_curves(scores)
            x = np.arange(1, len(scores) + 1)
            color = colors[index % len(colors)]
            with np.errstate(invalid="ignore"):
                median = np.median(curves, axis=0)
                low, high = np.percentile(curves, BAND, axis=0)
            shown = np.isfinite(median)
            ax.plot(x[shown], median[shown], color=color, lw=2, label=self.labels[variant])

            band = np.isfinite(high) & np.isfinite(low)
            ax.fill_between(x[band], low[band], high[band], color=color, alpha=0.2, lw=0)
            as_run = np.minimum.accumulate([np.inf if s is None else s for s in scores])
            ax.step(x, as_run, where="post", color=color, lw=1, ls="--", alpha=0.8)
            finite.extend(s for s in scores if s is not None and np.isfinite(s))
        ax.plot([], [], color="grey", lw=2, label=f"median over {BOOTSTRAP_ORDERS} random orders")
        ax.plot([], [], color="grey", ls="--", lw=1, label="in the order the study ran them")
        ax.fill_between(
            [],
            [],
            [],
            color="grey",
            alpha=0.2,
            label=f"{BAND[0]}-{BAND[1]}% over {BOOTSTRAP_ORDERS} random orders",
        )
        if _wide(finite):
            ax.set_yscale("log")
        ax.set_xlabel("number of hyperparameter settings tried")
        ax.set_ylabel("best median FID so far (lower is better)")
        ax.set_title(f"{self.name}: which variant reaches a given FID with the fewest settings")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        ax.xaxis.get_major_locator().set_params(integer=True)
        return _save(fig, path)

    def hyperparameter_grid(self, name: str) -> tuple[list[str], np.ndarray]:
        """(bin labels, median FID per variant x bin) of one hyperparameter (Figure 11)."""
        _, edges, log = HYPERPARAMETER_BINS[name]
        labels = []
        for low, high in itertools.pairwise(edges):
            if name == "n_disc":
                labels.append("1" if high < 3 else "5")
            elif log:
                labels.append(f"1e{low:g}..1e{high:g}")
            else:
                labels.append(f"{low:g}..{min(high, 1):g}")
        grid = np.full((len(self.labels), len(labels)), np.nan)
        for row, variant in enumerate(self.labels):
            cells: list[list[float]] = [[] for _ in labels]
            for setting in self._settings(variant):
                value = setting[name]
                if setting["median_fid"] is None or value is None or (log and value <= 0):
                    continue
                column = bin_index(edges, math.log10(value) if log else value)
                if column is not None:
                    cells[column].append(setting["median_fid"])
            for column, values in enumerate(cells):
                if values:
                    grid[row, column] = float(np.median(values))
        return labels, grid

    def figure_hyperparameters(self, path: Path) -> Path:
        plt = _pyplot()
        names = [
            n for n in HYPERPARAMETER_BINS if n != "lambda" or any(s["lambda"] for s in self.scores)
        ]
        grids = {n: self.hyperparameter_grid(n) for n in names}
        values = np.concatenate([g.ravel() for _, g in grids.values()])
        finite = values[np.isfinite(values)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 2.0)
        from matplotlib.colors import LogNorm, Normalize

        norm = LogNorm(vmin, vmax) if _wide(finite.tolist()) else Normalize(vmin, vmax)
        # every cell equally wide (panels sized by their bins), the colour bar a narrow last column
        widths = [max(3, len(grids[n][0])) for n in names] + [0.25]
        cell = 0.62
        fig, axes = plt.subplots(
            1,
            len(names) + 1,
            figsize=(cell * sum(widths) + 0.8 * len(names) + 1.6, 2.4 + 0.42 * len(self.labels)),
            squeeze=False,
            gridspec_kw={"width_ratios": widths},
            constrained_layout=True,
        )
        image = None
        for index, (ax, name) in enumerate(zip(axes[0], names, strict=False)):
            labels, grid = grids[name]
            image = ax.imshow(grid, cmap="viridis_r", norm=norm, aspect="auto")
            for (row, column), value in np.ndenumerate(grid):
                dark = not np.isnan(value) and float(norm(value)) > 0.5
                ax.text(
                    column,
                    row,
                    "-" if np.isnan(value) else compact_number(value),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
            ax.set_xticks(range(len(labels)))
            rotate = max(map(len, labels)) > 4
            ax.set_xticklabels(
                labels, rotation=45 if rotate else 0, ha="right" if rotate else "center", fontsize=7
            )
            ax.set_yticks(range(len(self.labels)))
            ax.set_yticklabels(list(self.labels.values()) if index == 0 else [], fontsize=8)
            title = HYPERPARAMETER_BINS[name][0]
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(f"{title} bin", fontsize=8)
        fig.colorbar(image, cax=axes[0][-1], label="median FID of the bin")
        fig.suptitle(
            f"{self.name}: effect of each hyperparameter on FID (lower is better; "
            "'-': no setting; k = 10^3)",
            fontsize=10,
        )
        return _save(fig, path)

    # ----------------------------------------------------------------------------------------
    # Tables

    def top_settings(self, variant: str, count: int) -> list[dict[str, Any]]:
        scored = [s for s in self._settings(variant) if s["median_fid"] is not None]
        return sorted(scored, key=lambda s: s["median_fid"])[:count]

    def markdown(self, figures: dict[str, Path], top: int) -> str:
        by_status: dict[str, int] = {}
        for trial in self.trials:
            by_status[trial["status"]] = by_status.get(trial["status"], 0) + 1
        walls = [t["wall_s"] for t in self.trials if t["wall_s"]]
        rates = [t["steps_per_s"] for t in self.trials if t["steps_per_s"]]
        lines = [
            f"# Study `{self.name}`",
            "",
            f"Store: `{self.store.path}`. Trials: {len(self.trials)} ("
            + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
            + f"). Trial wall time: {readable_duration(sum(walls))} in total"
            + (f", median {np.median(rates):.3g} D steps/s" if rates else "")
            + ". FIDs are final FIDs; a setting's score is the median over its finished seeds.",
            "",
        ]
        curves = {
            v: budget_curves([s["median_fid"] for s in self._settings(v)])
            for v in self.labels
            if self._settings(v)
        }
        bests = [float(c[0, -1]) for c in curves.values() if np.isfinite(c[0, -1])]
        threshold = max(bests) if bests else None
        reach_title = (
            f"mean settings to reach FID <= {threshold:.2f}" if threshold is not None else "-"
        )
        lines += [
            "## Variants",
            "",
            f"| variant | settings | trials done / failed / diverged | best median FID | "
            f"{reach_title} |",
            "|---|---|---|---|---|",
        ]
        for variant, label in self.labels.items():
            trials = [t for t in self.trials if t["variant"] == variant]
            counts = [sum(t["status"] == s for t in trials) for s in (DONE, FAILED, DIVERGED)]
            best = self.top_settings(variant, 1)
            reach = (
                settings_to_reach(curves[variant], threshold)
                if variant in curves and threshold is not None
                else None
            )
            lines.append(
                f"| {label} | {len(self._settings(variant))} | {counts[0]} / {counts[1]} / "
                f"{counts[2]} | {_fid(best[0]['median_fid']) if best else '-'} | "
                f"{'-' if reach is None else f'{reach:.1f}'} |"
            )
        lines += ["", f"## Top {top} settings per variant (as Tables 7-9)", ""]
        for variant, label in self.labels.items():
            lines += [
                f"### {label}",
                "",
                "| rank | setting | stage | median FID | best FID | seeds | LR (x1e-3) | beta1 | "
                "beta2 | n_disc | lambda |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for rank, s in enumerate(self.top_settings(variant, top), start=1):
                lam = "-" if not s["lambda"] else f"{s['lambda']:.3g}"
                lines.append(
                    f"| {rank} | {s['name']} | {s['stage']} | {_fid(s['median_fid'])} | "
                    f"{_fid(s['best_fid'])} | {len(s['fids'])}/{s['seeds']} | "
                    f"{s['lr'] * 1e3:.3g} | {s['beta1']:.3g} | {s['beta2']:.3g} | "
                    f"{s['n_disc']} | {lam} |"
                )
            lines.append("")
        failures = [t for t in self.trials if t["status"] in (FAILED, DIVERGED)]
        if failures:
            lines += [
                "## Failed and diverged trials",
                "",
                "| variant | setting | seed | status | error |",
                "|---|---|---|---|---|",
            ]
            for t in failures:
                error = (t["error"] or "").replace("|", "/")[:300]
                lines.append(
                    f"| {self.labels[t['variant']]} | {t['setting']} | {t['seed']} | "
                    f"{t['status']} | {error} |"
                )
            lines.append("")
        lines += collapse_section(self.store.evaluations(), self.labels)
        lines += ["## Figures", ""]
        for title, path in figures.items():
            lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
        if "MS-SSIM beside FID" not in figures:
            lines += [
                "MS-SSIM was not computed in this study (it is by default on CELEBA-HQ-128"
                "; add msssim to eval_metrics).",
                "",
            ]
        return "\n".join(lines)


def bin_index(edges: Sequence[float], position: float) -> int | None:
    """The bin [edges[i], edges[i + 1]) holding ``position``; the last bin is closed, so a value
    at the top of a range (lr = 1e-2, lambda = 100 in Table 1b) is in it. None outside."""
    if not edges[0] <= position <= edges[-1]:
        return None
    column = int(np.searchsorted(edges, position, side="right")) - 1
    return min(column, len(edges) - 2)


def compact_number(value: float) -> str:
    """At most 4 characters for a cell of the hyperparameter figure: 72.1, 478, 14k, 208k, 1.2M."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            shown = value / scale
            return f"{shown:.2g}{suffix}" if abs(shown) < 10 else f"{shown:.0f}{suffix}"
    return f"{value:.3g}"


def readable_duration(seconds: float) -> str:
    """ "42 s", "1 min 46 s", "3 h 05 min"."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def never_left_collapse(evaluations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trials whose procedural judge never saw more than one mode, at any evaluation.

    ``evaluations``: :meth:`StudyStore.evaluations` rows. Only trials with ``judge_modes``
    records count (the judge runs on the built-in procedural set); a trial at 0 or 1 mode at
    every evaluation either never learned the data or collapsed and stayed collapsed.
    """
    by_trial: dict[int, dict[str, Any]] = {}
    for row in evaluations:
        if row["metric"] != "judge_modes" or row["value"] is None:
            continue
        trial = by_trial.setdefault(row["trial_id"], {**row, "modes": []})
        trial["modes"].append(int(row["value"]))
    return [t for t in by_trial.values() if max(t["modes"]) <= 1]


def collapse_section(evaluations: Sequence[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    """report.md lines flagging the trials of :func:`never_left_collapse` (none: no lines)."""
    flagged = never_left_collapse(evaluations)
    if not flagged:
        return []
    lines = [
        "## Trials that never left collapse",
        "",
        "The procedural judge saw at most one of the data's modes at every evaluation of these "
        "trials (`judge_modes` <= 1): they never learned the data, or collapsed and stayed so.",
        "",
        "| variant | setting | seed | evaluations | judge modes |",
        "|---|---|---|---|---|",
    ]
    for t in flagged:
        modes = ", ".join(str(m) for m in t["modes"])
        lines.append(
            f"| {labels.get(t['variant'], t['variant'])} | {t['setting']} | {t['seed']} | "
            f"{len(t['modes'])} | {modes} |"
        )
    return [*lines, ""]


def _wide(values: Sequence[float]) -> bool:
    """Whether values span so many decades (diverged models) that a log scale reads better."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > LOG_SCALE_RATIO


def _fid(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_report(out: str | Path, top: int = 5) -> dict[str, Path]:
    """Write every figure and ``report.md`` into ``OUT/report``; returns title -> path."""
    out = Path(out)
    folder = out / REPORT_DIRNAME
    with open_existing(out) as store:
        report = StudyReport(store)
        figures = {
            "Top 5% FID per variant": report.figure_top5(folder / "top5_fid.png"),
            "Best FID against the number of settings tried": report.figure_budget(
                folder / "budget.png"
            ),
            "Hyperparameter effects": report.figure_hyperparameters(folder / "hyperparameters.png"),
        }
        if report.has_msssim():
            figures["MS-SSIM beside FID"] = report.figure_msssim(folder / "msssim.png")
        markdown = report.markdown(figures, top)
    with atomic_write(folder / "report.md", "w") as handle:
        handle.write(markdown)
    return {**figures, "Report": folder / "report.md"}
