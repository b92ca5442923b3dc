"""``ganmetrics-train plot``: one PNG of one run, its scores and its losses against steps.

The score panels come from ``RUN_DIR/scores.jsonl``, one record per evaluation. They show the
metrics of section 4 of "The GAN Landscape" (Kurach, Lucic et al. 2019): FID, Inception Score,
KID and, on CELEBA-HQ-128, MS-SSIM, with their spread as a band. The loss panel comes from
``RUN_DIR/losses.jsonl``, the mean losses of every ``log_every`` discriminator steps. The x axis
is the discriminator step, the unit of the paper's training budgets (section 2.6). The figure is
drawn with matplotlib's Agg canvas on a :class:`matplotlib.figure.Figure`, so no pyplot state or
display is involved.
"""

from __future__ import annotations

import dataclasses
import io
import math
import textwrap
from pathlib import Path
from typing import Any

from ganmetrics.atomic import atomic_write, ensure_writable_dir
from ganmetrics.errors import InputError
from ganmetrics_train.run_logging import LOSS_PREFIX, LOSSES_NAME, SCORES_NAME, read_jsonl

PLOT_NAME = "plot.png"


@dataclasses.dataclass(frozen=True)
class ScorePanel:
    """How one metric of ``scores.jsonl`` is drawn (its spread, if recorded, as a band)."""

    key: str
    name: str
    title: str
    ylabel: str
    spread_key: str | None = None
    spread_label: str = ""


#: The metrics of section 4, in the order they are drawn; other numeric metrics follow.
SCORE_PANELS = (
    ScorePanel("fid", "FID", "FID (lower is better)", "FID (Inception pool3 features)"),
    ScorePanel(
        "is_mean",
        "IS",
        "Inception Score (higher is better)",
        "IS (1 to 1008 classes)",
        "is_std",
        "± 1 std over splits",
    ),
    ScorePanel(
        "kid_mean",
        "KID",
        "KID (lower is better)",
        "KID (squared MMD of pool3 features)",
        "kid_std",
        "± 1 std over subsets",
    ),
    ScorePanel(
        "msssim", "MS-SSIM", "MS-SSIM of sample pairs (lower is more diverse)", "MS-SSIM (0 to 1)"
    ),
    # The procedural judge (ganmetrics.judge_procedural), on the built-in set only.
    ScorePanel(
        "judge_quality", "judge quality", "Judge: samples in distribution", "share (0 to 1)"
    ),
    ScorePanel("judge_modes", "judge modes", "Judge: modes in a fair share", "modes (0 to 4)"),
    ScorePanel(
        "judge_colour_fd",
        "colour FD",
        "Judge: colour FD (lower is better)",
        "Frechet distance, 4x4 pooled colours",
    ),
)
LOSS_LABELS = {
    "loss/d": "D loss (GAN term + lambda x penalty)",
    "loss/d_gan": "D loss (GAN term)",
    "loss/penalty": "penalty (before lambda)",
    "loss/g": "G loss",
}
#: Without a penalty the D loss is its GAN term: one line, so these two are not drawn.
UNPENALIZED_DROPPED = ("loss/d_gan", "loss/penalty")
STEP_LABEL = "step (discriminator updates)"


def _by_step(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per step, the last one written (a resumed run may log a step twice)."""
    latest: dict[int, dict[str, Any]] = {}
    for record in records:
        if isinstance(record.get("step"), int | float):
            latest[int(record["step"])] = record
    return [latest[step] for step in sorted(latest)]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _series(records: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(int(r["step"]), float(r[key])) for r in records if _finite(r.get(key))]
    return [step for step, _ in pairs], [value for _, value in pairs]


def _score_panels(metrics: list[dict[str, Any]]) -> list[ScorePanel]:
    """The known panels whose metric was recorded, then any other numeric metric."""
    present = {key for record in metrics for key, value in record.items() if _finite(value)}
    present.discard("step")
    panels = [panel for panel in SCORE_PANELS if panel.key in present]
    known = {panel.key for panel in panels} | {panel.spread_key for panel in panels}
    for key in sorted(present - known):
        spread = f"{key.removesuffix('_mean')}_std"
        if key.endswith("_std"):
            continue
        if spread in present:
            panels.append(ScorePanel(key, key, key, key, spread, f"± {spread}"))
        else:
            panels.append(ScorePanel(key, key, key, key))
    return panels


def _loss_labels(losses: list[dict[str, Any]]) -> dict[str, str]:
    """The losses to draw, known ones first, with their legend labels."""
    logged = {k for r in losses for k, v in r.items() if k.startswith(LOSS_PREFIX) and _finite(v)}
    keys = [k for k in LOSS_LABELS if k in logged] + sorted(logged - set(LOSS_LABELS))
    labels = {key: LOSS_LABELS.get(key, key) for key in keys}
    if labels and not any(_series(losses, "loss/penalty")[1]):
        labels = {k: v for k, v in labels.items() if k not in UNPENALIZED_DROPPED}
        if "loss/d" in labels:
            labels["loss/d"] = "D loss"
    return labels


def _title(run_dir: Path, scores: list[dict[str, Any]]) -> str:
    """The run folder, what it trains (from its config.json) and what the scores compare."""
    from ganmetrics_train.config import load_run_config

    title = str(run_dir)
    try:
        c = load_run_config(run_dir)
    except InputError:
        c = None
    if c is not None:
        penalty = "no penalty"
        if c.penalty != "none":
            penalty = f"penalty {c.penalty} (lambda {c.lambda_:g})"
        title += (
            f": {c.arch} on {c.dataset} ({c.image_size} px), loss {c.loss}, norm {c.norm}, "
            f"{penalty}, seed {c.seed}"
        )
    meta = scores[-1].get("meta", {}) if scores else {}
    if meta.get("n_real") and meta.get("n_fake"):
        title += f"\nscores: {meta['n_real']} test vs {meta['n_fake']} generated images"
        if meta.get("standard_weights") is False:
            title += ", random Inception weights (compare only with each other)"
    return title


def _draw_score(ax: Any, panel: ScorePanel, metrics: list[dict[str, Any]]) -> None:
    steps, values = _series(metrics, panel.key)
    ax.plot(steps, values, "o-", color="C0", label=panel.name)
    if panel.spread_key is not None:
        spread = dict(zip(*_series(metrics, panel.spread_key), strict=True))
        low = [v - spread.get(s, 0.0) for s, v in zip(steps, values, strict=True)]
        high = [v + spread.get(s, 0.0) for s, v in zip(steps, values, strict=True)]
        ax.fill_between(steps, low, high, color="C0", alpha=0.2, label=panel.spread_label)
    ax.set_title(panel.title)
    ax.set_ylabel(panel.ylabel)


def _draw_losses(ax: Any, losses: list[dict[str, Any]], labels: dict[str, str]) -> None:
    for index, (key, label) in enumerate(labels.items()):
        steps, values = _series(losses, key)
        marker = "o" if len(steps) < 3 else None  # one record would be an invisible line
        ax.plot(steps, values, color=f"C{index + 1}", label=label, marker=marker)
    ax.set_title("Training losses (mean over each --log-every window)")
    ax.set_ylabel("mean loss per sample")


def _finish_axes(ax: Any, last_step: int) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(STEP_LABEL)
    ax.set_xlim(0, last_step * 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.grid(alpha=0.3)
    count = len(ax.get_legend_handles_labels()[0])
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=min(count, 2),
        fontsize="small",
        frameon=False,
    )


def plot_run(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Draw the scores and losses of ``run_dir`` as one PNG; returns the path written.

    ``output`` defaults to ``RUN_DIR/plot.png``. Raises :class:`InputError` when the folder is
    missing, holds nothing to plot yet, or the output path is not a writable ``.png``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder; pass the --out folder of a training run")
    output = Path(output) if output is not None else run_dir / PLOT_NAME
    if output.suffix.lower() != ".png":
        raise InputError(f"{output}: the plot is a PNG; pass -o with a .png name")
    ensure_writable_dir(output)
    scores = _by_step(read_jsonl(run_dir / SCORES_NAME))
    metrics = [{**r.get("metrics", {}), "step": r["step"]} for r in scores]
    losses = _by_step(read_jsonl(run_dir / LOSSES_NAME))
    panels, loss_labels = _score_panels(metrics), _loss_labels(losses)
    if not panels and not loss_labels:
        raise InputError(
            f"{run_dir}: no {SCORES_NAME} or {LOSSES_NAME} records yet; plot once the run has "
            "logged (every --log-every steps) or evaluated (every --eval-every steps)"
        )
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("ganmetrics-train plot needs matplotlib; pip install matplotlib") from None

    count = len(panels) + (1 if loss_labels else 0)
    columns = 1 if count == 1 else 2
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(6.4 * columns, 3.8 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax, panel in zip(axes, panels, strict=False):
        _draw_score(ax, panel, metrics)
    if loss_labels:
        _draw_losses(axes[len(panels)], losses, loss_labels)
    last_step = max(1, *(r["step"] for r in metrics + losses))
    for ax in axes[:count]:
        _finish_axes(ax, last_step)
    for ax in axes[count:]:
        ax.set_visible(False)
    lines = _title(run_dir, scores).split("\n")
    figure.suptitle("\n".join(textwrap.fill(line, 75 * columns) for line in lines), size="medium")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    with atomic_write(output, "wb") as handle:
        handle.write(buffer.getvalue())
    return output
