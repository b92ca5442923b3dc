"""``clip-vitl14-336``: the CMMD embedding (Jayasumana et al., CVPR 2024, "Rethinking FID").

google-research ``cmmd/io_util.py`` crops each image to its centre square and resizes it to
336×336 with PIL bicubic, divides by 255; ``cmmd/embedding.py`` resizes again to the model's size
(``jax.image.resize`` bicubic, the identity at 336), applies CLIP's normalisation and takes
scenic's ``vit_l14_336px`` image embedding: OpenAI's CLIP ViT-L/14@336px (QuickGELU), projected
and L2-normalised. Here the same weights come from OpenAI's ``ViT-L-14-336px.pt``.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ganmetrics.encoders import open_clip_vit
from ganmetrics.encoders.pil_input import CLIP_MEAN, CLIP_STD, normalised, pil_bicubic

HINT = "pass OpenAI's ViT-L-14-336px.pt"


class Clip336Embedding(nn.Module):
    """Preprocessed images → L2-normalised projected CLIP embedding (B, embed_dim)."""

    def __init__(self, path: str | os.PathLike, dtype: torch.dtype = torch.float32):
        super().__init__()
        visual, _ = open_clip_vit.read_visual_state(path, HINT)
        self.tower = open_clip_vit.build_visual(visual, True, path, HINT).to(dtype)
        self.input_size = int(self.tower.image_size[0])
        self.dim = int(self.tower.proj.shape[1])
        self.architecture = f"CLIP ViT width {self.tower.conv1.weight.shape[0]} (QuickGELU)"

    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        return normalised(pil_bicubic(images, self.input_size, True), CLIP_MEAN, CLIP_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        embedding = open_clip_vit.projected_embedding(self.tower, x)
        return embedding / embedding.norm(dim=-1, keepdim=True)


def build(path: str | os.PathLike, dtype: torch.dtype) -> Clip336Embedding:
    return Clip336Embedding(path, dtype)


def write_test_weights(
    path: str | os.PathLike, seed: int = 0, member: str = "ViT-L-14-336"
) -> None:
    """Seeded RANDOM weights as an OpenAI-named state dict ``.pt`` (image tower only; OpenAI
    publishes TorchScript archives, which the loader also reads)."""
    open_clip_vit.write_test_weights(path, seed, member, quick_gelu=True, openai_format=True)
