"""The one image-file layer: one listing and one order for folders, zips and the trainer's data."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganmetrics import images
from ganmetrics.datasets import ImageFolderDataset, open_dataset
from ganmetrics.errors import InputError
from ganmetrics.sources import FolderSource, ZipSource, open_source
from ganmetrics_train.data import TrainingBatches

SIDE = 8
# Creation order is scrambled; a code-point sort would put 10 before 2 and "sub/10" before "sub/9".
NAMES = ["10.png", "2.png", "1.png", "sub/10.jpg", "sub/9.png", "a10b.bmp", "a9b.webp", "A.PNG"]
NATURAL = ["1.png", "2.png", "10.png", "A.PNG", "a9b.webp", "a10b.bmp", "sub/9.png", "sub/10.jpg"]
SKIPPED = [".hidden.png", ".cache/x.png", "notes.txt", "scan.tif"]


def write_image(path: Path, index: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(index).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    pixels[0, 0] = index  # identifies the file after lossy JPEG too (roughly), by position
    fmt = {".jpg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}.get(path.suffix.lower(), "PNG")
    options = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(pixels).save(path, format=fmt, **options)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("natural")
    for index, name in enumerate(NAMES):
        write_image(root / name, index)
    for name in SKIPPED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not listed")
    return root


def test_natural_key_orders_digit_runs_as_numbers():
    assert images.sort_names(["10.png", "9.png", "1.png", "01.png"]) == [
        "01.png",
        "1.png",
        "9.png",
        "10.png",
    ]
    assert images.sort_names(["a/b.png", "a.png", "a-b.png"]) == ["a-b.png", "a.png", "a/b.png"]


def test_listing_skips_hidden_files_and_other_extensions(folder):
    assert images.list_image_names(folder) == NATURAL
    assert images.list_image_files(folder) == [folder / name for name in NATURAL]
    assert not images.is_image_name("a/.b/c.png") and images.is_image_name("a/B.JPEG")


def test_folder_zip_and_trainer_folder_dataset_read_one_order(folder, tmp_path):
    source = FolderSource(folder)
    assert source.names == NATURAL
    dataset = ImageFolderDataset(folder, image_size=SIDE)
    assert [path.relative_to(folder).as_posix() for path in dataset.files] == NATURAL
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for name in reversed(NAMES + SKIPPED):
            handle.write(folder / name, arcname=name)
        handle.writestr("__MACOSX/._1.png", b"resource fork")
    assert ZipSource(archive).names == NATURAL

    from_source = np.concatenate(list(source.batches(3)))
    from_dataset = np.concatenate(list(dataset.batches(3)))
    np.testing.assert_array_equal(from_source, from_dataset)  # same size: crop/resize is identity
    np.testing.assert_array_equal(np.concatenate(list(ZipSource(archive).batches(4))), from_source)
    stream = TrainingBatches(dataset, batch_size=4, seed=3)
    for _ in range(3):
        indices = stream.batch_indices(stream.next_batch)
        batch = next(stream)
        expected = torch.from_numpy(from_source[indices.numpy()]).float() / 255
        assert torch.equal(batch, expected)


def test_one_extension_list_everywhere(folder, tmp_path):
    assert open_dataset("folder", folder, "all", image_size=SIDE).all_files == [
        folder / name for name in NATURAL
    ]
    Image.new("RGB", (SIDE, SIDE)).save(tmp_path / "scan.tif")
    for reader in (FolderSource, lambda path: ImageFolderDataset(path, image_size=SIDE)):
        with pytest.raises(InputError) as error:
            reader(tmp_path)
        assert images.EXTENSIONS_TEXT in str(error.value)


def test_decode_errors_name_the_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(InputError) as error:
        images.decode_rgb(bad, str(bad))
    message = str(error.value)
    assert "\n" not in message and str(bad) in message and "cannot decode" in message
    with pytest.raises(InputError) as error:
        images.decode_rgb(tmp_path / "missing.png", "missing.png")
    assert "missing.png: cannot decode" in str(error.value)


class Failing:
    def __len__(self) -> int:
        return 6

    def read(self, index: int) -> np.ndarray:
        if index == 4:
            raise InputError("img 4: broken; replace it")
        return np.full((3, 2, 2), index, dtype=np.uint8)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_worker_errors_reach_the_caller_as_one_line(num_workers):
    batches = images.read_in_workers(Failing(), num_workers, batch_size=2)
    first = next(batches)
    assert first.shape == (2, 3, 2, 2) and first[1, 0, 0, 0] == 1
    next(batches)
    with pytest.raises(InputError) as error:
        next(batches)
    assert str(error.value) == "img 4: broken; replace it"


def test_num_above_what_a_source_holds_is_an_error_that_says_the_fix(folder):
    for spec in (folder, np.zeros((8, 3, 4, 4), np.uint8)):
        with pytest.raises(InputError) as error:
            open_source(spec, num=500)
        message = str(error.value)
        assert "\n" not in message
        assert "holds 8 images but --num 500 was asked; pass --num 8 or fewer" in message
    with pytest.raises(InputError) as error:
        FolderSource(folder).limit(9)
    assert "pass --num 8 or fewer" in str(error.value)
    for bad in (0, -3):
        with pytest.raises(InputError) as error:
            open_source(folder, num=bad)
        assert f"--num must be a positive integer, got {bad}" in str(error.value)
        assert "--num-real" not in str(error.value)
