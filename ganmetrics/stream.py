"""``Stream``: FID, IS, KID, precision/recall and MS-SSIM fed batch by batch from a training loop.

A loop that is not ganmetrics' trainer has tensors, not folders: it calls
``stream.update(images, real=False)`` on every generated batch and ``stream.compute()`` when it
wants the numbers. Each batch goes through the same Inception network as :func:`ganmetrics.evaluate`
(:class:`ganmetrics.features.FeatureExtractor`, IEEE float32 under
:func:`ganmetrics.precision.feature_precision`, whatever TF32 state the loop left), its per-image
features stay on the network's device, and :meth:`Stream.compute` hands them to the same metric
stage as ``evaluate`` (:meth:`ganmetrics.api.Evaluator.score`, one pass over
:data:`~ganmetrics.metrics.METRIC_TABLE`): the same estimators, protocol counts ("The GAN
Landscape", Kurach et al. 2019, section 4), bootstrap intervals and ``meta``.

Images are NCHW (one or three channels), uint8, or floats in the declared ``value_range``, mapped
exactly as array sources map them (:mod:`ganmetrics.sources.arrays`: ``rint(255 x)`` in float64;
the generated side stays unrounded ``255 x`` when the protocol scores generators unrounded, as
compare_gan did). ``fid_only_sums=True`` keeps float64 sums of x and x xᵀ instead of the
features (O(D²) memory for any N; FID only). Under ``torch.distributed`` the ranks' features are
gathered exactly (:mod:`ganmetrics.stream_gather`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from typing import Any

import numpy as np
import torch

from ganmetrics.api import Evaluator
from ganmetrics.errors import InputError
from ganmetrics.features import Features
from ganmetrics.metrics import METRIC_TABLE
from ganmetrics.protocols import get_protocol, resolve_count
from ganmetrics.settings import EvalSettings
from ganmetrics.side import Side, each
from ganmetrics.sources import ImageSource, StatsFile, open_source
from ganmetrics.sources import _parse_resize as parse_resize
from ganmetrics.sources.arrays import parse_value_range
from ganmetrics.stream_gather import (
    gather_rows,
    group_rank,
    group_size,
    order_rows,
    sampler_positions,
    sum_over_group,
)
from ganmetrics.stream_sides import MetricSide, SideBuffer, images_to_255, resized

#: Settings that only the metric stage reads: ``compute(**overrides)`` may change them, since
#: the features already held do not depend on them.
METRIC_STAGE_FIELDS = frozenset({
    "metrics", "bootstrap", "confidence", "fid_inf", "is_splits", "kid_estimator", "kid_subsets",
    "kid_subset_size", "prc_k", "dc_k", "msssim_batches", "msssim_batch_size", "seed", "progress",
})  # fmt: skip
STATE_FORMAT = "ganmetrics-stream/1"
ROLES = ("real", "fake")


def _settings_range(value_range: Any) -> str | None:
    """``"uint8"`` / ``None`` → ``None``; ``(0, 1)``, ``"0,1"``, ``(-1, 1)`` → ``"0,1"``…"""
    if value_range is None or value_range == "uint8":
        return None
    low, high = parse_value_range(value_range, "Stream(value_range=...)")
    return f"{low:g},{high:g}"


class Stream:
    """A streaming evaluator: ``update(images)`` batch by batch, then ``compute()``.

    Args:
        metrics: any of ``fid, is, kid, msssim, prc``; default: the protocol's.
        protocol: ``custom`` or a study protocol (counts and estimators, as for ``evaluate``).
        value_range: ``"uint8"`` (default), ``(0, 1)`` or ``(-1, 1)`` for float batches.
        device: where the network runs and the features stay (default: CUDA if present).
        inception_weights: the weights file (default as for ``evaluate``).
        fid_only_sums: keep float64 sums of x and x xᵀ per side instead of the features
            (FID only, no intervals, no FID∞).
        num_samples: the true number of images per side under ``torch.distributed`` (an int for
            both sides or ``{"real": n, "fake": m}``), when updates carry no ``indices``.
        real: the real side, kept across :meth:`reset`: images (anything ``evaluate`` takes,
            features cached on disk), a stats ``.npz`` (``mu``, ``sigma``; FID only) or a
            feature file of ``ganmetrics features`` (its encoder and weights must match).
        sync: gather features over ``torch.distributed`` ranks in :meth:`compute`.
        encoder: passed through to the settings (the feature network; Inception by default).
        extractor: a ready :class:`~ganmetrics.features.FeatureExtractor` to reuse.
        settings: an :class:`~ganmetrics.settings.EvalSettings`; keywords override its fields.
    """

    def __init__(
        self,
        metrics: tuple[str, ...] | list[str] | None = None,
        *,
        protocol: str | None = None,
        value_range: Any = None,
        device: str | None = None,
        inception_weights: str | os.PathLike | None = None,
        fid_only_sums: bool = False,
        num_samples: int | dict[str, int] | None = None,
        real: Any = None,
        sync: bool = True,
        encoder: str | None = None,
        extractor: Any = None,
        settings: EvalSettings | None = None,
        **overrides: Any,
    ):
        given = {"protocol": protocol, "device": device, "encoder": encoder,
                 "inception_weights": None if inception_weights is None else str(inception_weights),
                 "metrics": None if metrics is None else tuple(metrics)}  # fmt: skip
        fields = {k: v for k, v in given.items() if v is not None}
        if value_range is not None:
            fields["value_range"] = _settings_range(value_range)
        try:
            resolved = dataclasses.replace(settings or EvalSettings(), **fields, **overrides)
        except TypeError as exc:
            raise InputError(f"Stream(): {exc}; see help(ganmetrics.Stream)") from None
        self._evaluator = Evaluator(resolved, extractor)
        self.settings = self._evaluator.settings
        self.fid_only_sums = bool(fid_only_sums)
        if self.fid_only_sums:
            s = self.settings
            if set(s.metrics) != {"fid"} or s.fid_inf or s.bootstrap:
                raise InputError(
                    "Stream(fid_only_sums=True): sums give FID only; drop the other metrics, "
                    "--fid-inf and bootstrap, or keep per-image features (fid_only_sums=False)"
                )
        counts = num_samples if isinstance(num_samples, dict) else dict.fromkeys(ROLES, num_samples)
        self.num_samples: dict[str, int | None] = {role: counts.get(role) for role in ROLES}
        self.sync = bool(sync)
        self._sides = {role: SideBuffer(role) for role in ROLES}
        if real is not None:
            self.set_real(real)

    # -- the network -------------------------------------------------------------------------
    @property
    def network(self) -> dict[str, Any]:
        """Weights hash, precision and device of the features (``meta`` of every result)."""
        return self._evaluator.network

    @property
    def device(self) -> torch.device:
        return torch.device(self._evaluator.extractor.device)

    def _keeps_logits(self, role: str) -> bool:
        return role == "fake" and "is" in self.settings.metrics

    def _images_kept(self) -> int:
        rows = [METRIC_TABLE[m] for m in self.settings.metrics]
        return max((row.images_kept(self.settings) for row in rows if row.images_kept), default=0)

    # -- feeding ---------------------------------------------------------------------------
    def update(self, images: Any, real: bool = False, indices: Any = None) -> None:
        """Add a batch (NCHW uint8, or floats in the declared range) to one side.

        ``indices``: the data set index of each image, under ``torch.distributed`` (see
        :mod:`ganmetrics.stream_gather`); sorted by, and duplicates dropped, in :meth:`compute`.
        """
        role = "real" if real else "fake"
        rounded = real or bool(self.settings.round_generated)
        self._add(images_to_255(images, self.settings.value_range, rounded, role), role, indices)

    def update_from(self, source: Any, real: bool = False, num: int | None = None) -> None:
        """Add every image of a source (an :class:`~ganmetrics.sources.ImageSource`, a folder, an
        array, a generator: whatever ``evaluate`` takes) batch by batch."""
        s = self.settings
        if not isinstance(source, ImageSource):
            source = open_source(source, num=num, value_range=s.value_range, resize=s.resize,
                                 seed=s.seed, z_dim=s.z_dim, device=s.device,
                                 round_generated=s.round_generated)  # fmt: skip
            if isinstance(source, StatsFile):
                raise InputError(f"{source.description}: a stats file; pass it as Stream(real=)")
        from tqdm.auto import tqdm

        extractor = self._evaluator.extractor
        role = "real" if real else "fake"
        with tqdm(total=len(source), desc=f"stream {role}", unit="img", leave=False,
                  disable=not s.progress, dynamic_ncols=True) as bar:  # fmt: skip
            for batch in source.batches(extractor.batch_size, extractor.num_workers):
                self._add(torch.as_tensor(batch), role, None)
                bar.update(len(batch))

    def _add(self, batch: torch.Tensor, role: str, indices: Any) -> None:
        side = self._sides[role]
        if side.origin is not None or side.stats is not None:
            raise InputError(
                f"stream update (real side): the real side is {side.origin or 'a stats file'}; "
                "call reset(real=True) before feeding real images"
            )
        batch = self._checked_size(batch, side)
        if indices is not None:
            indices = torch.as_tensor(indices, dtype=torch.int64).flatten().cpu()
            if len(indices) != len(batch):
                raise InputError(f"stream update ({role} side): {len(indices)} indices for "
                                 f"{len(batch)} images; pass one index per image")  # fmt: skip
            side.indices.append(indices)
        elif side.indices:
            raise InputError(f"stream update ({role} side): earlier updates had indices; pass "
                             "indices= with every update or with none")  # fmt: skip
        keep = self._images_kept() if role == "fake" else 0
        have = sum(len(c) for c in side.captured)
        if have < keep:
            side.captured.append(batch[: keep - have].cpu().numpy().copy())
        positions = self._sum_positions(side, len(batch))
        side.pending.append(batch)
        if positions is not None:
            side.pending_positions.append(positions)
        side.count += len(batch)
        self._flush(side, final=False)

    def _flush(self, side: SideBuffer, final: bool) -> None:
        """Run the network on the pending images in batches of the extractor's batch size.

        Batches keep the boundaries ``evaluate`` uses (0, B, 2B, ...), however the loop splits its
        updates, so the features equal ``evaluate``'s bit for bit; ``final`` runs the remainder.
        """
        if not side.pending:
            return
        extractor = self._evaluator.extractor
        size = extractor.batch_size
        pending = torch.cat(side.pending) if len(side.pending) > 1 else side.pending[0]
        positions = torch.cat(side.pending_positions) if side.pending_positions else None
        done = len(pending) if final else len(pending) // size * size
        for start in range(0, done, size):
            chunk = pending[start : start + size]
            pool3, logits = extractor.features_on_device(chunk)
            side.dim = pool3.shape[1]
            if self.fid_only_sums:
                where = None if positions is None else positions[start : start + len(chunk)]
                self._add_sums(side, pool3, where)
                continue
            if self._keeps_logits(side.role):
                pool3 = torch.cat([pool3, logits], dim=1)
            side.rows.append(pool3)
        # the loop may reuse its batch tensor: keep a copy of what waits for the next update
        side.pending = [pending[done:].clone()] if done < len(pending) else []
        side.pending_positions = [positions[done:]] if positions is not None and done < len(
            positions) else []  # fmt: skip

    def _with_tail(self, side: SideBuffer) -> SideBuffer:
        """A copy of ``side`` with its pending images run too; ``side`` keeps them pending, so
        later updates keep ``evaluate``'s batch boundaries."""
        if not side.pending:
            return side
        done = copy.copy(side)
        done.rows = list(side.rows)
        done.sums = None if side.sums is None else [s.clone() for s in side.sums]
        self._flush(done, final=True)
        return done

    def _checked_size(self, batch: torch.Tensor, side: SideBuffer) -> torch.Tensor:
        size = tuple(batch.shape[-2:])
        target = parse_resize(self.settings.resize, "Stream(resize=...)")
        if isinstance(target, tuple):
            pass
        elif side.image_size is None or not target:
            target = side.image_size or size
        else:
            target = side.image_size
        if size != target:
            if not self.settings.resize:
                raise InputError(
                    f"stream update ({side.role} side): {size[0]}x{size[1]} images after "
                    f"{target[0]}x{target[1]} ones; create the Stream with resize=True (the "
                    "first size) or resize=(H, W)"
                )
            if batch.dtype != torch.uint8:
                raise InputError(f"stream update ({side.role} side): resize needs rounded "
                                 "images; pass round_generated=True or one image size")  # fmt: skip
            batch = resized(batch, target)
        side.image_size = target
        return batch

    def _sum_positions(self, side: SideBuffer, count: int) -> torch.Tensor | None:
        """Under DDP in sums mode, each image's data set position (the sampler's padding goes)."""
        if not self.fid_only_sums or not self.sync or group_size() == 1:
            return None
        if side.indices:
            raise InputError("Stream(fid_only_sums=True) under torch.distributed counts images "
                             "by position; pass num_samples=, not indices=")  # fmt: skip
        if self.num_samples[side.role] is None:
            raise InputError(f"Stream(fid_only_sums=True) under torch.distributed needs "
                             f"num_samples= ({side.role} side): the true image count")  # fmt: skip
        return sampler_positions(count, side.count, group_rank(), group_size())

    def _add_sums(self, side: SideBuffer, pool3: torch.Tensor, positions: torch.Tensor | None):
        x = pool3.to(torch.float64)
        if positions is not None:
            x = x[(positions < self.num_samples[side.role]).to(x.device)]
        if side.sums is None:
            dim = x.shape[1]
            side.sums = [torch.zeros((), dtype=torch.float64, device=x.device),
                         torch.zeros(dim, dtype=torch.float64, device=x.device),
                         torch.zeros(dim, dim, dtype=torch.float64, device=x.device)]  # fmt: skip
        side.sums[0] += len(x)
        side.sums[1] += x.sum(dim=0)
        side.sums[2] += x.T @ x

    def set_real(self, spec: Any) -> None:
        """The real side from images, a stats ``.npz`` or a feature file of ``ganmetrics
        features`` (kept by reset), opened as :func:`ganmetrics.evaluate` opens it."""
        side = SideBuffer("real")
        if isinstance(spec, StatsFile):
            side.stats = spec
        else:
            opened = Side("real", spec, self.settings, self.settings.num_real)
            if opened.stats is not None:
                side.stats = opened.stats
            elif opened.features is not None:  # a feature file: the same weights, or refused
                recorded = opened.weights_sha256
                if recorded and recorded != self.network["weights_sha256"]:
                    raise InputError(
                        f"{opened.description}: features of weights {recorded[:12]}…, this "
                        f"stream uses {self.network['weights_sha256'][:12]}…; recompute them "
                        "with the same --encoder and weights file"
                    )
                self._hold(side, opened.features.pool3, opened.description)
            else:
                features = self._evaluator.features(opened)
                self._hold(side, features.pool3, opened.description)
        if side.stats is not None:
            side.origin = side.stats.description
            wanted = [m for m in self.settings.metrics if METRIC_TABLE[m].needs_real_features]
            if wanted:
                raise InputError(
                    f"{side.origin}: a stats file holds no per-image features, and "
                    f"{each(wanted)} needs them; pass real images or a 'ganmetrics features' file"
                )
        self._sides["real"] = side

    def _hold(self, side: SideBuffer, pool3: np.ndarray, origin: str) -> None:
        rows = torch.from_numpy(np.ascontiguousarray(pool3)).to(self.device)
        if self.fid_only_sums:
            self._add_sums(side, rows, None)
        else:
            side.rows = [rows]
        side.count, side.dim, side.origin = len(rows), rows.shape[1], origin

    def reset(self, real: bool = False) -> None:
        """Forget the generated side (and the real one with ``real=True``)."""
        for role in ("real", "fake") if real else ("fake",):
            self._sides[role] = SideBuffer(role)

    # -- the metric stage ------------------------------------------------------------------
    def compute(self, **overrides: Any) -> dict[str, Any]:
        """The result dict of :func:`ganmetrics.evaluate` for the images fed so far.

        ``overrides`` may change what only the metric stage reads (``metrics``, ``bootstrap``,
        ``fid_inf``, KID and PRC options, ...); a setting that changes the features is refused.
        Under ``torch.distributed`` every rank must call it (the features are gathered).
        """
        started = time.time()
        changed = sorted(set(overrides) - METRIC_STAGE_FIELDS)
        if changed:
            raise InputError(
                f"Stream.compute({', '.join(changed)}=...): changes the features already held; "
                "create a new Stream with it (or reset(real=True) and feed the images again)"
            )
        evaluator = self._evaluator.replaced(**overrides) if overrides else self._evaluator
        s = evaluator.settings
        if "is" in s.metrics and "is" not in self.settings.metrics:
            raise InputError("Stream.compute(metrics=...is...): the stream kept no logits; create "
                             "it with 'is' among its metrics")  # fmt: skip
        needs_real = any(METRIC_TABLE[m].needs_real_images for m in s.metrics)
        fake = self._metric_side("fake", s)
        real = self._metric_side("real", s) if needs_real else None
        evaluator.check_sides(real, fake)
        result = evaluator.score(real, fake, started)
        return result

    def _metric_side(self, role: str, settings: EvalSettings) -> MetricSide:
        side = self._with_tail(self._sides[role])
        description = side.origin or f"stream ({role} side)"
        if side.empty:
            raise InputError(
                f"stream ({role} side): no images yet; call update(images"
                f"{', real=True' if role == 'real' else ''}) before compute()"
                + ("; or pass real= (images, a stats .npz or a features .npz)" if role == "real"
                   else "")
            )  # fmt: skip
        sha = self.network["weights_sha256"]
        if side.stats is not None:
            return MetricSide(role, description, side.stats.num_images, None, side.stats, sha,
                               None)  # fmt: skip
        distributed = self.sync and group_size() > 1 and side.origin is None
        if self.fid_only_sums:
            stats = self._stats_from_sums(side, description, distributed)
            return MetricSide(role, description, stats.num_images, None, stats, sha, None)
        rows = torch.cat(side.rows)
        indices = torch.cat(side.indices) if side.indices else None
        if distributed:
            rows = gather_rows(rows, indices, self.num_samples[role], role)
        elif indices is not None:
            rows = order_rows(rows, indices, self.num_samples[role], role)
        count = self._protocol_count(role, len(rows), description)
        device_pool3 = rows[:count, : side.dim] if rows.is_cuda else None
        rows = rows[:count].cpu().numpy()
        pool3, logits = rows[:, : side.dim], rows[:, side.dim :]
        if self._keeps_logits(role):
            pool3, logits = np.ascontiguousarray(pool3), np.ascontiguousarray(logits)
        captured = np.concatenate(side.captured) if side.captured else None
        features = Features(pool3, logits)
        return MetricSide(role, description, count, features, None, sha, captured, device_pool3)

    def _protocol_count(self, role: str, available: int, description: str) -> int:
        """As :class:`~ganmetrics.side.Side`: the protocol's count, the first of a larger set."""
        s = self.settings
        requested = s.num_real if role == "real" else s.num_fake
        count = resolve_count(get_protocol(s.protocol), role, available, requested, description)
        count = available if count is None else count
        if count > available:
            raise InputError(f"{description}: has {available} images, {count} requested; feed "
                             "more images or lower num")  # fmt: skip
        if count < 2:
            raise InputError(f"{description}: has {count} image(s); at least 2 are needed")
        return count

    def _stats_from_sums(self, side: SideBuffer, description: str, distributed: bool) -> StatsFile:
        """Mean and unbiased covariance from float64 sums: ``(Σxxᵀ − n μμᵀ) / (n − 1)``."""
        count, total, outer = (s.clone() for s in side.sums)
        if distributed:
            sum_over_group(count, total, outer)
        n = int(count.item())
        if n != self._protocol_count(side.role, n, description):
            raise InputError(f"{description}: holds {n} images; sums cannot drop images to "
                             "the protocol's count, feed exactly that many")  # fmt: skip
        mu = total / n
        sigma = (outer - n * torch.outer(mu, mu)) / (n - 1)
        meta = {"weights_sha256": self.network["weights_sha256"], "from": "float64 sums"}
        return StatsFile(None, mu.cpu().numpy(), sigma.cpu().numpy(), n, meta)

    # -- checkpoints -----------------------------------------------------------------------
    def _feature_settings(self) -> dict[str, Any]:
        held = self.settings.to_dict()
        return {k: v for k, v in held.items() if k not in METRIC_STAGE_FIELDS | {"cache"}}

    def state_dict(self) -> dict[str, Any]:
        """Everything fed so far (tensors on the CPU), for ``torch.save`` with a checkpoint."""
        return {
            "format": STATE_FORMAT,
            "settings": self._feature_settings(),
            "weights_sha256": self.network["weights_sha256"],
            "fid_only_sums": self.fid_only_sums,
            "sides": {role: side.state() for role, side in self._sides.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`; refused if it was made with other feature settings."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise InputError(f"Stream.load_state_dict: not a {STATE_FORMAT} state; pass what "
                             "Stream.state_dict() returned")  # fmt: skip
        mine = {**self._feature_settings(), "weights_sha256": self.network["weights_sha256"],
                "fid_only_sums": self.fid_only_sums}  # fmt: skip
        theirs = {**state["settings"], "weights_sha256": state["weights_sha256"],
                  "fid_only_sums": state["fid_only_sums"]}  # fmt: skip
        differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        if differ:
            raise InputError(
                f"Stream.load_state_dict: the state was made with other {', '.join(differ)}; "
                "create the Stream with the settings of the run that saved it"
            )
        for role in ROLES:
            side = SideBuffer(role)
            side.load(state["sides"][role], self.device)
            self._sides[role] = side

    def __len__(self) -> int:
        """Generated images fed so far (on this rank)."""
        return self._sides["fake"].count


__all__ = ["METRIC_STAGE_FIELDS", "Stream", "images_to_255"]
