"""CLIP ViT image towers from OpenAI and open_clip weight files (shared by the CLIP rows).

The architecture is open_clip's ``VisionTransformer`` (open_clip_torch, which dgm-eval uses and
which loads OpenAI's files). Its width, depth, patch and input size are read from the file, so
small members of the family (ViT-B/32 in the tests) load as the ViT-L/14 rows do. Files:

* OpenAI CLIP ``.pt``: a TorchScript archive (the published files) or a plain state dict;
  OpenAI's models use QuickGELU;
* open_clip ``.safetensors`` / ``.bin`` / ``.pth``: a state dict with the same key names.

Only the ``visual.*`` tensors are used: the text tower plays no part in image features.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganmetrics import atomic
from ganmetrics.errors import InputError

#: Members of the family: open_clip config name → (width, layers, patch, image size, embed dim).
MEMBERS = {
    "ViT-B-32": (768, 12, 32, 224, 512),
    "ViT-L-14": (1024, 24, 14, 224, 768),
    "ViT-L-14-336": (1024, 24, 14, 336, 768),
}


def read_visual_state(path: str | os.PathLike, hint: str) -> tuple[dict, bool]:
    """``(visual state dict without the 'visual.' prefix, is_openai_file)``."""
    file = Path(path)
    openai = False
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(file), device="cpu")
        else:
            try:
                with warnings.catch_warnings():  # OpenAI's files are TorchScript archives
                    warnings.simplefilter("ignore", FutureWarning)
                    state = torch.jit.load(str(file), map_location="cpu").state_dict()
                openai = True
            except RuntimeError:
                state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip, safetensors and torch errors come in many types
        reason = type(exc).__name__
        raise InputError(f"{file}: not a CLIP weights file ({reason}); {hint}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{file}: not a CLIP state dict; {hint}")
    state = {(k[7:] if k.startswith("module.") else k): v for k, v in state.items()}
    openai = openai or "input_resolution" in state
    visual = {k[7:]: v for k, v in state.items() if k.startswith("visual.")}
    needed = ("conv1.weight", "class_embedding", "positional_embedding", "ln_post.weight", "proj")
    if any(key not in visual for key in needed):
        raise InputError(f"{file}: no CLIP ViT image tower (visual.conv1 … visual.proj); {hint}")
    return visual, openai


def build_visual(visual: dict, quick_gelu: bool, path: str | os.PathLike, hint: str) -> nn.Module:
    """open_clip's ``VisionTransformer`` with the shapes of ``visual``, loaded strictly."""
    from open_clip.transformer import LayerNorm, QuickGELU, VisionTransformer

    width, _, patch, _ = visual["conv1.weight"].shape
    grid = math.isqrt(visual["positional_embedding"].shape[0] - 1)
    blocks = (re.match(r"transformer\.resblocks\.(\d+)\.", key) for key in visual)
    layers = len({match.group(1) for match in blocks if match})
    mlp_width = visual["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]
    tower = VisionTransformer(
        image_size=patch * grid, patch_size=patch, width=width, layers=layers, heads=width // 64,
        mlp_ratio=mlp_width / width, output_dim=visual["proj"].shape[1],
        act_layer=QuickGELU if quick_gelu else nn.GELU, norm_layer=LayerNorm,
    )  # fmt: skip
    try:
        tower.load_state_dict(visual, strict=True)
    except RuntimeError as exc:
        raise InputError(
            f"{path}: does not match a CLIP ViT ({str(exc).splitlines()[0]}); {hint}"
        ) from None
    return tower.eval()


def cls_after_ln_post(tower: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """dgm-eval's ``CLIPEncoder.forward`` (depth 0): ``ln_post`` of the CLS token, no projection."""
    x = tower.conv1(x)
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    cls = tower.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + tower.positional_embedding.to(x.dtype)
    x = tower.ln_pre(x)
    x = tower.transformer(x)
    return tower.ln_post(x[:, 0])


def projected_embedding(tower: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The CLIP image embedding ``ln_post(CLS) @ proj``.

    The product is an elementwise product summed over the width: a matrix product of one row
    takes another BLAS kernel (gemv) than of several, and its float32 sums differ in the last
    bits, so a batch of one would not give the features it gives in a larger batch.
    """
    pooled = cls_after_ln_post(tower, x)
    return (pooled[:, :, None] * tower.proj[None].to(pooled.dtype)).sum(dim=1)


def _random_like(name: str, shape: tuple, generator: torch.Generator) -> torch.Tensor:
    if re.search(r"ln_\w+\.weight$", name):
        return 1.0 + 0.1 * torch.randn(shape, generator=generator)
    if len(shape) <= 1 or name in ("class_embedding", "positional_embedding"):
        return 0.02 * torch.randn(shape, generator=generator)
    fan_in = shape[0] if name == "proj" else int(np.prod(shape[1:]))
    return torch.randn(shape, generator=generator) / math.sqrt(fan_in)


def write_test_weights(
    path: str | os.PathLike, seed: int, member: str, quick_gelu: bool, openai_format: bool
) -> None:
    """Seeded RANDOM image-tower weights under the published key names (``visual.*``): a
    state dict in ``.pt`` (OpenAI names, ``input_resolution``) or ``.safetensors`` (open_clip)."""
    if member not in MEMBERS:
        raise InputError(f"--member {member}: choose from {', '.join(MEMBERS)} for CLIP")
    from open_clip.transformer import LayerNorm, QuickGELU, VisionTransformer

    width, layers, patch, size, embed = MEMBERS[member]
    skeleton = VisionTransformer(
        image_size=size, patch_size=patch, width=width, layers=layers, heads=width // 64,
        mlp_ratio=4.0, output_dim=embed, act_layer=QuickGELU if quick_gelu else nn.GELU,
        norm_layer=LayerNorm,
    )  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    state = {f"visual.{name}": _random_like(name, tuple(t.shape), generator).contiguous()
             for name, t in skeleton.state_dict().items()}  # fmt: skip
    state["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    if openai_format:
        state["input_resolution"] = torch.tensor(size)
        atomic.torch_save(path, state)
        return
    from safetensors.torch import save

    with atomic.atomic_write(path, "wb") as handle:
        handle.write(save(state))
