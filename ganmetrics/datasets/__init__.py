"""The data sets of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.5), read from disk.

Each reader is an :class:`~ganmetrics.sources.IndexedImageSource` that decodes one image at a time
(so a ``DataLoader`` can decode in worker processes) and yields uint8 arrays shaped (3, H, W).
One module per data set; files are listed, ordered and decoded by :mod:`ganmetrics.images`:

* ``cifar10`` (``cifar10.py``) - the official python pickles ``cifar-10-batches-py/``: 50,000
  train images (``data_batch_1`` .. ``data_batch_5`` in that order) and 10,000 test images
  (``test_batch``), 32x32, no resizing.
* ``celeba-hq-128`` (``celeba_hq.py``) - a folder of the 30,000 CelebA-HQ images at 128x128
  (PNG/JPG), in natural file-name order; the **last 3,000** are the test set, the first 27,000 the
  train set.
* ``lsun-bedroom`` (``lsun.py``) - the official LMDB export ``bedroom_train_lmdb/`` (3,033,042
  images), each image centrally cropped or zero-padded to 128x128 without resizing (TensorFlow's
  ``resize_image_with_crop_or_pad``, footnote 3 of the paper); **30,588** images are held out as the
  test set by ``np.random.RandomState(0).permutation(n)[:30588]``.
* ``folder`` (``folder.py``) - any folder of images, center-cropped to a square and resized (PIL
  bicubic).
* ``procedural`` (``procedural.py``) - deterministic synthetic images of a few coloured shapes;
  needs no download. ``procedural_judge.py`` scores generated images against its modes without
  any downloaded weights (:func:`judge_procedural`).

How the splits relate to compare_gan (the study's code, github.com/google/compare_gan). Its
``compare_gan/src/datasets.py`` read pre-built TFRecord shards: CelebA-HQ as 100 shards of which
shards 0-89 are train and 90-99 test ("No default split for train/valid for CelebA-HQ"), i.e. the
last 10% = 3,000 images; LSUN-bedroom as the 100-shard training set with the *last shard* held out
("The eval set is too small (only 300 examples)"), about 30k images. The later TFDS-based
``compare_gan/datasets.py`` uses ``tfds.Split.TRAIN.subsplit([99, 1])`` for LSUN and has no
CelebA-HQ. The shard files (which images went into which shard) were never published, so neither
split can be reproduced image-for-image. We therefore use: CelebA-HQ - the last 3,000 images in
index order, which is what "shards 90-99" are when the shards were written in index order (as the
progressive_growing_of_gans ``dataset_tool.py`` writes them); LSUN - the paper's own description,
"We randomly partition the images into a train and test set whereby we use 30588 images as the
test set", with a fixed, documented seed. FIDs computed against these test sets are comparable with
``base.py`` holds the :class:`Dataset` base class and the split rules; ``registry.py`` opens a
data set by name (:func:`open_dataset`) and the study's reference sets (:func:`open_reference`).
"""

from __future__ import annotations

from ganmetrics.datasets.base import PREPROCESSING_VERSION, SPLITS, Dataset
from ganmetrics.datasets.celeba_hq import (
    CELEBA_HQ_NUM_IMAGES,
    CELEBA_HQ_SIZE,
    CELEBA_HQ_TEST_SIZE,
    CelebAHQDataset,
    pggan_downsample,
)
from ganmetrics.datasets.cifar10 import (
    CIFAR10_DIRNAME,
    CIFAR10_TEST_FILES,
    CIFAR10_TRAIN_FILES,
    Cifar10Dataset,
)
from ganmetrics.datasets.folder import ImageFolderDataset
from ganmetrics.datasets.lsun import (
    LSUN_BEDROOM_DIRNAME,
    LSUN_BEDROOM_NUM_IMAGES,
    LSUN_BEDROOM_SIZE,
    LSUN_BEDROOM_SPLIT_SEED,
    LSUN_BEDROOM_TEST_SIZE,
    LsunBedroomDataset,
    crop_or_pad,
)
from ganmetrics.datasets.procedural import ProceduralDataset
from ganmetrics.datasets.procedural_judge import JudgeScores, judge_procedural
from ganmetrics.datasets.registry import (
    DATASET_NAMES,
    open_dataset,
    open_reference,
    reference_sets,
)
from ganmetrics.images import (
    IMAGE_EXTENSIONS,
    center_crop_resize,
    list_image_files,
    natural_key,
)

__all__ = [
    "CELEBA_HQ_NUM_IMAGES",
    "CELEBA_HQ_SIZE",
    "CELEBA_HQ_TEST_SIZE",
    "CIFAR10_DIRNAME",
    "CIFAR10_TEST_FILES",
    "CIFAR10_TRAIN_FILES",
    "DATASET_NAMES",
    "IMAGE_EXTENSIONS",
    "LSUN_BEDROOM_DIRNAME",
    "LSUN_BEDROOM_NUM_IMAGES",
    "LSUN_BEDROOM_SIZE",
    "LSUN_BEDROOM_SPLIT_SEED",
    "LSUN_BEDROOM_TEST_SIZE",
    "PREPROCESSING_VERSION",
    "SPLITS",
    "CelebAHQDataset",
    "Cifar10Dataset",
    "Dataset",
    "ImageFolderDataset",
    "JudgeScores",
    "LsunBedroomDataset",
    "ProceduralDataset",
    "center_crop_resize",
    "crop_or_pad",
    "judge_procedural",
    "list_image_files",
    "natural_key",
    "open_dataset",
    "open_reference",
    "pggan_downsample",
    "reference_sets",
]
