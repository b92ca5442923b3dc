"""Training-step cost of each regularizer, and the trainer loop's overhead.

For SNDCGAN and ResNet-CIFAR (32x32, batch 64, on the CPU by default) this times one *iteration*
- one generator step plus its ``n_disc`` discriminator steps, as
:meth:`ganmetrics_train.train.Trainer.run` performs them - for every regularizer of section 2.2 of
"The GAN Landscape" (none, BN, LN, SN, WN, GP, DRAGAN, L2) and reports it relative to no
regularization. The paper states that gradient penalties "essentially [double] the running time"
and that spectral normalization is "more computationally efficient than gradient penalty"; the
table prints our ratios beside those claims.

It also times the trainer's loop against a minimal hand-written PyTorch step of the same models
(same data stream, losses, optimizers and compare_gan step structure) to measure what the loop
adds (logging, finiteness checks, gradient norms, bookkeeping); the target is at most 5%.

Usage::

    python bench/bench_train.py [--iters 3] [--warmup 1] [--batch-size 64] [--n-disc 1]
        [--archs sndcgan,resnet_cifar] [--device cpu] [--threads N]

Writes ``bench/results/train.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganmetrics.errors import InputError
from ganmetrics_train.config import build_config
from ganmetrics_train.data import TrainingBatches, dataset_for_training
from ganmetrics_train.losses import discriminator_loss, generator_loss
from ganmetrics_train.models import build_discriminator, build_generator, validate_architecture
from ganmetrics_train.penalties import discriminator_penalty
from ganmetrics_train.train import Trainer, derive_seed

#: name -> (discriminator norm, penalty, lambda)
REGULARIZERS = {
    "none": ("none", "none", None),
    "BN": ("bn", "none", None),
    "LN": ("ln", "none", None),
    "SN": ("sn", "none", None),
    "WN": ("wn", "none", None),
    "GP": ("none", "gp", 1.0),
    "DRAGAN": ("none", "dragan", 1.0),
    "L2": ("none", "l2", 0.1),
}
PAPER_CLAIMS = {
    "GP": "about 2x ('essentially doubling the running time', section 2.2)",
    "DRAGAN": "about 2x (a gradient norm penalty, section 2.2)",
    "SN": "minimal ('more computationally efficient than gradient penalty', section 3.2)",
}
RESULTS = Path(__file__).resolve().parent / "results" / "train.json"


def make_config(arch, regularizer, args, out):
    norm, penalty, lam = REGULARIZERS[regularizer]
    return build_config(
        overrides={
            "arch": arch,
            "dataset": "procedural",
            "image_size": 32,
            "dataset_options": {"num_images": max(256, 4 * args.batch_size)},
            "batch_size": args.batch_size,
            "norm": norm,
            "penalty": penalty,
            "lambda_": lam,
            "n_disc": args.n_disc,
            "steps": 10**9,
            "eval_every": 0,
            "checkpoint_every": 0,
            "sample_every": 0,
            "log_every": 100,
            "device": args.device,
            "out": str(out),
        }
    )


def supported(arch, regularizer):
    norm = REGULARIZERS[regularizer][0]
    try:
        validate_architecture(arch, 32, norm, "wn" if norm == "wn" else "bn", ())
    except ValueError as exc:
        return str(exc)
    return None


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_trainer_iteration(trainer):
    """One G step and its n_disc D steps through :meth:`Trainer.run`."""
    synchronize(trainer.device)
    start = time.perf_counter()
    trainer.run(trainer.step + trainer.config.n_disc)
    synchronize(trainer.device)
    return time.perf_counter() - start


class HandWrittenStep:
    """The same computation as the trainer, written as plainly as PyTorch allows."""

    def __init__(self, config, device):
        torch.manual_seed(config.seed)
        self.config = config
        self.device = device
        self.G = build_generator(config.arch, 32, config.z_dim, config.g_norm).to(device)
        self.D = build_discriminator(config.arch, 32, config.norm).to(device)
        betas = (config.beta1, config.beta2)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=betas)
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        source = dataset_for_training("procedural", None, 32, **config.dataset_options)
        self.batches = TrainingBatches(source, config.batch_size, derive_seed(config.seed, "data"))
        self.noise = torch.Generator(device).manual_seed(1)

    def z(self):
        return (
            torch.rand(self.config.batch_size, 128, generator=self.noise, device=self.device) * 2
            - 1
        )

    def iteration(self):
        c = self.config
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(c.n_disc):
            real = next(self.batches).to(self.device)
            with torch.no_grad():
                fake = self.G(self.z())
            d_real, d_fake = self.D(torch.cat([real, fake])).split(c.batch_size)
            loss = discriminator_loss(c.loss, d_real, d_fake)
            if c.penalty != "none":
                penalty = discriminator_penalty(c.penalty, self.D, real, fake, self.noise)
                loss = loss + c.lambda_ * penalty
            self.d_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.d_opt.step()
        real = next(self.batches).to(self.device)
        self.D.requires_grad_(False)
        d_fake = self.D(torch.cat([real, self.G(self.z())]))[c.batch_size :]
        loss = generator_loss(c.loss, d_fake)
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        self.D.requires_grad_(True)
        synchronize(self.device)
        return time.perf_counter() - start


def time_discriminator_step(trainer):
    """One discriminator step alone (the unit of the paper's "doubling" claim for GP)."""
    synchronize(trainer.device)
    start = time.perf_counter()
    trainer.discriminator_step()
    synchronize(trainer.device)
    return time.perf_counter() - start


def bench_arch(arch, args, device, workdir):
    """Round-robin over the regularizers (one iteration of each per round), so that changes in
    machine load hit every configuration alike; each configuration's minimum is reported."""
    rows, trainers = {}, {}
    try:
        for regularizer in REGULARIZERS:
            reason = supported(arch, regularizer)
            if reason is not None:
                rows[regularizer] = {"supported": False, "reason": reason}
                continue
            config = make_config(arch, regularizer, args, workdir / f"{arch}-{regularizer}")
            trainers[regularizer] = Trainer(
                config, progress=False, tensorboard=True, announce=False
            )
        iteration_times = {r: [] for r in trainers}
        d_step_times = {r: [] for r in trainers}
        for round_index in range(args.warmup + args.iters):
            for regularizer, trainer in trainers.items():
                iteration = time_trainer_iteration(trainer)
                d_step = time_discriminator_step(trainer)
                if round_index >= args.warmup:
                    iteration_times[regularizer].append(iteration)
                    d_step_times[regularizer].append(d_step)
            print(f"{arch}: round {round_index + 1}/{args.warmup + args.iters}", file=sys.stderr)

        overhead = {}
        for regularizer in args.overhead_for:
            if regularizer not in trainers:
                continue
            trainer = trainers[regularizer]
            baseline = HandWrittenStep(trainer.config, device)
            loop_times, plain_times = [], []
            for round_index in range(args.warmup + args.overhead_iters):
                loop_time, plain_time = time_trainer_iteration(trainer), baseline.iteration()
                if round_index >= args.warmup:  # interleaved, so load changes hit both alike
                    loop_times.append(loop_time)
                    plain_times.append(plain_time)
            overhead[regularizer] = {
                "loop_seconds": loop_times,
                "hand_written_seconds": plain_times,
                "loop_overhead": min(loop_times) / min(plain_times) - 1.0,
                "loop_overhead_median": statistics.median(loop_times)
                / statistics.median(plain_times)
                - 1.0,
            }
    finally:
        for trainer in trainers.values():
            trainer.close()

    for regularizer in trainers:
        rows[regularizer] = {
            "supported": True,
            "min_seconds_per_iteration": min(iteration_times[regularizer]),
            "median_seconds_per_iteration": statistics.median(iteration_times[regularizer]),
            "all_iteration_seconds": iteration_times[regularizer],
            "min_seconds_per_d_step": min(d_step_times[regularizer]),
            "all_d_step_seconds": d_step_times[regularizer],
            **overhead.get(regularizer, {}),
        }
    reference = rows["none"]
    for row in rows.values():
        if row["supported"]:
            row["relative_to_none"] = (
                row["min_seconds_per_iteration"] / reference["min_seconds_per_iteration"]
            )
            row["d_step_relative_to_none"] = (
                row["min_seconds_per_d_step"] / reference["min_seconds_per_d_step"]
            )
    return rows


def markdown(results, args):
    archs = list(results["architectures"])
    lines = [
        f"Iteration = 1 G step + {args.n_disc} D step(s), batch {args.batch_size}, 32x32, "
        f"{results['device']}; min over {args.iters} timed rounds (after {args.warmup} warm-up), "
        "regularizers timed round-robin",
        "",
        "| regularizer | "
        + " | ".join(f"{a} s/iter | {a} iter vs none | {a} D step vs none" for a in archs)
        + " | paper |",
        "|---|" + "---|---|---|" * len(archs) + "---|",
    ]
    for regularizer in REGULARIZERS:
        cells = []
        for arch in archs:
            row = results["architectures"][arch][regularizer]
            if row["supported"]:
                cells += [
                    f"{row['min_seconds_per_iteration']:.3f}",
                    f"{row['relative_to_none']:.2f}x",
                    f"{row['d_step_relative_to_none']:.2f}x",
                ]
            else:
                cells += ["n/a", "n/a", "n/a"]
        lines.append(
            f"| {regularizer} | " + " | ".join(cells) + f" | {PAPER_CLAIMS.get(regularizer, '')} |"
        )
    lines += ["", "| loop overhead vs hand-written step | " + " | ".join(archs) + " |"]
    lines.append("|---|" + "---|" * len(archs))
    for regularizer in args.overhead_for:
        cells = []
        for arch in archs:
            row = results["architectures"][arch].get(regularizer, {})
            overhead = row.get("loop_overhead")
            median = row.get("loop_overhead_median")
            cells.append(
                "n/a"
                if overhead is None
                else f"{overhead * 100:+.1f}% (median {median * 100:+.1f}%)"
            )
        lines.append(
            f"| {regularizer}, min of {args.overhead_iters} (target <= +5%) | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="sndcgan,resnet_cifar")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-disc", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--overhead-for", default="none", help="regularizers also timed as hand-written steps"
    )
    parser.add_argument("--overhead-iters", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.overhead_for = [r for r in args.overhead_for.split(",") if r]
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = {
        "device": f"{args.device} ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "n_disc": args.n_disc,
        "iters": args.iters,
        "overhead_iters": args.overhead_iters,
        "warmup": args.warmup,
        "architectures": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-train-") as workdir:
        for arch in args.archs.split(","):
            results["architectures"][arch] = bench_arch(arch, args, device, Path(workdir))
    table = markdown(results, args)
    results["markdown"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from ganmetrics.atomic import write_json

    write_json(args.out, results)
    print(table)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as exc:
        sys.exit(f"error: {exc}")
