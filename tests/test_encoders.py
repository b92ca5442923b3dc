"""Encoders beyond Inception (#16): agreement with the reference pipelines, CMMD against the
reference ``mmd()``, batch-size invariance, feature files and the one-line refusals.

Small members of the same families keep this fast (DINOv2 ViT-S/14, CLIP ViT-B/32) on three
images, with seeded random weights written in the official formats by ``make-test-weights``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganmetrics.encoders import make_extractor, write_test_weights
from ganmetrics.errors import InputError

pytest.importorskip("timm")
pytest.importorskip("open_clip")
TF = pytest.importorskip("torchvision.transforms")
TVF = pytest.importorskip("torchvision.transforms.functional")


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoder-weights")
    files = {
        "dinov2-vitl14": (folder / "dinov2_vits14_pretrain.pth", "vits14"),
        "clip-vitl14": (folder / "open_clip_model.safetensors", "ViT-B-32"),
        "clip-vitl14-336": (folder / "ViT-B-32.pt", "ViT-B-32"),
    }
    for seed, (name, (path, member)) in enumerate(files.items()):
        write_test_weights(name, path, seed=seed, member=member)
    yield {name: path for name, (path, _) in files.items()}
    for path, _ in files.values():  # ~800 MB: not kept with pytest's last three temp folders
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    """Three smooth-ish uint8 images, 40×52 (not square: the CMMD crop matters)."""
    rng = np.random.default_rng(7)
    coarse = rng.integers(0, 256, (3, 3, 10, 13)).astype(np.float32)
    smooth = F.interpolate(torch.from_numpy(coarse), size=(40, 52), mode="bilinear")
    noise = rng.normal(0, 12, smooth.shape)
    return np.clip(smooth.numpy() + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def extractors(weights):
    return {name: make_extractor(name, path, device="cpu", batch_size=3)
            for name, path in weights.items()}  # fmt: skip


def _pil(images: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(image.transpose(1, 2, 0), "RGB") for image in images]


def _ours(extractor, images: np.ndarray) -> np.ndarray:
    return next(extractor.features_of_batches([images]))[0]


# --- DINOv2: dgm-eval dgm_eval/models/dinov2.py transform + facebookresearch/dinov2 forward ---


def _dgm_eval_dinov2_transform(image: Image.Image) -> torch.Tensor:
    """layer6ai-labs/dgm-eval dgm_eval/models/dinov2.py, DINOv2Encoder.transform (no clean
    resize), verbatim."""
    imagenet_mean = np.array([0.485, 0.456, 0.406])
    imagenet_std = np.array([0.229, 0.224, 0.225])
    image = TF.Compose([TF.Resize((224, 224), TF.InterpolationMode.BICUBIC), TF.ToTensor()])(image)
    return TF.Normalize(imagenet_mean, imagenet_std)(image)


def _hub_dinov2_forward(state: dict, x: torch.Tensor) -> torch.Tensor:
    """facebookresearch/dinov2 dinov2/models/vision_transformer.py (DinoVisionTransformer,
    interpolate_offset=0.1, interpolate_antialias=False, MemEffAttention without xformers,
    LayerScale, Mlp), transcribed: ``forward`` = head(x_norm_clstoken), head = Identity."""
    dim = state["cls_token"].shape[-1]
    heads = dim // 64
    patch = state["patch_embed.proj.weight"].shape[-1]
    batch, _, w, h = x.shape
    x = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat((state["cls_token"].expand(batch, -1, -1), x), dim=1)
    # interpolate_pos_encoding(x, w, h)
    pos_embed = state["pos_embed"].float()
    class_pos_embed, patch_pos_embed = pos_embed[:, 0], pos_embed[:, 1:]
    n = pos_embed.shape[1] - 1
    w0, h0, m = w // patch, h // patch, int(math.sqrt(n))
    sx, sy = float(w0 + 0.1) / m, float(h0 + 0.1) / m
    patch_pos_embed = F.interpolate(
        patch_pos_embed.reshape(1, m, m, dim).permute(0, 3, 1, 2), scale_factor=(sx, sy),
        mode="bicubic", antialias=False,
    ).permute(0, 2, 3, 1).view(1, -1, dim)  # fmt: skip
    x = x + torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    for i in range(depth):
        p = {k[len(f"blocks.{i}.") :]: v for k, v in state.items() if k.startswith(f"blocks.{i}.")}
        y = F.layer_norm(x, (dim,), p["norm1.weight"], p["norm1.bias"], eps=1e-6)
        b, t, c = y.shape
        qkv = F.linear(y, p["attn.qkv.weight"], p["attn.qkv.bias"])
        qkv = qkv.reshape(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(b, t, c)
        y = F.linear(y, p["attn.proj.weight"], p["attn.proj.bias"])
        x = x + y * p["ls1.gamma"]
        y = F.layer_norm(x, (dim,), p["norm2.weight"], p["norm2.bias"], eps=1e-6)
        y = F.linear(F.gelu(F.linear(y, p["mlp.fc1.weight"], p["mlp.fc1.bias"])),
                     p["mlp.fc2.weight"], p["mlp.fc2.bias"])  # fmt: skip
        x = x + y * p["ls2.gamma"]
    x = F.layer_norm(x, (dim,), state["norm.weight"], state["norm.bias"], eps=1e-6)
    return x[:, 0]


def test_dinov2_features_equal_the_dgm_eval_pipeline(weights, images, extractors):
    state = torch.load(weights["dinov2-vitl14"], map_location="cpu", weights_only=True)
    batch = torch.stack([_dgm_eval_dinov2_transform(image) for image in _pil(images)])
    with torch.no_grad():
        reference = _hub_dinov2_forward(state, batch).numpy()
    ours = _ours(extractors["dinov2-vitl14"], images)
    assert ours.shape == (3, 384)
    assert reference.std() > 0.1  # random weights still give spread-out features
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)


# --- CLIP: dgm-eval dgm_eval/models/clip.py on open_clip (the library it uses) ---


def _open_clip_visual(path, arch: str):
    import open_clip

    from ganmetrics.encoders.open_clip_vit import read_visual_state

    model = open_clip.create_model(arch, pretrained=None)
    visual, _ = read_visual_state(path, "")
    model.visual.load_state_dict(visual)
    return model.eval()


def test_clip_features_equal_the_dgm_eval_pipeline(weights, images, extractors):
    model = _open_clip_visual(weights["clip-vitl14"], "ViT-B-32")
    mean = (0.48145466, 0.4578275, 0.40821073)
    std = (0.26862954, 0.26130258, 0.27577711)

    def transform(image):  # dgm-eval CLIPEncoder.transform (clean_resize=False), verbatim
        size = model.visual.image_size
        image = TVF.resize(image, size, interpolation=TF.InterpolationMode.BICUBIC).convert("RGB")
        image = TVF.to_tensor(image)
        image = TVF.center_crop(image, size)
        return TF.Normalize(mean, std)(image)

    def forward(x):  # dgm-eval CLIPEncoder.forward, depth=0 (open_clip batch-first blocks)
        v = model.visual
        x = v.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([v.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1]),
                       x], dim=1)  # fmt: skip
        x = v.patch_dropout(x + v.positional_embedding.to(x.dtype))
        x = v.ln_pre(x)
        for block in v.transformer.resblocks:
            x = block(x, attn_mask=None)
        return v.ln_post(x[:, 0])

    with torch.no_grad():
        reference = forward(torch.stack([transform(image) for image in _pil(images)])).numpy()
    ours = _ours(extractors["clip-vitl14"], images)
    assert ours.shape == (3, 768) and reference.std() > 0.1
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)


def test_clip336_embedding_equals_the_cmmd_pipeline(weights, images, extractors):
    model = _open_clip_visual(weights["clip-vitl14-336"], "ViT-B-32-quickgelu")
    size = model.visual.image_size[0]

    def read(image):  # google-research cmmd/io_util.py _center_crop_and_resize + _read_image
        w, h = image.size
        side = min(w, h)
        top, left = (h - side) // 2, (w - side) // 2
        image = image.crop((left, top, left + side, top + side))
        return np.asarray(image.resize((size, size), resample=Image.BICUBIC)).astype(np.float32)

    batch = np.stack([read(image) for image in _pil(images)]) / 255.0  # compute_embeddings_for_dir
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)  # scenic normalize_image
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
    batch = torch.from_numpy((batch - mean) / std).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        reference = model.encode_image(batch, normalize=True).numpy()
    ours = _ours(extractors["clip-vitl14-336"], images)
    assert ours.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["dinov2-vitl14", "clip-vitl14-336"])
def test_features_do_not_depend_on_batch_size(name, extractors, images):
    together = _ours(extractors[name], images)
    alone = np.concatenate([_ours(extractors[name], images[i : i + 1]) for i in range(3)])
    np.testing.assert_array_equal(together, alone)


# --- CMMD against google-research cmmd/distance.py mmd() ---


def _reference_mmd(x, y):
    """google-research cmmd/distance.py ``mmd`` transcribed from jax.numpy to numpy float64."""
    sigma, scale = 10, 1000
    x_sqnorms = np.diag(np.matmul(x, x.T))
    y_sqnorms = np.diag(np.matmul(y, y.T))
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * np.matmul(x, x.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(x_sqnorms, 0))))  # fmt: skip
    k_xy = np.mean(np.exp(-gamma * (-2 * np.matmul(x, y.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))  # fmt: skip
    k_yy = np.mean(np.exp(-gamma * (-2 * np.matmul(y, y.T) + np.expand_dims(y_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))  # fmt: skip
    return scale * (k_xx + k_yy - 2 * k_xy)


def test_cmmd_equals_the_reference_mmd(monkeypatch):
    from ganmetrics import cmmd as cmmd_module

    rng = np.random.default_rng(3)
    x = rng.normal(size=(70, 12)) * 4
    y = rng.normal(size=(50, 12)) * 4 + 1.0
    monkeypatch.setattr(cmmd_module, "_BLOCK", 16)  # several blocks
    expected = _reference_mmd(x, y)
    assert expected > 1.0
    assert cmmd_module.cmmd(x, y) == pytest.approx(expected, rel=1e-9)
    interval = cmmd_module.cmmd_interval(x, y, num_resamples=50, seed=1)
    assert interval.estimate == pytest.approx(expected, rel=1e-9)
    assert interval.low < expected < interval.high
    assert cmmd_module.cmmd(x, x) == pytest.approx(0.0, abs=1e-9)


# --- the API, files and errors ---


def test_feature_files_give_the_metrics_without_a_network(weights, images, tmp_path, monkeypatch):
    import ganmetrics

    monkeypatch.setenv("GANMETRICS_CACHE", str(tmp_path / "cache"))
    real, fake = images, images[::-1].copy()
    options = dict(encoder="clip-vitl14-336", encoder_weights=str(weights["clip-vitl14-336"]),
                   device="cpu", progress=False)  # fmt: skip
    direct = ganmetrics.evaluate(real, fake, ("cmmd", "fd"), **options)
    assert direct["meta"]["encoder"] == "clip-vitl14-336"
    assert direct["meta"]["weights_sha256"] and direct["meta"]["standard_weights"] is False
    ganmetrics.compute_features(real, tmp_path / "r.npz", **options)
    ganmetrics.compute_features(fake, tmp_path / "f.npz", **options)
    from_files = ganmetrics.evaluate(str(tmp_path / "r.npz"), str(tmp_path / "f.npz"),
                                     ("cmmd", "fd"), encoder="clip-vitl14-336")  # fmt: skip
    assert from_files["cmmd"] == pytest.approx(direct["cmmd"], rel=1e-9)
    assert from_files["meta"]["weights_sha256"] == direct["meta"]["weights_sha256"]
    with pytest.raises(InputError, match=r"features of the clip-vitl14-336 encoder.*--encoder"):
        ganmetrics.evaluate(str(tmp_path / "r.npz"), str(tmp_path / "f.npz"), ("kid",))
    stats = tmp_path / "stats.npz"
    ganmetrics.compute_stats(str(tmp_path / "r.npz"), stats, encoder="clip-vitl14-336")
    with pytest.raises(InputError, match="statistics of the clip-vitl14-336 encoder"):
        ganmetrics.evaluate(str(stats), fake, ("fid",), **{**options, "encoder": "inception"})


def test_fid_keeps_meaning_inception_and_is_is_refused():
    from ganmetrics.settings import EvalSettings

    settings = EvalSettings(metrics=("fid", "kid"), encoder="dinov2-vitl14").validated()
    assert settings.metrics == ("fd", "kid")
    assert EvalSettings(metrics=("fid",)).validated().metrics == ("fid",)
    with pytest.raises(InputError, match="Inception Score needs Inception's class logits"):
        EvalSettings(metrics=("is",), encoder="clip-vitl14").validated()
    with pytest.raises(InputError, match="unknown encoder"):
        EvalSettings(encoder="vgg").validated()


def test_weights_come_from_the_env_var_or_the_weights_folder(weights, monkeypatch, tmp_path):
    from ganmetrics.encoders import get_encoder
    from ganmetrics.encoders.weights import resolve_encoder_weights

    row = get_encoder("clip-vitl14-336")
    monkeypatch.setenv(row.env_var, str(weights["clip-vitl14-336"]))
    assert resolve_encoder_weights(row) == weights["clip-vitl14-336"]
    monkeypatch.delenv(row.env_var)
    (tmp_path / "ViT-L-14-336px.pt").write_bytes(b"x")
    monkeypatch.setenv("GANMETRICS_WEIGHTS_DIR", str(tmp_path))
    assert resolve_encoder_weights(row) == tmp_path / "ViT-L-14-336px.pt"
    with pytest.raises(InputError, match="not a CLIP weights file"):
        make_extractor("clip-vitl14-336", device="cpu")


def test_missing_weights_is_one_line_naming_file_source_and_test_weights(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from ganmetrics.cli import main

    monkeypatch.delenv("GANMETRICS_DINOV2_VITL14_WEIGHTS", raising=False)
    monkeypatch.delenv("GANMETRICS_WEIGHTS_DIR", raising=False)
    np.save(tmp_path / "a.npy", np.zeros((2, 8, 8, 3), np.uint8))
    array = str(tmp_path / "a.npy")
    arguments = ["fid", "--real", array, "--fake", array, "--encoder", "dinov2-vitl14"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "dinov2_vitl14_pretrain.pth" in line and "dl.fbaipublicfiles.com" in line
    assert "ganmetrics make-test-weights --encoder dinov2-vitl14" in line


def test_stream_on_another_encoder_equals_evaluate(weights, images, tmp_path, monkeypatch):
    """The encoders plug into ganmetrics.Stream: the same numbers as evaluate, and a feature file
    of the same encoder serves as the real side."""
    import ganmetrics

    monkeypatch.setenv("GANMETRICS_CACHE", str(tmp_path / "cache"))
    real, fake = images, images[::-1].copy()
    options = dict(encoder="clip-vitl14-336", encoder_weights=str(weights["clip-vitl14-336"]),
                   device="cpu", progress=False)  # fmt: skip
    expected = ganmetrics.evaluate(real, fake, ("cmmd", "fd"), **options)
    stream = ganmetrics.Stream(("cmmd", "fd"), **options)
    stream.update(torch.from_numpy(real), real=True)
    stream.update(torch.from_numpy(fake))
    got = stream.compute()
    assert got["cmmd"] == pytest.approx(expected["cmmd"], rel=1e-9)
    assert got["fd"] == pytest.approx(expected["fd"], rel=1e-9)
    assert got["meta"]["encoder"] == "clip-vitl14-336"
    ganmetrics.compute_features(real, tmp_path / "r.npz", **options)
    from_file = ganmetrics.Stream(("cmmd",), real=str(tmp_path / "r.npz"), **options)
    from_file.update(torch.from_numpy(fake))
    assert from_file.compute()["cmmd"] == pytest.approx(expected["cmmd"], rel=1e-9)
