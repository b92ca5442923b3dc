"""Generators and discriminators of "The GAN Landscape" (Kurach, Lucic et al. 2019), Tables 3-6.

Public interface::

    build_generator(arch, image_size, z_dim=128, norm="bn", ablations=(), width=1.0) -> nn.Module
    build_discriminator(arch, image_size, norm="none", ablations=(), width=1.0)      -> nn.Module
    validate_architecture(arch, image_size, d_norm, g_norm, ablations)     -> None (or ValueError)

* ``G(z)``: z of shape (N, z_dim), float; the trainer samples z ~ U(-1, 1)^z_dim as compare_gan's
  ``AbstractGAN.z_generator`` does (``np.random.uniform(-1, 1, ...)``). Returns images of shape
  (N, 3, H, W) in [0, 1]: tanh outputs are mapped by ``(x + 1) / 2``, sigmoid outputs are used as
  they are.
* ``D(x)``: images in [0, 1], shape (N, 3, H, W). Returns logits of shape (N,); the loss applies the
  sigmoid. Each discriminator maps its input range internally as compare_gan does: SNDCGAN to
  [-1, 1]; DCGAN and the ResNets keep [0, 1]; the ResNets map to [-1, 1] with the TAN ablation.
  So the [0, 1] interface holds for every architecture and ablation.
* Generator norms: "bn" (the tables), "none", "wn" (Xiang & Li weight normalization + translated
  ReLU). Discriminator norms: :data:`D_NORMALIZATIONS`; "bn"/"ln" sit where the tables' ResNet
  blocks have BN, "sn" reparametrises every kernel and linear weight, "wn" as in the generator.
* Ablations (:data:`ABLATIONS`, Appendix D) apply to the ResNet architectures only; each builder
  uses the ones that concern its network (G: tan, eps; D: skip, cin, opt, sum, tan), so the same
  tuple can be passed to both.
* Models are returned in training mode (batch norm uses batch statistics and spectral norm runs a
  power iteration per forward, as compare_gan's ``is_training=True`` graph); ``.eval()`` switches to
  running statistics and a frozen singular vector, as its ``is_training=False`` graph.
* Every model has ``.config``, the builder keyword arguments that rebuild it:
  ``build_generator(**G.config)`` / ``build_discriminator(**D.config)``.
* Builders are deterministic given ``torch.manual_seed``.
* ``width`` scales every hidden channel count of DCGAN and SNDCGAN (``round(c * width)``). It is
  NOT the paper's: 1 is Tables 3 and 5; other widths exist for fast learning tests
  (``tests/test_learning.py``) and are refused by the study presets. ``.config`` names it only
  when it is not 1, so the paper's networks export as before.

Invalid combinations raise :class:`ganmetrics.errors.InputError` (a ``ValueError``) with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from ganmetrics.errors import InputError
from ganmetrics_train.choices import (
    ABLATIONS,
    ARCHITECTURES,
    D_NORMALIZATIONS,
    DISCRIMINATOR_ABLATIONS,
    G_NORMALIZATIONS,
    GENERATOR_ABLATIONS,
    RESNET_ARCHITECTURES,
)
from ganmetrics_train.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganmetrics_train.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganmetrics_train.models.sndcgan import SNDCGANDiscriminator, SNDCGANGenerator

_SUPPORTED_D_NORMS = {
    # gans_with_penalty.py: the SNDCGAN discriminator asserts spectral norm or none; it has no
    # normalization layers. "wn" (Xiang & Li) is this project's extension.
    "sndcgan": ("none", "sn", "wn"),
    # dcgan_architecture.discriminator asserts none, spectral norm or batch norm.
    "dcgan": ("none", "bn", "sn", "wn"),
    "resnet19": D_NORMALIZATIONS,
    "resnet_cifar": D_NORMALIZATIONS,
}


__all__ = [
    "ABLATIONS",
    "ARCHITECTURES",
    "DISCRIMINATOR_ABLATIONS",
    "D_NORMALIZATIONS",
    "GENERATOR_ABLATIONS",
    "G_NORMALIZATIONS",
    "build_discriminator",
    "build_generator",
    "build_networks",
    "validate_architecture",
]


def _invalid(what: str, fix: str) -> InputError:
    return InputError(f"model configuration: {what}; {fix}")


def _canonical_ablations(ablations: Iterable[str]) -> tuple[str, ...]:
    """Ablation names in :data:`ABLATIONS` order; rejects unknown names, repeats, bare strings."""
    if isinstance(ablations, str):
        raise _invalid(
            f"ablations must be a sequence of names, got the string {ablations!r}",
            f"pass e.g. ({ablations!r},)",
        )
    names = list(ablations)
    for name in names:
        if name not in ABLATIONS:
            raise _invalid(
                f"ablation {name!r} is unknown", f"use names from {', '.join(ABLATIONS)}"
            )
    if len(set(names)) != len(names):
        raise _invalid(f"ablations {names} repeat a name", "list each ablation once")
    return tuple(name for name in ABLATIONS if name in names)


def _check_arch_and_size(arch: str, image_size: int) -> None:
    if arch not in ARCHITECTURES:
        raise _invalid(
            f"architecture {arch!r} is unknown", f"use one of {', '.join(ARCHITECTURES)}"
        )
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise _invalid(f"image_size must be an integer, got {image_size!r}", "pass e.g. 32 or 128")
    if arch == "sndcgan" and (image_size < 8 or image_size % 8):
        raise _invalid(
            f"sndcgan needs an image size divisible by 8 (Table 3 uses h/8), got {image_size}",
            "use 32 (CIFAR10) or 128 (CELEBA-HQ-128, LSUN-BEDROOM)",
        )
    if arch == "dcgan" and (image_size < 16 or image_size % 16):
        raise _invalid(
            f"dcgan needs an image size divisible by 16 (four stride-2 layers), got {image_size}",
            "use 32 or 128",
        )
    if arch == "resnet19" and image_size not in (64, 128):
        raise _invalid(
            f"resnet19 builds 64x64 or 128x128 images (Table 4; compare_gan's resnet5), "
            f"got {image_size}",
            "use 128, or resnet_cifar for 32x32",
        )
    if arch == "resnet_cifar" and image_size != 32:
        raise _invalid(
            f"resnet_cifar builds 32x32 images (Table 6), got {image_size}",
            "use image_size 32, or resnet19 for 128x128",
        )


def _check_ablations(arch: str, ablations: tuple[str, ...], g_norm: str | None) -> None:
    if ablations and arch not in RESNET_ARCHITECTURES:
        raise _invalid(
            f"ablations {list(ablations)} apply to the ResNet architectures only "
            f"(Appendix D), not to {arch}",
            f"drop them or use one of {', '.join(RESNET_ARCHITECTURES)}",
        )
    if "skip" in ablations and arch == "resnet19":
        raise _invalid(
            "ablation 'skip' changes nothing on resnet19: every discriminator block downsamples, "
            "so every shortcut keeps its convolution",
            "drop 'skip' or use resnet_cifar",
        )
    if "eps" in ablations and g_norm is not None and g_norm != "bn":
        raise _invalid(
            f"ablation 'eps' changes the generator batch-norm epsilon but the generator norm is "
            f"{g_norm!r}",
            "use generator norm 'bn' or drop 'eps'",
        )


def _check_g_norm(g_norm: str) -> None:
    if g_norm not in G_NORMALIZATIONS:
        raise _invalid(
            f"generator norm {g_norm!r} is not supported",
            f"use one of {', '.join(G_NORMALIZATIONS)}",
        )


def _check_d_norm(arch: str, d_norm: str) -> None:
    if d_norm not in D_NORMALIZATIONS:
        raise _invalid(
            f"discriminator norm {d_norm!r} is unknown", f"use one of {', '.join(D_NORMALIZATIONS)}"
        )
    supported = _SUPPORTED_D_NORMS[arch]
    if d_norm not in supported:
        raise _invalid(
            f"discriminator norm {d_norm!r} is not available for {arch} "
            f"(compare_gan's {arch} discriminator has no such normalization layer)",
            f"use one of {', '.join(supported)}",
        )


def _check_width(arch: str, width: float) -> None:
    if isinstance(width, bool) or not isinstance(width, int | float) or not 0 < width <= 1:
        raise _invalid(f"width must be a number in (0, 1], got {width!r}", "use 1 (the paper's)")
    if width != 1 and arch not in ("dcgan", "sndcgan"):
        raise _invalid(f"width {width} is available for dcgan and sndcgan only", "use width 1")


def validate_architecture(
    arch: str,
    image_size: int,
    d_norm: str,
    g_norm: str,
    ablations: Iterable[str],
    width: float = 1.0,
) -> None:
    """Raise ``ValueError`` (:class:`~ganmetrics.errors.InputError`) naming why a model is invalid.

    Checks the architecture name, the image size it can build (Tables 3-6), the generator norm
    (:data:`G_NORMALIZATIONS`), the discriminator norm compare_gan allows for the architecture, and
    the Appendix D ablations (ResNet architectures only; ``skip`` is a no-op on ResNet19; ``eps``
    needs a batch-normalized generator).
    """
    canonical = _canonical_ablations(ablations)
    _check_arch_and_size(arch, image_size)
    _check_g_norm(g_norm)
    _check_d_norm(arch, d_norm)
    _check_ablations(arch, canonical, g_norm)
    _check_width(arch, width)


def build_generator(
    arch: str,
    image_size: int,
    z_dim: int = 128,
    norm: str = "bn",
    ablations: Iterable[str] = (),
    width: float = 1.0,
) -> nn.Module:
    """Build the generator of ``arch`` ("The GAN Landscape", Tables 3b, 4b, 6b; DCGAN below).

    ``G(z)`` takes z of shape (N, z_dim) - sampled by the trainer from U(-1, 1)^z_dim, compare_gan's
    ``z_generator`` - and returns images (N, 3, image_size, image_size) in [0, 1]. ``norm``: "bn",
    "none" or "wn". Ablations "tan" (tanh output mapped to [0, 1]) and "eps" (batch-norm epsilon
    2e-5) change the ResNet generators; the other ablations concern the discriminator.
    """
    canonical = _canonical_ablations(ablations)
    _check_arch_and_size(arch, image_size)
    _check_g_norm(norm)
    _check_ablations(arch, canonical, norm)
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise _invalid(f"z_dim must be a positive integer, got {z_dim!r}", "use 128 (the paper's)")
    _check_width(arch, width)
    if arch == "sndcgan":
        model: nn.Module = SNDCGANGenerator(image_size, z_dim, norm, width)
    elif arch == "dcgan":
        model = DCGANGenerator(image_size, z_dim, norm, width)
    else:
        model = ResNetGenerator(arch, image_size, z_dim, norm, canonical)
    model.config = {
        "arch": arch,
        "image_size": image_size,
        "z_dim": z_dim,
        "norm": norm,
        "ablations": canonical,
        **({"width": width} if width != 1 else {}),
    }
    return model


def build_discriminator(
    arch: str,
    image_size: int,
    norm: str = "none",
    ablations: Iterable[str] = (),
    width: float = 1.0,
) -> nn.Module:
    """Build the discriminator of ``arch`` ("The GAN Landscape", Tables 3a, 4a, 6a; DCGAN below).

    ``D(x)`` takes images in [0, 1] of shape (N, 3, image_size, image_size) and returns logits of
    shape (N,). ``norm`` is one of :data:`D_NORMALIZATIONS` that compare_gan allows for ``arch``.
    Ablations "skip", "cin", "opt", "sum" and "tan" change the ResNet discriminators.
    """
    canonical = _canonical_ablations(ablations)
    _check_arch_and_size(arch, image_size)
    _check_d_norm(arch, norm)
    _check_ablations(arch, canonical, None)
    _check_width(arch, width)
    if arch == "sndcgan":
        model: nn.Module = SNDCGANDiscriminator(image_size, norm, width)
    elif arch == "dcgan":
        model = DCGANDiscriminator(image_size, norm, width)
    else:
        model = ResNetDiscriminator(arch, image_size, norm, canonical)
    model.config = {"arch": arch, "image_size": image_size, "norm": norm, "ablations": canonical}
    if width != 1:
        model.config["width"] = width
    return model


def build_networks(cfg: Any, device: Any = "cpu") -> tuple[nn.Module, nn.Module]:
    """``(G, D)`` of a :class:`~ganmetrics_train.config.TrainConfig` on ``device``: its
    architecture, size, z, normalizations (``g_norm``, ``norm``), ablations and width, initialised
    from the global RNG (seeded by the caller)."""
    G = build_generator(cfg.arch, cfg.image_size, z_dim=cfg.z_dim, norm=cfg.g_norm,
                        ablations=cfg.ablations, width=cfg.width)  # fmt: skip
    D = build_discriminator(cfg.arch, cfg.image_size, norm=cfg.norm, ablations=cfg.ablations,
                            width=cfg.width)  # fmt: skip
    return G.to(device), D.to(device)
