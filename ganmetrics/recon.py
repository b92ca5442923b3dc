"""Reconstruction error of a generator on held-out images.

The metric of Xiang & Li, "On the Effects of Batch and Weight Normalization in Generative
Adversarial Networks" (2017; its "reconstruction loss on a test set"): for every test image x,
search the latent code z that minimises ``‖G(z) - x‖²`` by gradient descent and report the pixel
mean squared error of the best reconstruction, averaged over the test images.

The procedure copies the authors' code (github.com/stormraiser/gan-weightnorm-resnet, ``main.py``,
``test()``): z starts at zero; ``torch.optim.RMSprop(lr=0.01, alpha=0.9, eps=1e-6)`` (``--test_lr``,
``--test_steps`` 50); the loss is the pixel MSE between G(z) and x, both in [0, 1]; after the last
step the error of G(z) is measured once more. The reference is PyTorch, so PyTorch RMSprop semantics
apply: the squared-gradient average starts at 0 and ε is added *outside* the square root. (In
TensorFlow terms ``alpha`` is ``decay``/``rho``; TF1's ``RMSPropOptimizer`` instead starts the
average at 1 and adds ε inside the root, which would give other numbers.)

One deliberate difference: the authors minimise ``MSELoss`` averaged over the whole batch, so each
code's gradient is divided by the batch size and, through RMSprop's ε, the result depends slightly
on the batch size. Here the loss is the *sum over the batch* of each image's MSE. Each code then
receives exactly the gradient of its own image's MSE and RMSprop, being elementwise, updates it
exactly as if the image were optimised alone: batching changes nothing but speed, and the numbers
equal the authors' procedure run with batch size 1. The generator runs in eval mode so that batch
normalisation uses its running statistics and does not couple the images of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics.settings import RECON_LR as DEFAULT_LR
from ganmetrics.settings import RECON_STEPS as DEFAULT_STEPS

RMSPROP_ALPHA = 0.9
RMSPROP_EPS = 1e-6


@dataclass(frozen=True)
class ReconstructionResult:
    """Reconstruction error: per-image pixel MSE after ``steps`` RMSprop updates of z."""

    mean_mse: float
    std_mse: float  # population standard deviation over the images
    per_image: np.ndarray  # float64, shape (num_images,), read-only
    num_images: int
    steps: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-image values)."""
        return {
            "mean_mse": self.mean_mse,
            "std_mse": self.std_mse,
            "num_images": self.num_images,
            "steps": self.steps,
        }


def _checked_images(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The images as a CPU tensor, uint8 in [0, 255] or float in [0, 1], shaped (N, C, H, W)."""
    tensor = torch.from_numpy(np.asarray(images)) if isinstance(images, np.ndarray) else images
    if not isinstance(tensor, torch.Tensor):
        raise InputError(
            f"images: expected a numpy array or torch tensor, got {type(images).__name__}; "
            "pass images shaped (N, C, H, W)"
        )
    tensor = tensor.detach().cpu()
    if tensor.dim() != 4 or tensor.shape[0] == 0:
        raise InputError(
            f"images: expected a non-empty batch shaped (N, C, H, W), got {tuple(tensor.shape)}; "
            "pass channels-first images"
        )
    if tensor.dtype == torch.uint8:
        return tensor
    if not tensor.is_floating_point():
        raise InputError(
            f"images: unsupported dtype {tensor.dtype}; pass uint8 in [0, 255] or float in [0, 1]"
        )
    if not torch.isfinite(tensor).all() or tensor.min() < 0.0 or tensor.max() > 1.0:
        raise InputError(
            "images: float images must be finite and in [0, 1]; "
            "scale them to [0, 1] or pass uint8 images"
        )
    return tensor


def _to_unit_range(images: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.to(device=device, dtype=dtype) / 255.0
    return images.to(device=device, dtype=dtype)


def _default_device(generator: nn.Module) -> torch.device:
    for tensor in generator.parameters():
        return tensor.device
    for tensor in generator.buffers():
        return tensor.device
    return torch.device("cpu")


def _code_dtype(generator: nn.Module) -> torch.dtype:
    for tensor in generator.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _reconstruct_batch(
    generator: nn.Module, targets: torch.Tensor, z_dim: int, steps: int, lr: float
) -> torch.Tensor:
    """Per-image MSE of G(z) to ``targets`` after ``steps`` RMSprop updates of z from zero."""
    codes = torch.zeros(
        targets.shape[0], z_dim, device=targets.device, dtype=targets.dtype, requires_grad=True
    )
    optimizer = torch.optim.RMSprop([codes], lr=lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS)

    def per_image_mse() -> torch.Tensor:
        generated = generator(codes)
        if generated.shape != targets.shape:
            raise InputError(
                f"generator output {tuple(generated.shape)} does not match the test images "
                f"{tuple(targets.shape)}; use test images of the generator's resolution"
            )
        return (generated.to(targets.dtype) - targets).square().flatten(1).mean(dim=1)

    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        per_image_mse().sum().backward()
        optimizer.step()
    with torch.no_grad():
        return per_image_mse()


def reconstruction_error(
    generator: nn.Module,
    images: np.ndarray | torch.Tensor,
    z_dim: int,
    steps: int = DEFAULT_STEPS,
    lr: float = DEFAULT_LR,
    batch_size: int = 50,
    device: torch.device | str | None = None,
) -> ReconstructionResult:
    """Reconstruction error of ``generator`` on ``images`` (Xiang & Li 2017; see the module doc).

    ``generator`` maps codes of shape (B, ``z_dim``) to images (B, C, H, W) in [0, 1]. ``images``
    are uint8 in [0, 255] or float in [0, 1], shaped (N, C, H, W); every image is used. The
    generator runs in eval mode with its parameters frozen; its mode and the parameters'
    ``requires_grad`` flags are restored afterwards, and its parameters are never changed.
    """
    if z_dim < 1 or steps < 0 or batch_size < 1 or not lr > 0:
        raise InputError(
            f"reconstruction: z_dim={z_dim}, steps={steps}, lr={lr}, batch_size={batch_size} "
            "are invalid; use z_dim >= 1, steps >= 0, lr > 0 and batch_size >= 1"
        )
    targets = _checked_images(images)
    device = torch.device(device) if device is not None else _default_device(generator)
    dtype = _code_dtype(generator)

    was_training = generator.training
    parameters = list(generator.parameters())
    requires_grad = [parameter.requires_grad for parameter in parameters]
    errors = []
    try:
        generator.eval()
        for parameter in parameters:
            parameter.requires_grad_(False)
        with torch.enable_grad():
            for start in range(0, targets.shape[0], batch_size):
                batch = _to_unit_range(targets[start : start + batch_size], device, dtype)
                errors.append(_reconstruct_batch(generator, batch, z_dim, steps, lr).cpu())
    finally:
        for parameter, flag in zip(parameters, requires_grad, strict=True):
            parameter.requires_grad_(flag)
        generator.train(was_training)

    per_image = torch.cat(errors).double().numpy()
    per_image.setflags(write=False)
    return ReconstructionResult(
        mean_mse=float(per_image.mean()),
        std_mse=float(per_image.std()),
        per_image=per_image,
        num_images=int(per_image.shape[0]),
        steps=steps,
    )
