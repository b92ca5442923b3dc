"""``dinov2-vitl14``: FD_DINOv2 features (Stein et al., NeurIPS 2023; Oquab et al. 2023).

Follows layer6ai-labs/dgm-eval ``dgm_eval/models/dinov2.py``: each image is resized to 224×224
by PIL bicubic (``clean_resize=False``, the default), scaled to [0, 1], normalised with the
ImageNet mean and std, and passed through ``torch.hub.load('facebookresearch/dinov2',
'dinov2_vitl14')``; the feature is that model's output, the CLS token after the final LayerNorm.

The architecture is timm's DINOv2 ViT (``vit_large_patch14_dinov2``; same blocks, LayerScale and
LayerNorm ε = 1e-6), built at 224×224 and loaded from the torch.hub checkpoint
(``dinov2_vitl14_pretrain.pth``). The checkpoint's positional embedding is for 518×518 (37×37
patches); the hub model interpolates it on every forward pass (``interpolate_pos_encoding``:
bicubic, ``scale_factor = (16 + 0.1) / 37``, no antialiasing), which is done here once, with
the same call, at load time. The width, depth and patch size are read from the file, so the
small members (ViT-S/14, ViT-B/14) load too (tests use ViT-S/14).
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganmetrics import atomic
from ganmetrics.encoders.pil_input import IMAGENET_MEAN, IMAGENET_STD, normalised, pil_bicubic
from ganmetrics.errors import InputError

INPUT_SIZE = 224
HUB_IMAGE_SIZE = 518  # the hub models' img_size: their pos_embed has (518 / 14)² + 1 rows
INTERPOLATE_OFFSET = 0.1  # facebookresearch/dinov2 vision_transformer.py, interpolate_offset
#: Members of the family: (embed_dim, depth, heads); the row's network is vitl14.
MEMBERS = {"vits14": (384, 12, 6), "vitb14": (768, 12, 12), "vitl14": (1024, 24, 16)}
_TIMM_NAMES = {384: "vit_small_patch14_dinov2", 768: "vit_base_patch14_dinov2",
               1024: "vit_large_patch14_dinov2"}  # fmt: skip


def hub_pos_embed_at(pos_embed: torch.Tensor, size: int, patch: int) -> torch.Tensor:
    """The hub model's ``interpolate_pos_encoding`` for a ``size``×``size`` input, in float32."""
    class_pos, patch_pos = pos_embed[:, :1].float(), pos_embed[:, 1:].float()
    grid = int(math.sqrt(patch_pos.shape[1]))
    cells = size // patch
    if cells == grid:
        return pos_embed.float()
    dim = patch_pos.shape[-1]
    scale = float(cells + INTERPOLATE_OFFSET) / grid
    resized = F.interpolate(
        patch_pos.reshape(1, grid, grid, dim).permute(0, 3, 1, 2),
        mode="bicubic",
        antialias=False,
        scale_factor=(scale, scale),
    )
    resized = resized.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat((class_pos, resized), dim=1)


def _read_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors come in many types
        raise InputError(
            f"{path}: not a torch.hub DINOv2 checkpoint ({type(exc).__name__}); pass "
            "dinov2_vitl14_pretrain.pth"
        ) from None
    state = state.get("model", state) if isinstance(state, dict) else state
    needed = ("cls_token", "pos_embed", "patch_embed.proj.weight", "norm.weight")
    if not isinstance(state, dict) or any(key not in state for key in needed):
        raise InputError(
            f"{path}: not a torch.hub DINOv2 checkpoint (missing {', '.join(needed)}); pass "
            "dinov2_vitl14_pretrain.pth"
        )
    if "register_tokens" in state or any(".w12." in key for key in state):
        raise InputError(
            f"{path}: a DINOv2 variant with registers or SwiGLU (ViT-g); dgm-eval's FD_DINOv2 "
            "uses dinov2_vitl14_pretrain.pth"
        )
    return state


class DinoV2Features(nn.Module):
    """Preprocessed (B, 3, 224, 224) → CLS token after the final norm (B, D)."""

    def __init__(self, path: str | os.PathLike, dtype: torch.dtype = torch.float32):
        super().__init__()
        import timm

        state = _read_checkpoint(path)
        dim = int(state["cls_token"].shape[-1])
        depth = len({m.group(1) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))})
        patch = int(state["patch_embed.proj.weight"].shape[-1])
        if dim not in _TIMM_NAMES:
            raise InputError(f"{path}: DINOv2 width {dim} is not one of ViT-S/B/L/14")
        self.net = timm.create_model(
            _TIMM_NAMES[dim], pretrained=False, img_size=INPUT_SIZE, patch_size=patch,
            depth=depth, num_heads=dim // 64, num_classes=0,
        )  # fmt: skip
        converted = {k: v for k, v in state.items() if k != "mask_token"}
        converted["pos_embed"] = hub_pos_embed_at(state["pos_embed"], INPUT_SIZE, patch)
        try:
            self.net.load_state_dict(converted, strict=True)
        except RuntimeError as exc:
            raise InputError(
                f"{path}: does not match the DINOv2 ViT architecture "
                f"({str(exc).splitlines()[0]}); pass dinov2_vitl14_pretrain.pth"
            ) from None
        self.net.to(dtype)
        self.input_size = INPUT_SIZE
        self.dim = dim
        self.architecture = f"DINOv2 ViT/{patch} width {dim} depth {depth}"

    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        return normalised(pil_bicubic(images, INPUT_SIZE, False), IMAGENET_MEAN, IMAGENET_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build(path: str | os.PathLike, dtype: torch.dtype) -> DinoV2Features:
    return DinoV2Features(path, dtype)


def _random_like(name: str, shape: tuple, generator: torch.Generator) -> torch.Tensor:
    """Seeded weights with the scales of a trained network (unit-ish activations)."""
    if name.endswith(".gamma"):  # LayerScale: large enough that every block matters
        return 0.5 + 0.5 * torch.rand(shape, generator=generator)
    if re.search(r"norm\d?\.weight$", name):
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if len(shape) <= 1 or name in ("cls_token", "mask_token", "pos_embed"):
        return 0.02 * torch.randn(shape, generator=generator)
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=generator) / math.sqrt(fan_in)


def write_test_weights(path: str | os.PathLike, seed: int = 0, member: str = "vitl14") -> None:
    """Seeded RANDOM weights in the torch.hub checkpoint format (its key names and shapes, the
    518×518 positional embedding, ``mask_token``), for offline tests only."""
    import timm

    if member not in MEMBERS:
        raise InputError(f"--member {member}: choose from {', '.join(MEMBERS)} for dinov2")
    dim, depth, heads = MEMBERS[member]
    skeleton = timm.create_model(
        _TIMM_NAMES[dim], pretrained=False, img_size=HUB_IMAGE_SIZE, depth=depth,
        num_heads=heads, num_classes=0,
    )  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    state = {name: _random_like(name, tuple(t.shape), generator)
             for name, t in skeleton.state_dict().items()}  # fmt: skip
    state["mask_token"] = torch.zeros(1, dim)
    atomic.torch_save(path, state)
