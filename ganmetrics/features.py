"""Inception features: pool3 (2048) and ``logits_unbiased`` (1008) from one forward pass.

The network is torch-fidelity's TF-exact ``FeatureExtractorInceptionV3`` (the TensorFlow graph of
2015-12-05 that the original FID and IS code used), loaded from the same weights file. The forward
pass here computes the same function faster:

* TensorFlow-1 bilinear resizing to 299×299 (``align_corners=False``: source coordinate
  ``i · in/out``, no half-pixel offset) as two small matrix products instead of a gather;
* the ``(x − 128) / 128`` input scaling and every batch norm folded into the convolutions;
* channels-last memory layout and inference mode (PyTorch's intra-op threads use every
  physical core by default);
* optional ``torch.compile``.

``tests/test_features.py`` checks the features against torch-fidelity's own module on the same
weights; ``bench/bench_features.py`` measures the speed-up and the largest absolute difference.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganmetrics.feature_matrix import as_feature_matrix  # noqa: F401  (its old home)
from ganmetrics.inception import build_torch_fidelity_inception, check_weights, resolve_weights_path
from ganmetrics.sources import ImageSource

INPUT_SIZE = 299
POOL3_DIM = 2048
LOGITS_DIM = 1008


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
        net = self.net
        x = self._resize(images).contiguous(memory_format=torch.channels_last)
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
    return "cuda" if torch.cuda.is_available() else "cpu"


def network_description(
    weights_path: str | os.PathLike,
    weights_sha256: str,
    standard_weights: bool,
    float64: bool,
    fast: bool,
    device: str | torch.device | None,
) -> dict:
    """The settings that determine the features, recorded in every result (no network needed)."""
    return {
        "weights_path": str(weights_path),
        "weights_sha256": weights_sha256,
        "standard_weights": standard_weights,
        "feature_dtype": "float64" if float64 else "float32",
        "network": "folded" if fast else "torch-fidelity",
        "device": str(torch.device(device or default_device())),
    }


def network_variant(description: dict) -> str:
    """What, besides the weights, determines the features bit for bit (part of cache keys)."""
    return f"{description['feature_dtype']}/{description['network']}"


class FeatureExtractor:
    """Extract Inception pool3 features and unbiased logits from image sources.

    Args:
        weights: path of the Inception weights; default ``$GANMETRICS_INCEPTION_WEIGHTS``, else
            torch-fidelity's download. The file's SHA-256 is checked against the standard one.
        device: ``"cuda"`` when available, else ``"cpu"``.
        batch_size: images per forward pass.
        float64: run the network in float64 (slower; for numerical studies).
        num_workers: processes decoding images while the network runs (default: CPU count, ≤ 4).
        compile: wrap the network in ``torch.compile`` (pays off for large sets on GPU).
        fast: use the folded, matrix-resize network (default). ``False`` runs torch-fidelity's
            own forward pass unchanged: slower, and bit-identical to torch-fidelity's features.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | None = None,
        batch_size: int = 64,
        float64: bool = False,
        num_workers: int | None = None,
        compile: bool = False,
        fast: bool = True,
    ):
        self.weights_path = resolve_weights_path(weights)
        self.weights_sha256, self.standard_weights = check_weights(self.weights_path)
        self.device = torch.device(device or default_device())
        self.batch_size = int(batch_size)
        self.dtype = torch.float64 if float64 else torch.float32
        if num_workers is None:
            num_workers = min(4, os.cpu_count() or 1)
        self.num_workers = num_workers
        reference = build_torch_fidelity_inception(self.weights_path, self.dtype)
        self.fast = fast
        network = FastInception(reference, self.dtype) if fast else _TorchFidelityForward(reference)
        self.model = network.to(self.device).eval()
        self.model.requires_grad_(False)
        self._forward = torch.compile(self.model) if compile else self.model

    @property
    def dtype_name(self) -> str:
        return "float64" if self.dtype == torch.float64 else "float32"

    @property
    def variant(self) -> str:
        return network_variant(self.describe())

    def describe(self) -> dict:
        """The settings that determine the features, recorded in every result."""
        return network_description(
            self.weights_path,
            self.weights_sha256,
            self.standard_weights,
            self.dtype == torch.float64,
            self.fast,
            self.device,
        )

    def features_of_batches(self, batches: Iterable[np.ndarray | torch.Tensor]) -> Iterator[tuple]:
        """Yield ``(pool3, logits)`` numpy arrays for each uint8 (B, 3, H, W) batch."""
        with torch.inference_mode():
            for batch in batches:
                images = torch.as_tensor(batch)
                if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
                    raise ValueError(f"expected uint8 (B, 3, H, W) images, got {images.dtype} "
                                     f"{tuple(images.shape)}")  # fmt: skip
                pool3, logits = self._forward(images.to(self.device, non_blocking=True))
                yield pool3.cpu().numpy(), logits.cpu().numpy()

    def extract(self, source: ImageSource, progress: bool = False, label: str = "") -> Features:
        """Features of every image of ``source``, in the source's order."""
        from tqdm.auto import tqdm

        total = len(source)
        pool3 = np.empty((total, POOL3_DIM), dtype=self.dtype_name)
        logits = np.empty((total, LOGITS_DIM), dtype=self.dtype_name)
        filled = 0
        bar = tqdm(
            total=total,
            desc=label or f"features {source.description}",
            unit="img",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )
        with bar:
            batches = source.batches(self.batch_size, self.num_workers)
            for batch_pool3, batch_logits in self.features_of_batches(batches):
                count = len(batch_pool3)
                pool3[filled : filled + count] = batch_pool3
                logits[filled : filled + count] = batch_logits
                filled += count
                bar.update(count)
        if filled != total:
            raise RuntimeError(f"{source.description}: yielded {filled} images, expected {total}")
        return Features(pool3, logits)
