"""The GPU check of issue #6 (item 6), driven by ``bench/gpu_check.sh``; one JSON, markdown rows.

Stages, each under its own time limit, the JSON rewritten after every stage so that a stopped run
still reports what it finished:

1. ``features``: images/s of ganmetrics' extractor and of torch-fidelity's
   ``FeatureExtractorInceptionV3`` on the same uint8 images (10k of 32 px and of 128 px), TF32 off
   and on, and each path's largest pool3 difference to a float64 forward pass; ``--compile`` once.
2. ``end_to_end``: ``python -m ganmetrics fid`` against torch-fidelity's ``fidelity --fid`` on two
   folders of PNGs, cold and with a warm cache, with both tools' FID values.
3. ``trainer``: ``bench/bench_train.py`` (ms per iteration for every architecture and
   regularizer), plain and, where that script offers them, with ``--amp-bf16`` / ``--compile``.
4. ``learning``: ``bench/learning_check.py`` (issue 13): SNDCGAN NS+SN on the procedural set at
   32 px, data on the device, trained for at most 100 s; a sample grid and the procedural judge's
   scores at a few steps (``bench/results/learning/``). Alone: ``--stages learning``.
5. ``stream``: ``bench/bench_stream.py`` on the device: ``ganmetrics.Stream``'s overhead over a
   bare forward pass, and FID by torchmetrics and by the stream's torchmetrics adapter with the
   loop's TF32 off and on.
6. ``metric_stage``: FID, ``--bootstrap 100`` and FID∞ at 10k vs 10k × 2048 from numpy features
   on the CPU against float64 tensors on the GPU (issue 15 part 3), seconds and the largest
   relative difference (the CPU bootstrap from 10 resamples, projected to 100).
7. ``tests``: the CUDA tests (``tests/test_gpu.py``; on a GPU also the feature, precision,
   distributed and metric-stage device tests).
8. ``encoders``: images/s, peak GPU memory and batch-of-1 agreement of the DINOv2 and CLIP
   ViT-L/14 encoders of ``ganmetrics.encoders`` (issue #16).

``--cpu`` runs every stage at tiny sizes on the CPU, to check the script, not to measure.
Weights: ``$GANMETRICS_INCEPTION_WEIGHTS`` if set, else seeded random weights (same cost).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ganmetrics.atomic import atomic_write, write_json
from ganmetrics.features import FastInception, FeatureExtractor
from ganmetrics.inception import (
    build_torch_fidelity_inception,
    calibration_images,
    make_random_inception_weights,
)
from ganmetrics.precision import feature_precision
from ganmetrics.sources import ArraySource

REPO = Path(__file__).resolve().parent.parent
FLOAT64_PROBE = 256  # images compared against the float64 forward pass


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def image_set(num: int, size: int, seed: int) -> np.ndarray:
    """``num`` calibration images, drawn in chunks so that 10k × 128 px stays in memory."""
    chunks = [calibration_images(min(500, num - start), size, seed + start)
              for start in range(0, num, 500)]  # fmt: skip
    return np.concatenate(chunks)


def torch_fidelity_pool3(model, images: np.ndarray, batch: int, device: torch.device):
    """torch-fidelity's own loop: upload, forward, ``.cpu()`` per batch."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            pool3, _ = model(torch.from_numpy(images[start : start + batch]).to(device))
            outputs.append(pool3.cpu().numpy())
    return np.concatenate(outputs)


def measure_features(weights: str, args, device: torch.device) -> dict:
    rows = {}
    reference = build_torch_fidelity_inception(weights).to(device)
    exact = FastInception(build_torch_fidelity_inception(weights), torch.float64).to(device).eval()
    for size in args.sizes:
        images = image_set(args.num, size, seed=size)
        probe = torch.from_numpy(images[:FLOAT64_PROBE])
        with torch.inference_mode():
            truth = torch.cat([exact(probe[i : i + 64].to(device))[0].cpu()
                               for i in range(0, len(probe), 64)]).numpy()  # fmt: skip
        for allow_tf32 in (False, True):
            ours = FeatureExtractor(weights, device=str(device), batch_size=args.batch_size,
                                    num_workers=0, allow_tf32=allow_tf32)  # fmt: skip
            warm = images[: args.warmup_images]  # cuDNN autotuning, the caching allocator
            if len(warm):
                ours.extract(ArraySource(warm))
            synchronize(device)
            start = time.perf_counter()
            pool3 = ours.extract(ArraySource(images)).pool3
            ours_s = time.perf_counter() - start
            with feature_precision(allow_tf32, cudnn_benchmark=False):
                if len(warm):
                    torch_fidelity_pool3(reference, warm, args.batch_size, device)
                synchronize(device)
                start = time.perf_counter()
                theirs = torch_fidelity_pool3(reference, images, args.batch_size, device)
                theirs_s = time.perf_counter() - start
            key = f"{size}px_{'tf32' if allow_tf32 else 'exact'}"
            rows[key] = {
                "num_images": len(images),
                "batch_size": args.batch_size,
                "ganmetrics_images_per_s": len(images) / ours_s,
                "torch_fidelity_images_per_s": len(images) / theirs_s,
                "speedup": theirs_s / ours_s,
                "ganmetrics_max_abs_vs_float64": float(np.abs(pool3[: len(truth)] - truth).max()),
                "torch_fidelity_max_abs_vs_float64": float(
                    np.abs(theirs[: len(truth)] - truth).max()
                ),
                "max_abs_pool3": float(np.abs(truth).max()),
            }
            print(f"features {key}: {rows[key]}", file=sys.stderr, flush=True)
    if args.compile:
        size = args.sizes[0]
        images = image_set(args.num, size, seed=size)
        compiled = FeatureExtractor(weights, device=str(device), batch_size=args.batch_size,
                                    num_workers=0, compile=True)  # fmt: skip
        compiled.extract(ArraySource(images[: args.batch_size]))
        start = time.perf_counter()
        compiled.extract(ArraySource(images))
        rows[f"{size}px_exact_compile"] = {
            "compile_warmup_s": compiled.compile_warmup_s,
            "ganmetrics_images_per_s": len(images) / (time.perf_counter() - start),
        }
    return rows


def write_folder(folder: Path, images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{index:05d}.png")


def run_timed(command: list[str], env: dict, limit: float) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=limit)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])}…: exit {done.returncode}: {done.stderr[-800:]}"
        )
    return time.perf_counter() - start, done.stdout


def json_value(stdout: str, key: str) -> float:
    """``key`` of the first top-level JSON object printed that has it (one line or indented)."""
    decoder = json.JSONDecoder()
    for start in [0] + [index + 1 for index, char in enumerate(stdout) if char == "\n"]:
        if stdout.startswith("{", start):
            try:
                decoded, _ = decoder.raw_decode(stdout, start)
            except json.JSONDecodeError:
                continue
            if isinstance(decoded, dict) and key in decoded:
                return float(decoded[key])
    raise KeyError(f"{key} not in the printed output: {stdout[-300:]!r}")


def measure_end_to_end(weights: str, args, device: torch.device, workdir: Path) -> dict:
    real, fake = workdir / "real", workdir / "fake"
    write_folder(real, image_set(args.num, 32, seed=1))
    write_folder(fake, image_set(args.num, 32, seed=2) // 2 + 60)
    env = dict(os.environ, GANMETRICS_CACHE=str(workdir / "cache"), TORCH_HOME=str(workdir / "hub"))
    on_cuda = device.type == "cuda"
    ours = [sys.executable, "-m", "ganmetrics", "fid", "--real", str(real), "--fake", str(fake),
            "--inception-weights", weights, "--device", str(device), "--quiet", "--json",
            "--batch-size", str(args.batch_size),
            *([] if on_cuda else ["--workers", "0"])]  # fmt: skip
    theirs = [sys.executable, "-m", "torch_fidelity.fidelity", "--fid", "--input1", str(fake),
              "--input2", str(real), "--feature-extractor-weights-path", weights, "--json",
              "--silent", "--batch-size", str(args.batch_size),
              "--cache-input1-name", "gpu-check-fake", "--cache-input2-name", "gpu-check-real",
              *([] if on_cuda else ["--cpu", "--save-cpu-ram"])]  # fmt: skip
    limit = args.stage_limit
    result: dict = {"num_images": args.num, "image_size": 32}
    result["ganmetrics_cold_s"], out = run_timed(ours, env, limit)
    result["ganmetrics_fid"] = json_value(out, "fid")
    result["ganmetrics_warm_s"], out = run_timed(ours, env, limit)
    result["ganmetrics_fid_warm"] = json_value(out, "fid")
    result["torch_fidelity_cold_s"], out = run_timed(theirs, env, limit)
    result["torch_fidelity_fid"] = json_value(out, "frechet_inception_distance")
    result["torch_fidelity_warm_s"], out = run_timed(theirs, env, limit)
    result["fid_relative_difference"] = (
        abs(result["ganmetrics_fid"] - result["torch_fidelity_fid"]) / result["torch_fidelity_fid"]
    )
    result["cold_speedup"] = result["torch_fidelity_cold_s"] / result["ganmetrics_cold_s"]
    return result


def measure_trainer(args, device: torch.device, workdir: Path) -> dict:
    script = [sys.executable, str(REPO / "bench" / "bench_train.py")]
    offered = subprocess.run([*script, "--help"], capture_output=True, text=True).stdout
    base = ["--device", str(device), *args.train_args]
    variants = {"default": []}
    for flag in ("--amp-bf16", "--compile"):
        if flag in offered:
            variants[flag.lstrip("-")] = [flag]
    results: dict = {}
    for name, extra in variants.items():
        out = workdir / f"train-{name}.json"
        try:
            run_timed([*script, *base, *extra, "--out", str(out)], dict(os.environ),
                      args.stage_limit)  # fmt: skip
            results[name] = json.loads(out.read_text())
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            results[name] = {"error": str(error).splitlines()[0][:300]}
    missing = [flag for flag in ("--amp-bf16", "--compile") if flag not in offered]
    if missing:
        results["not_offered_by_bench_train"] = missing
    return results


def measure_stream(weights: str, args, device: torch.device, workdir: Path) -> dict:
    """``bench/bench_stream.py``'s overhead and precision stages on ``device`` (a subprocess)."""
    out = workdir / "stream.json"
    sizes = ["--num", "2048", "--batch", "256"] if device.type == "cuda" else ["--num", "8",
             "--batch", "4", "--precision-images", "4", "--repeats", "1"]  # fmt: skip
    command = [sys.executable, str(REPO / "bench" / "bench_stream.py"), "--device", device.type,
               "--stages", "overhead,precision", "--workdir", str(workdir), "--json", str(out),
               *sizes]  # fmt: skip
    env = {**os.environ, "GANMETRICS_INCEPTION_WEIGHTS": weights}
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=args.stage_limit)  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}
    return json.loads(out.read_text())


def measure_learning(args, device: torch.device) -> dict:
    from learning_check import learning_stage
    from learning_check import markdown as learning_markdown

    gpu = device.type == "cuda"
    result = learning_stage(str(device), args.out / "learning", 100.0 if gpu else 60.0, not gpu)
    result["markdown"] = learning_markdown(result)
    return result


def run_tests(args) -> dict:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.tests]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          timeout=args.stage_limit)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    return {"command": " ".join(command[2:]), "returncode": done.returncode,
            "summary": lines[-1] if lines else "", "seconds": time.perf_counter() - start,
            "failures": [line for line in lines if line.startswith("FAILED")][:20]}  # fmt: skip


def measure_metric_stage(args, device: torch.device) -> dict:
    """Issue 15 part 3: FID, the FID bootstrap and FID∞ from numpy features on the CPU against the
    same features as float64 tensors on ``device``, timed, with the largest relative difference.

    The CPU bootstrap runs ``cpu_resamples`` resamples (its seconds per resample project B = 100);
    the device runs those (compared with the CPU's, same seed) and the full B.
    """
    from bench_bootstrap import make_features

    from ganmetrics.bootstrap import fid_interval
    from ganmetrics.fid import fid_from_features
    from ganmetrics.fid_infinity import fid_infinity

    gpu = device.type == "cuda"
    num, dim, resamples, cpu_resamples = (10_000, 2048, 100, 10) if gpu else (300, 16, 3, 2)
    real, fake = make_features(num, dim, seed=0)

    def timed(function, *inputs, **options):
        synchronize(device)
        start = time.perf_counter()
        value = function(*inputs, **options)
        synchronize(device)
        return value, time.perf_counter() - start

    def values(interval) -> list[float]:
        return [interval.low, interval.high, interval.std, interval.estimate]

    def relative(a, b) -> float:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return float(np.max(np.abs(a - b) / np.abs(b)))

    on_device = [torch.from_numpy(side).to(device) for side in (real, fake)]
    fid_from_features(*on_device)  # warm-up: cuBLAS / cuSOLVER handles
    cpu, dev = {}, {}
    cpu["fid"], cpu["fid_s"] = timed(fid_from_features, real, fake)
    dev["fid"], dev["fid_s"] = timed(fid_from_features, *on_device)
    cpu["interval"], cpu["bootstrap_s"] = timed(fid_interval, real, fake, cpu_resamples)
    dev["interval"], dev["bootstrap_s"] = timed(fid_interval, *on_device, cpu_resamples)
    dev["full"], dev["full_s"] = timed(fid_interval, *on_device, resamples)
    cpu["inf"], cpu["inf_s"] = timed(fid_infinity, real, fake)
    dev["inf"], dev["inf_s"] = timed(fid_infinity, *on_device)
    differences = {
        "fid": relative(dev["fid"], cpu["fid"]),
        "bootstrap": relative(values(dev["interval"]), values(cpu["interval"])),
        "fid_infinity": max(relative(dev["inf"].fids, cpu["inf"].fids),
                            relative(dev["inf"].value, cpu["inf"].value)),
    }  # fmt: skip
    cpu_full_s = cpu["bootstrap_s"] / (cpu_resamples + 1) * (resamples + 1)
    rows = [
        ["one FID", f"{cpu['fid_s']:.2f}", f"{dev['fid_s']:.3f}",
         f"{cpu['fid_s'] / dev['fid_s']:.1f}×", f"{differences['fid']:.1e}"],
        [f"bootstrap B={cpu_resamples}", f"{cpu['bootstrap_s']:.1f}", f"{dev['bootstrap_s']:.2f}",
         f"{cpu['bootstrap_s'] / dev['bootstrap_s']:.1f}×", f"{differences['bootstrap']:.1e}"],
        [f"bootstrap B={resamples}", f"{cpu_full_s:.0f} (projected)", f"{dev['full_s']:.2f}",
         f"{cpu_full_s / dev['full_s']:.1f}×", ""],
        [f"FID∞, {len(cpu['inf'].sizes)} subsets", f"{cpu['inf_s']:.1f}", f"{dev['inf_s']:.2f}",
         f"{cpu['inf_s'] / dev['inf_s']:.1f}×", f"{differences['fid_infinity']:.1e}"],
    ]  # fmt: skip
    title = f"metric stage, {num} vs {num} × {dim}, float64"
    table = _table([title, "CPU s", f"{device.type} s", "CPU / device", "max rel. diff."], rows)
    return {"num": num, "dim": dim, "resamples": resamples, "cpu_resamples": cpu_resamples,
            "cpu_threads": torch.get_num_threads(), "fid": cpu["fid"],
            "cpu": {key: value for key, value in cpu.items() if key.endswith("_s")},
            "device": {key: value for key, value in dev.items() if key.endswith("_s")},
            "cpu_full_projected_s": cpu_full_s, "max_relative_difference": differences,
            "markdown": "\n".join(table)}  # fmt: skip


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(results: dict) -> str:
    machine = results["machine"]
    kind = "GPU" if machine["gpu"] else "CPU smoke run, not a measurement"
    lines = [f"Measured by `bench/gpu_check.sh` on {machine['device_name']} "
             f"(torch {machine['torch']}; {kind})", ""]  # fmt: skip
    feature_rows = []
    for key, row in results.get("features", {}).items():
        if "torch_fidelity_images_per_s" in row:
            feature_rows.append([
                f"{row['num_images']} × {key}, batch {row['batch_size']}",
                f"{row['torch_fidelity_images_per_s']:.4g}",
                f"{row['ganmetrics_images_per_s']:.4g}",
                f"{row['speedup']:.2f}×",
                f"{row['torch_fidelity_max_abs_vs_float64']:.2e}",
                f"{row['ganmetrics_max_abs_vs_float64']:.2e}",
            ])  # fmt: skip
        elif "compile_warmup_s" in row:
            feature_rows.append([key, "", f"{row['ganmetrics_images_per_s']:.4g}",
                                 f"warm-up {row['compile_warmup_s']:.1f} s", "", ""])  # fmt: skip
    if feature_rows:
        header = ["features", "torch-fidelity img/s", "ganmetrics img/s", "speed-up",
                  "torch-fidelity vs float64", "ganmetrics vs float64"]  # fmt: skip
        lines += _table(header, feature_rows)
    encoder_rows = [[f"{name} ({row['member']})", f"{row['images_per_s']:.4g}",
                     "" if row["peak_gpu_mib"] is None else f"{row['peak_gpu_mib']:.0f}",
                     f"{row['batch1_max_abs_diff']:.1e}"]
                    for name, row in results.get("encoders", {}).items()
                    if isinstance(row, dict) and "images_per_s" in row]  # fmt: skip
    if encoder_rows:
        lines += _table(["encoder", "img/s", "peak GPU MiB", "batch-of-1 max abs diff"],
                        encoder_rows)  # fmt: skip
    e2e = results.get("end_to_end", {})
    if "ganmetrics_cold_s" in e2e:
        rows = [
            ["cold (s)", f"{e2e['torch_fidelity_cold_s']:.1f}", f"{e2e['ganmetrics_cold_s']:.1f}"],
            ["warm cache (s)", f"{e2e['torch_fidelity_warm_s']:.1f}",
             f"{e2e['ganmetrics_warm_s']:.1f}"],
            ["FID", f"{e2e['torch_fidelity_fid']:.6f}", f"{e2e['ganmetrics_fid']:.6f}"],
        ]  # fmt: skip
        title = f"end to end, 2 folders × {e2e['num_images']} PNGs"
        lines += ["", *_table([title, "torch-fidelity", "ganmetrics"], rows)]
    for name, train in results.get("trainer", {}).items():
        if isinstance(train, dict) and "markdown" in train:
            lines += ["", f"Trainer ({name}):", "", train["markdown"]]
    learning = results.get("learning", {})
    if "markdown" in learning:
        lines += ["", learning["markdown"]]
    stream = results.get("stream", {})
    if "overhead" in stream:
        over, precision = stream["overhead"], stream.get("precision", {})
        lines += ["", f"Stream: {over['images']} images, update() {over['overhead']:+.1%} over a "
                  f"bare forward ({over['overhead_clock']})"]  # fmt: skip
        if "torchmetrics_change" in precision:
            lines.append(
                f"FID with the loop's TF32 on vs off: torchmetrics "
                f"{precision['torchmetrics_change']:+.2e}, ganmetrics "
                f"{precision['ganmetrics_change']:+.2e} (agreement, TF32 off: "
                f"{precision['agreement_float32']:+.2e})"
            )
    if "markdown" in results.get("metric_stage", {}):
        lines += ["", results["metric_stage"]["markdown"]]
    tests = results.get("tests", {})
    if tests:
        lines += ["", f"CUDA tests: `{tests.get('command', '')}` → {tests.get('summary', '')}"]
    errors = {name: value["error"] for name, value in results.items()
              if isinstance(value, dict) and "error" in value}  # fmt: skip
    lines += [f"\nstage {name} failed: {error}" for name, error in errors.items()]
    return "\n".join(lines)


def measure_encoders(args, device: torch.device, workdir: Path) -> dict:
    """Issue #16: images/s and peak memory of each encoder of the table on this device (ViT-L/14
    rows on a GPU, the small members on the CPU smoke run), random weights in the official
    formats, exact float32; and whether a batch of 1 gives the features of a full batch."""
    from ganmetrics.encoders import make_extractor, write_test_weights

    official = {"dinov2-vitl14": ("vitl14", ".pth"), "clip-vitl14": ("ViT-L-14", ".safetensors"),
                "clip-vitl14-336": ("ViT-L-14-336", ".pt")}  # fmt: skip
    small = {"dinov2-vitl14": "vits14", "clip-vitl14": "ViT-B-32", "clip-vitl14-336": "ViT-B-32"}
    num = 2048 if device.type == "cuda" else 4
    images = image_set(num, 64, seed=16)
    rows = {}
    for name, (member, suffix) in official.items():
        member = member if device.type == "cuda" else small[name]
        weights = workdir / f"{name}{suffix}"
        write_test_weights(name, weights, seed=0, member=member)
        extractor = make_extractor(name, weights, device=str(device), batch_size=args.batch_size)
        source = ArraySource(images)
        extractor.extract(ArraySource(images[: args.batch_size]))  # warm-up
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        synchronize(device)
        start = time.perf_counter()
        features = extractor.extract(source).pool3
        synchronize(device)
        seconds = time.perf_counter() - start
        alone = np.concatenate([next(extractor.features_of_batches([images[i : i + 1]]))[0]
                                for i in range(4)])  # fmt: skip
        rows[name] = {
            "member": member, "images": num, "images_per_s": num / seconds,
            "peak_gpu_mib": (torch.cuda.max_memory_allocated(device) / 2**20
                             if device.type == "cuda" else None),
            "batch1_max_abs_diff": float(np.abs(alone - features[:4]).max()),
        }  # fmt: skip
        del extractor
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="tiny sizes on the CPU (smoke test)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--stages",
        default="features,end_to_end,trainer,learning,stream,metric_stage,tests,encoders",
    )
    args = parser.parse_args(argv)
    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")
    gpu = device.type == "cuda"
    args.num = 10_000 if gpu else 4
    args.sizes = (32, 128)
    args.batch_size = 256 if gpu else 4
    args.warmup_images = args.batch_size if gpu else 0
    args.compile = gpu  # ≈ 5 min of warm-up on a small CPU
    args.stage_limit = 300 if gpu else 600  # the shared 2-core CPU ran at a load of ~20
    args.train_args = ([] if gpu else ["--archs", "sndcgan", "--batch-size", "4", "--iters", "1",
                                       "--warmup", "0", "--overhead-iters", "1"])  # fmt: skip
    args.tests = (["tests/test_gpu.py", "tests/test_precision.py", "tests/test_features.py",
                   "tests/test_distributed.py", "tests/test_metric_devices.py"]
                  if gpu else ["tests/test_gpu.py"])  # fmt: skip
    name = torch.cuda.get_device_name(device) if gpu else platform.processor() or platform.machine()
    results: dict = {
        "machine": {
            "gpu": gpu,
            "device_name": name,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    }
    stem = "gpu_check" if gpu else "gpu_check_cpu_smoke"
    json_path, md_path = args.out / f"{stem}.json", args.out / f"{stem}.md"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        workdir = Path(scratch)
        weights = os.environ.get("GANMETRICS_INCEPTION_WEIGHTS") or str(
            make_random_inception_weights(workdir / "random-inception.pth", seed=0)
        )
        results["machine"]["standard_weights"] = "GANMETRICS_INCEPTION_WEIGHTS" in os.environ
        stages = {
            "features": lambda: measure_features(weights, args, device),
            "end_to_end": lambda: measure_end_to_end(weights, args, device, workdir),
            "trainer": lambda: measure_trainer(args, device, workdir),
            "learning": lambda: measure_learning(args, device),
            "stream": lambda: measure_stream(weights, args, device, workdir),
            "metric_stage": lambda: measure_metric_stage(args, device),
            "tests": lambda: run_tests(args),
            "encoders": lambda: measure_encoders(args, device, workdir),
        }
        for name in args.stages.split(","):
            start = time.perf_counter()
            try:
                results[name] = stages[name]()
            except Exception as error:  # one failed stage must not lose the others' numbers
                results[name] = {"error": f"{type(error).__name__}: {str(error)[:500]}"}
            results.setdefault("stage_seconds", {})[name] = time.perf_counter() - start
            print(f"stage {name}: {results['stage_seconds'][name]:.1f} s", file=sys.stderr,
                  flush=True)  # fmt: skip
            results["markdown"] = markdown(results)
            write_json(json_path, results)
            with atomic_write(md_path, "w") as handle:
                handle.write(results["markdown"] + "\n")
    print(results["markdown"])
    print(f"\nwritten to {json_path} and {md_path}")
    failed = [name for name in args.stages.split(",") if "error" in results.get(name, {})]
    return 1 if failed or results.get("tests", {}).get("returncode", 0) != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
