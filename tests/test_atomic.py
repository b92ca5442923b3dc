"""Atomic writes: files get the mode open() gives them under the umask, and nothing half-written."""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np
import pytest

from ganmetrics import atomic
from ganmetrics.sources import save_stats


@contextlib.contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


WRITERS = {
    "write_json": lambda path: atomic.write_json(path, {"fid": 1.0}),
    "save_npz": lambda path: atomic.save_npz(path, x=np.zeros(3)),
    "torch_save": lambda path: atomic.torch_save(path, {"step": 1}),
    "save_stats": lambda path: save_stats(path, np.zeros(4), np.eye(4), n=10),
}


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640)])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_written_files_respect_the_umask_like_open(tmp_path, writer, mask, expected):
    with umask(mask):
        assert atomic.current_umask() == mask
        WRITERS[writer](tmp_path / "out.bin")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
        assert atomic.current_umask() == mask  # reading the umask did not change it
    assert mode_of(tmp_path / "out.bin") == expected == mode_of(tmp_path / "plain.txt")
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
def test_replacing_a_private_file_gives_the_umask_mode(tmp_path):
    target = tmp_path / "result.json"
    with umask(0o077):
        atomic.write_json(target, {"a": 1})
    assert mode_of(target) == 0o600
    with umask(0o022):
        atomic.write_json(target, {"a": 2})
    assert mode_of(target) == 0o644


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "stats.npz"
    atomic.write_json(target, {"old": True})
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic.atomic_write(target) as handle:
        handle.write(b"half of the new con")
        raise RuntimeError("killed")
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["stats.npz"]
