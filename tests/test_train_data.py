"""The training batch stream: determinism, epochs, resuming, worker processes."""

from __future__ import annotations

import hashlib
import io

import lmdb
import numpy as np
import pytest
import torch
from PIL import Image

from ganmetrics.datasets import LsunBedroomDataset, ProceduralDataset
from ganmetrics.errors import InputError
from ganmetrics.sources import IndexedImageSource
from ganmetrics_train.data import TrainingBatches, dataset_for_training


class IndexImages(IndexedImageSource):
    """Image ``i`` is a 2x2 image whose every pixel value is ``i``: batches reveal indices."""

    description = "index images"

    def __init__(self, num_images: int, fail_at: int | None = None):
        self.num_images = num_images
        self.fail_at = fail_at

    def __len__(self) -> int:
        return self.num_images

    def fingerprint(self) -> str:
        return str(self.num_images)

    def read(self, index: int) -> np.ndarray:
        if index == self.fail_at:
            raise InputError(f"image {index}: broken; replace it")
        return np.full((3, 2, 2), index, dtype=np.uint8)


def indices_of(batch: torch.Tensor) -> list[int]:
    return (batch[:, 0, 0, 0] * 255).round().to(torch.int64).tolist()


def take(stream, count: int) -> list[torch.Tensor]:
    return [next(stream) for _ in range(count)]


def test_batches_are_float_in_unit_range():
    stream = TrainingBatches(ProceduralDataset(12, image_size=8, seed=1), batch_size=4, seed=0)
    batch = next(stream)
    assert batch.dtype == torch.float32 and batch.shape == (4, 3, 8, 8)
    assert float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0
    expected = ProceduralDataset(12, image_size=8, seed=1).read(int(stream.batch_indices(0)[0]))
    assert torch.equal(batch[0], torch.from_numpy(expected).float() / 255)


def test_epochs_follow_seeded_permutations_and_drop_last():
    num_images, batch_size, seed = 10, 4, 7
    stream = TrainingBatches(IndexImages(num_images), batch_size, seed)
    assert stream.batches_per_epoch == 2
    batches = [indices_of(b) for b in take(stream, 8)]
    for epoch in range(4):
        permutation = torch.randperm(
            num_images, generator=torch.Generator().manual_seed(seed + epoch)
        )
        visited = batches[2 * epoch] + batches[2 * epoch + 1]
        assert visited == permutation[:8].tolist()  # 2 leftover images dropped
        assert len(set(visited)) == 8
    assert batches[0:2] != batches[2:4]  # reshuffled each epoch
    assert stream.next_batch == 8 and stream.epoch == 4
    again = TrainingBatches(IndexImages(num_images), batch_size, seed)
    assert [indices_of(b) for b in take(again, 8)] == batches
    other = TrainingBatches(IndexImages(num_images), batch_size, seed + 100)
    assert [indices_of(b) for b in take(other, 8)] != batches


@pytest.mark.parametrize("start", [1, 2, 3, 5, 8])
def test_resume_equals_uninterrupted_stream(start):
    dataset = IndexImages(11)
    full = [indices_of(b) for b in take(TrainingBatches(dataset, 3, seed=2), 12)]
    resumed = TrainingBatches(dataset, 3, seed=2, start_batch=start)
    assert resumed.epoch == start // 3
    assert [indices_of(b) for b in take(resumed, 12 - start)] == full[start:]


def test_batch_size_larger_than_dataset():
    with pytest.raises(InputError) as excinfo:
        TrainingBatches(IndexImages(3), batch_size=4, seed=0)
    assert "\n" not in str(excinfo.value) and "batch" in str(excinfo.value)


def test_worker_errors_stay_one_line():
    stream = TrainingBatches(IndexImages(4, fail_at=2), batch_size=4, seed=0, num_workers=1)
    with stream, pytest.raises(InputError) as excinfo:
        next(stream)
    assert str(excinfo.value) == "image 2: broken; replace it"


def _write_lmdb(folder, count: int) -> None:
    env = lmdb.open(str(folder), map_size=1 << 24)
    rng = np.random.default_rng(5)
    with env.begin(write=True) as txn:
        for index in range(count):
            height, width = 100 + 9 * index, 150 - 7 * index  # pads and crops
            pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="WEBP", lossless=True)
            txn.put(hashlib.sha1(bytes([index])).hexdigest().encode(), buffer.getvalue())
    env.close()


def test_lmdb_with_two_workers_matches_in_process(tmp_path):
    _write_lmdb(tmp_path / "bedroom_train_lmdb", 9)
    dataset = dataset_for_training("lsun-bedroom", tmp_path, test_size=2)
    assert isinstance(dataset, LsunBedroomDataset) and dataset.split == "train"
    assert len(dataset) == 7
    expected = take(TrainingBatches(dataset, 3, seed=4), 6)  # opens the LMDB in this process
    with TrainingBatches(dataset, 3, seed=4, num_workers=2) as parallel:
        got = take(parallel, 6)
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert got[0].shape == (3, 3, 128, 128)
    with TrainingBatches(dataset, 3, seed=4, num_workers=2, start_batch=3) as resumed:
        assert all(torch.equal(a, b) for a, b in zip(take(resumed, 3), expected[3:], strict=True))


def test_dataset_for_training_procedural():
    dataset = dataset_for_training("procedural", None, 16, num_images=20, seed=3)
    assert len(dataset) == 20 and dataset.split == "train" and dataset.image_size == (16, 16)


# -- data held on the training device ---------------------------------------------------------

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class ResidentIndexImages(IndexImages):
    in_memory = True


@pytest.mark.parametrize("device", DEVICES)
def test_resident_batches_equal_the_decoding_loader(device):
    dataset = ProceduralDataset(23, image_size=8, seed=2)
    assert dataset.in_memory
    resident = TrainingBatches(dataset, 5, seed=9, device=device)
    decoded = TrainingBatches(dataset, 5, seed=9, in_memory=False)
    for _ in range(10):  # 4 batches per epoch: crosses two epoch boundaries
        got, expected = next(resident), next(decoded)
        assert got.device.type == device and got.dtype == torch.float32
        assert torch.equal(got.cpu(), expected)
    assert resident.resident_images().dtype == torch.uint8
    assert resident.resident_images().device.type == device


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("start", [1, 4, 7])
def test_resident_resume_equals_uninterrupted_stream(device, start):
    dataset = ResidentIndexImages(11)
    full = [indices_of(b.cpu()) for b in take(TrainingBatches(dataset, 3, 2, device=device), 12)]
    resumed = TrainingBatches(dataset, 3, seed=2, start_batch=start, device=device)
    assert [indices_of(b.cpu()) for b in take(resumed, 12 - start)] == full[start:]
    loader = TrainingBatches(dataset, 3, seed=2, in_memory=False, num_workers=1)
    with loader:
        assert [indices_of(b) for b in take(loader, 12)] == full


def test_cifar10_is_held_in_memory(cifar_root):
    from ganmetrics.datasets import Cifar10Dataset

    dataset = Cifar10Dataset(cifar_root[0], "train")
    assert dataset.in_memory
    np.testing.assert_array_equal(
        dataset.to_array(), np.stack([dataset.read(i) for i in range(len(dataset))])
    )
    resident = TrainingBatches(dataset, 4, seed=1)
    decoded = TrainingBatches(dataset, 4, seed=1, in_memory=False)
    assert all(torch.equal(next(resident), next(decoded)) for _ in range(5))


def test_procedural_renders_the_same_image_in_any_batch(monkeypatch):
    from ganmetrics.datasets import procedural

    dataset = ProceduralDataset(37, image_size=12, seed=4, num_modes=4)
    whole = dataset.to_array()
    assert whole.shape == (37, 3, 12, 12) and whole.dtype == np.uint8
    singles = np.stack([dataset.read(i) for i in range(37)])
    np.testing.assert_array_equal(whole, singles)
    monkeypatch.setattr(procedural, "_PASS_VALUES", 5 * 12 * 12 * 3)  # passes of 5 images
    np.testing.assert_array_equal(ProceduralDataset(37, 12, 4).to_array(), whole)
    np.testing.assert_array_equal(dataset.render([36, 0, 36]), whole[[36, 0, 36]])
    assert {dataset.mode(i) for i in range(37)} == {0, 1, 2, 3}
    modes = np.array([dataset.mode(i) for i in range(37)])
    for mode, (top, *_) in enumerate(procedural._PROCEDURAL_MODES):  # background at the top
        corner = np.median(whole[modes == mode][:, :, 0, 0].astype(float), axis=0)
        assert np.abs(corner - np.asarray(top)).max() < 60, (mode, corner)
    assert whole.std() > 20 and len(np.unique(whole.reshape(37, -1), axis=0)) == 37
