"""What a training run reports: scores.jsonl, losses.jsonl, TensorBoard scalars and images, PNG
sample grids, and the console progress: a tqdm bar on a terminal, or, when stderr is a file or a
pipe (a cluster's log), a plain line ``step N/M (P%), R steps/s, about T left`` at most every
:data:`PROGRESS_LINE_EVERY_S` seconds, so that a log holds no cursor-movement codes.

``scores.jsonl`` gets one JSON object per evaluation (section 4 of "The GAN Landscape": FID, IS,
KID and, on CELEBA-HQ-128, MS-SSIM); ``losses.jsonl`` one per ``log_every`` steps with the mean
losses of those steps, under their TensorBoard names (``{"step": 100, "loss/d": ..., "loss/g":
...}``). Each record is appended as one whole line followed by flush and fsync, so an interrupted
run never damages the lines already written.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganmetrics.atomic import atomic_write, write_json
from ganmetrics_train.pace import format_duration

SCORES_NAME = "scores.jsonl"
LOSSES_NAME = "losses.jsonl"
#: The scalars that go to ``losses.jsonl`` as well as to TensorBoard.
LOSS_PREFIX = "loss/"
SAMPLES_DIRNAME = "samples"
TENSORBOARD_DIRNAME = "tb"
#: Least seconds between two plain progress lines (stderr not a terminal).
PROGRESS_LINE_EVERY_S = 60.0


# --------------------------------------------------------------------------------------------
# JSON lines


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one line: a single write of the whole line, then flush and fsync.

    If an earlier writer died mid-line, the new record starts on a fresh line so that it stays
    readable (the torn line is skipped by :func:`read_jsonl`).
    """
    path = Path(path)
    line = json.dumps(record, sort_keys=False, allow_nan=True) + "\n"
    with open(path, "ab") as handle:
        if handle.tell() > 0:
            with open(path, "rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":
                    line = "\n" + line
        handle.write(line.encode())
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every complete JSON object line of ``path`` (torn or corrupt lines are skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for raw in path.read_text().splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def drop_scores_after(path: str | Path, step: int) -> None:
    """Rewrite ``path`` (atomically) without the records of steps after ``step``.

    Used on resume: evaluations and losses logged after the checkpoint the run continues from
    belong to steps that will be trained again.
    """
    path = Path(path)
    records = read_jsonl(path)
    kept = [r for r in records if int(r.get("step", 0)) <= step]
    if len(kept) == len(records):
        return
    with atomic_write(path, "w") as handle:
        for record in kept:
            handle.write(json.dumps(record) + "\n")


# --------------------------------------------------------------------------------------------
# Sample grids


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 images (N, 3, H, W) into one (H', W', 3) grid with ``padding`` black pixels."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images shaped (N, 3, H, W), got {images.shape}")
    count, _, height, width = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    grid = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, 3), np.uint8
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top : top + height, left : left + width] = images[index].transpose(1, 2, 0)
    return grid


def save_png(path: str | Path, image_hwc: np.ndarray) -> None:
    """Write a uint8 (H, W, 3) image as PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image_hwc).save(buffer, format="PNG")
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


# --------------------------------------------------------------------------------------------
# The run logger


class RunLogger:
    """TensorBoard, ``scores.jsonl``, sample PNGs and the progress (bar or lines) of one run."""

    def __init__(
        self,
        run_dir: str | Path,
        total_steps: int,
        start_step: int = 0,
        progress: bool = True,
        tensorboard: bool = True,
        progress_lines: bool = False,
    ):
        self.run_dir = Path(run_dir)
        self.scores_path = self.run_dir / SCORES_NAME
        self.losses_path = self.run_dir / LOSSES_NAME
        self.samples_dir = self.run_dir / SAMPLES_DIRNAME
        drop_scores_after(self.losses_path, start_step)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(
                str(self.run_dir / TENSORBOARD_DIRNAME), purge_step=start_step or None
            )
        self.total_steps, self.step = total_steps, start_step
        self._lines: tuple[float, int] | None = None
        if progress_lines:
            self._lines = (time.monotonic(), start_step)  # (since, from step) of the rate
            self._last_line = self._lines[0]
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total_steps,
                initial=start_step,
                desc="train",
                unit="step",
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def info(self, message: str) -> None:
        """A message on stderr that does not break the progress bar."""
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def advance(self, steps: int = 1) -> None:
        self.step += steps
        if self.bar is not None:
            self.bar.update(steps)
        if self._lines is not None:
            now = time.monotonic()
            if now - self._last_line >= PROGRESS_LINE_EVERY_S or self.step >= self.total_steps:
                self._last_line = now
                self.info(self._progress_line(now))

    def _progress_line(self, now: float) -> str:
        since, first_step = self._lines
        rate = (self.step - first_step) / max(now - since, 1e-9)
        left = format_duration((self.total_steps - self.step) / rate) if rate > 0 else "?"
        return (
            f"step {self.step}/{self.total_steps} ({100 * self.step / self.total_steps:.0f}%), "
            f"{rate:.3g} steps/s, about {left} left"
        )

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        losses = {name: value for name, value in values.items() if name.startswith(LOSS_PREFIX)}
        if losses:
            append_jsonl(self.losses_path, {"step": step, **losses})
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)
        if self.bar is not None:
            shown = {
                "d": values.get("loss/d"),
                "g": values.get("loss/g"),
                "it/s": values.get("perf/steps_per_sec"),
            }
            self.bar.set_postfix(
                {k: f"{v:.3g}" for k, v in shown.items() if v is not None}, refresh=False
            )

    def samples(self, step: int, images: np.ndarray) -> Path:
        """Save a grid of uint8 samples (N, 3, H, W) as PNG and as a TensorBoard image."""
        grid = image_grid(images)
        path = self.samples_dir / f"step_{step:06d}.png"
        save_png(path, grid)
        if self.writer is not None:
            self.writer.add_image("samples", grid, step, dataformats="HWC")
        return path

    def scores(self, record: Mapping[str, Any]) -> None:
        append_jsonl(self.scores_path, record)
        if self.writer is not None:
            for name, value in record.get("metrics", {}).items():
                if isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(f"metrics/{name}", value, record["step"])

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def write_done_marker(run_dir: str | Path, summary: Mapping[str, Any]) -> None:
    """``done.json``: written when a run has trained all its steps (sweeps skip such runs)."""
    write_json(Path(run_dir) / "done.json", {**summary, "finished_at": time.time()})


def iter_metric(records: list[dict[str, Any]], name: str) -> Iterator[tuple[int, float]]:
    for record in records:
        value = record.get("metrics", {}).get(name)
        if isinstance(value, int | float):
            yield int(record["step"]), float(value)
