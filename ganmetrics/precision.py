"""The float32 arithmetic that feature extraction runs under: exact unless the user opts in.

PyTorch's defaults let cuDNN convolutions use TF32 tensor cores on Ampere-and-newer GPUs
(``torch.backends.cudnn.allow_tf32 = True``): a 10-bit mantissa that moved the largest pool3
difference to a float64 forward from 1.6e-4 to 0.43 and FID by 0.29% on an H200 (issue #6).
FID, IS, KID and precision/recall ("The GAN Landscape", Kurach et al. 2019, section 2) are only
comparable when computed with the same network *and arithmetic*, so :func:`feature_precision`
switches TF32, reduced-precision reductions and oneDNN's bf16/TF32 modes off around the forward
pass (or TF32 on, with ``allow_tf32=True``) and restores the caller's settings afterwards, also
on exceptions, so a training script's own choices are untouched.

Since PyTorch 2.9 the same state is also reachable through ``fp32_precision`` attributes, and
reading a legacy flag after the two APIs were mixed raises; the guard therefore saves and
restores the newer attributes when they exist and the legacy ones otherwise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

#: ``describe()["precision"]`` values: what the arithmetic of the features was.
EXACT_FLOAT32 = "float32-exact"
TF32 = "tf32"
FLOAT64 = "float64"


def precision_name(float64: bool, allow_tf32: bool) -> str:
    """The name recorded in results and cache keys for a dtype / TF32 choice."""
    if float64:
        return FLOAT64
    return TF32 if allow_tf32 else EXACT_FLOAT32


def _new_api_leaves() -> list[tuple[object, str]]:
    """The ``fp32_precision`` attributes of PyTorch ≥ 2.9 (empty on older versions)."""
    backends = torch.backends
    candidates = [
        (getattr(backends.cuda, "matmul", None), "fp32_precision"),
        (getattr(backends.cudnn, "conv", None), "fp32_precision"),
        (getattr(backends.cudnn, "rnn", None), "fp32_precision"),
        (getattr(backends.mkldnn, "matmul", None), "fp32_precision"),
        (getattr(backends.mkldnn, "conv", None), "fp32_precision"),
        (getattr(backends.mkldnn, "rnn", None), "fp32_precision"),
    ]
    return [
        (owner, name) for owner, name in candidates if owner is not None and hasattr(owner, name)
    ]


def _bool_flags() -> list[tuple[object, str]]:
    """Flags with no ``fp32_precision`` counterpart: reduced-precision GEMM reductions."""
    matmul = torch.backends.cuda.matmul
    names = (
        "allow_fp16_reduced_precision_reduction",
        "allow_bf16_reduced_precision_reduction",
        "allow_fp16_accumulation",
    )
    return [(matmul, name) for name in names if _readable(matmul, name)]


def _readable(owner: object, name: str) -> bool:
    try:
        getattr(owner, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _legacy_leaves() -> list[tuple[object, str]]:
    return [(torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32")]


def _snapshot() -> list[tuple[object, str, object]]:
    """Every flag :func:`_apply` changes; the matmul precision first, as it resets leaves."""
    saved = [(torch, "float32_matmul_precision", torch.get_float32_matmul_precision())]
    leaves = _new_api_leaves() or _legacy_leaves()
    for owner, name in [*leaves, *_bool_flags(), (torch.backends.cudnn, "benchmark")]:
        saved.append((owner, name, getattr(owner, name)))
    return saved


def _restore(saved: list[tuple[object, str, object]]) -> None:
    for owner, name, value in saved:
        if owner is torch and name == "float32_matmul_precision":
            torch.set_float32_matmul_precision(value)
        else:
            setattr(owner, name, value)


def _apply(allow_tf32: bool, cudnn_benchmark: bool) -> None:
    torch.set_float32_matmul_precision("high" if allow_tf32 else "highest")
    leaves = _new_api_leaves()
    gpu_mode = "tf32" if allow_tf32 else "ieee"
    for owner, name in leaves:
        on_cuda = owner in (torch.backends.cuda.matmul, torch.backends.cudnn.conv)
        setattr(owner, name, gpu_mode if on_cuda else "ieee")
    if not leaves:
        for owner, name in _legacy_leaves():
            setattr(owner, name, allow_tf32)
    for owner, name in _bool_flags():
        setattr(owner, name, False)
    torch.backends.cudnn.benchmark = cudnn_benchmark


@contextlib.contextmanager
def feature_precision(allow_tf32: bool = False, cudnn_benchmark: bool = False) -> Iterator[None]:
    """Run the enclosed forward passes in IEEE float32 (or TF32 when ``allow_tf32``).

    Sets cuDNN convolutions and CUDA matmuls to IEEE float32 (``allow_tf32 = False``,
    ``set_float32_matmul_precision("highest")``), disables fp16/bf16 reduced-precision GEMM
    reductions, keeps oneDNN (CPU) matmuls and convolutions in IEEE float32, and sets
    ``cudnn.benchmark`` to ``cudnn_benchmark``; every value is restored on exit.
    """
    saved = _snapshot()
    try:
        _apply(allow_tf32, cudnn_benchmark)
        yield
    finally:
        _restore(saved)
