"""An independent GAN training loop, to test the trainer's NS+SN behaviour against (issue 13).

"The GAN Landscape" (Kurach, Lucic et al. 2019) SNDCGAN (Table 3) with the non-saturating loss
(section 2.1) and spectral norm in D (section 2.2), written from scratch with plain PyTorch and
sharing NO code with ``ganmetrics_train`` (models, losses, steps, data order, noise):

* D: seven convolutions 3x3/1 64, 4x4/2 128, 3x3/1 128, 4x4/2 256, 3x3/1 256, 4x4/2 512, 3x3/1 512
  (``nn.Conv2d`` with padding 1: the same output sizes as TF's SAME), leaky ReLU 0.1, a linear
  layer to one logit; every weight under ``torch.nn.utils.parametrizations.spectral_norm`` (one
  power iteration per call); input mapped to [-1, 1]. Weights ~ N(0, 0.02^2), biases 0.
* G: linear z -> (s/8)^2 x 512, ``BatchNorm1d`` (eps 2e-5) on the flat output, ReLU, three 4x4/2
  ``ConvTranspose2d`` (padding 1) to 256, 128, 64 with batch norm and ReLU, a 3x3/1 one to 3, tanh,
  ``(x + 1) / 2``.
* Loss: ``F.binary_cross_entropy_with_logits`` (D: real -> 1, fake -> 0; G: fake -> 1).
* Data: :class:`ganmetrics.datasets.ProceduralDataset` (the same images), shuffled each epoch by
  ``torch.randperm`` from its own generator; z ~ U(-1, 1)^128; Adam for both networks.
* ``--disc-calls split``: D called on the real and on the fake batch separately; G then steps on
  the same fake batch (the same z), as the classic PyTorch DCGAN example does.
  ``--disc-calls concat``: one D call on ``cat(real, fake)`` (the loss is the sum of
  the two halves' means, as for split); G then draws a fresh real batch and
  fresh z and steps through one D call on ``cat(real, fake)``.

Every ``--judge-every`` steps it scores 512 samples of a fixed z with
:func:`ganmetrics.judge_procedural` (in eval mode) and prints one JSON line; ``--grid`` writes the
last sample grid as a PNG. Run it next to ``ganmetrics-train run`` with the same settings::

    OMP_NUM_THREADS=1 python bench/differential_loop.py --steps 2000 --image-size 16 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _init(module: nn.Module) -> nn.Module:
    nn.init.normal_(module.weight, 0.0, 0.02)
    nn.init.zeros_(module.bias)
    return module


def _w(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class Discriminator(nn.Module):
    def __init__(self, size: int, width: float = 1.0):
        super().__init__()
        layers, channels = [], 3
        for kernel, stride, out in ((3, 1, 64), (4, 2, 128), (3, 1, 128), (4, 2, 256),
                                    (3, 1, 256), (4, 2, 512), (3, 1, 512)):  # fmt: skip
            out = _w(out, width)
            layers += [spectral_norm(_init(nn.Conv2d(channels, out, kernel, stride, 1))),
                       nn.LeakyReLU(0.1)]  # fmt: skip
            channels = out
        layers += [nn.Flatten(), spectral_norm(_init(nn.Linear((size // 8) ** 2 * channels, 1)))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1).squeeze(1)


class Generator(nn.Module):
    def __init__(self, size: int, z_dim: int = 128, width: float = 1.0):
        super().__init__()
        self.bottom, self.channels = size // 8, _w(512, width)
        self.linear = _init(nn.Linear(z_dim, self.bottom**2 * self.channels))
        self.linear_bn = nn.BatchNorm1d(self.bottom**2 * self.channels, eps=2e-5, momentum=0.1)
        layers, channels = [], self.channels
        for out in (_w(256, width), _w(128, width), _w(64, width)):
            layers += [_init(nn.ConvTranspose2d(channels, out, 4, 2, 1)),
                       nn.BatchNorm2d(out, eps=2e-5), nn.ReLU()]  # fmt: skip
            channels = out
        layers += [_init(nn.ConvTranspose2d(channels, 3, 3, 1, 1)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.linear_bn(self.linear(z))).view(-1, self.channels, self.bottom, self.bottom)
        return (self.net(h) + 1) / 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-images", type=int, default=50_000)
    parser.add_argument("--disc-calls", choices=("split", "concat"), default="split")
    parser.add_argument("--judge-every", type=int, default=250)
    parser.add_argument("--width", type=float, default=1.0, help="channel factor (1: Table 3)")
    parser.add_argument("--grid", default=None, help="PNG of 64 samples at the end")
    parser.add_argument("--save-samples", default=None, help="folder: the judged samples as .npy")
    args = parser.parse_args(argv)

    from ganmetrics.datasets import ProceduralDataset
    from ganmetrics.datasets.procedural_judge import judge_procedural

    torch.manual_seed(args.seed)
    data = (
        torch.from_numpy(ProceduralDataset(args.num_images, args.image_size, seed=0).to_array())
        .float()
        .div(255)
    )
    G = Generator(args.image_size, width=args.width)
    D = Discriminator(args.image_size, width=args.width)
    adam = dict(lr=args.lr, betas=(args.beta1, args.beta2))
    g_opt = torch.optim.Adam(G.parameters(), **adam)
    d_opt = torch.optim.Adam(D.parameters(), **adam)
    order_rng = torch.Generator().manual_seed(args.seed + 1)
    z_rng = torch.Generator().manual_seed(args.seed + 2)
    fixed_z = torch.rand(512, 128, generator=torch.Generator().manual_seed(12345)) * 2 - 1
    order, position = torch.randperm(len(data), generator=order_rng), 0

    def real_batch() -> torch.Tensor:
        nonlocal order, position
        if position + args.batch_size > len(order):
            order, position = torch.randperm(len(data), generator=order_rng), 0
        batch = data[order[position : position + args.batch_size]]
        position += args.batch_size
        return batch

    def noise() -> torch.Tensor:
        return torch.rand(args.batch_size, 128, generator=z_rng) * 2 - 1

    def judge(step: int, d_loss: float, g_loss: float) -> None:
        G.eval()
        with torch.no_grad():
            images = (G(fixed_z).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        G.train()
        scores = judge_procedural(images)
        if args.save_samples:
            Path(args.save_samples).mkdir(parents=True, exist_ok=True)
            np.save(Path(args.save_samples) / f"step_{step:06d}.npy", images)
        record = {"step": step, "quality": scores.quality, "modes": scores.modes,
                  "coverage": round(scores.coverage, 4),
                  "shares": [round(s, 3) for s in scores.mode_shares],
                  "d_loss": round(d_loss, 4), "g_loss": round(g_loss, 4),
                  "elapsed_s": round(time.perf_counter() - started, 1)}  # fmt: skip
        print(json.dumps(record), flush=True)
        if args.grid and step == args.steps:
            from PIL import Image

            tiles = images[:64].transpose(0, 2, 3, 1)
            s = args.image_size
            grid = tiles.reshape(8, 8, s, s, 3).transpose(0, 2, 1, 3, 4).reshape(8 * s, 8 * s, 3)
            Image.fromarray(np.ascontiguousarray(grid)).save(args.grid)

    ones = torch.ones(args.batch_size)
    zeros = torch.zeros(args.batch_size)
    started = time.perf_counter()
    d_sum = g_sum = 0.0
    count = 0
    judge(0, float("nan"), float("nan"))
    for step in range(1, args.steps + 1):
        real, z = real_batch(), noise()
        fake = G(z)
        if args.disc_calls == "split":
            d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + \
                F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)  # fmt: skip
        else:
            logits = D(torch.cat([real, fake.detach()]))
            d_loss = 2 * F.binary_cross_entropy_with_logits(logits, torch.cat([ones, zeros]))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()

        for p in D.parameters():
            p.requires_grad_(False)
        if args.disc_calls == "split":
            g_logits = D(fake)
        else:
            g_logits = D(torch.cat([real_batch(), G(noise())]))[args.batch_size :]
        g_loss = F.binary_cross_entropy_with_logits(g_logits, ones)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        for p in D.parameters():
            p.requires_grad_(True)

        d_sum, g_sum, count = d_sum + d_loss.item(), g_sum + g_loss.item(), count + 1
        if step % args.judge_every == 0 or step == args.steps:
            judge(step, d_sum / count, g_sum / count)
            d_sum = g_sum = 0.0
            count = 0


if __name__ == "__main__":
    sys.exit(main())
