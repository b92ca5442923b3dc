"""Tests of ganmetrics.sources: folders, zips, arrays, stats files, generators and dispatch."""

from __future__ import annotations

import itertools
import os
import sys
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from ganmetrics.errors import InputError
from ganmetrics.sources import (
    GENERATOR_CHUNK,
    GENERATOR_FORWARD_BATCH,
    ArraySource,
    CallableGeneratorSource,
    FolderSource,
    ImageSource,
    LimitedSource,
    ModuleGeneratorSource,
    StatsFile,
    ZipSource,
    load_generator_export,
    load_stats,
    open_source,
    resolve_callable_spec,
    save_generator_export,
    save_stats,
)

SIDE = 16


def random_rgb(count: int, seed: int, side: int = SIDE) -> np.ndarray:
    """``count`` random HWC uint8 images."""
    return np.random.default_rng(seed).integers(0, 256, (count, side, side, 3), dtype=np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def collect(source: ImageSource, batch_size: int = 4, num_workers: int = 0) -> np.ndarray:
    batches = list(source.batches(batch_size, num_workers=num_workers))
    for batch in batches:
        assert batch.dtype == np.uint8 and batch.ndim == 4 and batch.shape[1] == 3
        assert len(batch) <= batch_size
    return np.concatenate(batches)


def nchw(images_hwc: np.ndarray) -> np.ndarray:
    return images_hwc.transpose(0, 3, 1, 2)


def assert_one_line(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# Nested names in deliberately unsorted creation order; expected order written out by hand
# (code points: "A" < "a", "." < "/").
NESTED_NAMES = ["b.png", "a/c.png", "a.png", "A.PNG", "a/b/z.png", "a-b.png", "c/d/e.png"]
NESTED_ORDER = ["A.PNG", "a-b.png", "a.png", "a/b/z.png", "a/c.png", "b.png", "c/d/e.png"]


@pytest.fixture(scope="session")
def nested_folder(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("nested")
    pixels = dict(zip(NESTED_NAMES, random_rgb(len(NESTED_NAMES), seed=1), strict=True))
    for name, image in pixels.items():
        write_png(root / name, image)
    (root / "notes.txt").write_text("not an image")
    Image.fromarray(pixels["b.png"]).save(root / "skipped.gif")
    Image.fromarray(pixels["b.png"]).save(root / "skipped.tiff")
    return root, pixels


# -- folders ---------------------------------------------------------------------------------


def test_folder_order_is_sorted_posix_relative_path_and_deterministic(nested_folder):
    root, pixels = nested_folder
    source = FolderSource(root)
    assert source.names == NESTED_ORDER
    assert len(source) == len(NESTED_ORDER)
    expected = nchw(np.stack([pixels[name] for name in NESTED_ORDER]))
    np.testing.assert_array_equal(collect(source, batch_size=3), expected)
    np.testing.assert_array_equal(collect(FolderSource(root), batch_size=5), expected)
    assert source.image_size == (SIDE, SIDE)
    assert source.fingerprint() == FolderSource(str(root)).fingerprint()


def test_folder_extension_filter_is_case_insensitive(tmp_path):
    image = random_rgb(1, seed=2)[0]
    for name, fmt in [
        ("one.JPG", "JPEG"),
        ("two.Jpeg", "JPEG"),
        ("three.BMP", "BMP"),
        ("four.webp", "WEBP"),
        ("five.png", "PNG"),
        ("six.gif", "GIF"),
        ("seven.tif", "TIFF"),
    ]:
        Image.fromarray(image).save(tmp_path / name, format=fmt)
    source = FolderSource(tmp_path)
    assert source.names == ["five.png", "four.webp", "one.JPG", "three.BMP", "two.Jpeg"]
    lossless = collect(source)[[0, 3]]
    np.testing.assert_array_equal(lossless, nchw(np.stack([image, image])))


def test_num_takes_first_images_and_is_validated(nested_folder):
    root, pixels = nested_folder
    source = FolderSource(root, num=3)
    assert source.names == NESTED_ORDER[:3]
    expected = nchw(np.stack([pixels[name] for name in NESTED_ORDER[:3]]))
    np.testing.assert_array_equal(collect(source, batch_size=2), expected)
    assert source.fingerprint() != FolderSource(root).fingerprint()
    with pytest.raises(InputError) as error:
        FolderSource(root, num=100)
    assert_one_line(error, str(root), "--num")
    with pytest.raises(InputError):
        FolderSource(root, num=0)


def test_grayscale_palette_alpha_and_16bit_conversion(tmp_path):
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    rgba = rng.integers(0, 256, (SIDE, SIDE, 4), dtype=np.uint8)
    la = rng.integers(0, 256, (SIDE, SIDE, 2), dtype=np.uint8)
    wide = rng.integers(0, 1024, (SIDE, SIDE), dtype=np.uint16)
    palette_colors = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    indices = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)

    Image.fromarray(gray, mode="L").save(tmp_path / "a_gray.png")
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "b_rgba.png")
    Image.fromarray(la, mode="LA").save(tmp_path / "c_la.png")
    Image.fromarray(wide).save(tmp_path / "d_wide.png")
    palette_image = Image.fromarray(indices, mode="P")
    palette_image.putpalette(palette_colors.flatten().tolist())
    palette_image.save(tmp_path / "e_palette.png")

    images = collect(FolderSource(tmp_path), batch_size=2)
    as_rgb = [np.repeat(gray[None], 3, axis=0), rgba[..., :3].transpose(2, 0, 1)]
    as_rgb.append(np.repeat(la[None, ..., 0], 3, axis=0))
    as_rgb.append(np.repeat(np.minimum(wide, 255).astype(np.uint8)[None], 3, axis=0))
    as_rgb.append(palette_colors[indices].transpose(2, 0, 1))
    np.testing.assert_array_equal(images, np.stack(as_rgb))


def test_mixed_sizes_are_an_error_naming_the_file(tmp_path):
    write_png(tmp_path / "a.png", random_rgb(1, 4)[0])
    write_png(tmp_path / "b.png", random_rgb(1, 5)[0])
    write_png(tmp_path / "c.png", random_rgb(1, 6, side=12)[0])
    with pytest.raises(InputError) as error:
        collect(FolderSource(tmp_path))
    assert_one_line(error, str(tmp_path / "c.png"), "12x12", "16x16", "--resize")


def test_resize_uses_pil_bicubic_to_given_or_first_size(tmp_path):
    first, second = random_rgb(1, 7)[0], random_rgb(1, 8, side=12)[0]
    write_png(tmp_path / "a.png", first)
    write_png(tmp_path / "b.png", second)

    def bicubic(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
        resized = Image.fromarray(pixels).resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(resized).transpose(2, 0, 1)

    images = collect(FolderSource(tmp_path, resize=(8, 10)))
    assert images.shape == (2, 3, 8, 10)
    np.testing.assert_array_equal(images[0], bicubic(first, 8, 10))
    np.testing.assert_array_equal(images[1], bicubic(second, 8, 10))

    source = FolderSource(tmp_path, resize=True)
    assert source.image_size == (SIDE, SIDE)
    images = collect(source)
    np.testing.assert_array_equal(images[0], first.transpose(2, 0, 1))
    np.testing.assert_array_equal(images[1], bicubic(second, SIDE, SIDE))
    assert source.fingerprint() != FolderSource(tmp_path, resize=(8, 10)).fingerprint()


@pytest.fixture(scope="session")
def broken_folders(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Folders of 10 good images plus one corrupt or truncated file sorted late."""
    folders = {}
    for kind in ("corrupt", "truncated"):
        root = tmp_path_factory.mktemp(kind)
        for index, image in enumerate(random_rgb(10, seed=9)):
            write_png(root / f"img_{index:02d}.png", image)
        bad = root / "img_07_bad.png"
        if kind == "corrupt":
            bad.write_bytes(b"\x89PNG not really an image" + os.urandom(64))
        else:
            full = (root / "img_00.png").read_bytes()
            bad.write_bytes(full[: len(full) * 2 // 3])
        folders[kind] = (root, bad)
    return folders


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("kind", ["corrupt", "truncated"])
def test_broken_file_is_named_in_one_line(broken_folders, kind, num_workers, monkeypatch):
    root, bad = broken_folders[kind]
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(InputError) as error:
        collect(FolderSource(root), batch_size=3, num_workers=num_workers)
    assert_one_line(error, str(bad), "cannot decode")


def test_missing_empty_and_single_image_folders(tmp_path):
    with pytest.raises(InputError) as error:
        FolderSource(tmp_path / "absent")
    assert_one_line(error, "absent", ".png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(InputError) as error:
        FolderSource(tmp_path / "empty")
    assert_one_line(error, "empty", ".png .jpg .jpeg .bmp .webp")
    write_png(tmp_path / "one" / "only.png", random_rgb(1, 10)[0])
    with pytest.raises(InputError) as error:
        open_source(tmp_path / "one")
    assert_one_line(error, "one", "at least 2")


def test_folder_fingerprint_tracks_mtime_and_size(tmp_path):
    for index, image in enumerate(random_rgb(3, seed=11)):
        write_png(tmp_path / f"{index}.png", image)
    before = FolderSource(tmp_path).fingerprint()
    assert before == FolderSource(tmp_path).fingerprint()
    stat = os.stat(tmp_path / "1.png")
    os.utime(tmp_path / "1.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert FolderSource(tmp_path).fingerprint() != before


# -- zips ------------------------------------------------------------------------------------


def test_zip_equals_folder(nested_folder, tmp_path):
    root, _ = nested_folder
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for name in reversed(NESTED_NAMES):
            handle.write(root / name, arcname=name)
        handle.writestr("a/", b"")
        handle.writestr("__MACOSX/a/._c.png", b"resource fork junk")
        handle.writestr("notes.txt", b"text")
    folder_images = collect(FolderSource(root))
    source = ZipSource(archive)
    assert source.names == NESTED_ORDER
    np.testing.assert_array_equal(collect(source, batch_size=3), folder_images)
    np.testing.assert_array_equal(collect(source, batch_size=2, num_workers=2), folder_images)
    assert isinstance(open_source(str(archive), num=4), ZipSource)
    np.testing.assert_array_equal(collect(open_source(archive, num=4)), folder_images[:4])
    assert source.fingerprint() == ZipSource(archive).fingerprint()
    assert source.fingerprint() != ZipSource(archive, num=4).fingerprint()


def test_zip_with_corrupt_member_and_bad_archive(broken_folders, tmp_path):
    root, bad = broken_folders["corrupt"]
    archive = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(root.iterdir()):
            handle.write(path, arcname=path.name)
    with pytest.raises(InputError) as error:
        collect(ZipSource(archive), batch_size=4, num_workers=2)
    assert_one_line(error, f"{archive}:{bad.name}")
    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"no zip here")
    with pytest.raises(InputError) as error:
        ZipSource(not_zip)
    assert_one_line(error, str(not_zip), "zip")


# -- arrays ----------------------------------------------------------------------------------


def test_nhwc_and_nchw_arrays_and_tensors_agree():
    hwc = random_rgb(6, seed=12)
    expected = nchw(hwc)
    for array in (hwc, expected, torch.from_numpy(hwc), torch.from_numpy(expected.copy())):
        source = ArraySource(array)
        assert source.image_size == (SIDE, SIDE)
        np.testing.assert_array_equal(collect(source, batch_size=4), expected)
    assert ArraySource(hwc).layout == "NHWC" and ArraySource(expected).layout == "NCHW"
    np.testing.assert_array_equal(collect(ArraySource(hwc, num=3)), expected[:3])


def test_array_grayscale_ambiguous_and_invalid_shapes():
    gray = np.random.default_rng(13).integers(0, 256, (4, 1, 5, 5), dtype=np.uint8)
    np.testing.assert_array_equal(collect(ArraySource(gray)), np.repeat(gray, 3, axis=1))
    gray_hwc = gray.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(collect(ArraySource(gray_hwc)), np.repeat(gray, 3, axis=1))
    ambiguous = np.random.default_rng(14).integers(0, 256, (4, 3, 7, 3), dtype=np.uint8)
    source = ArraySource(ambiguous)
    assert source.layout == "NCHW" and source.image_size == (7, 3)
    for shape in [(4, 4, 8, 8), (4, 8, 8), (4, 8, 8, 5)]:
        with pytest.raises(InputError) as error:
            ArraySource(np.zeros(shape, dtype=np.uint8), description="bad.npy")
        assert_one_line(error, "bad.npy")
    with pytest.raises(InputError) as error:
        ArraySource(np.zeros((4, 3, 8, 8), dtype=np.int64))
    assert_one_line(error, "int64")
    with pytest.raises(InputError):
        ArraySource(np.zeros((1, 3, 8, 8), dtype=np.uint8))


def test_float_ranges_map_with_rint_and_clip():
    levels = np.arange(256, dtype=np.float64)
    offsets = np.random.default_rng(15).uniform(-0.45, 0.45, 256)
    target = levels.astype(np.uint8)
    for value_range, lo, hi in [("0,1", 0.0, 1.0), ("-1, 1", -1.0, 1.0), ((-1, 1), -1.0, 1.0)]:
        values = lo + (levels + offsets) * (hi - lo) / 255.0
        values = np.concatenate([values, [lo - 0.3, hi + 0.3]])
        images = np.broadcast_to(values[:, None, None, None], (258, 3, 2, 2)).astype(np.float32)
        got = collect(ArraySource(images, value_range=value_range), batch_size=100)
        np.testing.assert_array_equal(got[:256, 0, 0, 0], target)
        assert got[256, 0, 0, 0] == 0 and got[257, 0, 0, 0] == 255
    with pytest.raises(InputError) as error:
        ArraySource(np.zeros((2, 3, 4, 4), dtype=np.float32), description="floats.npy")
    assert_one_line(error, "floats.npy", "--range 0,1", "--range -1,1")
    with pytest.raises(InputError) as error:
        ArraySource(np.zeros((2, 3, 4, 4), dtype=np.float32), value_range="0,255")
    assert_one_line(error, "--range")


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays_are_refused(bad_value):
    images = np.zeros((5, 3, 4, 4), dtype=np.float32)
    images[3, 1, 2, 2] = bad_value
    with pytest.raises(InputError) as error:
        ArraySource(images, value_range="0,1", description="gen.npy")
    assert_one_line(error, "gen.npy", "image 3", "NaN")
    with pytest.raises(InputError):
        ArraySource(torch.from_numpy(images), value_range="0,1")


def test_npy_and_npz_image_files(tmp_path):
    images = nchw(random_rgb(5, seed=16))
    np.save(tmp_path / "images.npy", images)
    np.savez(tmp_path / "single.npz", images.transpose(0, 2, 3, 1))
    np.savez(tmp_path / "keyed.npz", labels=np.arange(5), images=images)
    np.savez(tmp_path / "unclear.npz", first=images, second=images)
    for name in ("images.npy", "single.npz", "keyed.npz"):
        source = open_source(tmp_path / name)
        assert isinstance(source, ArraySource)
        np.testing.assert_array_equal(collect(source), images)
    with pytest.raises(InputError) as error:
        open_source(tmp_path / "unclear.npz")
    assert_one_line(error, "unclear.npz", "images")

    fingerprint = open_source(tmp_path / "images.npy").fingerprint()
    assert fingerprint == open_source(tmp_path / "images.npy").fingerprint()
    assert fingerprint != open_source(tmp_path / "images.npy", num=4).fingerprint()
    changed = images.copy()
    changed[2, 0, 0, 0] ^= 1
    np.save(tmp_path / "images.npy", changed)
    assert open_source(tmp_path / "images.npy").fingerprint() != fingerprint
    assert ArraySource(images).fingerprint() != ArraySource(changed).fingerprint()
    assert ArraySource(images).fingerprint() == ArraySource(images.copy()).fingerprint()


def test_pickled_arrays_are_refused(tmp_path):
    objects = np.array([{"a": 1}, None], dtype=object)
    np.savez(tmp_path / "pickled.npz", images=objects)
    np.save(tmp_path / "pickled.npy", objects, allow_pickle=True)
    for name in ("pickled.npz", "pickled.npy"):
        with pytest.raises(InputError) as error:
            open_source(tmp_path / name)
        assert_one_line(error, name, "holds pickled objects", "refuses to unpickle")
    np.savez(tmp_path / "pickled_stats.npz", mu=objects, sigma=objects)
    with pytest.raises(InputError) as error:
        load_stats(tmp_path / "pickled_stats.npz")
    assert_one_line(error, "refuses to unpickle")


# -- statistics files ------------------------------------------------------------------------


def random_stats(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A mean and a symmetric positive-definite covariance (low rank plus a diagonal)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(dim, 4))
    return rng.normal(size=dim), factors @ factors.T + 0.1 * np.eye(dim)


def test_stats_round_trip_and_pytorch_fid_compatibility(tmp_path):
    mu, sigma = random_stats(2048, seed=17)
    path = tmp_path / "ref_stats.npz"
    save_stats(
        path,
        mu.astype(np.float32),
        sigma,
        n=10000,
        weights_sha256="abc123",
        source_fingerprint="f00d",
        meta_json={"protocol": "landscape"},
        dataset="cifar10",
    )
    stats = load_stats(path)
    assert stats.mu.dtype == np.float64 and stats.sigma.dtype == np.float64
    np.testing.assert_array_equal(stats.mu, mu.astype(np.float32).astype(np.float64))
    np.testing.assert_array_equal(stats.sigma, sigma)
    assert stats.num_images == 10000
    assert stats.meta["weights_sha256"] == "abc123"
    assert stats.meta["source_fingerprint"] == "f00d"
    assert stats.meta["protocol"] == "landscape" and stats.meta["dataset"] == "cifar10"
    assert "ganmetrics_version" in stats.meta
    assert stats.path == path and stats.dim == 2048

    # The loader of pytorch_fid.fid_score.compute_statistics_of_path (importing the package
    # costs ~10 s of torchvision start-up, so its two lines are repeated here).
    with np.load(str(path)) as data:
        fid_mu, fid_sigma = data["mu"][:], data["sigma"][:]
    np.testing.assert_array_equal(fid_mu, stats.mu)
    np.testing.assert_array_equal(fid_sigma, stats.sigma)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)

    opened = open_source(path, num=50)
    assert isinstance(opened, StatsFile)
    np.testing.assert_array_equal(opened.mu, stats.mu)
    assert open_source(stats) is stats


def test_stats_from_plain_pytorch_fid_file_and_small_dims(tmp_path):
    mu, sigma = random_stats(16, seed=18)
    np.savez(tmp_path / "plain.npz", mu=mu, sigma=sigma)
    stats = load_stats(tmp_path / "plain.npz", expected_dim=16)
    assert stats.num_images is None and stats.meta == {}
    np.testing.assert_array_equal(stats.sigma, sigma)
    assert isinstance(open_source(tmp_path / "plain.npz", stats_dim=16), StatsFile)
    save_stats(tmp_path / "counted.npz", mu, sigma, num_images=3000)
    assert load_stats(tmp_path / "counted.npz", expected_dim=16).num_images == 3000


def test_invalid_stats_are_refused(tmp_path):
    mu, sigma = random_stats(16, seed=19)
    save_stats(tmp_path / "small.npz", mu, sigma)
    with pytest.raises(InputError) as error:
        load_stats(tmp_path / "small.npz")
    assert_one_line(error, "small.npz", "(16,)", "(16, 16)", "(2048,)", "(2048, 2048)")
    with pytest.raises(InputError):
        open_source(tmp_path / "small.npz")

    np.savez(tmp_path / "mismatch.npz", mu=mu, sigma=sigma[:8, :8])
    with pytest.raises(InputError) as error:
        load_stats(tmp_path / "mismatch.npz", expected_dim=16)
    assert_one_line(error, "mismatch.npz", "(8, 8)")

    np.savez(tmp_path / "only_mu.npz", mu=mu)
    with pytest.raises(InputError) as error:
        open_source(tmp_path / "only_mu.npz")
    assert_one_line(error, "only_mu.npz", "sigma")

    nan_sigma = sigma.copy()
    nan_sigma[3, 4] = np.nan
    np.savez(tmp_path / "nan.npz", mu=mu, sigma=nan_sigma)
    with pytest.raises(InputError) as error:
        load_stats(tmp_path / "nan.npz", expected_dim=16)
    assert_one_line(error, "nan.npz", "NaN")

    with pytest.raises(InputError) as error:
        load_stats(tmp_path / "absent.npz")
    assert_one_line(error, "absent.npz")


# -- generators ------------------------------------------------------------------------------


class RecordingGenerator:
    """fn(n, seed) returning uint8 NCHW images that depend only on the seed."""

    def __init__(self):
        self.calls: list[tuple[int, int]] = []

    def __call__(self, n: int, seed: int) -> np.ndarray:
        self.calls.append((n, seed))
        return np.random.default_rng(seed).integers(0, 256, (n, 3, 4, 4), dtype=np.uint8)


def test_callable_generator_is_chunked_deterministic_and_batch_size_independent():
    fn = RecordingGenerator()
    num, seed = 1100, 7
    source = CallableGeneratorSource(fn, num, seed=seed, description="recording")
    assert len(source) == num and source.fingerprint() is None and source.image_size is None
    small_batches = collect(source, batch_size=7)
    assert fn.calls == [(GENERATOR_CHUNK, seed * 100003 + index) for index in range(3)]
    assert source.image_size == (4, 4)
    reference = RecordingGenerator()
    expected = np.concatenate([reference(GENERATOR_CHUNK, seed * 100003 + i) for i in range(3)])
    np.testing.assert_array_equal(small_batches, expected[:num])
    np.testing.assert_array_equal(collect(source, batch_size=512), small_batches)
    prefix = collect(CallableGeneratorSource(RecordingGenerator(), 600, seed=seed), batch_size=64)
    np.testing.assert_array_equal(prefix, small_batches[:600])
    other_seed = collect(CallableGeneratorSource(RecordingGenerator(), 20, seed=8))
    assert not np.array_equal(other_seed, small_batches[:20])


def test_callable_generator_floats_layouts_and_errors():
    def tanh_nhwc(n: int, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(n, 4, 4, 3, generator=generator) * 2 - 1

    images = collect(CallableGeneratorSource(tanh_nhwc, 10, value_range="-1,1"))
    raw = tanh_nhwc(GENERATOR_CHUNK, 0)[:10].double().numpy().transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(images, np.clip(np.rint((raw + 1) * 127.5), 0, 255))

    with pytest.raises(InputError) as error:
        collect(CallableGeneratorSource(tanh_nhwc, 10, description="mygen"))
    assert_one_line(error, "mygen", "--range 0,1")

    def with_nan(n: int, seed: int) -> np.ndarray:
        images = np.zeros((n, 3, 4, 4), dtype=np.float32)
        images[2, 0, 0, 0] = np.nan
        return images

    with pytest.raises(InputError) as error:
        collect(CallableGeneratorSource(with_nan, 10, value_range="0,1", description="nangen"))
    assert_one_line(error, "nangen", "NaN")

    with pytest.raises(InputError) as error:
        collect(CallableGeneratorSource(lambda n, seed: np.zeros((3, 3, 4, 4), np.uint8), 10))
    assert_one_line(error, "exactly n images")


class TinyGenerator(torch.nn.Module):
    """z -> sigmoid images (N, 3, 4, 4); dropout makes train mode visibly nondeterministic."""

    def __init__(self, z_dim: int = 8, side: int = 4):
        super().__init__()
        self.side = side
        self.linear = torch.nn.Linear(z_dim, 3 * side * side)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = torch.sigmoid(self.dropout(self.linear(z)) * 3)
        return images.view(len(z), 3, self.side, self.side)


@pytest.mark.parametrize("z_distribution", ["uniform", "normal"])
def test_module_generator_matches_independent_computation(z_distribution):
    torch.manual_seed(0)
    module = TinyGenerator().train()
    num, seed = 530, 5
    source = ModuleGeneratorSource(module, num, z_dim=8, seed=seed, z_distribution=z_distribution)
    images = collect(source, batch_size=1)
    assert not module.training and source.fingerprint() is None
    np.testing.assert_array_equal(collect(source, batch_size=64), images)
    prefix = ModuleGeneratorSource(module, 30, z_dim=8, seed=seed, z_distribution=z_distribution)
    np.testing.assert_array_equal(collect(prefix, batch_size=7), images[:30])

    generator = torch.Generator().manual_seed(seed)
    draws = []
    for _ in range(2):
        if z_distribution == "uniform":
            draws.append(torch.rand(GENERATOR_CHUNK, 8, generator=generator) * 2 - 1)
        else:
            draws.append(torch.randn(GENERATOR_CHUNK, 8, generator=generator))
    z = torch.cat(draws)
    if z_distribution == "uniform":
        assert z.min() >= -1 and z.max() <= 1
    with torch.no_grad():
        pieces = [
            module(z[start : start + GENERATOR_FORWARD_BATCH]) for start in range(0, 600, 100)
        ]
    expected = torch.cat(pieces)[:num].double().numpy()
    np.testing.assert_array_equal(images, np.clip(np.rint(expected * 255), 0, 255))
    assert source.image_size == (4, 4)


def test_module_generator_needs_num_and_z_dim():
    with pytest.raises(InputError) as error:
        open_source(TinyGenerator(), z_dim=8)
    assert_one_line(error, "--num N")
    with pytest.raises(InputError) as error:
        open_source(TinyGenerator(), num=10)
    assert_one_line(error, "--z-dim")
    source = open_source(TinyGenerator(), num=10, z_dim=8)
    assert isinstance(source, ModuleGeneratorSource) and len(source) == 10


@pytest.fixture
def importable_tmp(tmp_path, monkeypatch) -> tuple[Path, str]:
    """tmp_path as the working folder with a uniquely named module written into it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    name = f"ganmetrics_test_mod_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "import numpy as np\n"
        "import torch\n\n"
        "def build(z_dim, side):\n"
        "    return torch.nn.Sequential(\n"
        "        torch.nn.Linear(z_dim, 3 * side * side), torch.nn.Sigmoid(),\n"
        "        torch.nn.Unflatten(1, (3, side, side)))\n\n"
        "def sample(n, seed):\n"
        "    return np.random.default_rng(seed).integers(0, 256, (n, 5, 5, 3), dtype=np.uint8)\n\n"
        "NOT_CALLABLE = 3\n"
    )
    yield tmp_path, name
    sys.modules.pop(name, None)


def test_generator_export_round_trip(importable_tmp):
    tmp_path, name = importable_tmp
    build = resolve_callable_spec(f"{name}:build")
    torch.manual_seed(1)
    original = build(z_dim=6, side=4)
    path = tmp_path / "generator.pt"
    save_generator_export(path, original, f"{name}:build", {"z_dim": 6, "side": 4}, 6, "normal")

    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "ganmetrics.generator/1"
    module, header = load_generator_export(path)
    assert not module.training
    assert header == {
        "format": "ganmetrics.generator/1",
        "builder": f"{name}:build",
        "builder_kwargs": {"z_dim": 6, "side": 4},
        "z_dim": 6,
        "z_distribution": "normal",
    }
    for key, value in original.state_dict().items():
        torch.testing.assert_close(module.state_dict()[key], value, rtol=0, atol=0)

    source = open_source(str(path), num=12, seed=3)
    assert isinstance(source, ModuleGeneratorSource) and source.z_distribution == "normal"
    direct = ModuleGeneratorSource(original, 12, z_dim=6, seed=3, z_distribution="normal")
    np.testing.assert_array_equal(collect(source), collect(direct))
    with pytest.raises(InputError) as error:
        open_source(path)
    assert_one_line(error, "--num N")


def test_generator_export_refuses_wrong_files(importable_tmp):
    tmp_path, name = importable_tmp
    wrong_format = tmp_path / "wrong.pt"
    torch.save({"format": "something/2", "state_dict": {}}, wrong_format)
    missing_keys = tmp_path / "missing.pt"
    torch.save({"format": "ganmetrics.generator/1", "z_dim": 4}, missing_keys)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    bad_weights = tmp_path / "bad_weights.pt"
    save_generator_export(
        bad_weights, torch.nn.Linear(2, 2), f"{name}:build", {"z_dim": 6, "side": 4}, 6
    )
    for path, fragment in [
        (wrong_format, "something/2"),
        (missing_keys, "builder"),
        (garbage, "cannot load"),
        (bad_weights, "weights do not fit"),
    ]:
        with pytest.raises(InputError) as error:
            load_generator_export(path)
        assert_one_line(error, str(path), fragment)


def test_module_callable_spec(importable_tmp):
    _, name = importable_tmp
    source = open_source(f"{name}:sample", num=10, seed=2)
    assert isinstance(source, CallableGeneratorSource) and source.description == f"{name}:sample"
    expected = np.random.default_rng(2 * 100003).integers(
        0, 256, (GENERATOR_CHUNK, 5, 5, 3), dtype=np.uint8
    )[:10]
    np.testing.assert_array_equal(collect(source, batch_size=3), nchw(expected))
    with pytest.raises(InputError) as error:
        open_source(f"{name}:sample")
    assert_one_line(error, f"{name}:sample", "--num N")
    with pytest.raises(InputError) as error:
        open_source("typo_folder_ganmetrics:test")
    assert_one_line(error, "no such file or folder", "--num N")
    with pytest.raises(InputError) as error:
        open_source(f"{name}:missing", num=10)
    assert_one_line(error, "missing")
    with pytest.raises(InputError) as error:
        open_source(f"{name}:NOT_CALLABLE", num=10)
    assert_one_line(error, "not callable")
    with pytest.raises(InputError) as error:
        open_source("no_such_module_ganmetrics:fn", num=10)
    assert_one_line(error, "no_such_module_ganmetrics")


# -- dispatch --------------------------------------------------------------------------------


def test_nonexistent_path(tmp_path):
    for spec in (tmp_path / "nothing", str(tmp_path / "nothing.npz")):
        with pytest.raises(InputError) as error:
            open_source(spec)
        assert_one_line(error, "nothing", "no such file or folder", "module:callable")
    (tmp_path / "image.gif").write_bytes(b"GIF89a")
    with pytest.raises(InputError) as error:
        open_source(tmp_path / "image.gif")
    assert_one_line(error, "image.gif", "unsupported")


class CountingSource(ImageSource):
    """A non-indexed source from another module: images i have all pixels equal to i."""

    description = "counting"

    def __len__(self) -> int:
        return 9

    def fingerprint(self) -> str:
        return "counting-v1"

    def batches(self, batch_size, num_workers=0):
        for start in range(0, 9, batch_size):
            indices = np.arange(start, min(start + batch_size, 9), dtype=np.uint8)
            yield np.broadcast_to(indices[:, None, None, None], (len(indices), 3, 2, 2)).copy()


def test_open_source_passes_sources_through_and_limits_them(nested_folder):
    root, _ = nested_folder
    folder = FolderSource(root)
    assert open_source(folder) is folder
    limited = open_source(folder, num=2)
    assert len(limited) == 2
    np.testing.assert_array_equal(collect(limited), collect(folder)[:2])
    assert limited.fingerprint() == FolderSource(root, num=2).fingerprint()

    counting = open_source(CountingSource(), num=5)
    assert isinstance(counting, LimitedSource) and len(counting) == 5
    assert [int(batch[0, 0, 0, 0]) for batch in counting.batches(2)] == [0, 2, 4]
    np.testing.assert_array_equal(collect(counting, batch_size=2)[:, 0, 0, 0], np.arange(5))
    assert counting.fingerprint() not in (None, "counting-v1")
    with pytest.raises(InputError):
        open_source(CountingSource(), num=10)

    array = open_source(random_rgb(4, seed=20), num=3)
    assert isinstance(array, ArraySource) and len(array) == 3
    generator = open_source(RecordingGenerator(), num=4, seed=1)
    assert isinstance(generator, CallableGeneratorSource) and generator.seed == 1
    with pytest.raises(InputError) as error:
        open_source(RecordingGenerator())
    assert_one_line(error, "--num N")
    with pytest.raises(InputError):
        open_source(12345)


def test_limit_on_indexed_sources_never_reads_past_the_limit(broken_folders):
    root, _ = broken_folders["corrupt"]
    source = FolderSource(root)
    assert source.names.index("img_07_bad.png") == 8
    for limited in (source.limit(8), LimitedSource(source, 8)):
        images = collect(limited, batch_size=3, num_workers=0)
        assert len(images) == 8
    assert len(list(itertools.islice(source.batches(2), 3))) == 3
