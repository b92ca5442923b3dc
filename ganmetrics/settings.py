"""Evaluation settings: everything that determines a score besides the images.

:class:`EvalSettings` is the one owner of the evaluation options. The Python API takes its fields
as keywords and the command line takes them as flags of the same name (``batch_size`` is
``--batch-size``); :data:`CLI_FLAGS` lists the few flags spelled otherwise. Torch-free, so the
command line can build its ``--help`` without loading the network code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ganmetrics.errors import InputError
from ganmetrics.kid import KID_ESTIMATORS
from ganmetrics.metrics import METRICS, real_side_metrics
from ganmetrics.protocols import describe_estimators, get_protocol

#: The flags whose spelling is not the field's name with dashes (``--on/--off`` pairs set a bool).
CLI_FLAGS = {
    "num_workers": "--workers",
    "value_range": "--range",
    "fast": "--fast/--exact-torch-fidelity",
    "cache": "--cache/--no-cache",
    "progress": "--progress/--quiet",
    "round_generated": "--round-generated/--unrounded",
}

#: Defaults of the reconstruction error (Xiang & Li 2017: their code's ``--test_steps``,
#: ``--test_lr``; 200 held-out images).
RECON_NUM_IMAGES = 200
RECON_STEPS = 50
RECON_LR = 0.01


def cli_flag(field: str) -> str:
    """The command-line flag that sets ``field`` (the first of an on/off pair)."""
    return CLI_FLAGS.get(field, "--" + field.replace("_", "-")).split("/")[0]


@dataclass(frozen=True)
class EvalSettings:
    """Everything that determines a score besides the images. Saved in every result's ``meta``."""

    metrics: tuple[str, ...] | None = None  # None: the protocol's metrics
    protocol: str = "custom"
    num: int | None = None  # images per side, unless num_real / num_fake say otherwise
    num_real: int | None = None
    num_fake: int | None = None
    seed: int = 0  # generator sampling
    inception_weights: str | None = None
    encoder: str = "inception"  # a name of ganmetrics.encoders.ENCODER_TABLE
    encoder_weights: str | None = None  # its weights file (Inception: as inception_weights)
    device: str | None = None
    batch_size: int | None = None  # None: 256 on CUDA, 64 on the CPU (features.DEFAULT_BATCH_SIZE)
    float64: bool = False
    allow_tf32: bool = False  # TF32 convolutions and matmuls on Ampere+ GPUs: faster, not exact
    num_workers: int | None = None
    compile: bool = False
    fast: bool = True  # False: torch-fidelity's unmodified forward pass (bit-identical features)
    cache: bool = True
    value_range: str | None = None  # "0,1" or "-1,1" for float arrays / generators
    resize: bool | tuple[int, int] | str | None = None
    z_dim: int | None = None
    # None: the protocol's value (ganmetrics.protocols.Protocol, their one owner)
    is_splits: int | None = None
    kid_estimator: str | None = None  # "subsets" (torch-fidelity) or "blocks" (compare_gan)
    round_generated: bool | None = None  # False: generator floats x255 reach Inception unrounded
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    msssim_batches: int = 5
    msssim_batch_size: int = 64
    prc_k: int = 3
    dc_k: int = 5
    bootstrap: int = 0  # B resamples of the features for confidence intervals; 0: none
    confidence: float = 0.95  # level of the bootstrap intervals
    fid_inf: bool = False  # FID extrapolated to N -> infinity (Chong & Forsyth 2020)
    progress: bool = False

    def validated(self) -> EvalSettings:
        """Resolve the protocol's defaults and refuse impossible settings with the reason."""
        protocol = get_protocol(self.protocol)
        metrics = tuple(self.metrics) if self.metrics else protocol.metrics
        metrics = _metrics_for_encoder(metrics, self.encoder, explicit=bool(self.metrics))
        estimators = {
            name: getattr(protocol, name) if getattr(self, name) is None else getattr(self, name)
            for name in ("is_splits", "kid_estimator", "round_generated")
        }
        if estimators["kid_estimator"] not in KID_ESTIMATORS:
            raise InputError(
                f"--kid-estimator must be one of {', '.join(KID_ESTIMATORS)}, "
                f"got {estimators['kid_estimator']!r}"
            )
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise InputError(
                f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}"
            )
        positive = (
            "batch_size", "is_splits", "kid_subsets", "kid_subset_size", "msssim_batches",
            "prc_k", "dc_k",
        )  # fmt: skip
        for name in positive:
            value = estimators.get(name, getattr(self, name))
            if value is not None and value < 1:
                raise InputError(f"{cli_flag(name)} must be at least 1, got {value}")
        if self.msssim_batch_size < 2:
            raise InputError("--msssim-batch-size must be at least 2 (pairs of images)")
        for name in ("num", "num_real", "num_fake"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise InputError(f"{cli_flag(name)} must be at least 2, got {value}")
        if self.value_range not in (None, "0,1", "-1,1"):
            raise InputError(f"--range must be 0,1 or -1,1, got {self.value_range!r}")
        if self.bootstrap < 0 or self.bootstrap == 1:
            raise InputError(
                f"--bootstrap must be 0 (no intervals) or at least 2 resamples, "
                f"got {self.bootstrap}"
            )
        if not 0.0 < self.confidence < 1.0:
            raise InputError(f"--confidence must be between 0 and 1, got {self.confidence}")
        return dataclasses.replace(
            self,
            metrics=metrics,
            **estimators,
            num_real=self.num if self.num_real is None else self.num_real,
            num_fake=self.num if self.num_fake is None else self.num_fake,
            resize=_parse_resize(self.resize),
        )

    def needs_real(self) -> tuple[str, ...]:
        """The requested metrics that compare against real images."""
        return real_side_metrics(self.metrics or get_protocol(self.protocol).metrics)

    def estimators(self) -> dict[str, str]:
        """The estimators of a validated settings object, in words (``meta["estimators"]``)."""
        return describe_estimators(
            is_splits=self.is_splits,
            kid_estimator=self.kid_estimator,
            round_generated=self.round_generated,
            kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }


def _metrics_for_encoder(metrics: tuple[str, ...], encoder: str, explicit: bool) -> tuple:
    """``fid`` keeps meaning Inception: with another encoder it is asked as ``fd`` (FD in that
    space); IS needs Inception's class logits, so it is refused (dropped from a protocol's
    defaults)."""
    from ganmetrics.encoders.table import DEFAULT_ENCODER, get_encoder

    name = get_encoder(encoder).name
    if name == DEFAULT_ENCODER:
        return metrics
    if "is" in metrics and explicit:
        raise InputError(
            f"--metrics is: the Inception Score needs Inception's class logits, which "
            f"--encoder {name} has not; drop is or use --encoder inception"
        )
    renamed = ["fd" if m == "fid" else m for m in metrics if m != "is"]
    return tuple(dict.fromkeys(renamed))


def _parse_resize(value: Any) -> Any:
    """``"first"`` (``--resize`` alone) means the first image's size."""
    return True if value in ("", "first") else value


__all__ = ["CLI_FLAGS", "RECON_LR", "RECON_NUM_IMAGES", "RECON_STEPS", "EvalSettings", "cli_flag"]
