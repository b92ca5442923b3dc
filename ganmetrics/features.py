"""Inception features: pool3 (2048) and ``logits_unbiased`` (1008) from one forward pass.

The network is torch-fidelity's TF-exact ``FeatureExtractorInceptionV3`` (the TensorFlow graph of
2015-12-05 that the original FID and IS code used), loaded from the same weights file. The forward
pass here computes the same function faster:

* TensorFlow-1 bilinear resizing to 299×299 (``align_corners=False``: source coordinate
  ``i · in/out``, no half-pixel offset) as two small matrix products instead of a gather;
* the ``(x − 128) / 128`` input scaling and every batch norm folded into the convolutions;
* channels-last memory layout and inference mode (PyTorch's intra-op threads use every
  physical core by default);
* IEEE float32 arithmetic by default, TF32 only on request (``ganmetrics.precision``);
* on CUDA: ``cudnn.benchmark``, a larger default batch, uint8 uploads from pinned memory with
  non-blocking copies, features kept on the device until the set is done, and the last batch
  padded to the batch size so that ``torch.compile`` sees one static shape;
* optional ``torch.compile`` of the network body (after the resize, so every input size shares
  one compiled graph), its warm-up time recorded;
* under ``torchrun``, batches sharded over the ranks (``ganmetrics.distributed``).

``tests/test_features.py`` checks the features against torch-fidelity's own module on the same
weights; ``bench/bench_features.py`` measures the speed-up and the largest absolute difference.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganmetrics import distributed
from ganmetrics.errors import InputError
from ganmetrics.feature_matrix import as_feature_matrix  # noqa: F401  (its old home)
from ganmetrics.inception import build_torch_fidelity_inception, check_weights, resolve_weights_path
from ganmetrics.precision import feature_precision, precision_name
from ganmetrics.sources import ImageSource

INPUT_SIZE = 299
POOL3_DIM = 2048
LOGITS_DIM = 1008
#: Default images per forward pass: on CUDA large enough to fill the GPU (issue #6 measured
#: batch 256 on an H200), on the CPU small enough to keep the memory low.
DEFAULT_BATCH_SIZE = {"cuda": 256, "cpu": 64}


@dataclass(frozen=True)
class Features:
    """Per-image Inception features of one image set."""

    pool3: np.ndarray  # (N, 2048) float32, or float64 with ``float64=True``
    logits: np.ndarray  # (N, 1008) logits_unbiased, same dtype

    def __len__(self) -> int:
        return len(self.pool3)

    def head(self, num: int) -> Features:
        return Features(self.pool3[:num], self.logits[:num])


def tf1_resize_matrix(in_size: int, out_size: int, dtype: torch.dtype) -> torch.Tensor:
    """(out, in) matrix of TensorFlow-1 bilinear resizing with ``align_corners=False``.

    Row i interpolates between source pixels floor(i·s) and min(floor(i·s)+1, in−1) with weight
    frac(i·s), where s = in/out, exactly as ``tf.image.resize_bilinear`` (TF 1.x) and
    torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x``.
    """
    scale = in_size / out_size
    source = torch.arange(out_size, dtype=torch.float64) * torch.tensor(scale, dtype=torch.float32)
    low = source.floor().long()
    high = (low + 1).clamp(max=in_size - 1)
    frac = source - low.to(torch.float64)
    matrix = torch.zeros(out_size, in_size, dtype=torch.float64)
    rows = torch.arange(out_size)
    matrix[rows, low] += 1.0 - frac
    matrix[rows, high] += frac
    return matrix.to(dtype)


def _fold_batch_norm(basic_conv: nn.Module) -> None:
    """Fold torch-fidelity's ``BasicConv2d`` (conv → BN(ε=1e-3) → ReLU) into conv+bias → ReLU."""
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(basic_conv.conv, basic_conv.bn)
    basic_conv.conv = fused
    basic_conv.bn = nn.Identity()


class FastInception(nn.Module):
    """torch-fidelity's InceptionV3 computed with folded batch norms and a matrix resize."""

    def __init__(self, reference: nn.Module, dtype: torch.dtype):
        super().__init__()
        net = copy.deepcopy(reference).to(torch.float64)  # fold in float64, then round once
        for module in list(net.modules()):
            if type(module).__name__ == "BasicConv2d":
                _fold_batch_norm(module)
        first = net.Conv2d_1a_3x3.conv  # no padding, so the input affine map folds exactly
        with torch.no_grad():
            bias = first.bias - first.weight.sum(dim=(1, 2, 3))
            first.weight.div_(128.0)
            first.bias.copy_(bias)
        self.net = net.to(dtype)
        self.dtype = dtype
        self._resize_cache: dict[tuple[int, int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or float (N, 3, H, W) in [0, 255] → float (N, 3, 299, 299), TF1 bilinear,
        channels-last (uint8 and integral floats give the same result)."""
        return self._resize(images).contiguous(memory_format=torch.channels_last)

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        x = images.to(self.dtype)
        if (height, width) == (INPUT_SIZE, INPUT_SIZE):
            return x
        key = (height, width, str(images.device))
        if key not in self._resize_cache:
            self._resize_cache[key] = (
                tf1_resize_matrix(height, INPUT_SIZE, self.dtype).to(images.device),
                tf1_resize_matrix(width, INPUT_SIZE, self.dtype).to(images.device),
            )
        rows, cols = self._resize_cache[key]
        return rows @ x @ cols.T

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 (N, 3, H, W) → (pool3 (N, 2048), logits_unbiased (N, 1008))."""
        return self.body(self.resize(images))

    def body(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network after the resize: (N, 3, 299, 299) in [0, 255] → (pool3, logits)."""
        net = self.net
        x = net.Conv2d_1a_3x3(x)
        x = net.Conv2d_2a_3x3(x)
        x = net.Conv2d_2b_3x3(x)
        x = net.MaxPool_1(x)
        x = net.Conv2d_3b_1x1(x)
        x = net.Conv2d_4a_3x3(x)
        x = net.MaxPool_2(x)
        for block in (
            net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b,
            net.Mixed_6c, net.Mixed_6d, net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c,
        ):  # fmt: skip
            x = block(x)
        pool3 = F.adaptive_avg_pool2d(x, 1).flatten(1)
        logits = pool3.mm(net.fc.weight.T)
        return pool3, logits


class _TorchFidelityForward(nn.Module):
    """torch-fidelity's module as is, returning pool3 and logits_unbiased in its internal dtype."""

    def __init__(self, reference: nn.Module):
        super().__init__()
        self.reference = reference

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool3, logits = self.reference(images)
        return pool3, logits


def default_device() -> str:
    """``cuda`` when available (this rank's GPU under ``torchrun``), else ``cpu``."""
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{distributed.local_rank()}" if distributed.active() else "cuda"


def default_batch_size(device: str | torch.device | None) -> int:
    return DEFAULT_BATCH_SIZE[
        "cuda" if torch.device(device or default_device()).type == "cuda" else "cpu"
    ]


def network_description(
    weights_path: str | os.PathLike,
    weights_sha256: str,
    standard_weights: bool,
    float64: bool,
    fast: bool,
    device: str | torch.device | None,
    allow_tf32: bool = False,
) -> dict:
    """The settings that determine the features, recorded in every result (no network needed).

    ``precision`` is ``float32-exact`` (IEEE float32, TF32 off), ``tf32`` or ``float64``.
    """
    return {
        "weights_path": str(weights_path),
        "weights_sha256": weights_sha256,
        "standard_weights": standard_weights,
        "feature_dtype": "float64" if float64 else "float32",
        "precision": precision_name(float64, allow_tf32),
        "network": "folded" if fast else "torch-fidelity",
        "device": str(torch.device(device or default_device())),
    }


def network_variant(description: dict) -> str:
    """What, besides the weights, determines the features (part of cache keys).

    The precision is part of it, so TF32 features never answer a request for exact ones.
    """
    return f"{description['precision']}/{description['network']}"


class FeatureExtractor:
    """Extract Inception pool3 features and unbiased logits from image sources.

    Args:
        weights: path of the Inception weights; default ``$GANMETRICS_INCEPTION_WEIGHTS``, else
            torch-fidelity's download. The file's SHA-256 is checked against the standard one.
        device: ``"cuda"`` when available (this rank's GPU under ``torchrun``), else ``"cpu"``.
        batch_size: images per forward pass (default 256 on CUDA, 64 on the CPU).
        float64: run the network in float64 (slower; for numerical studies). With ``fast=False``
            torch-fidelity's module is cast to float64 here (torch-fidelity 0.4.0 ignores its own
            float64 setting); it still rounds its outputs to float32.
        num_workers: processes decoding images while the network runs (default: CPU count, ≤ 4).
        compile: ``torch.compile`` the network body once, with static shapes (implies padded
            batches); the first batch's time is recorded as ``compile_warmup_s``.
        fast: use the folded, matrix-resize network (default). ``False`` runs torch-fidelity's
            own forward pass unchanged: slower, and bit-identical to torch-fidelity's features.
        allow_tf32: let cuDNN and cuBLAS use TF32 tensor cores (faster on Ampere and newer GPUs,
            not exact; recorded as ``precision: tf32``). Off by default: IEEE float32.
        cudnn_benchmark: let cuDNN time its algorithms per shape (default: on for CUDA).
        pad_batches: pad the last batch to ``batch_size`` by repeating its last image, so every
            forward pass has one shape (default: on for CUDA or ``compile``).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        float64: bool = False,
        num_workers: int | None = None,
        compile: bool = False,
        fast: bool = True,
        allow_tf32: bool = False,
        cudnn_benchmark: bool | None = None,
        pad_batches: bool | None = None,
    ):
        self.weights_path = resolve_weights_path(weights)
        self.weights_sha256, self.standard_weights = check_weights(self.weights_path)
        self.device = torch.device(device or default_device())
        on_cuda = self.device.type == "cuda"
        self.batch_size = (
            int(batch_size) if batch_size is not None else default_batch_size(self.device)
        )
        self.dtype = torch.float64 if float64 else torch.float32
        if num_workers is None:
            num_workers = min(4, os.cpu_count() or 1)
        self.num_workers = num_workers
        self.allow_tf32 = bool(allow_tf32)
        self.cudnn_benchmark = on_cuda if cudnn_benchmark is None else bool(cudnn_benchmark)
        self.pad_batches = (on_cuda or compile) if pad_batches is None else bool(pad_batches)
        self.compile = bool(compile)
        self.compile_warmup_s: float | None = None
        reference = build_torch_fidelity_inception(self.weights_path, self.dtype)
        self.fast = fast
        network = FastInception(reference, self.dtype) if fast else _TorchFidelityForward(reference)
        self.model = network.to(self.device).eval()
        self.model.requires_grad_(False)
        self._prepare: Callable[[torch.Tensor], torch.Tensor]
        body: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
        if fast:
            self._prepare, body = self.model.resize, self.model.body
        else:
            self._prepare, body = (lambda images: images), self.model
        if compile:
            mode = "reduce-overhead" if on_cuda else None  # CUDA graphs need static shapes
            body = torch.compile(body, dynamic=False, mode=mode)
        self._body = body

    @property
    def dtype_name(self) -> str:
        return "float64" if self.dtype == torch.float64 else "float32"

    @property
    def variant(self) -> str:
        return network_variant(self.describe())

    def describe(self) -> dict:
        """The settings that determine the features, recorded in every result.

        Keys of :func:`network_description`, plus ``batch_size`` and ``compile``; with
        ``compile``, ``compile_warmup_s`` (``None`` before the first batch).
        """
        description = network_description(
            self.weights_path,
            self.weights_sha256,
            self.standard_weights,
            self.dtype == torch.float64,
            self.fast,
            self.device,
            self.allow_tf32,
        )
        description["batch_size"] = self.batch_size
        description["compile"] = self.compile
        if self.compile:
            description["compile_warmup_s"] = self.compile_warmup_s
        return description

    def _upload(self, batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, int]:
        """The batch as a uint8 (or float32 in [0, 255]) tensor on the device, padded to
        ``batch_size`` if configured."""
        images = torch.as_tensor(batch)
        if (
            images.dtype not in (torch.uint8, torch.float32)
            or images.ndim != 4
            or images.shape[1] != 3
        ):
            raise ValueError(f"expected uint8 or float32 (B, 3, H, W) images, got {images.dtype} "
                             f"{tuple(images.shape)}")  # fmt: skip
        if images.dtype == torch.float32 and not self.fast:
            raise InputError(
                "--exact-torch-fidelity: torch-fidelity's network takes uint8 images only, and "
                "these generated images are unrounded floats; pass --round-generated or drop "
                "--exact-torch-fidelity"
            )
        count = len(images)
        if self.pad_batches and 0 < count < self.batch_size:
            filler = images[-1:].expand(self.batch_size - count, -1, -1, -1)
            images = torch.cat([images, filler])
        if self.device.type == "cuda" and images.device.type == "cpu":
            return images.pin_memory().to(self.device, non_blocking=True), count
        return images.to(self.device), count

    def _forward(self, batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pool3, logits) of one uint8 (or float32 [0, 255]) batch, left on the device."""
        images, count = self._upload(batch)
        with feature_precision(self.allow_tf32, self.cudnn_benchmark), torch.inference_mode():
            x = self._prepare(images)
            if self.compile and self.compile_warmup_s is None:
                started = time.perf_counter()
                pool3, logits = self._body(x)
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                self.compile_warmup_s = time.perf_counter() - started
            else:
                pool3, logits = self._body(x)
        return pool3[:count], logits[:count]

    def features_of_batches(self, batches: Iterable[np.ndarray | torch.Tensor]) -> Iterator[tuple]:
        """Yield ``(pool3, logits)`` numpy arrays for each uint8 (B, 3, H, W) batch (or float32 in
        [0, 255]: unrounded generator outputs, the same TF1 resize).

        Each batch is computed on this process alone (no sharding); the precision guard is
        held only during its forward pass, never while the caller's code runs.
        """
        for batch in batches:
            pool3, logits = self.features_on_device(batch)
            yield pool3.cpu().numpy(), logits.cpu().numpy()

    def features_on_device(self, batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(pool3, logits)`` of one batch as tensors on this extractor's device, where
        :class:`ganmetrics.Stream` keeps them (no round trip through host memory)."""
        return self._forward(batch)

    def extract(self, source: ImageSource, progress: bool = False, label: str = "") -> Features:
        """Features of every image of ``source``, in the source's order.

        Under ``torchrun`` (see :mod:`ganmetrics.distributed`) each rank computes its share of
        the batches and every rank returns all features, identical to one process.
        """
        from tqdm.auto import tqdm

        total = len(source)
        sharded = distributed.active()
        allocate = torch.zeros if sharded else torch.empty  # ranks sum their disjoint rows
        pool3 = allocate((total, POOL3_DIM), dtype=self.dtype, device=self.device)
        logits = allocate((total, LOGITS_DIM), dtype=self.dtype, device=self.device)
        bar = tqdm(
            total=distributed.owned_count(total, self.batch_size),
            desc=label or f"features {source.description}",
            unit="img",
            disable=not progress or not distributed.is_primary(),
            leave=False,
            dynamic_ncols=True,
        )
        with bar:
            batches = distributed.sharded_batches(source, self.batch_size, self.num_workers)
            for offset, batch in batches:
                batch_pool3, batch_logits = self._forward(batch)
                count = len(batch_pool3)
                pool3[offset : offset + count] = batch_pool3
                logits[offset : offset + count] = batch_logits
                bar.update(count)
        if sharded:
            distributed.sum_over_ranks(pool3, logits)
        return Features(pool3.cpu().numpy(), logits.cpu().numpy())
