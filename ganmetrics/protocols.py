"""Evaluation protocols: how many images each side contributes, and which estimators score them.

"The GAN Landscape" (Kurach et al. 2019, section 4) computes FID between 10k test images and 10k
generated images for CIFAR-10 and LSUN-BEDROOM, and 3k vs 3k for CELEBA-HQ-128, where it also
reports the MS-SSIM diversity of Fedus et al. (5 batches of 64 generated images). Computing FID on
other counts shifts it (FID is biased in N), so a preset fixes the counts and refuses inputs that
have too few images rather than quietly using fewer.

The study presets also carry compare_gan's estimators (the code that produced the paper's
numbers, ``compare_gan/src/eval_gan_lib.py`` at df8998c and ``compare_gan/eval_utils.py`` in v3):

* IS as one split over all generated images (TF-GAN ``classifier_score``);
* KID by disjoint blocks of at most 1024 (``kid_score.py``; :func:`ganmetrics.kid.kid_blocks`);
* generated images scored as the generator's float output ×255, not rounded to uint8
  (``fake_images *= 255.0`` before ``tfgan.eval.preprocess_image``).

``custom`` keeps torch-fidelity 0.4.0's conventions: 10 shuffled IS splits, 100 random KID subsets
of 1000, and uint8 images (its extractor accepts only uint8).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganmetrics.errors import InputError
from ganmetrics.kid import KID_BLOCK_SIZE, KID_ESTIMATORS


@dataclass(frozen=True)
class Protocol:
    name: str
    num_real: int | None  # None: every image the source has
    num_fake: int | None
    metrics: tuple[str, ...]
    reference: str | None  # the reference set in ganmetrics/reference_manifest.json
    description: str
    is_splits: int = 10  # 1: compare_gan / TF-GAN's single score over all images
    kid_estimator: str = "subsets"  # one of ganmetrics.kid.KID_ESTIMATORS
    round_generated: bool = True  # False: generator floats ×255 go to Inception unrounded

    def __post_init__(self):
        if self.kid_estimator not in KID_ESTIMATORS:
            raise ValueError(f"kid_estimator must be one of {KID_ESTIMATORS}")
        if self.is_splits < 1:
            raise ValueError("is_splits must be at least 1")


#: The estimators of compare_gan, the code behind "The GAN Landscape" (see the module docstring).
_COMPARE_GAN = {"is_splits": 1, "kid_estimator": "blocks", "round_generated": False}


PROTOCOLS: dict[str, Protocol] = {
    "custom": Protocol("custom", None, None, ("fid", "is", "kid"), None,
                       "all images of each side; no counts enforced"),
    "cifar10": Protocol("cifar10", 10_000, 10_000, ("fid", "is", "kid"), "cifar10-test",
                        "CIFAR-10: 10k test images vs 10k generated (Kurach et al. 2019, §4)",
                        **_COMPARE_GAN),
    "celeba-hq-128": Protocol("celeba-hq-128", 3_000, 3_000, ("fid", "is", "kid", "msssim"),
                              "celeba-hq-128-test",
                              "CelebA-HQ-128: 3k test images vs 3k generated, MS-SSIM diversity "
                              "over 5 batches of 64 (Kurach et al. 2019, §4 and App. G)",
                              **_COMPARE_GAN),
    "lsun-bedroom": Protocol("lsun-bedroom", 10_000, 10_000, ("fid", "is", "kid"),
                             "lsun-bedroom-test",
                             "LSUN-bedroom: 10k test images vs 10k generated "
                             "(Kurach et al. 2019, §4)", **_COMPARE_GAN),
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


def describe_estimators(
    *,
    is_splits: int,
    kid_estimator: str,
    round_generated: bool,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    kid_block_size: int = KID_BLOCK_SIZE,
) -> dict[str, str]:
    """The estimators behind a result, in words, for its ``meta["estimators"]``.

    Takes the values actually used (a protocol's, or the user's overrides), e.g.
    ``{"is": "one split over all images (compare_gan / TF-GAN)", "kid": "compare_gan disjoint
    blocks of <=1024", "generated_images": "float x255, unrounded (compare_gan)"}``.
    """
    if is_splits == 1:
        inception = "one split over all images (compare_gan / TF-GAN classifier_score)"
    else:
        inception = f"{is_splits} shuffled splits, mean and std (torch-fidelity)"
    if kid_estimator == "blocks":
        kernel = f"compare_gan disjoint blocks of <={kid_block_size}, mean and std over blocks"
    elif kid_estimator == "subsets":
        kernel = (
            f"{kid_subsets} random subsets of <={kid_subset_size}, mean and std (torch-fidelity)"
        )
    else:
        raise ValueError(f"kid_estimator must be one of {KID_ESTIMATORS}, got {kid_estimator!r}")
    generated = (
        "rounded to uint8 (torch-fidelity)"
        if round_generated
        else "float x255, unrounded, same TF1 resize (compare_gan)"
    )
    return {"is": inception, "kid": kernel, "generated_images": generated}
