"""Feature passes sharded over processes: ``torchrun --nproc-per-node N -m ganmetrics eval ...``.

Global batch ``b`` (images ``b·B … (b+1)·B − 1`` in source order, ``B`` the batch size) is
computed by rank ``b mod world_size``, so every batch holds the same images, with the same shape,
as in a single process, and the features equal one process's bit for bit where the kernels are
deterministic. Each rank writes its rows into a zero matrix of all features; one sum over the
ranks (exact: every other addend is zero) gives every rank all features in source order, for
any number of images.

Sharding is on only after :func:`init_from_env` found ``WORLD_SIZE > 1`` (``python -m
ganmetrics`` calls it), never merely because some process group exists, so a training script
that evaluates on one rank is not made to wait for the others. Indexed sources (folders, zips,
LMDB, …) decode only their own batches; other sources (generators, arrays) are iterated in full
on every rank and only the Inception forward pass is shared. Only rank 0 writes files
(:func:`is_primary`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch

from ganmetrics.sources import ImageSource, IndexedImageSource, LimitedSource

_state: dict[str, bool] = {"active": False, "owns_group": False}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def init_from_env() -> bool:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE > 1``); else do nothing.

    NCCL with one GPU per rank (``LOCAL_RANK``) when CUDA is available, gloo otherwise
    (``GANMETRICS_DIST_BACKEND`` overrides). Returns whether feature passes are now sharded.
    """
    if _env_int("WORLD_SIZE", 1) <= 1:
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = os.environ.get("GANMETRICS_DIST_BACKEND") or (
            "nccl" if torch.cuda.is_available() else "gloo"
        )
        if local_rank() < (torch.cuda.device_count() if torch.cuda.is_available() else 0):
            torch.cuda.set_device(local_rank())  # so that "cuda" means this rank's GPU
        dist.init_process_group(backend=backend, init_method="env://")
        _state["owns_group"] = True
    _state["active"] = dist.get_world_size() > 1
    return _state["active"]


def shutdown() -> None:
    """Leave the process group if :func:`init_from_env` created it."""
    if _state["owns_group"]:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _state.update(active=False, owns_group=False)


def active() -> bool:
    """Whether feature passes are sharded over ranks."""
    return _state["active"]


def rank() -> int:
    if not active():
        return 0
    import torch.distributed as dist

    return dist.get_rank()


def world_size() -> int:
    if not active():
        return 1
    import torch.distributed as dist

    return dist.get_world_size()


def local_rank() -> int:
    """This process's GPU index on its node (``LOCAL_RANK``, set by ``torchrun``)."""
    return _env_int("LOCAL_RANK", 0)


def is_primary() -> bool:
    """True in a single process and on rank 0: the one process that writes output files."""
    return rank() == 0


def _communication_device() -> torch.device:
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def sum_over_ranks(*tensors: torch.Tensor) -> None:
    """Sum each tensor over the ranks, in place (no-op unless sharded)."""
    if not active():
        return
    import torch.distributed as dist

    device = _communication_device()
    for tensor in tensors:
        if tensor.device == device:
            dist.all_reduce(tensor)
        else:
            moved = tensor.to(device)
            dist.all_reduce(moved)
            tensor.copy_(moved)


def all_agree(flag: bool) -> bool:
    """True when ``flag`` is true on every rank (one collective; every rank must call it)."""
    if not active():
        return flag
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_communication_device())
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def owned_count(total: int, batch_size: int) -> int:
    """How many of ``total`` images this rank computes when batches are regular."""
    num_batches = -(-total // batch_size)
    owned = range(rank(), num_batches, world_size())
    return sum(min(batch_size, total - index * batch_size) for index in owned)


def _decodes_by_index(source: ImageSource) -> bool:
    if isinstance(source, LimitedSource):
        return _decodes_by_index(source.source)
    return isinstance(source, IndexedImageSource)


class _RankShard(IndexedImageSource):
    """The images of this rank's global batches, read through the source's ``read``."""

    def __init__(self, source: ImageSource, indices: np.ndarray):
        self.source = source
        self.indices = indices
        self.description = source.description

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self.source.image_size

    def fingerprint(self) -> None:
        return None

    def read(self, index: int) -> np.ndarray:
        return self.source.read(int(self.indices[index]))  # type: ignore[attr-defined]


def _mismatch(source: ImageSource, produced: int, total: int) -> RuntimeError:
    return RuntimeError(f"{source.description}: yielded {produced} images, expected {total}")


def sharded_batches(
    source: ImageSource, batch_size: int, num_workers: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """``(offset, batch)`` for the batches this rank computes; ``offset`` is in source order.

    In one process that is every batch of ``source.batches``. Raises ``RuntimeError`` when the
    source yields a different number of images than ``len(source)``.
    """
    total = len(source)
    size, index = world_size(), rank()
    if size > 1 and _decodes_by_index(source):
        starts = range(index * batch_size, total, size * batch_size)
        indices = np.concatenate(
            [np.arange(start, min(start + batch_size, total)) for start in starts]
            or [np.empty(0, dtype=np.int64)]
        )
        shard = _RankShard(source, indices)
        if len(shard) == 0:
            return
        for step, batch in enumerate(shard.batches(batch_size, num_workers)):
            yield starts[step], batch
        return
    offset = 0
    for number, batch in enumerate(source.batches(batch_size, num_workers)):
        if offset + len(batch) > total:
            raise _mismatch(source, offset + len(batch), total)
        if number % size == index:
            yield offset, batch
        offset += len(batch)
    if offset != total:
        raise _mismatch(source, offset, total)
