"""Exact gathering of a stream's per-image features over ``torch.distributed`` ranks.

Under DDP every rank feeds its own share of the images to its :class:`ganmetrics.Stream`. A
``DistributedSampler`` pads the data set to a multiple of the world size by repeating its first
indices, so a naive concatenation counts some images twice and orders them by rank. The rows are
put back into the data set's order here, each image once:

* with ``indices`` (the data set index of every image, e.g. from the sampler): sort by index and
  keep the first row of each index;
* with ``num_samples`` alone: the order of ``DistributedSampler(shuffle=False)``, where the i-th
  image of rank r is image ``i * world_size + r``, and positions at or beyond ``num_samples``
  are the sampler's padding.

One process gives the same rows, so N ranks give the same number as one (``tests/test_stream.py``
runs two gloo processes).
"""

from __future__ import annotations

import torch

from ganmetrics.errors import InputError


def group_size() -> int:
    """World size of the initialised default process group, 1 without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def group_rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if group_size() > 1 else 0


def _device() -> torch.device:
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather_rows(rows: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``rows`` (any count, same trailing shape and dtype), in rank order."""
    import torch.distributed as dist

    device = _device()
    world = dist.get_world_size()
    count = torch.tensor([len(rows)], dtype=torch.int64, device=device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    padded = torch.zeros((max(sizes), *rows.shape[1:]), dtype=rows.dtype, device=device)
    padded[: len(rows)] = rows.to(device)
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return [chunk[:size] for chunk, size in zip(gathered, sizes, strict=True)]


def sum_over_group(*tensors: torch.Tensor) -> None:
    """Sum each tensor over the ranks, in place."""
    import torch.distributed as dist

    device = _device()
    for tensor in tensors:
        moved = tensor.to(device)
        dist.all_reduce(moved)
        tensor.copy_(moved)


def any_rank(flag: bool) -> bool:
    """True when ``flag`` is true on some rank (one collective)."""
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_device())
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sampler_positions(local_count: int, start: int, rank: int, world: int) -> torch.Tensor:
    """Data set positions of this rank's images ``start .. start+local_count`` under
    ``DistributedSampler(shuffle=False)``: the i-th image of rank r is ``i * world + r``."""
    return torch.arange(start, start + local_count, dtype=torch.int64) * world + rank


def order_rows(
    rows: torch.Tensor, indices: torch.Tensor, num_samples: int | None, role: str
) -> torch.Tensor:
    """``rows`` sorted by ``indices``, one row per index; checked against ``num_samples``."""
    order = torch.argsort(indices.cpu(), stable=True)
    ordered = indices.cpu()[order]
    first = torch.ones(len(ordered), dtype=torch.bool)
    first[1:] = ordered[1:] != ordered[:-1]
    kept = order[first]
    if num_samples is not None and len(kept) != num_samples:
        raise InputError(
            f"stream ({role} side): the ranks gave {len(kept)} distinct images, but "
            f"num_samples is {num_samples}; pass every image's data set index or the true count"
        )
    return rows[kept.to(rows.device)]


def gather_rows(
    rows: torch.Tensor,
    indices: torch.Tensor | None,
    num_samples: int | None,
    role: str,
) -> torch.Tensor:
    """All ranks' rows of one side in the data set's order, each image once (see module doc).

    ``rows`` is this rank's (n, D) block; ``indices`` its data set indices, or ``None`` to use
    the sampler's order, which needs ``num_samples``. Every rank gets the same result.
    """
    world, rank = group_size(), group_rank()
    with_indices = indices is not None
    missing = any_rank(not with_indices)
    if missing and (any_rank(with_indices) or num_samples is None):
        raise InputError(
            f"stream ({role} side) under torch.distributed: pass indices= to every update on "
            "every rank, or num_samples= once (the true count, DistributedSampler(shuffle=False))"
        )
    if indices is None:
        indices = sampler_positions(len(rows), 0, rank, world)
    every_row = torch.cat(_all_gather_rows(rows))
    every_index = torch.cat(_all_gather_rows(indices.to(torch.int64).reshape(-1, 1))).flatten()
    if not with_indices:
        keep = every_index < num_samples
        every_row, every_index = every_row[keep], every_index[keep]
    return order_rows(every_row, every_index, num_samples, role)


__all__ = ["gather_rows", "group_rank", "group_size", "order_rows", "sum_over_group"]
