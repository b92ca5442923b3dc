"""The Ray engine of a study: one Ray task per trial.

* Without ``address`` Ray starts in-process on this machine's CPUs and GPUs (``ray.init()``), or
  reuses a Ray that this process already started. ``address="auto"`` joins the cluster started on
  this machine by ``ray start --head``; ``host:port`` or ``ray://host:port`` joins a remote one.
* Each trial reserves ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs; by default one GPU per
  trial when the cluster has GPUs, else none. Ray sets ``CUDA_VISIBLE_DEVICES`` for each task, and
  a trial's ``device: auto`` is resolved inside the task, so it trains on the GPU it was given.
* A task that dies (worker crash, out of memory, node lost) comes back as a failed trial; a task
  cancelled by :meth:`RayEngine.cancel` (the study stopping on Ctrl-C or SIGTERM) comes back as an
  interrupted one.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ganmetrics.errors import InputError, first_line
from ganmetrics_train.study.trial import INTERRUPTED, run_trial

#: Environment variables the driver passes on to every trial.
FORWARDED_ENV = ("GANMETRICS_INCEPTION_WEIGHTS", "GANMETRICS_CACHE", "TORCH_HOME")
CONNECT_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """A one-line error for a host:port nobody listens on (before Ray's long retries)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.hostname is None or parts.port is None:
        raise InputError(f"--address {address!r}: expected auto, host:port or ray://host:port")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"--address {address}: cannot reach a Ray cluster there ({reason}); start one with "
            "`ray start --head` or drop --address to run locally"
        ) from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(
            "study: Ray is not installed; pip install 'ray>=2.40' (the README's install command "
            "installs it)"
        ) from None
    return ray


class RayEngine:
    """Submits trials as Ray tasks and hands back their results as they finish."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_trial: float = 1.0,
        gpus_per_trial: float | None = None,
    ):
        ray = self.ray = _import_ray()
        self._started_here = False
        if address not in (None, "auto"):
            _check_reachable(address)
        if not ray.is_initialized():
            try:
                if address is None:
                    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                first = first_line(exc)
                raise InputError(
                    f"--address {address}: cannot join the Ray cluster ({first}); start one with "
                    "`ray start --head` or drop --address to run locally"
                ) from None
            self._started_here = True
        resources = ray.cluster_resources()
        if gpus_per_trial is None:
            gpus_per_trial = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
        if resources.get("CPU", 0) < cpus_per_trial:
            raise InputError(
                f"--cpus-per-trial {cpus_per_trial}: the Ray cluster has only "
                f"{resources.get('CPU', 0):g} CPUs"
            )
        if gpus_per_trial > resources.get("GPU", 0):
            raise InputError(
                f"--gpus-per-trial {gpus_per_trial:g}: the Ray cluster has "
                f"{resources.get('GPU', 0):g} GPUs; pass --gpus-per-trial 0 to train on CPUs"
            )
        self.cpus_per_trial = cpus_per_trial
        self.gpus_per_trial = gpus_per_trial
        self.resources = resources
        self._task = ray.remote(max_retries=0)(run_trial).options(
            num_cpus=cpus_per_trial, num_gpus=gpus_per_trial
        )
        self._env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}

    def describe(self) -> str:
        cpus, gpus = self.resources.get("CPU", 0), self.resources.get("GPU", 0)
        return (
            f"Ray cluster with {cpus:g} CPUs and {gpus:g} GPUs; each trial reserves "
            f"{self.cpus_per_trial:g} CPU(s) and {self.gpus_per_trial:g} GPU(s)"
        )

    def submit(self, config: dict[str, Any]) -> Any:
        return self._task.remote({"config": config, "env": self._env})

    def wait(
        self, handles: Iterable[Any], timeout: float | None = None
    ) -> list[tuple[Any, dict[str, Any]]]:
        """Wait until a task ends (at most ``timeout`` s); the (handle, result) pairs that did."""
        ray = self.ray
        finished, _ = ray.wait(list(handles), num_returns=1, timeout=timeout)
        results = []
        for handle in finished:
            try:
                results.append((handle, ray.get(handle)))
            except ray.exceptions.TaskCancelledError:
                results.append((handle, {"status": INTERRUPTED, "error": "cancelled"}))
            except Exception as exc:  # the task itself died: isolate it like any failure
                message = " ".join(str(exc).split())[:2000]
                results.append((handle, {"status": "failed", "error": message}))
        return results

    def cancel(self, handles: Iterable[Any]) -> None:
        """Ask running tasks to stop: Ray raises KeyboardInterrupt in each (queued ones are
        dropped); the trials come back as interrupted."""
        for handle in handles:
            with contextlib.suppress(Exception):  # a task that has ended: wait() reports it
                self.ray.cancel(handle, force=False)

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()
