"""Training data: an endless, seeded, resumable stream of image batches.

"The GAN Landscape" (section 2.6) trains every model for a fixed number of discriminator steps with
batch size 64 (100k steps for CelebA-HQ-128 and LSUN-bedroom, 200k for CIFAR10) - many epochs
of reshuffled data. :class:`TrainingBatches` makes that stream a pure function of (dataset, batch
size, seed, batch number), so a run restarted from a checkpoint at batch ``k`` sees exactly the
batches the uninterrupted run would have seen:

* epoch ``e`` visits the images in the order ``torch.randperm(n, generator=torch.Generator()
  .manual_seed(seed + e))``;
* batch ``b`` is the slice ``[offset * batch_size, (offset + 1) * batch_size)`` of the permutation
  of epoch ``e = b // batches_per_epoch`` with ``offset = b % batches_per_epoch``, where
  ``batches_per_epoch = n // batch_size`` (the last incomplete batch of each epoch is dropped, as
  compare_gan's ``batch(..., drop_remainder=True)``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ganmetrics.datasets import Dataset, open_dataset
from ganmetrics.errors import InputError
from ganmetrics.images import ReadFailure, read_in_workers, stack
from ganmetrics.sources import IndexedImageSource


def _collate_tensor(items: list[np.ndarray | ReadFailure]) -> torch.Tensor | ReadFailure:
    """Stack decoded images into a uint8 tensor (pinnable), or pass the read failure on."""
    batch = stack(items)
    return batch if isinstance(batch, ReadFailure) else torch.from_numpy(batch)


class BatchSchedule:
    """Which images each batch holds: the pure function described in the module docstring."""

    def __init__(self, num_images: int, batch_size: int, seed: int):
        self.num_images = int(num_images)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.batches_per_epoch = self.num_images // self.batch_size
        self._cached_epoch: int | None = None
        self._cached_permutation = torch.empty(0, dtype=torch.int64)

    def epoch_permutation(self, epoch: int) -> torch.Tensor:
        """The order in which epoch ``epoch`` visits the images (int64, length n)."""
        if epoch != self._cached_epoch:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            self._cached_permutation = torch.randperm(self.num_images, generator=generator)
            self._cached_epoch = epoch
        return self._cached_permutation

    def batch_indices(self, batch: int) -> torch.Tensor:
        """Dataset indices of batch number ``batch`` (0-based over the whole stream)."""
        epoch, offset = divmod(batch, self.batches_per_epoch)
        start = offset * self.batch_size
        return self.epoch_permutation(epoch)[start : start + self.batch_size]


class _BatchSampler:
    """Endless ``DataLoader`` batch sampler: batches ``start_batch``, ``start_batch + 1``, ..."""

    def __init__(self, schedule: BatchSchedule, start_batch: int):
        self.schedule = schedule
        self.start_batch = start_batch

    def __iter__(self) -> Iterator[list[int]]:
        batch = self.start_batch
        while True:
            yield self.schedule.batch_indices(batch).tolist()
            batch += 1


class TrainingBatches(Iterator[torch.Tensor]):
    """Endless deterministic stream of float32 image batches in [0, 1], shaped (N, 3, H, W).

    ``start_batch=k`` resumes: the stream yields exactly what an uninterrupted stream yields from
    its ``k``-th batch (0-based) on; the epoch and offset are computed, nothing is replayed.
    :attr:`next_batch` is the number to store in a checkpoint. Pixels are ``uint8 / 255``.

    Data sets that fit in memory (``dataset.in_memory``: CIFAR-10, CelebA-HQ-128, procedural) are
    loaded once, on the first ``next``, as one uint8 tensor on ``device``; each batch is gathered
    there by the epoch's permutation (kept on the device too), so no image crosses from the host
    per step. Other data sets are decoded per batch: with ``num_workers > 0`` by a ``DataLoader``
    with an endless batch sampler in that many worker processes (started on the first ``next``,
    kept until :meth:`close`), with 0 in this process. Either way batch ``b`` holds the same
    images, so the two paths give equal batches, and both resume bit-exactly.

    ``device`` (default: the CPU) is where batches are returned; ``in_memory`` overrides the data
    set's choice (``None``: ask the data set).
    """

    def __init__(
        self,
        dataset: IndexedImageSource,
        batch_size: int,
        seed: int,
        num_workers: int = 0,
        start_batch: int = 0,
        prefetch_factor: int = 2,
        pin_memory: bool = False,
        device: str | torch.device | None = None,
        in_memory: bool | None = None,
    ):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if start_batch < 0:
            raise ValueError(f"start_batch must be >= 0, got {start_batch}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        num_images = len(dataset)
        if num_images < batch_size:
            raise InputError(
                f"{dataset.description}: {num_images} images, fewer than one batch of "
                f"{batch_size}; use a smaller batch size or a larger data set"
            )
        self.dataset = dataset
        self.schedule = BatchSchedule(num_images, batch_size, seed)
        self.num_images = num_images
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.batches_per_epoch = self.schedule.batches_per_epoch
        self.num_workers = int(num_workers)
        self.prefetch_factor = int(prefetch_factor)
        self.pin_memory = bool(pin_memory)
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.in_memory = bool(
            getattr(dataset, "in_memory", False) if in_memory is None else in_memory
        )
        self.start_batch = int(start_batch)
        #: Number of the batch the next ``next()`` returns (store it in checkpoints to resume).
        self.next_batch = self.start_batch
        self._loader_iter: Iterator[torch.Tensor] | None = None
        self._images: torch.Tensor | None = None
        self._device_order: tuple[int, torch.Tensor] | None = None

    @property
    def epoch(self) -> int:
        """Epoch of the next batch."""
        return self.next_batch // self.batches_per_epoch

    def epoch_permutation(self, epoch: int) -> torch.Tensor:
        """The order in which epoch ``epoch`` visits the images (int64, length n)."""
        return self.schedule.epoch_permutation(epoch)

    def batch_indices(self, batch: int) -> torch.Tensor:
        """Dataset indices of batch number ``batch`` (0-based over the whole stream)."""
        return self.schedule.batch_indices(batch)

    def __iter__(self) -> TrainingBatches:
        return self

    def __next__(self) -> torch.Tensor:
        if self.in_memory:
            images = self._gather(self.next_batch)
        elif self.num_workers == 0:
            indices = self.batch_indices(self.next_batch).tolist()
            images = torch.from_numpy(np.stack([self.dataset.read(i) for i in indices]))
        else:
            if self._loader_iter is None:
                self._loader_iter = self._worker_batches(self.next_batch)
            images = next(self._loader_iter)
        self.next_batch += 1
        images = images.to(self.device, non_blocking=self.pin_memory)
        return images.to(torch.float32).div_(255.0)

    def resident_images(self) -> torch.Tensor:
        """The whole data set as one uint8 tensor (N, 3, H, W) on :attr:`device`, loaded once."""
        if self._images is None:
            to_array = getattr(self.dataset, "to_array", None)
            if to_array is not None:
                array = to_array(self.num_workers)
            else:
                batches = read_in_workers(self.dataset, self.num_workers, batch_size=256)
                array = np.concatenate(list(batches))
            self._images = torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        return self._images

    def _gather(self, batch: int) -> torch.Tensor:
        images = self.resident_images()
        epoch, offset = divmod(batch, self.batches_per_epoch)
        if self._device_order is None or self._device_order[0] != epoch:
            self._device_order = (epoch, self.epoch_permutation(epoch).to(self.device))
        start = offset * self.batch_size
        return images.index_select(0, self._device_order[1][start : start + self.batch_size])

    def _worker_batches(self, start_batch: int) -> Iterator[torch.Tensor]:
        sampler_schedule = BatchSchedule(self.num_images, self.batch_size, self.seed)
        return read_in_workers(
            self.dataset,
            self.num_workers,
            batch_sampler=_BatchSampler(sampler_schedule, start_batch),
            collate=_collate_tensor,
            prefetch_factor=self.prefetch_factor,
            pin_memory=self.pin_memory,
        )

    def close(self) -> None:
        """Stop the worker processes; a later ``next`` starts new ones where the stream is."""
        loader_iter, self._loader_iter = self._loader_iter, None
        if loader_iter is not None:
            loader_iter.close()  # type: ignore[attr-defined]

    def __enter__(self) -> TrainingBatches:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def dataset_for_training(
    name: str,
    data_dir: str | os.PathLike | None,
    image_size: int | None = None,
    **kw: Any,
) -> Dataset:
    """The ``train`` split of data set ``name`` (see :func:`ganmetrics.datasets.open_dataset`)."""
    return open_dataset(name, data_dir, "train", image_size=image_size, **kw)
