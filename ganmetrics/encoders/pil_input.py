"""The references' image input: PIL bicubic resizing of uint8 RGB images, then normalisation.

dgm-eval (``dgm_eval/models/dinov2.py``, ``clip.py``) resizes each PIL image with
``torchvision.transforms.Resize(..., BICUBIC)``, i.e. PIL's own bicubic filter (antialiased, its
output rounded to uint8), then ``ToTensor`` (÷255) and ``Normalize`` in float32. The CMMD
reference (``cmmd/io_util.py``) first crops the centre square, ``(left, top) = ((w − l) // 2,
(h − l) // 2)``, then resizes with PIL bicubic. Both are reproduced operation for operation, so
the network sees bit-identical inputs; PIL runs per image on the CPU, as in the references.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def as_uint8_images(batch: np.ndarray | torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) uint8, or float in [0, 255] (unrounded generator outputs) rounded to uint8:
    the references read 8-bit image files."""
    images = batch.cpu().numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) images, got {images.shape}")
    if images.dtype != np.uint8:
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return images


def pil_bicubic(images: np.ndarray, size: int, centre_crop: bool) -> np.ndarray:
    """(B, 3, H, W) uint8 → (B, size, size, 3) uint8 by PIL bicubic, after a centre square crop
    when ``centre_crop``."""
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for index, chw in enumerate(images):
        image = Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)), "RGB")
        if centre_crop:
            width, height = image.size
            side = min(width, height)
            top, left = (height - side) // 2, (width - side) // 2
            image = image.crop((left, top, left + side, top + side))
        out[index] = np.asarray(image.resize((size, size), resample=Image.BICUBIC))
    return out


def normalised(resized: np.ndarray, mean: tuple, std: tuple) -> torch.Tensor:
    """(B, S, S, 3) uint8 → (B, 3, S, S) float32: ÷255, minus ``mean``, over ``std`` (float32,
    as ``ToTensor`` + ``Normalize``)."""
    x = torch.from_numpy(resized).permute(0, 3, 1, 2).to(torch.float32).div(255)
    mean_t = torch.as_tensor(np.asarray(mean), dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.as_tensor(np.asarray(std), dtype=torch.float32).view(1, 3, 1, 1)
    return x.sub(mean_t).div(std_t).contiguous()


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

__all__ = ["CLIP_MEAN", "CLIP_STD", "IMAGENET_MEAN", "IMAGENET_STD", "as_uint8_images",
           "normalised", "pil_bicubic"]  # fmt: skip
