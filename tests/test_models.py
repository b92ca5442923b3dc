"""Tests for ganmetrics_train.models: Tables 3-6 and Appendix D of "The GAN Landscape".

Shapes at 128 px and parameter counts are checked on the ``meta`` device (no arithmetic); numerical
properties run on small CPU tensors.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganmetrics_train.models import (
    ABLATIONS,
    ARCHITECTURES,
    D_NORMALIZATIONS,
    build_discriminator,
    build_generator,
    validate_architecture,
)
from ganmetrics_train.models.layers import (
    Conv2dSame,
    ConvTranspose2dSame,
    Linear,
    tf_same_output_size,
    tf_same_padding,
    unpool,
)
from ganmetrics_train.models.normalization import (
    BatchNorm,
    LayerNorm,
    SpectralNorm,
    TranslatedReLU,
    WeightNorm,
)


def _row_output_shapes(model: nn.Module, inputs: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Run ``model`` and return each table row's output shape without the batch dimension."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        row.register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:]))
        )
        for name, row in model.rows.named_children()
    ]
    try:
        model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _chw(h: int, c: int) -> tuple[int, int, int]:
    """Table entry "h x h x c" in PyTorch's (C, H, W) order."""
    return (c, h, h)


def _sndcgan_rows(s: int) -> tuple[list, list]:
    """Table 3 (a) discriminator and (b) generator output rows for image size s."""
    d = [_chw(s, 64), _chw(s // 2, 128), _chw(s // 2, 128), _chw(s // 4, 256)]
    d += [_chw(s // 4, 256), _chw(s // 8, 512), _chw(s // 8, 512), (1,)]
    g = [_chw(s // 8, 512), _chw(s // 4, 256), _chw(s // 2, 128), _chw(s, 64), _chw(s, 3)]
    return d, g


def _dcgan_rows(s: int) -> tuple[list, list]:
    """compare_gan dcgan_architecture.py: conv 5x5/2 64-128-256-512 and its mirror generator."""
    d = [_chw(s // 2, 64), _chw(s // 4, 128), _chw(s // 8, 256), _chw(s // 16, 512), (1,)]
    g = [_chw(s // 16, 512), _chw(s // 8, 256), _chw(s // 4, 128), _chw(s // 2, 64), _chw(s, 3)]
    return d, g


# Table 4 (ResNet19, 128x128) and Table 6 (ResNet CIFAR, 32x32), plus the final conv to RGB.
RESNET19_D_ROWS = [_chw(64, 64), _chw(32, 128), _chw(16, 256), _chw(8, 256)]
RESNET19_D_ROWS += [_chw(4, 512), _chw(2, 512), (512,), (1,)]
RESNET19_G_ROWS = [_chw(4, 512), _chw(8, 512), _chw(16, 256), _chw(32, 256), _chw(64, 128)]
RESNET19_G_ROWS += [_chw(128, 64), _chw(128, 64), _chw(128, 3)]
CIFAR_D_ROWS = [_chw(16, 128), _chw(8, 128), _chw(8, 128), _chw(8, 128), (128,), (1,)]
CIFAR_G_ROWS = [_chw(4, 256), _chw(8, 256), _chw(16, 256), _chw(32, 256), _chw(32, 256)]
CIFAR_G_ROWS += [_chw(32, 3)]

TABLE_CASES = [
    ("sndcgan", 32, *_sndcgan_rows(32)),
    ("sndcgan", 128, *_sndcgan_rows(128)),
    ("dcgan", 32, *_dcgan_rows(32)),
    ("dcgan", 128, *_dcgan_rows(128)),
    ("resnet_cifar", 32, CIFAR_D_ROWS, CIFAR_G_ROWS),
    ("resnet19", 128, RESNET19_D_ROWS, RESNET19_G_ROWS),
]


@pytest.mark.parametrize(("arch", "size", "d_rows", "g_rows"), TABLE_CASES)
def test_every_row_output_shape_matches_the_tables(arch, size, d_rows, g_rows):
    d_norm = "bn" if arch != "sndcgan" else "sn"
    with torch.device("meta"):
        generator = build_generator(arch, size)
        discriminator = build_discriminator(arch, size, norm=d_norm)
        z = torch.empty(2, 128)
        g_shapes = _row_output_shapes(generator, z)
        d_shapes = _row_output_shapes(discriminator, torch.empty(2, 3, size, size))
    assert list(g_shapes.values()) == g_rows
    assert list(d_shapes.values()) == d_rows


def _hook_shapes(modules: dict[str, nn.Module], run) -> dict[str, list[tuple[int, ...]]]:
    shapes: dict[str, list[tuple[int, ...]]] = {name: [] for name in modules}
    handles = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: shapes[name].append(tuple(out.shape[1:]))
        )
        for name, module in modules.items()
    ]
    run()
    for handle in handles:
        handle.remove()
    return shapes


def test_resnet_block_internals_match_table5():
    with torch.device("meta"):
        generator = build_generator("resnet19", 128)
        discriminator = build_discriminator("resnet19", 128, norm="ln")
        g_block = generator.rows.block2  # h = 8, c_i = 512, c_o = 256
        d_block = discriminator.rows.block2  # h = 64, c_i = 64, c_o = 128
        g_parts = {n: getattr(g_block, n) for n in ("shortcut", "activation1", "conv1", "conv2")}
        d_parts = {n: getattr(d_block, n) for n in ("activation1", "conv1", "activation2", "pool")}
        g_shapes = _hook_shapes(g_parts, lambda: generator(torch.empty(1, 128)))
        d_shapes = _hook_shapes(d_parts, lambda: discriminator(torch.empty(1, 3, 128, 128)))
    # Table 5b: shortcut U -> 2h x c_o; BN, ReLU -> h x c_i; conv U -> 2h x c_o; conv -> 2h x c_o.
    assert g_shapes == {
        "shortcut": [_chw(16, 256)],
        "activation1": [_chw(8, 512)],
        "conv1": [_chw(16, 256)],
        "conv2": [_chw(16, 256)],
    }
    # Table 5a: BN, ReLU -> h x c_i; conv -> h x c_o; BN, ReLU -> h x c_o; both paths pooled to h/2.
    assert d_shapes == {
        "activation1": [_chw(64, 64)],
        "conv1": [_chw(64, 128)],
        "activation2": [_chw(64, 128)],
        "pool": [_chw(32, 128), _chw(32, 128)],
    }


# Every generator norm and every discriminator norm compare_gan allows, each at least once per arch
# (ResNet19 shares its block classes with ResNet CIFAR; its shapes are checked above). A batch of
# one checks that the logits keep their batch axis.
FORWARD_CASES = [
    ("sndcgan", "bn", "sn", 2),
    ("sndcgan", "wn", "wn", 2),
    ("sndcgan", "none", "none", 2),
    ("dcgan", "bn", "bn", 2),
    ("dcgan", "none", "sn", 1),
    ("dcgan", "wn", "wn", 2),
    ("resnet_cifar", "bn", "ln", 1),
    ("resnet_cifar", "wn", "bn", 2),
    ("resnet_cifar", "none", "wn", 1),
]


@pytest.mark.parametrize(("arch", "g_norm", "d_norm", "batch"), FORWARD_CASES)
def test_generator_images_in_unit_range_and_discriminator_logits_per_sample(
    arch, g_norm, d_norm, batch
):
    torch.manual_seed(0)
    generator = build_generator(arch, 32, norm=g_norm)
    discriminator = build_discriminator(arch, 32, norm=d_norm)
    with torch.no_grad():
        images = generator(torch.rand(batch, 128) * 2 - 1)
        logits = discriminator(images)
    assert images.shape == (batch, 3, 32, 32)
    assert images.min() >= 0 and images.max() <= 1
    assert images.std() > 0
    assert logits.shape == (batch,)
    assert torch.isfinite(logits).all()


def _assert_finite_gradients(model: nn.Module) -> None:
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
    assert sum(p.grad.abs().sum() for p in model.parameters()) > 0


@pytest.mark.parametrize(
    ("arch", "g_norm", "d_norm"), [("sndcgan", "bn", "sn"), ("dcgan", "wn", "wn")]
)
def test_every_parameter_receives_a_finite_gradient(arch, g_norm, d_norm):
    torch.manual_seed(0)
    generator = build_generator(arch, 32, norm=g_norm)
    discriminator = build_discriminator(arch, 32, norm=d_norm)
    discriminator(generator(torch.rand(2, 128) * 2 - 1)).sum().backward()
    _assert_finite_gradients(generator)
    _assert_finite_gradients(discriminator)


def test_resnet_parameters_receive_finite_gradients():
    torch.manual_seed(0)
    generator = build_generator("resnet_cifar", 32, norm="bn")
    discriminator = build_discriminator("resnet_cifar", 32, norm="ln")
    # The generator's first rows (linear, first up-block) and the whole discriminator on an 8x8
    # crop (global pooling makes it size-agnostic) cover every ResNet layer type cheaply.
    first_rows = nn.Sequential(generator.rows.linear, generator.rows.block1)
    features = first_rows(torch.rand(2, 128) * 2 - 1)
    discriminator(torch.sigmoid(features[:, :3])).sum().backward()
    _assert_finite_gradients(first_rows)
    _assert_finite_gradients(discriminator)


@pytest.mark.parametrize("d_norm", ["bn", "ln", "sn", "wn"])
def test_discriminator_supports_gradient_penalties(d_norm):
    """WGAN-GP / DRAGAN need the gradient of D wrt its input to be differentiable again."""
    torch.manual_seed(0)
    discriminator = build_discriminator("resnet_cifar", 32, norm=d_norm)
    images = torch.rand(2, 3, 8, 8, requires_grad=True)
    (gradient,) = torch.autograd.grad(discriminator(images).sum(), images, create_graph=True)
    penalty = (gradient.flatten(1).norm(dim=1) - 1).square().mean()
    penalty.backward()
    assert discriminator.rows.block2.conv2.weight.grad.abs().sum() > 0


def test_builders_are_deterministic_given_the_seed():
    states = []
    for _ in range(2):
        torch.manual_seed(123)
        generator = build_generator("sndcgan", 32)
        discriminator = build_discriminator("resnet_cifar", 32, norm="sn", ablations=("tan",))
        states.append((generator.state_dict(), discriminator.state_dict()))
    for first, second in zip(states[0], states[1], strict=True):
        assert first.keys() == second.keys()
        assert all(torch.equal(first[key], second[key]) for key in first)
    torch.manual_seed(124)
    other = build_discriminator("resnet_cifar", 32, norm="sn", ablations=("tan",)).state_dict()
    assert not torch.equal(
        other["rows.block1.conv1.weight"], states[0][1]["rows.block1.conv1.weight"]
    )


def test_config_holds_the_builder_arguments_that_rebuild_the_model():
    with torch.device("meta"):
        generator = build_generator("resnet_cifar", 32, ablations=["tan", "eps"])
        discriminator = build_discriminator("resnet19", 128, norm="wn", ablations=("cin", "sum"))
        rebuilt_g = build_generator(**generator.config)
        rebuilt_d = build_discriminator(**discriminator.config)
    assert generator.config == {
        "arch": "resnet_cifar",
        "image_size": 32,
        "z_dim": 128,
        "norm": "bn",
        "ablations": ("tan", "eps"),
    }
    assert discriminator.config == {
        "arch": "resnet19",
        "image_size": 128,
        "norm": "wn",
        "ablations": ("cin", "sum"),
    }
    for original, rebuilt in ((generator, rebuilt_g), (discriminator, rebuilt_d)):
        expected = {key: value.shape for key, value in original.state_dict().items()}
        assert {key: value.shape for key, value in rebuilt.state_dict().items()} == expected


# ---------------------------------------------------------------------------------- TF semantics


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (32, 3, 1, (1, 1)),
        (32, 4, 2, (1, 1)),
        (32, 5, 2, (1, 2)),
        (33, 4, 2, (1, 2)),
        (7, 3, 2, (1, 1)),
    ],
)
def test_tf_same_padding_values(size, kernel, stride, expected):
    assert tf_same_padding(size, kernel, stride) == expected


@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (4, 2), (5, 2), (3, 2)])
@pytest.mark.parametrize("size", [7, 8, 16])
def test_same_convolution_output_size_is_ceil_of_input_over_stride(kernel, stride, size):
    conv = Conv2dSame(2, 3, kernel, stride)
    out = conv(torch.zeros(1, 2, size, size + 1))
    assert out.shape == (1, 3, math.ceil(size / stride), math.ceil((size + 1) / stride))
    assert tf_same_output_size(size, stride) == math.ceil(size / stride)


def test_same_convolution_pads_the_extra_row_at_the_end_like_tensorflow():
    conv = Conv2dSame(1, 1, 5, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(25.0).view(1, 1, 5, 5))
        conv.bias.zero_()
    impulse = torch.zeros(1, 1, 8, 8)
    impulse[0, 0, 0, 0] = 1.0
    # TF SAME 5x5/2 on 8 pixels pads (1, 2): y[o] = sum_t x[2 o + t - 1] w[t], so y[0, 0] = w[1, 1].
    assert conv(impulse)[0, 0, 0, 0] == 6.0
    impulse = torch.zeros(1, 1, 8, 8)
    impulse[0, 0, 7, 7] = 1.0
    assert conv(impulse)[0, 0, 3, 3] == 12.0  # 7 = 2 * 3 + t - 1 -> t = 2, w[2, 2]


@pytest.mark.parametrize(("kernel", "stride"), [(4, 2), (5, 2), (3, 1)])
def test_transposed_convolution_is_the_gradient_of_the_same_convolution(kernel, stride):
    """``tf.nn.conv2d_transpose`` is defined as the gradient of ``tf.nn.conv2d`` wrt its input."""
    torch.manual_seed(0)
    deconv = ConvTranspose2dSame(3, 2, kernel, stride)
    conv = Conv2dSame(2, 3, kernel, stride)
    with torch.no_grad():
        conv.weight.copy_(deconv.weight)
        deconv.bias.zero_()
    y = torch.randn(2, 3, 5, 5)
    x = torch.zeros(2, 2, 5 * stride, 5 * stride, requires_grad=True)
    (gradient,) = torch.autograd.grad(conv(x), x, grad_outputs=y)
    output = deconv(y)
    assert output.shape == (2, 2, 5 * stride, 5 * stride)
    torch.testing.assert_close(output, gradient)


def _tf_unpool_nhwc(value: torch.Tensor) -> torch.Tensor:
    """compare_gan's ``unpool`` transliterated op by op (NHWC)."""
    _, h, w, c = value.shape
    out = value.reshape(-1, w, c)
    for axis in (2, 1):
        out = torch.cat([out, torch.zeros_like(out)], dim=axis)
    return out.reshape(-1, 2 * h, 2 * w, c)


def test_unpool_puts_values_at_even_positions_and_zeros_elsewhere():
    x = torch.arange(1.0, 2 * 3 * 4 * 5 + 1).view(2, 3, 4, 5)
    out = unpool(x)
    assert out.shape == (2, 3, 8, 10)
    assert torch.equal(out[:, :, ::2, ::2], x)
    mask = torch.ones_like(out, dtype=torch.bool)
    mask[:, :, ::2, ::2] = False
    assert (out[mask] == 0).all()
    reference = _tf_unpool_nhwc(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert torch.equal(out, reference)


def test_initialisers_follow_compare_gan():
    torch.manual_seed(0)
    with torch.no_grad():
        resnet_conv = build_discriminator("resnet_cifar", 32).rows.block2.conv1
        sndcgan_conv = build_discriminator("sndcgan", 32).rows.conv4_lrelu[0]
    # ops.conv2d default: truncated normal, stddev 0.02, cut at two standard deviations.
    assert resnet_conv.weight.abs().max() <= 0.04
    assert 0.016 < resnet_conv.weight.std() < 0.019  # 0.02 * 0.88 for a 2-sigma truncation
    # sn_discriminator passes tf.random_normal_initializer: untruncated.
    assert sndcgan_conv.weight.abs().max() > 0.06
    assert 0.019 < sndcgan_conv.weight.std() < 0.021
    assert (resnet_conv.bias == 0).all() and (sndcgan_conv.bias == 0).all()


# ---------------------------------------------------------------------------------- normalization


def test_batch_norm_uses_tensorflow_decay_and_biased_moving_variance():
    torch.manual_seed(0)
    norm = BatchNorm(3)
    x = torch.randn(4, 3, 5, 5) * 3 + 2
    y = norm(x)
    batch_mean = x.mean(dim=(0, 2, 3))
    batch_var = x.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(norm.running_mean, 0.1 * batch_mean)
    torch.testing.assert_close(norm.running_var, 0.9 + 0.1 * batch_var)
    expected = (x - batch_mean.view(1, 3, 1, 1)) / torch.sqrt(batch_var.view(1, 3, 1, 1) + 1e-5)
    torch.testing.assert_close(y, expected)
    y.square().sum().backward()
    assert norm.weight.grad is not None and norm.bias.grad is not None
    norm.eval()
    expected_eval = (x - norm.running_mean.view(1, 3, 1, 1)) / torch.sqrt(
        norm.running_var.view(1, 3, 1, 1) + 1e-5
    )
    torch.testing.assert_close(norm(x), expected_eval)


def test_sndcgan_generator_batch_norms_flat_linear_output_with_chainer_epsilon():
    sndcgan = build_generator("sndcgan", 32)
    first = sndcgan.rows.linear_bn_relu.norm
    assert isinstance(first, BatchNorm) and first.num_features == 4 * 4 * 512
    norms = [m for m in sndcgan.modules() if isinstance(m, BatchNorm)]
    assert len(norms) == 4 and all(m.epsilon == 2e-5 for m in norms)
    dcgan_norms = [m for m in build_generator("dcgan", 32).modules() if isinstance(m, BatchNorm)]
    assert [m.num_features for m in dcgan_norms] == [512, 256, 128, 64]
    assert all(m.epsilon == 1e-5 for m in dcgan_norms)


def test_layer_norm_normalises_each_sample_over_chw_with_per_channel_affine():
    torch.manual_seed(0)
    norm = LayerNorm(4)
    x = torch.randn(3, 4, 5, 5) * torch.tensor([1.0, 5.0, 0.1]).view(3, 1, 1, 1) + 7
    y = norm(x)
    flat = y.flatten(1)
    torch.testing.assert_close(flat.mean(dim=1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.var(dim=1, unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    changed = x.clone()
    changed[0] *= 100
    torch.testing.assert_close(norm(changed)[1:], y[1:])
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        norm.bias.copy_(torch.tensor([0.0, -1.0, 1.0, 2.0]))
    scaled = norm(x)
    torch.testing.assert_close(scaled[:, 3], 4 * y[:, 3] + 2)
    scaled.sum().backward()
    assert norm.weight.grad.shape == (4,) and norm.bias.grad.shape == (4,)


def _planted_spectrum(rows: int, cols: int, values: list[float]) -> torch.Tensor:
    left, _ = torch.linalg.qr(torch.randn(rows, rows))
    right, _ = torch.linalg.qr(torch.randn(cols, cols))
    spectrum = torch.zeros(rows, cols)
    spectrum[range(len(values)), range(len(values))] = torch.tensor(values)
    return left @ spectrum @ right.T


def test_spectral_norm_converges_to_unit_largest_singular_value():
    torch.manual_seed(0)
    planted = _planted_spectrum(16, 24, [5.0, 2.5, 1.0, 0.5])
    sn = SpectralNorm(planted)
    for _ in range(40):
        normalised = sn(planted)
    torch.testing.assert_close(
        torch.linalg.svdvals(normalised)[0], torch.tensor(1.0), atol=1e-4, rtol=0
    )
    kernel = torch.randn(32, 8, 3, 3)
    sn = SpectralNorm(kernel)
    for _ in range(300):
        normalised = sn(kernel)
    largest = torch.linalg.svdvals(normalised.flatten(1))[0]
    assert abs(largest.item() - 1.0) < 0.02


def test_spectral_norm_matches_compare_gan_power_iteration_on_hwio_kernels():
    """One step of ``ops.spectral_norm`` on the TF layout gives the same sigma and u."""
    torch.manual_seed(1)
    kernel = torch.randn(6, 4, 3, 3)  # (out, in, kh, kw)
    sn = SpectralNorm(kernel)
    u_torch_order = sn.u.clone().view(4, 3, 3)
    normalised = sn(kernel)
    w = kernel.permute(2, 3, 1, 0).reshape(-1, 6)  # TF HWIO reshaped to (kh*kw*in, out)
    u = u_torch_order.permute(1, 2, 0).reshape(-1, 1)
    v = F.normalize(w.T @ u, dim=0)
    u = F.normalize(w @ v, dim=0)
    sigma = (u.T @ w @ v).item()
    torch.testing.assert_close(normalised, kernel / sigma)
    torch.testing.assert_close(sn.u.view(4, 3, 3).permute(1, 2, 0).reshape(-1, 1), u)
    sn.eval()
    before = sn.u.clone()
    sn(kernel)
    assert torch.equal(sn.u, before)


def test_spectral_norm_weight_gets_gradient_but_singular_vector_does_not():
    torch.manual_seed(0)
    layer = Conv2dSame(3, 5, 3, reparametrisation="spectral")
    out = layer(torch.randn(2, 3, 6, 6))
    out.square().sum().backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
    assert not layer.weight_normalizer.u.requires_grad


@pytest.mark.parametrize(
    ("arch", "size", "compare_gan_layers"),
    [("sndcgan", 32, 8), ("dcgan", 32, 5), ("resnet_cifar", 32, 13), ("resnet19", 128, 19)],
)
def test_spectral_norm_covers_every_discriminator_kernel(arch, size, compare_gan_layers):
    """compare_gan's consts.N_DISCRIMINATOR_LAYERS counts the weight matrices SN normalises."""
    with torch.device("meta"):
        discriminator = build_discriminator(arch, size, norm="sn")
    weighted = [m for m in discriminator.modules() if isinstance(m, (Conv2dSame, Linear))]
    assert len(weighted) == compare_gan_layers
    assert all(isinstance(m.weight_normalizer, SpectralNorm) for m in weighted)


def test_strict_weight_norm_gives_unit_norm_filters_and_scale_invariant_outputs():
    torch.manual_seed(0)
    conv = Conv2dSame(3, 4, 3, reparametrisation="weight")
    assert conv.bias is None
    weight = conv.effective_weight()
    squared = conv.weight.square().sum(dim=(1, 2, 3))
    torch.testing.assert_close(weight.square().sum(dim=(1, 2, 3)), squared / (squared + 1e-6))
    x = torch.randn(2, 3, 6, 6)
    expected = F.conv2d(x, conv.weight, padding=1) / squared.sqrt().view(1, 4, 1, 1)
    torch.testing.assert_close(conv(x), expected, atol=1e-3, rtol=1e-3)
    with torch.no_grad():
        conv.weight.mul_(7.0)
    torch.testing.assert_close(conv(x), expected, atol=1e-3, rtol=1e-3)
    conv(x).square().sum().backward()
    # Weight normalization: the gradient wrt each filter v is orthogonal to v.
    radial = (conv.weight.grad * conv.weight).sum(dim=(1, 2, 3))
    tangential = conv.weight.grad.flatten(1).norm(dim=1) * conv.weight.flatten(1).norm(dim=1)
    assert (radial.abs() < 1e-3 * tangential).all()


def test_affine_and_transposed_weight_norm_filter_norms():
    torch.manual_seed(0)
    linear = Linear(10, 3, reparametrisation="weight_affine")
    scale = torch.tensor([0.5, 2.0, 3.0])
    with torch.no_grad():
        linear.weight_normalizer.scale.copy_(scale)
    squared = linear.weight.square().sum(dim=1)
    expected = scale * torch.sqrt(squared / (squared + 1e-6))
    torch.testing.assert_close(linear.effective_weight().norm(dim=1), expected)
    assert linear.bias is not None
    # Xiang & Li divide the squared norm of a stride-s transposed kernel by s**2.
    deconv = ConvTranspose2dSame(6, 5, 4, 2, reparametrisation="weight")
    squared = deconv.weight.square().sum(dim=(0, 2, 3))
    per_output = deconv.effective_weight().square().sum(dim=(0, 2, 3))
    torch.testing.assert_close(per_output, squared / (squared / 4 + 1e-6))  # ~ 2**2
    stride_one = WeightNorm(5, output_dim=1)(deconv.weight)
    torch.testing.assert_close(stride_one.square().sum(dim=(0, 2, 3)), squared / (squared + 1e-6))


def test_translated_relu_is_max_with_learned_threshold():
    activation = TranslatedReLU(2)
    with torch.no_grad():
        activation.threshold.copy_(torch.tensor([0.5, -1.0]))
    x = torch.tensor([[[-2.0, 0.2, 3.0]], [[-2.0, -0.5, 3.0]]]).view(1, 2, 1, 3)
    y = activation(x)
    torch.testing.assert_close(y, torch.maximum(x, activation.threshold.view(1, 2, 1, 1)))
    y.sum().backward()
    # d max(x, a) / da = 1 where x < a: two entries for channel 0, one for channel 1.
    torch.testing.assert_close(activation.threshold.grad, torch.tensor([2.0, 1.0]))
    optimiser = torch.optim.SGD(activation.parameters(), lr=0.1)
    optimiser.step()
    torch.testing.assert_close(activation.threshold.detach(), torch.tensor([0.3, -1.1]))
    leaky = TranslatedReLU(1, negative_slope=0.1)
    torch.testing.assert_close(leaky(torch.tensor([[-1.0, 2.0]])), torch.tensor([[-0.1, 2.0]]))


def test_weight_normalised_networks_use_translated_relus_and_affine_last_layers():
    generator = build_generator("sndcgan", 32, norm="wn")
    assert not any(isinstance(m, (BatchNorm, nn.ReLU)) for m in generator.modules())
    deconvs = [m for m in generator.modules() if isinstance(m, ConvTranspose2dSame)]
    assert [m.reparametrisation for m in deconvs] == ["weight"] * 3 + ["weight_affine"]
    discriminator = build_discriminator("sndcgan", 32, norm="wn")
    slopes = {m.negative_slope for m in discriminator.modules() if isinstance(m, TranslatedReLU)}
    assert slopes == {0.1}
    assert discriminator.rows.linear[1].reparametrisation == "weight_affine"


def test_discriminator_norm_placement_in_resnet_blocks():
    with torch.device("meta"):
        for norm, kind in (("bn", BatchNorm), ("ln", LayerNorm)):
            block = build_discriminator("resnet_cifar", 32, norm=norm).rows.block1
            assert isinstance(block.norm1, kind) and isinstance(block.norm2, kind)
        plain = build_discriminator("resnet_cifar", 32, norm="none")
        assert not any(isinstance(m, (BatchNorm, LayerNorm)) for m in plain.modules())
        dcgan = build_discriminator("dcgan", 32, norm="bn")
        norms = [type(row[1]) for row in list(dcgan.rows.children())[:4]]
        assert norms == [nn.Identity, BatchNorm, BatchNorm, BatchNorm]


# -------------------------------------------------------------------------------------- ablations


def _meta_discriminator(arch: str, ablations: tuple[str, ...]) -> nn.Module:
    with torch.device("meta"):
        return build_discriminator(arch, 128 if arch == "resnet19" else 32, ablations=ablations)


def test_skip_ablation_uses_identity_shortcuts_where_no_resampling_or_channel_change():
    default = _meta_discriminator("resnet_cifar", ())
    skip = _meta_discriminator("resnet_cifar", ("skip",))
    shortcut_types = [type(block.shortcut) for block in list(skip.rows.children())[:4]]
    assert shortcut_types == [Conv2dSame, Conv2dSame, nn.Identity, nn.Identity]
    removed = sum(p.numel() for p in default.parameters()) - sum(
        p.numel() for p in skip.parameters()
    )
    assert removed == 2 * (9 * 128 * 128 + 128)


def test_cin_and_opt_ablations_change_hidden_channels_and_first_block():
    cin = _meta_discriminator("resnet_cifar", ("cin",))
    assert cin.rows.block1.conv1.out_channels == 3  # c_i of the first block: the RGB bottleneck
    assert cin.rows.block2.conv1.out_channels == 128
    cin19 = _meta_discriminator("resnet19", ("cin",))
    assert [cin19.rows.get_submodule(f"block{i}").conv1.out_channels for i in range(1, 7)] == [
        3, 64, 128, 256, 256, 512,
    ]  # fmt: skip
    opt = _meta_discriminator("resnet_cifar", ("opt",))
    assert isinstance(opt.rows.block1.activation1, nn.Identity)
    assert isinstance(opt.rows.block2.activation1, nn.ReLU)
    cin_opt = _meta_discriminator("resnet_cifar", ("cin", "opt", "skip"))
    assert cin_opt.rows.block1.conv1.out_channels == 128  # OPT: c_o in the first block
    assert isinstance(cin_opt.rows.block1.shortcut, Conv2dSame)
    assert cin19.rows.block2.conv2.in_channels == 64


def test_opt_block_feeds_the_image_to_its_first_convolution_without_relu():
    negative = -torch.rand(1, 3, 8, 8)  # the discriminator pools globally: any even size works
    seen = {}
    for ablations in ((), ("opt",)):
        torch.manual_seed(0)
        discriminator = build_discriminator("resnet_cifar", 32, ablations=ablations)
        handle = discriminator.rows.block1.conv1.register_forward_hook(
            lambda _m, inputs, _o, key=ablations: seen.__setitem__(key, inputs[0])
        )
        with torch.no_grad():
            discriminator(negative)
        handle.remove()
    assert torch.equal(seen[()], torch.zeros_like(negative))  # ReLU of a negative image
    assert torch.equal(seen[("opt",)], negative)


def test_sum_ablation_pools_mean_times_spatial_count():
    torch.manual_seed(0)
    mean_d = build_discriminator("resnet_cifar", 32, norm="sn")
    torch.manual_seed(0)
    sum_d = build_discriminator("resnet_cifar", 32, norm="sn", ablations=("sum",))
    mean_d.eval()
    sum_d.eval()
    images = torch.rand(2, 3, 16, 16)  # two downsampling blocks: 4 x 4 final feature map
    pooled = {}
    for name, model in (("mean", mean_d), ("sum", sum_d)):
        handle = model.rows.relu_pool.register_forward_hook(
            lambda _m, _i, out, name=name: pooled.__setitem__(name, out)
        )
        with torch.no_grad():
            logits = model(images)
        handle.remove()
        pooled[name + "_logits"] = logits
    torch.testing.assert_close(pooled["sum"], pooled["mean"] * 16)
    bias = mean_d.rows.linear.bias
    torch.testing.assert_close(pooled["sum_logits"] - bias, (pooled["mean_logits"] - bias) * 16)


def test_tan_ablation_maps_tanh_output_and_discriminator_input():
    with torch.device("meta"):
        assert isinstance(build_generator("resnet_cifar", 32).rows.conv_out[1], nn.Sigmoid)
    torch.manual_seed(0)
    tanh_g = build_generator("resnet_cifar", 32, ablations=("tan",))
    captured = {}
    handle = tanh_g.rows.conv_out[0].register_forward_hook(
        lambda _m, _i, out: captured.__setitem__("pre_activation", out)
    )
    with torch.no_grad():
        images = tanh_g(torch.rand(1, 128) * 2 - 1)
    handle.remove()
    torch.testing.assert_close(images, (torch.tanh(captured["pre_activation"]) + 1) / 2)
    torch.manual_seed(0)
    default_d = build_discriminator("resnet_cifar", 32)
    torch.manual_seed(0)
    tan_d = build_discriminator("resnet_cifar", 32, ablations=("tan",))
    images = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(tan_d(images), default_d(images * 2 - 1))


def test_eps_ablation_sets_generator_batch_norm_epsilon():
    with torch.device("meta"):
        default = build_generator("resnet_cifar", 32)
        eps = build_generator("resnet_cifar", 32, ablations=("eps",))
    default_eps = {m.epsilon for m in default.modules() if isinstance(m, BatchNorm)}
    ablated_eps = [m.epsilon for m in eps.modules() if isinstance(m, BatchNorm)]
    assert default_eps == {1e-5}
    assert len(ablated_eps) == 3 * 2 + 1 and set(ablated_eps) == {2e-5}


def test_same_ablation_tuple_goes_to_both_networks():
    with torch.device("meta"):
        build_generator("resnet_cifar", 32, ablations=ABLATIONS)
        build_discriminator("resnet_cifar", 32, norm="sn", ablations=ABLATIONS)
    validate_architecture("resnet_cifar", 32, "sn", "bn", ABLATIONS)


# ------------------------------------------------------------------------------ invalid configs

INVALID = [
    (("stylegan", 32, "none", "bn", ()), "unknown"),
    (("resnet_cifar", 64, "none", "bn", ()), "32x32"),
    (("resnet19", 32, "none", "bn", ()), "64x64 or 128x128"),
    (("sndcgan", 36, "none", "bn", ()), "divisible by 8"),
    (("dcgan", 40, "none", "bn", ()), "divisible by 16"),
    (("sndcgan", 32, "bn", "bn", ()), "not available for sndcgan"),
    (("sndcgan", 32, "ln", "bn", ()), "not available for sndcgan"),
    (("dcgan", 32, "ln", "bn", ()), "not available for dcgan"),
    (("resnet_cifar", 32, "gp", "bn", ()), "unknown"),
    (("resnet_cifar", 32, "none", "ln", ()), "generator norm"),
    (("sndcgan", 32, "sn", "bn", ("sum",)), "ResNet architectures only"),
    (("dcgan", 32, "sn", "bn", ("tan",)), "ResNet architectures only"),
    (("resnet19", 128, "sn", "bn", ("skip",)), "changes nothing"),
    (("resnet_cifar", 32, "sn", "wn", ("eps",)), "epsilon"),
    (("resnet_cifar", 32, "sn", "bn", ("tan", "tan")), "repeat"),
    (("resnet_cifar", 32, "sn", "bn", ("sharp",)), "unknown"),
    (("resnet_cifar", 32, "sn", "bn", "sum"), "sequence"),
]


@pytest.mark.parametrize(("arguments", "reason"), INVALID)
def test_invalid_combinations_raise_value_error_with_reason(arguments, reason):
    with pytest.raises(ValueError, match=reason) as raised:
        validate_architecture(*arguments)
    assert "\n" not in str(raised.value)


def test_builders_refuse_what_validation_refuses():
    with pytest.raises(ValueError, match="not available"):
        build_discriminator("sndcgan", 32, norm="bn")
    with pytest.raises(ValueError, match="ResNet architectures only"):
        build_generator("sndcgan", 32, ablations=("eps",))
    with pytest.raises(ValueError, match="z_dim"):
        build_generator("sndcgan", 32, z_dim=0)
    refused = {("sndcgan", "bn"), ("sndcgan", "ln"), ("dcgan", "ln")}
    for arch in ARCHITECTURES:
        size = 128 if arch == "resnet19" else 32
        for d_norm in D_NORMALIZATIONS:
            if (arch, d_norm) in refused:
                with pytest.raises(ValueError, match="no such normalization"):
                    validate_architecture(arch, size, d_norm, "bn", ())
            else:
                validate_architecture(arch, size, d_norm, "bn", ())


# ----------------------------------------------------------------------------- parameter counts


def _conv(c_in: int, c_out: int) -> int:
    return 9 * c_in * c_out + c_out


def test_resnet19_parameter_counts_match_tables_4_and_5():
    g_blocks = [(512, 512), (512, 256), (256, 256), (256, 128), (128, 64)]
    d_blocks = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512)]
    # G: linear 128 -> 4*4*512; per block BN(c_i), conv c_i->c_o, BN(c_o), conv c_o->c_o, shortcut
    # conv c_i->c_o; final BN(64) and 3x3 conv 64 -> 3.
    g_expected = 128 * 8192 + 8192
    g_expected += sum(
        2 * ci + _conv(ci, co) + 2 * co + _conv(co, co) + _conv(ci, co) for ci, co in g_blocks
    )
    g_expected += 2 * 64 + _conv(64, 3)
    d_expected = sum(_conv(ci, co) + _conv(co, co) + _conv(ci, co) for ci, co in d_blocks) + 512 + 1
    d_expected_cin = sum(_conv(ci, ci) + _conv(ci, co) + _conv(ci, co) for ci, co in d_blocks) + 513
    with torch.device("meta"):
        g_count = sum(p.numel() for p in build_generator("resnet19", 128).parameters())
        d_count = sum(
            p.numel() for p in build_discriminator("resnet19", 128, norm="sn").parameters()
        )
        d_cin_count = sum(
            p.numel() for p in build_discriminator("resnet19", 128, ablations=("cin",)).parameters()
        )
    print(f"ResNet19 parameters: G {g_count:,}  D {d_count:,}  D(CIN) {d_cin_count:,}")
    assert g_count == g_expected
    assert d_count == d_expected
    assert d_cin_count == d_expected_cin
