"""Checkpoints of a training run: atomic, complete, and loadable with ``weights_only=True``.

A checkpoint holds everything needed to continue a run exactly where it stopped: both networks
(and the EMA copy of the generator), both Adam states, every random state (torch CPU, CUDA,
NumPy, Python, and each dedicated ``torch.Generator`` of the trainer), the position in the data
stream, the step count and the resolved config. Resuming on the CPU from step N and training N more
steps gives the same weights, bit for bit, as 2N uninterrupted steps.

Files live in ``RUN_DIR/checkpoints/``: ``step_00001000.pt`` ... (the last ``keep_checkpoints``
are kept) and ``best.pt``, the generator at the lowest FID so far: only the sampling generator's
weights (the EMA copy when the run keeps one), its builder arguments and the score, a fraction of a
full checkpoint; ``ganmetrics-train export --best`` reads it. Every write goes through
:func:`ganmetrics.atomic.torch_save`, so a killed run never leaves a torn checkpoint behind.

The run folder itself - created, reused by ``--resume`` (which may change only the operational
settings), or replaced by ``--overwrite`` - is :func:`prepare_run_dir`'s.

The generator export (``generator.pt``) is the ``ganmetrics.generator/1`` format of
:func:`ganmetrics.sources.save_generator_export`, accepted by ``ganmetrics eval --fake``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmetrics.atomic import torch_save
from ganmetrics.errors import InputError
from ganmetrics_train.config import OPERATIONAL_FIELDS, TrainConfig, load_run_config
from ganmetrics_train.run_logging import SCORES_NAME, read_jsonl

CHECKPOINT_FORMAT = "ganmetrics_train.checkpoint/1"
CHECKPOINT_DIRNAME = "checkpoints"
BEST_NAME = "best.pt"
GENERATOR_BUILDER = "ganmetrics_train.models:build_generator"
Z_DISTRIBUTION = "uniform"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIRNAME


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.pt"


def best_checkpoint_path(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / BEST_NAME


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of every periodic checkpoint in the run, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _STEP_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(run_dir: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` most recent periodic checkpoints (``best.pt`` stays)."""
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# The run folder


def prepare_run_dir(config: TrainConfig, resume: bool, overwrite: bool) -> Path:
    """Create or reuse the run folder; an existing one needs ``resume`` or ``overwrite``."""
    run_dir = Path(config.out)
    is_run = (run_dir / "config.json").is_file()
    has_content = run_dir.is_dir() and any(run_dir.iterdir())
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: exists and is not a folder; choose another --out")
    if has_content and overwrite and not resume:
        if not is_run:
            raise InputError(
                f"{run_dir}: not empty and not a ganmetrics-train run folder; refusing to delete "
                "it - choose another --out"
            )
        shutil.rmtree(run_dir)
    elif has_content and resume:
        if not is_run:
            raise InputError(
                f"{run_dir}: not a ganmetrics-train run folder (no config.json); nothing to resume"
            )
        stored = load_run_config(run_dir)
        changed = [
            name
            for name, value in stored.to_dict().items()
            if name not in OPERATIONAL_FIELDS and config.to_dict()[name] != value
        ]
        if changed:
            details = ", ".join(
                f"{n.rstrip('_')} {getattr(stored, n)!r} -> {getattr(config, n)!r}" for n in changed
            )
            raise InputError(
                f"{run_dir}: --resume cannot change {details}; use another --out for a new run"
            )
    elif has_content:
        raise InputError(
            f"{run_dir}: already exists; pass --resume to continue it or --overwrite to start over"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot create the run folder ({exc.strerror})") from None
    return run_dir


def check_resumable(run_dir: Path, given: bool) -> None:
    """``--resume`` needs a run folder; checked before the settings (e.g. ``--data-dir``)."""
    if (run_dir / "config.json").is_file():
        return
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise InputError(
            f"{run_dir}: not a ganmetrics-train run folder (no config.json), nothing to resume; "
            "check --out, or choose another --out for a new run"
        )
    if not given:  # an empty or missing folder starts a new run, which needs settings
        raise InputError(
            f"{run_dir}: no run to resume here (no config.json); check --out, or give the "
            "settings of a new run (e.g. --dataset procedural)"
        )


def last_score_at(scores_path: Path, step: int) -> dict[str, Any] | None:
    """The scores line already recorded for ``step``, so a resumed run does not evaluate twice."""
    if not scores_path.is_file():
        return None
    found = None
    with open(scores_path) as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line from a killed run
            if isinstance(record, dict) and record.get("step") == step:
                found = record
    return found


# --------------------------------------------------------------------------------------------
# Random states as tensors and plain types (so that ``weights_only=True`` can load them).


def capture_rng_state(generators: Mapping[str, torch.Generator]) -> dict[str, Any]:
    """Every random state a run depends on: global torch CPU/CUDA, NumPy, Python, ``generators``."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    return {
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {
            "kind": str(np_kind),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "python": {"version": int(py_version), "internal": list(py_internal), "gauss": py_gauss},
        "generators": {name: gen.get_state() for name, gen in generators.items()},
    }


def restore_rng_state(state: Mapping[str, Any], generators: Mapping[str, torch.Generator]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch_cpu"])
    if state["torch_cuda"] and torch.cuda.is_available():
        cuda_states = list(state["torch_cuda"])[: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["internal"]), python_state["gauss"])
    )
    for name, gen in generators.items():
        gen.set_state(state["generators"][name])


@contextlib.contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Run a block (sampling, evaluation, export) without changing any global random state."""
    state = capture_rng_state({})
    try:
        yield
    finally:
        restore_rng_state(state, {})


# --------------------------------------------------------------------------------------------
# Saving and loading


def tensors_finite(state_dict: Mapping[str, Any] | None) -> bool:
    """Whether every floating-point tensor of a state dict is finite (no NaN, no inf)."""
    if state_dict is None:
        return True
    return all(
        bool(torch.isfinite(value).all())
        for value in state_dict.values()
        if isinstance(value, torch.Tensor) and value.is_floating_point()
    )


def save_checkpoint(path: str | Path, checkpoint: Mapping[str, Any]) -> None:
    """Write ``checkpoint`` atomically; refuse one whose weights are not all finite."""
    for key in ("generator", "discriminator", "generator_ema"):
        if not tensors_finite(checkpoint.get(key)):
            raise ValueError(f"refusing to save {path}: {key} has non-finite weights")
    torch_save(path, {"format": CHECKPOINT_FORMAT, **checkpoint})


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint not found") from None
    except Exception as exc:
        message = " ".join(str(exc).split())[:200]
        raise InputError(
            f"{path}: not a loadable checkpoint ({type(exc).__name__}: {message}); delete it to "
            "resume from the previous one"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: not a ganmetrics-train checkpoint ({CHECKPOINT_FORMAT})")
    return checkpoint


def latest_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest periodic checkpoint that loads, or ``None`` if the run has none."""
    problems = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError(problems[0])
    return None


def save_best(
    run_dir: str | Path,
    generator_config: Mapping[str, Any],
    generator_state: Mapping[str, Any],
    *,
    fid: float,
    step: int,
    config_hash: str,
) -> Path:
    """Write ``best.pt``: the sampling generator at its best FID, without D or optimizer states."""
    path = best_checkpoint_path(run_dir)
    save_checkpoint(
        path,
        {
            "kind": "best",
            "step": step,
            "config_hash": config_hash,
            "generator_config": dict(generator_config),
            "generator": dict(generator_state),
            "generator_ema": None,
            "best": {"fid": fid, "step": step},
        },
    )
    return path


def recorded_best(run_dir: str | Path) -> tuple[float, int] | None:
    """(FID, step) stored in ``best.pt``, or ``None`` when there is none that loads."""
    path = best_checkpoint_path(run_dir)
    if not path.is_file():
        return None
    with contextlib.suppress(InputError, KeyError, TypeError):
        best = load_checkpoint(path)["best"]
        if best["fid"] is not None:
            return float(best["fid"]), int(best["step"])
    return None


def training_state(trainer) -> dict[str, Any]:
    """Everything :func:`restore_training_state` needs to continue a :class:`Trainer` exactly."""
    t = trainer
    return {
        "step": t.step,
        "g_steps": t.g_steps,
        "data_next_batch": t.batches.next_batch,
        "config": t.config.to_dict(),
        "config_hash": t.config_hash,
        "generator": t.G.state_dict(),
        "discriminator": t.D.state_dict(),
        "generator_ema": t.G_ema.state_dict() if t.G_ema is not None else None,
        "generator_config": dict(t.G.config),
        "discriminator_config": dict(t.D.config),
        "g_optimizer": t.g_optimizer.state_dict(),
        "d_optimizer": t.d_optimizer.state_dict(),
        "rng": capture_rng_state(_trainer_generators(t)),
        "best": {"fid": t.best_fid, "step": t.best_step},
        "elapsed_s": t.elapsed(),
    }


def _trainer_generators(trainer) -> dict[str, torch.Generator]:
    return {"z": trainer.z_generator, "penalty": trainer.penalty_generator}


def restore_training_state(trainer, state: Mapping[str, Any]) -> int:
    """Load a checkpoint's ``state`` into ``trainer``; returns the data stream's next batch."""
    t = trainer
    if state["config_hash"] != t.config_hash:
        raise InputError(
            f"{t.last_checkpoint}: written by a run with config hash "
            f"{state['config_hash']}, not {t.config_hash}; resume with the run's own config"
        )
    t.G.load_state_dict(state["generator"])
    t.D.load_state_dict(state["discriminator"])
    if t.G_ema is not None:
        t.G_ema.load_state_dict(state["generator_ema"])
    t.g_optimizer.load_state_dict(state["g_optimizer"])
    t.d_optimizer.load_state_dict(state["d_optimizer"])
    restore_rng_state(state["rng"], _trainer_generators(t))
    t.step = int(state["step"])
    t.g_steps = int(state["g_steps"])
    t.best_fid = state["best"]["fid"]
    t.best_step = state["best"]["step"]
    t.elapsed_before = float(state["elapsed_s"])
    t.last_scores = last_score_at(Path(t.run_dir) / SCORES_NAME, t.step)
    return int(state["data_next_batch"])


def run_status(run_dir: str | Path) -> dict[str, Any]:
    """Whether a run folder is finished, and its FIDs (for sweeps and summaries)."""
    run_dir = Path(run_dir)
    status: dict[str, Any] = {"run_dir": str(run_dir), "done": (run_dir / "done.json").is_file()}
    fids = [
        (int(r["step"]), float(r["metrics"]["fid"]))
        for r in read_jsonl(run_dir / SCORES_NAME)
        if isinstance(r.get("metrics", {}).get("fid"), int | float)
    ]
    status["final_fid"] = fids[-1][1] if fids else None
    status["final_step"] = fids[-1][0] if fids else None
    status["best_fid"] = min(f for _, f in fids) if fids else None
    return status


# --------------------------------------------------------------------------------------------
# Generator export


def export_generator(
    run_dir: str | Path, output: str | Path | None = None, best: bool = False
) -> Path:
    """Write the run's generator (the EMA weights when the run kept an EMA) as ``generator.pt``.

    Reads the latest periodic checkpoint, or ``best.pt`` with ``best=True`` (then written to
    ``best_generator.pt`` by default, leaving the final export in place); the file is the
    ``ganmetrics.generator/1`` format of :func:`ganmetrics.sources.save_generator_export`.
    """
    run_dir = Path(run_dir)
    if best:
        path = best_checkpoint_path(run_dir)
        if not path.is_file():
            raise InputError(
                f"{path}: no best checkpoint (the run has not been evaluated yet); drop --best"
            )
        checkpoint = load_checkpoint(path)
    else:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise InputError(
                f"{checkpoint_dir(run_dir)}: no checkpoints; train the run first "
                "(ganmetrics-train run --out RUN_DIR)"
            )
        checkpoint = found[1]
    default_name = "best_generator.pt" if best else "generator.pt"
    output = Path(output) if output is not None else run_dir / default_name
    export_generator_from_checkpoint(checkpoint, output)
    return output


def export_generator_from_checkpoint(checkpoint: Mapping[str, Any], output: str | Path) -> None:
    from ganmetrics_train.models import build_generator

    builder_kwargs = dict(checkpoint["generator_config"])
    generator = build_generator(**builder_kwargs)
    state = checkpoint.get("generator_ema") or checkpoint["generator"]
    generator.load_state_dict(state)
    save_generator_module(generator, builder_kwargs, output)


def save_generator_module(
    generator: torch.nn.Module, builder_kwargs: Mapping[str, Any], output: str | Path
) -> None:
    """Save ``generator`` (built by ``build_generator(**builder_kwargs)``) in the export format."""
    from ganmetrics.sources import save_generator_export

    save_generator_export(
        output,
        generator,
        GENERATOR_BUILDER,
        dict(builder_kwargs),
        int(builder_kwargs.get("z_dim", 128)),
        Z_DISTRIBUTION,
    )
