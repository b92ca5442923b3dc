"""The demo: every metric on built-in images, with no download and no data set.

A procedural "real" set and a "generator" that renders only two of its modes are written as two
folders of 32×32 PNGs and compared with FID, IS, KID, precision/recall, density/coverage and
MS-SSIM diversity, so a user sees the whole pipeline run and a mode-dropping model score worse.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganmetrics.errors import InputError

#: The demo needs at least this many images per side (MS-SSIM: 5 batches of at least 2).
MIN_DEMO_IMAGES = 10
DEMO_METRICS = ("fid", "is", "kid", "prc", "msssim")


@dataclass(frozen=True)
class DemoRun:
    """The result, where its files are (``None``: a temporary folder, removed), and why random
    Inception weights were used (``None``: they were not)."""

    result: dict[str, Any]
    folder: Path | None
    random_weights_reason: str | None


def _write_images(root: Path, num: int) -> None:
    from PIL import Image

    from ganmetrics.datasets import ProceduralDataset

    sides = {
        "real": ProceduralDataset(num, image_size=32, seed=0, split="test"),
        "fake": ProceduralDataset(num, image_size=32, seed=1, split="train", num_modes=2),
    }
    for name, dataset in sides.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(len(dataset)):
            Image.fromarray(dataset.read(index).transpose(1, 2, 0)).save(
                folder / f"{index:05d}.png"
            )


def _standard_weights_problem(requested: str | None) -> str | None:
    """Why the standard weights cannot be used (``None``: they can); an explicit file that is
    missing stays an error."""
    from ganmetrics.inception import OFFLINE_ROUTE, resolve_weights_path

    try:
        resolve_weights_path(requested)
        return None
    except InputError as exc:
        if requested is not None:
            raise
        return str(exc).removesuffix(f"; {OFFLINE_ROUTE}")  # the demo takes that route itself


def run_demo(
    out: str | os.PathLike | None = None,
    num: int = 320,
    inception_weights: str | None = None,
    progress: bool = True,
    announce: Callable[[str], None] | None = None,
) -> DemoRun:
    """Write the demo images to ``out`` (default: a temporary folder, removed) and score them.

    Without the standard Inception weights (offline, no ``$GANMETRICS_INCEPTION_WEIGHTS``) and
    without ``inception_weights``, seeded RANDOM weights are used and the reason is returned: the
    pipeline runs, the numbers are not comparable with any paper. ``announce`` is called with that
    reason before any work, so a user knows why at once. With ``out``, the images, the weights and
    ``result.json`` stay there; without it nothing is kept, feature-cache entries included.
    """
    from ganmetrics.api import check_writable, evaluate
    from ganmetrics.atomic import write_json
    from ganmetrics.inception import make_random_inception_weights

    if num < MIN_DEMO_IMAGES:
        raise InputError(f"demo --num {num}: use at least {MIN_DEMO_IMAGES} images per side")
    if out is not None:
        check_writable(Path(out) / "result.json")
    reason = _standard_weights_problem(inception_weights)
    if reason is not None and announce is not None:
        announce(reason)
    with contextlib.ExitStack() as stack:
        if out is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ganmetrics-demo-")))
        else:
            root = Path(out)
        weights = inception_weights
        if reason is not None:
            weights = str(root / "random-inception-weights.pth")
            if not Path(weights).exists():
                make_random_inception_weights(weights, seed=0)
        _write_images(root, num)
        result = evaluate(
            root / "real",
            root / "fake",
            DEMO_METRICS,
            inception_weights=weights,
            kid_subset_size=min(1000, num),
            msssim_batches=5,
            msssim_batch_size=min(64, num // 5),
            progress=progress,
            cache=out is not None,  # entries for a removed folder would only take up space
        )
        if out is not None:
            write_json(root / "result.json", result)
    return DemoRun(result, None if out is None else root, reason)


__all__ = ["DEMO_METRICS", "DemoRun", "run_demo"]
