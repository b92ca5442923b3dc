"""Data sets by name (:func:`open_dataset`) and the study's reference sets (:func:`open_reference`).

The reference sets are listed in the package's ``reference_manifest.json``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any

from ganmetrics.datasets.base import Dataset
from ganmetrics.datasets.celeba_hq import CelebAHQDataset
from ganmetrics.datasets.cifar10 import Cifar10Dataset
from ganmetrics.datasets.folder import ImageFolderDataset
from ganmetrics.datasets.lsun import LsunBedroomDataset
from ganmetrics.datasets.procedural import ProceduralDataset
from ganmetrics.errors import InputError
from ganmetrics.sources.base import IndexedImageSource

DATASET_NAMES = ("cifar10", "celeba-hq-128", "lsun-bedroom", "folder", "procedural")


def _canonical_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    aliases = {"cifar-10": "cifar10", "celeba-hq": "celeba-hq-128", "celebahq-128": "celeba-hq-128"}
    key = aliases.get(key, key)
    if key not in DATASET_NAMES:
        raise InputError(f"dataset {name!r}: unknown; use one of {', '.join(DATASET_NAMES)}")
    return key


def open_dataset(
    name: str,
    data_dir: str | os.PathLike | None,
    split: str = "train",
    image_size: int | None = None,
    **kw: Any,
) -> Dataset:
    """Open split ``split`` of data set ``name`` stored under ``data_dir``.

    ``name`` is one of ``cifar10``, ``celeba-hq-128``, ``lsun-bedroom``, ``folder``, ``procedural``.
    ``image_size`` is ``None`` for each data set's study resolution (32, 128, 128; ``folder`` needs
    it; ``procedural`` defaults to 32). Extra keywords go to the reader: ``test_size`` (celeba,
    lsun, folder), ``split_seed`` (lsun), ``num_images`` / ``seed`` / ``num_modes`` (procedural;
    ``num_images`` defaults to 50,000 train / 10,000 test).
    """
    key = _canonical_name(name)
    if key == "procedural":
        num_images = kw.pop("num_images", None)
        if num_images is None:
            num_images = 50_000 if split == "train" else 10_000
        return ProceduralDataset(
            num_images=num_images, image_size=image_size or 32, split=split, **kw
        )
    if data_dir is None:
        raise InputError(f"dataset {key!r}: needs a data directory (--data-dir)")
    if key == "cifar10":
        if image_size not in (None, 32):
            raise InputError(
                f"image_size {image_size}: CIFAR-10 is used at its native 32x32 (The GAN "
                "Landscape, section 2.5); use the 'folder' data set for resized images"
            )
        if kw:
            raise InputError(f"dataset 'cifar10': unknown options {', '.join(sorted(kw))}")
        return Cifar10Dataset(data_dir, split)
    if key == "celeba-hq-128":
        return CelebAHQDataset(data_dir, split, image_size=image_size, **kw)
    if key == "lsun-bedroom":
        return LsunBedroomDataset(data_dir, split, image_size=image_size, **kw)
    return ImageFolderDataset(data_dir, image_size, split=split, **kw)  # "folder"


def reference_sets() -> dict[str, dict[str, Any]]:
    """The study's reference (test) sets, from the package's ``reference_manifest.json``."""
    text = resources.files("ganmetrics").joinpath("reference_manifest.json").read_text("utf-8")
    return json.loads(text)["reference_sets"]


def open_reference(
    name: str, data_dir: str | os.PathLike, strict: bool = True, **options: Any
) -> IndexedImageSource:
    """The images of reference set ``name`` (e.g. ``cifar10-test``) read from ``data_dir``.

    Yields exactly the images the manifest's protocol uses: the first ``num_images`` images of the
    test split (all of it for CIFAR-10 and CelebA-HQ-128; the first 10,000 of the 30,588-image
    LSUN-bedroom test permutation). With ``strict`` (default) the data set must be complete - the
    manifest's ``dataset_num_images`` and ``split_num_images`` - since a partial copy would silently
    give a different test set. ``strict=False`` accepts smaller copies (tests, demos) and yields as
    many images as the split has, up to ``num_images``; ``options`` (e.g. ``test_size``) override
    the manifest's reader options.
    """
    sets = reference_sets()
    if name not in sets:
        raise InputError(f"reference {name!r}: unknown; use one of {', '.join(sorted(sets))}")
    entry = sets[name]
    reader_options = {**entry.get("options", {}), **options}
    dataset = open_dataset(entry["dataset"], data_dir, entry["split"], **reader_options)
    if not strict:
        return dataset.limit(min(entry["num_images"], len(dataset)))
    expected_total = entry.get("dataset_num_images")
    total = dataset.num_source_images
    if expected_total is not None and total is not None and total != expected_total:
        raise InputError(
            f"{data_dir}: has {total} images, the reference set {name} needs the complete "
            f"{entry['dataset']} data set ({expected_total} images); point to the full data set"
        )
    if len(dataset) != entry["split_num_images"]:
        raise InputError(
            f"{data_dir}: the {entry['split']} split has {len(dataset)} images, {name} needs "
            f"{entry['split_num_images']}; point to the full data set"
        )
    return dataset.limit(entry["num_images"])
