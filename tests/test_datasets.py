"""Dataset readers on tiny files written in the real on-disk formats."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

import lmdb
import numpy as np
import pytest
from PIL import Image

from ganmetrics import datasets
from ganmetrics.datasets import (
    CelebAHQDataset,
    Cifar10Dataset,
    ImageFolderDataset,
    LsunBedroomDataset,
    ProceduralDataset,
    crop_or_pad,
    open_dataset,
    open_reference,
    reference_sets,
)
from ganmetrics.errors import InputError

# ---------------------------------------------------------------------------------------------
# Fixtures: the official formats, in miniature (CIFAR-10's pickles live in conftest.py)

CELEBA_COUNT = 12


def _celeba_pixels(index: int) -> np.ndarray:
    rng = np.random.default_rng(100 + index)
    image = rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8)
    image[0, 0] = index  # identifies the file
    return image


@pytest.fixture(scope="session")
def celeba_dir(tmp_path_factory) -> Path:
    """Files 1.png .. 12.png: natural order differs from lexicographic (10 < 2)."""
    folder = tmp_path_factory.mktemp("celeba")
    for index in range(1, CELEBA_COUNT + 1):
        Image.fromarray(_celeba_pixels(index)).save(folder / f"{index}.png")
    (folder / ".hidden.png").write_bytes(b"not an image")  # skipped
    return folder


# (height, width, format): larger (crop), smaller (pad), odd differences, mixed.
LSUN_SHAPES = [
    (150, 200, "WEBP"),
    (100, 90, "WEBP"),
    (131, 125, "WEBP"),
    (128, 128, "WEBP"),
    (127, 133, "WEBP"),
    (96, 160, "JPEG"),
    (140, 129, "JPEG"),
    (64, 64, "JPEG"),
]


def _encode(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "WEBP":
        Image.fromarray(array).save(buffer, format="WEBP", lossless=True)
    else:
        Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def make_lsun_lmdb(parent: Path, shapes=LSUN_SHAPES) -> dict[bytes, bytes]:
    """``parent/bedroom_train_lmdb`` with hex-id keys, as the LSUN export; returns key -> value."""
    folder = parent / "bedroom_train_lmdb"
    rng = np.random.default_rng(1)
    entries = {}
    for index, (height, width, fmt) in enumerate(shapes):
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        key = hashlib.sha1(str(index).encode()).hexdigest().encode("ascii")
        entries[key] = _encode(pixels, fmt)
    env = lmdb.open(str(folder), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for key, value in entries.items():
            txn.put(key, value)
    env.close()
    return entries


@pytest.fixture(scope="session")
def lsun_root(tmp_path_factory) -> tuple[Path, dict[bytes, bytes]]:
    parent = tmp_path_factory.mktemp("lsun")
    return parent, make_lsun_lmdb(parent)


def reference_crop_or_pad(image: np.ndarray, target: int) -> np.ndarray:
    """Independent statement of TF's rule: output pixel -> source pixel (or zero)."""

    def source_positions(size: int) -> np.ndarray:
        positions = np.arange(target)
        if size >= target:
            return positions + (size - target) // 2
        return positions - (target - size) // 2

    rows = source_positions(image.shape[0])
    cols = source_positions(image.shape[1])
    output = np.zeros((target, target, 3), dtype=np.uint8)
    row_ok = (rows >= 0) & (rows < image.shape[0])
    col_ok = (cols >= 0) & (cols < image.shape[1])
    output[np.ix_(row_ok, col_ok)] = image[np.ix_(rows[row_ok], cols[col_ok])]
    return output


def _decoded(value: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(value)).convert("RGB"))


def assert_one_line_error(excinfo, *fragments: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# ---------------------------------------------------------------------------------------------
# CIFAR-10


def test_cifar_counts_and_pixel_exact(cifar_root):
    parent, arrays = cifar_root
    train = Cifar10Dataset(parent, "train")  # parent of cifar-10-batches-py
    test = Cifar10Dataset(parent / "cifar-10-batches-py", "test")  # the folder itself
    assert len(train) == 10 and len(test) == 3
    assert train.image_shape == (3, 32, 32)
    # Train is data_batch_1..5 in order; row layout: 1024 R, 1024 G, 1024 B, each row-major.
    order = [(f"data_batch_{b}", row) for b in range(1, 6) for row in range(2)]
    for index, (name, row) in enumerate(order):
        image = train.read(index)
        assert image.dtype == np.uint8 and image.shape == (3, 32, 32)
        data = arrays[name][row]
        for channel, y, x in [(0, 0, 0), (0, 0, 31), (1, 5, 7), (2, 31, 0), (2, 31, 31)]:
            assert image[channel, y, x] == data[channel * 1024 + y * 32 + x]
    test_image = test.read(2)
    assert test_image[1, 10, 3] == arrays["test_batch"][2][1024 + 10 * 32 + 3]


def test_cifar_survives_pickling(cifar_root):
    parent, _ = cifar_root
    test = Cifar10Dataset(parent, "test")
    clone = pickle.loads(pickle.dumps(test))
    assert len(clone) == 3
    np.testing.assert_array_equal(clone.read(1), test.read(1))


def test_cifar_missing_files(tmp_path, cifar_root):
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path, "train")
    assert_one_line_error(excinfo, "data_batch_1", "cifar-10-batches-py", "test_batch")
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path / "nope", "test")
    assert_one_line_error(excinfo, "not found", "cifar-10-batches-py")
    partial = tmp_path / "cifar-10-batches-py"
    partial.mkdir()
    parent, _ = cifar_root
    (partial / "test_batch").write_bytes((parent / "cifar-10-batches-py/test_batch").read_bytes())
    assert len(Cifar10Dataset(tmp_path, "test")) == 3
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path, "train")
    assert_one_line_error(excinfo, "data_batch_1", "missing")


def test_cifar_wrong_format(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"this is not a pickle")
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path, "test")
    assert_one_line_error(excinfo, "test_batch", "CIFAR-10")
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8)}, handle)
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path, "test")
    assert_one_line_error(excinfo, "test_batch", "3072")
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    folder.rmdir()
    with pytest.raises(InputError) as excinfo:
        Cifar10Dataset(tmp_path, "test")
    assert_one_line_error(excinfo, "tar xzf")


def test_cifar_fingerprint(cifar_root, tmp_path):
    parent, _ = cifar_root
    train, test = Cifar10Dataset(parent, "train"), Cifar10Dataset(parent, "test")
    assert train.fingerprint() == Cifar10Dataset(parent, "train").fingerprint()
    assert train.fingerprint() != test.fingerprint()
    copy = tmp_path / "cifar-10-batches-py"
    copy.mkdir()
    source = parent / "cifar-10-batches-py" / "test_batch"
    (copy / "test_batch").write_bytes(source.read_bytes())
    stat = source.stat()
    os.utime(copy / "test_batch", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert Cifar10Dataset(tmp_path, "test").fingerprint() == test.fingerprint()
    os.utime(copy / "test_batch", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert Cifar10Dataset(tmp_path, "test").fingerprint() != test.fingerprint()


# ---------------------------------------------------------------------------------------------
# CelebA-HQ-128


def test_celeba_natural_order_and_tail_split(celeba_dir):
    train = CelebAHQDataset(celeba_dir, "train", test_size=3)
    test = CelebAHQDataset(celeba_dir, "test", test_size=3)
    assert len(train) == 9 and len(test) == 3
    # natural order 1..12, the last 3 (10, 11, 12) are test
    assert [int(train.read(i)[0, 0, 0]) for i in range(9)] == list(range(1, 10))
    assert [int(test.read(i)[0, 0, 0]) for i in range(3)] == [10, 11, 12]
    np.testing.assert_array_equal(test.read(0), _celeba_pixels(10).transpose(2, 0, 1))
    assert train.fingerprint() != test.fingerprint()
    assert test.fingerprint() == CelebAHQDataset(celeba_dir, "test", test_size=3).fingerprint()


def test_celeba_default_test_size_needs_full_dataset(celeba_dir):
    with pytest.raises(InputError) as excinfo:
        CelebAHQDataset(celeba_dir, "test")
    assert_one_line_error(excinfo, "3000", "test_size")


def test_celeba_pggan_downsample(celeba_dir):
    small = CelebAHQDataset(celeba_dir, "test", image_size=64, test_size=3)
    image = small.read(2).transpose(1, 2, 0).astype(np.float64)
    source = _celeba_pixels(12).astype(np.float64)
    expected = np.rint(source.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)))
    np.testing.assert_array_equal(image, expected)
    other = CelebAHQDataset(celeba_dir, "test", image_size=100, test_size=3)
    assert other.read(0).shape == (3, 100, 100)
    assert len({small.fingerprint(), other.fingerprint()}) == 2


def test_celeba_wrong_size_and_missing(tmp_path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "00000.png")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "00001.png")
    with pytest.raises(InputError) as excinfo:
        CelebAHQDataset(tmp_path, "train", test_size=1)
    assert_one_line_error(excinfo, "00000.png", "64x64", "128x128", "image_size=128")
    upsampled = CelebAHQDataset(tmp_path, "train", image_size=128, test_size=1)
    with pytest.raises(InputError) as excinfo:
        upsampled.read(0)
    assert_one_line_error(excinfo, "00000.png", "smaller than image_size 128")
    with pytest.raises(InputError) as excinfo:
        CelebAHQDataset(tmp_path / "missing", "train")
    assert_one_line_error(excinfo, "not found", "CelebA-HQ")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as excinfo:
        CelebAHQDataset(empty, "train")
    assert_one_line_error(excinfo, "no image files", "128x128")


def test_corrupt_image_is_an_input_error(tmp_path):
    Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(tmp_path / "0.png")
    (tmp_path / "1.png").write_bytes(b"\x89PNG broken")
    dataset = CelebAHQDataset(tmp_path, "test", test_size=1, image_size=128)
    with pytest.raises(InputError) as excinfo:
        dataset.read(0)
    assert_one_line_error(excinfo, "1.png", "cannot decode")


# ---------------------------------------------------------------------------------------------
# LSUN-bedroom


def test_crop_or_pad_rule_by_hand():
    column = np.arange(5, dtype=np.uint8).reshape(5, 1, 1) + 1
    # crop 5 -> 2: offset (5 - 2) // 2 = 1
    assert crop_or_pad(column, 2, 1)[:, 0, 0].tolist() == [2, 3]
    # pad 5 -> 8: offset (8 - 5) // 2 = 1 above, 2 below
    assert crop_or_pad(column, 8, 1)[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 5, 0, 0]
    row = np.arange(4, dtype=np.uint8).reshape(1, 4, 1) + 1
    assert crop_or_pad(row, 1, 1)[0, :, 0].tolist() == [2]  # (4 - 1) // 2 = 1
    assert crop_or_pad(row, 1, 7)[0, :, 0].tolist() == [0, 1, 2, 3, 4, 0, 0]


@pytest.mark.parametrize("height,width", [(131, 125), (125, 131), (3, 200), (200, 3), (128, 129)])
def test_crop_or_pad_matches_independent_implementation(height, width):
    image = np.random.default_rng(height * 1000 + width).integers(
        0, 256, size=(height, width, 3), dtype=np.uint8
    )
    np.testing.assert_array_equal(crop_or_pad(image, 128, 128), reference_crop_or_pad(image, 128))


def test_lsun_split_and_decoding(lsun_root):
    parent, entries = lsun_root
    train = LsunBedroomDataset(parent, "train", test_size=3)
    test = LsunBedroomDataset(parent / "bedroom_train_lmdb", "test", test_size=3)
    assert len(train) == 5 and len(test) == 3
    keys = sorted(entries)  # LMDB cursor order is bytewise key order
    permutation = np.random.RandomState(0).permutation(len(keys))
    assert [test.key(i) for i in range(3)] == [keys[j] for j in permutation[:3]]
    assert [train.key(i) for i in range(5)] == [keys[j] for j in permutation[3:]]
    for dataset in (train, test):
        for index in range(len(dataset)):
            image = dataset.read(index)
            assert image.shape == (3, 128, 128) and image.dtype == np.uint8
            expected = reference_crop_or_pad(_decoded(entries[dataset.key(index)]), 128)
            np.testing.assert_array_equal(image.transpose(1, 2, 0), expected)
    assert train.fingerprint() != test.fingerprint()
    assert test.fingerprint() == LsunBedroomDataset(parent, "test", test_size=3).fingerprint()
    assert LsunBedroomDataset(parent, "test", test_size=3, split_seed=1).fingerprint() != (
        test.fingerprint()
    )


def test_lsun_other_target_size(lsun_root):
    parent, entries = lsun_root
    small = LsunBedroomDataset(parent, "test", image_size=64, test_size=2)
    expected = reference_crop_or_pad(_decoded(entries[small.key(1)]), 64)
    np.testing.assert_array_equal(small.read(1).transpose(1, 2, 0), expected)


def test_lsun_tiny_database_needs_explicit_test_size(lsun_root):
    parent, _ = lsun_root
    with pytest.raises(InputError) as excinfo:
        LsunBedroomDataset(parent, "train")
    assert_one_line_error(excinfo, "30588", "test_size")
    with pytest.raises(InputError) as excinfo:
        LsunBedroomDataset(parent, "train", test_size=8)
    assert_one_line_error(excinfo, "test_size")


def test_lsun_workers_and_pickling(lsun_root):
    parent, _ = lsun_root
    dataset = LsunBedroomDataset(parent, "train", test_size=3)
    in_process = np.stack([dataset.read(i) for i in range(len(dataset))])  # opens the env here
    clone = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(clone.read(4), in_process[4])
    batches = list(dataset.batches(batch_size=2, num_workers=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(batches), in_process)


def test_lsun_missing_and_broken(tmp_path):
    with pytest.raises(InputError) as excinfo:
        LsunBedroomDataset(tmp_path, "train")
    assert_one_line_error(excinfo, "data.mdb", "bedroom_train_lmdb")
    env = lmdb.open(str(tmp_path / "bedroom_train_lmdb"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"aa", b"garbage bytes")
        txn.put(b"bb", _encode(np.zeros((8, 8, 3), np.uint8), "WEBP"))
    env.close()
    splits = [LsunBedroomDataset(tmp_path, split, test_size=1) for split in ("train", "test")]
    broken = next(split for split in splits if split.key(0) == b"aa")
    with pytest.raises(InputError) as excinfo:
        broken.read(0)
    assert_one_line_error(excinfo, "key aa", "cannot decode")
    empty = tmp_path / "empty" / "bedroom_train_lmdb"
    empty.parent.mkdir()
    lmdb.open(str(empty), map_size=1 << 20).close()
    with pytest.raises(InputError) as excinfo:
        LsunBedroomDataset(empty, "train", test_size=1)
    assert_one_line_error(excinfo, "empty")


# ---------------------------------------------------------------------------------------------
# Folder, procedural, entry points


def test_image_folder(tmp_path):
    rng = np.random.default_rng(3)
    shapes = {"b/2.jpg": (30, 40), "b/10.png": (50, 30), "a.png": (16, 16), "c.webp": (20, 20)}
    arrays = {}
    for name, (height, width) in shapes.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        arrays[name] = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        Image.fromarray(arrays[name]).save(path)
    (tmp_path / "notes.txt").write_text("ignored")
    dataset = ImageFolderDataset(tmp_path, 16)
    assert [p.relative_to(tmp_path).as_posix() for p in dataset.files] == [
        "a.png",
        "b/2.jpg",
        "b/10.png",
        "c.webp",
    ]
    np.testing.assert_array_equal(dataset.read(0), arrays["a.png"].transpose(2, 0, 1))
    tall = arrays["b/10.png"]  # 50 x 30 -> rows 10..39
    expected = Image.fromarray(tall[10:40]).resize((16, 16), Image.BICUBIC)
    np.testing.assert_array_equal(dataset.read(2), np.asarray(expected).transpose(2, 0, 1))
    assert all(dataset.read(i).shape == (3, 16, 16) for i in range(len(dataset)))
    test = ImageFolderDataset(tmp_path, 16, split="test", test_size=1)
    train = ImageFolderDataset(tmp_path, 16, split="train", test_size=1)
    assert [p.name for p in test.files] == ["c.webp"] and len(train) == 3
    with pytest.raises(InputError):
        ImageFolderDataset(tmp_path, 16, split="test")  # 4 // 10 = 0 test images


def test_procedural_deterministic():
    first = ProceduralDataset(40, image_size=24, seed=5)
    again = ProceduralDataset(40, image_size=24, seed=5)
    images = np.stack([first.read(i) for i in range(40)])
    assert images.shape == (40, 3, 24, 24) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, np.stack([again.read(i) for i in range(40)]))
    np.testing.assert_array_equal(first.read(7), ProceduralDataset(8, 24, 5).read(7))
    other_seed = ProceduralDataset(40, image_size=24, seed=6).read(0)
    other_split = ProceduralDataset(40, image_size=24, seed=5, split="test").read(0)
    assert not np.array_equal(images[0], other_seed)
    assert not np.array_equal(images[0], other_split)
    assert {first.mode(i) for i in range(40)} == {0, 1, 2, 3}
    assert {ProceduralDataset(20, 24, 5, num_modes=1).mode(i) for i in range(20)} == {0}
    assert images.std() > 20  # not blank
    assert first.fingerprint() == again.fingerprint()
    assert first.fingerprint() != ProceduralDataset(40, image_size=24, seed=6).fingerprint()
    with pytest.raises(IndexError):
        first.read(40)


def test_open_dataset(cifar_root, celeba_dir, lsun_root):
    parent, _ = cifar_root
    assert isinstance(open_dataset("cifar10", parent, "test"), Cifar10Dataset)
    assert len(open_dataset("celeba-hq-128", celeba_dir, "test", test_size=2)) == 2
    assert len(open_dataset("lsun-bedroom", lsun_root[0], "test", test_size=2)) == 2
    procedural = open_dataset("procedural", None, "test", image_size=16, num_images=5)
    assert len(procedural) == 5 and procedural.read(0).shape == (3, 16, 16)
    assert len(open_dataset("procedural", None, "train")) == 50_000
    folder = open_dataset("folder", celeba_dir, "test", image_size=32, test_size=4)
    assert len(folder) == 4 and folder.read(0).shape == (3, 32, 32)
    for bad in [("imagenet", parent, "train"), ("cifar10", parent, "valid")]:
        with pytest.raises(InputError) as excinfo:
            open_dataset(*bad)
        assert_one_line_error(excinfo)
    with pytest.raises(InputError) as excinfo:
        open_dataset("cifar10", parent, "test", image_size=64)
    assert_one_line_error(excinfo, "32x32")
    with pytest.raises(InputError) as excinfo:
        open_dataset("lsun-bedroom", None, "test")
    assert_one_line_error(excinfo, "data")


def test_reference_manifest_matches_paper():
    sets = reference_sets()
    assert set(sets) == {"cifar10-test", "celeba-hq-128-test", "lsun-bedroom-test"}
    required = {
        "dataset",
        "split",
        "num_images",
        "split_num_images",
        "image_size",
        "source_files",
        "preprocessing",
        "protocol",
        "paper_baseline_fid",
    }
    for entry in sets.values():
        assert required <= set(entry)
        assert entry["split"] == "test" and entry["dataset"] in datasets.DATASET_NAMES
        assert entry["num_images"] <= entry["split_num_images"]
    # "The GAN Landscape" section 2.5 and section 4 (10k vs 10k, 3k vs 3k on CelebA-HQ-128).
    assert sets["cifar10-test"]["paper_baseline_fid"] == 5.19
    assert sets["celeba-hq-128-test"]["paper_baseline_fid"] == 12.6
    assert sets["lsun-bedroom-test"]["paper_baseline_fid"] == 3.8
    assert sets["lsun-bedroom-test"]["split_num_images"] == 30588
    assert sets["lsun-bedroom-test"]["num_images"] == 10000
    assert sets["celeba-hq-128-test"]["num_images"] == 3000
    assert sets["cifar10-test"]["image_size"] == 32


def test_open_reference(cifar_root, celeba_dir, lsun_root):
    parent, arrays = cifar_root
    with pytest.raises(InputError) as excinfo:
        open_reference("cifar10-test", parent)  # tiny copy: 3 test images, not 10,000
    assert_one_line_error(excinfo, "10000")
    cifar = open_reference("cifar10-test", parent, strict=False)
    assert len(cifar) == 3
    assert cifar.read(0)[0, 0, 0] == arrays["test_batch"][0][0]
    assert cifar.fingerprint() != Cifar10Dataset(parent, "test").fingerprint()
    with pytest.raises(InputError) as excinfo:
        open_reference("celeba-hq-128-test", celeba_dir, test_size=2)
    assert_one_line_error(excinfo, "30000")
    assert len(open_reference("celeba-hq-128-test", celeba_dir, strict=False, test_size=2)) == 2
    lsun = open_reference("lsun-bedroom-test", lsun_root[0], strict=False, test_size=3)
    full = LsunBedroomDataset(lsun_root[0], "test", test_size=3)
    assert len(lsun) == 3
    np.testing.assert_array_equal(lsun.read(2), full.read(2))
    with pytest.raises(InputError):
        open_reference("imagenet-test", parent)
