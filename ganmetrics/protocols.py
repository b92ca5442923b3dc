"""Evaluation protocols: how many images each side contributes.

"The GAN Landscape" (Kurach et al. 2019, section 4) computes FID between 10k test images and 10k
generated images for CIFAR-10 and LSUN-BEDROOM, and 3k vs 3k for CELEBA-HQ-128, where it also
reports the MS-SSIM diversity of Fedus et al. (5 batches of 64 generated images). Computing FID on
other counts shifts it (FID is biased in N), so a preset fixes the counts and refuses inputs that
have too few images rather than quietly using fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganmetrics.errors import InputError


@dataclass(frozen=True)
class Protocol:
    name: str
    num_real: int | None  # None: every image the source has
    num_fake: int | None
    metrics: tuple[str, ...]
    reference: str | None  # the reference set in ganmetrics/reference_manifest.json
    description: str


PROTOCOLS: dict[str, Protocol] = {
    "custom": Protocol("custom", None, None, ("fid", "is", "kid"), None,
                       "all images of each side; no counts enforced"),
    "cifar10": Protocol("cifar10", 10_000, 10_000, ("fid", "is", "kid"), "cifar10-test",
                        "CIFAR-10: 10k test images vs 10k generated (Kurach et al. 2019, §4)"),
    "celeba-hq-128": Protocol("celeba-hq-128", 3_000, 3_000, ("fid", "is", "kid", "msssim"),
                              "celeba-hq-128-test",
                              "CelebA-HQ-128: 3k test images vs 3k generated, MS-SSIM diversity "
                              "over 5 batches of 64 (Kurach et al. 2019, §4 and App. G)"),
    "lsun-bedroom": Protocol("lsun-bedroom", 10_000, 10_000, ("fid", "is", "kid"),
                             "lsun-bedroom-test",
                             "LSUN-bedroom: 10k test images vs 10k generated "
                             "(Kurach et al. 2019, §4)"),
}  # fmt: skip


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise InputError(
            f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}"
        ) from None


def resolve_count(
    protocol: Protocol, side: str, available: int | None, requested: int | None, description: str
) -> int | None:
    """Number of images to take from one side, or ``None`` for all of them.

    A preset's count wins over nothing; an explicit ``--num`` different from the preset's is
    refused, as is a source with fewer images than the preset needs.
    """
    required = protocol.num_real if side == "real" else protocol.num_fake
    if required is None:
        return requested
    if requested is not None and requested != required:
        raise InputError(
            f"{description}: --num {requested} contradicts protocol {protocol.name!r}, which uses "
            f"{required} {side} images; drop --num or use --protocol custom"
        )
    if available is not None and available < required:
        raise InputError(
            f"{description}: has {available} images but protocol {protocol.name!r} needs "
            f"{required} "
            f"{side} images; supply more images or use --protocol custom"
        )
    return required
