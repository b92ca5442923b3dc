"""Where images come from: folders, zips, arrays, stats files and generators.

Every source yields uint8 RGB batches shaped (B, 3, H, W) in a deterministic order, so that the
same source always gives the same features. Decoding of files runs in worker processes (a torch
``DataLoader``) so that it overlaps the Inception forward pass.

"The GAN Landscape" (Kurach et al. 2019, section 4, "Data sets") lists unstated preprocessing as a
source of irreproducible FIDs, so every rule applied to the pixels is fixed and written down in
the module that applies it:

=========================  ====================================================================
module                     owns
=========================  ====================================================================
``base``                   :class:`ImageSource`, :class:`IndexedImageSource`,
                           :class:`LimitedSource`; the ``--num`` rules (first N images; more
                           than a source holds is an error; at least :data:`MIN_IMAGES`)
``files``                  :class:`FolderSource`, :class:`ZipSource`; listing, order and
                           decoding come from :mod:`ganmetrics.images` (natural order)
``arrays``                 :class:`ArraySource`: numpy, torch, ``.npy``, image ``.npz``
``npz``                    reading ``.npy``/``.npz`` without unpickling, errors in one line
``stats_file``             :class:`StatsFile`, :func:`load_stats`, :func:`save_stats`
``generators``             :class:`CallableGeneratorSource`, :class:`ModuleGeneratorSource`
``generator_export``       the ``ganmetrics.generator/1`` file: the trainer's contract
``open``                   :func:`open_source`: a user's argument to a source
=========================  ====================================================================

Every source needs at least 2 images. Fingerprints (keys of the on-disk feature cache) are
described per kind in its module; generators have none (never cached).
"""

from __future__ import annotations

from ganmetrics import images
from ganmetrics.images import IMAGE_EXTENSIONS
from ganmetrics.sources import npz
from ganmetrics.sources.arrays import _RANGE_FIX as _RANGE_FIX
from ganmetrics.sources.arrays import ArraySource, parse_value_range
from ganmetrics.sources.arrays import _channel_layout as _channel_layout
from ganmetrics.sources.arrays import _check_finite as _check_finite
from ganmetrics.sources.arrays import _float_range as _float_range
from ganmetrics.sources.arrays import _load_image_array as _load_image_array
from ganmetrics.sources.arrays import _to_numpy as _to_numpy
from ganmetrics.sources.arrays import _to_uint8_nchw as _to_uint8_nchw
from ganmetrics.sources.base import _FINGERPRINT_VERSION as _FINGERPRINT_VERSION
from ganmetrics.sources.base import (
    MIN_IMAGES,
    SOURCE_KINDS_HINT,
    ImageSource,
    IndexedImageSource,
    LimitedSource,
)
from ganmetrics.sources.base import _check_batch_size as _check_batch_size
from ganmetrics.sources.base import _check_num as _check_num
from ganmetrics.sources.base import _require_num as _require_num
from ganmetrics.sources.base import _select_count as _select_count
from ganmetrics.sources.files import FolderSource, ZipSource
from ganmetrics.sources.files import _ImageFileSource as _ImageFileSource
from ganmetrics.sources.files import _parse_resize as _parse_resize
from ganmetrics.sources.generator_export import (
    GENERATOR_EXPORT_FORMAT,
    load_generator_export,
    save_generator_export,
)
from ganmetrics.sources.generator_export import _check_plain as _check_plain
from ganmetrics.sources.generators import _CALLABLE_SPEC as _CALLABLE_SPEC
from ganmetrics.sources.generators import (
    CHUNK_SEED_STRIDE,
    GENERATOR_CHUNK,
    GENERATOR_FORWARD_BATCH,
    Z_DISTRIBUTIONS,
    CallableGeneratorSource,
    ModuleGeneratorSource,
    resolve_callable_spec,
)
from ganmetrics.sources.generators import _callable_name as _callable_name
from ganmetrics.sources.generators import _GeneratedImages as _GeneratedImages
from ganmetrics.sources.generators import _GeneratorSource as _GeneratorSource
from ganmetrics.sources.generators import _module_device as _module_device
from ganmetrics.sources.generators import _rebatch as _rebatch
from ganmetrics.sources.npz import _is_pickle_error as _is_pickle_error
from ganmetrics.sources.open import _module_source as _module_source
from ganmetrics.sources.open import _open_path as _open_path
from ganmetrics.sources.open import open_source
from ganmetrics.sources.stats_file import (
    STATS_METADATA_STRING_KEYS,
    StatsFile,
    load_stats,
    save_stats,
    stats_path,
)

# Private names of the single-file ``sources.py``, kept importable for its callers.
_EXTENSIONS_TEXT = images.EXTENSIONS_TEXT
_IndexedDataset = images.IndexedReads
_ReadFailure = images.ReadFailure
_digest = images.digest
_exception_text = images.exception_text
_hash_file = images.hash_file
_one_line = images.one_line
_stack = images.stack
_npz_keys = npz.npz_keys
_pickle_refused = npz.pickle_refused

__all__ = [
    "CHUNK_SEED_STRIDE",
    "GENERATOR_CHUNK",
    "GENERATOR_EXPORT_FORMAT",
    "GENERATOR_FORWARD_BATCH",
    "IMAGE_EXTENSIONS",
    "MIN_IMAGES",
    "SOURCE_KINDS_HINT",
    "STATS_METADATA_STRING_KEYS",
    "Z_DISTRIBUTIONS",
    "ArraySource",
    "CallableGeneratorSource",
    "FolderSource",
    "ImageSource",
    "IndexedImageSource",
    "LimitedSource",
    "ModuleGeneratorSource",
    "StatsFile",
    "ZipSource",
    "load_generator_export",
    "load_stats",
    "open_source",
    "parse_value_range",
    "resolve_callable_spec",
    "save_generator_export",
    "save_stats",
    "stats_path",
]
