"""``clip-vitl14``: dgm-eval's CLIP encoder (layer6ai-labs/dgm-eval ``dgm_eval/models/clip.py``).

dgm-eval builds ``open_clip.create_model('ViT-L-14', 'datacomp_xl_s13b_b90k')``, resizes each PIL
image to the model's size (224×224) with bicubic filtering, centre-crops (a no-op at that size),
normalises with the CLIP mean and std and reads ``ln_post`` of the CLS token without the
projection (its ``depth=0``). The DataComp weights use GELU; an OpenAI file uses QuickGELU.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ganmetrics.encoders import open_clip_vit
from ganmetrics.encoders.pil_input import CLIP_MEAN, CLIP_STD, normalised, pil_bicubic

HINT = "pass open_clip_model.safetensors of laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K"


class ClipFeatures(nn.Module):
    """Preprocessed images → ``ln_post`` of the CLS token (B, width)."""

    def __init__(self, path: str | os.PathLike, dtype: torch.dtype = torch.float32):
        super().__init__()
        visual, openai = open_clip_vit.read_visual_state(path, HINT)
        self.tower = open_clip_vit.build_visual(visual, openai, path, HINT).to(dtype)
        self.input_size = int(self.tower.image_size[0])
        self.dim = int(self.tower.conv1.weight.shape[0])
        self.architecture = f"CLIP ViT width {self.dim} ({'QuickGELU' if openai else 'GELU'})"

    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        return normalised(pil_bicubic(images, self.input_size, False), CLIP_MEAN, CLIP_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return open_clip_vit.cls_after_ln_post(self.tower, x)


def build(path: str | os.PathLike, dtype: torch.dtype) -> ClipFeatures:
    return ClipFeatures(path, dtype)


def write_test_weights(path: str | os.PathLike, seed: int = 0, member: str = "ViT-L-14") -> None:
    """Seeded RANDOM weights in open_clip's safetensors format (image tower only)."""
    open_clip_vit.write_test_weights(path, seed, member, quick_gelu=False, openai_format=False)
