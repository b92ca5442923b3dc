"""Images/s of each encoder against its reference pipeline on the CPU, in the same run (#16).

For every encoder: ganmetrics' extractor (``EncoderExtractor.extract`` on an array source:
decoding, the references' PIL resize, the network) and the reference pipeline on the same
images and weights file: dgm-eval's per-image transform (torchvision on PIL images) and forward
pass (DINOv2: the facebookresearch/dinov2 forward transcribed in tests/test_encoders.py; CLIP:
dgm-eval's forward on open_clip's model; CMMD: google-research's crop/resize and open_clip's
``encode_image``), batched alike. Each pipeline runs in its own process, which reports its time
and its peak resident memory (``VmHWM``), plus the largest feature difference.

Default: the small members of the families (DINOv2 ViT-S/14, CLIP ViT-B/32) with random weights
in the official formats; ``--member official`` for the ViT-L/14 networks.

    python bench/bench_encoders.py --num 32 --threads 1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SMALL = {"dinov2-vitl14": "vits14", "clip-vitl14": "ViT-B-32", "clip-vitl14-336": "ViT-B-32"}
OFFICIAL = {"dinov2-vitl14": "vitl14", "clip-vitl14": "ViT-L-14",
            "clip-vitl14-336": "ViT-L-14-336"}  # fmt: skip
ARCH = {"ViT-B-32": "ViT-B-32", "ViT-L-14": "ViT-L-14", "ViT-L-14-336": "ViT-L-14-336"}


def _images(num: int, size: int) -> np.ndarray:
    from ganmetrics.inception import calibration_images

    return calibration_images(num, size, seed=0)


def _ours(name, weights, images, batch_size):
    from ganmetrics.encoders import make_extractor
    from ganmetrics.sources import ArraySource

    extractor = make_extractor(name, weights, device="cpu", batch_size=batch_size, num_workers=0)
    extractor.extract(ArraySource(images[:batch_size]))  # warm-up
    started = time.perf_counter()
    features = extractor.extract(ArraySource(images)).pool3
    return time.perf_counter() - started, features


def _reference(name, weights, images, batch_size, member):
    import torch

    sys.path.insert(0, str(REPO / "tests"))
    import test_encoders as ref

    if name == "dinov2-vitl14":
        state = torch.load(weights, map_location="cpu", weights_only=True)

        def transform(image):
            return ref._dgm_eval_dinov2_transform(image)

        def forward(x):
            return ref._hub_dinov2_forward(state, x)
    else:
        quick = "-quickgelu" if name == "clip-vitl14-336" else ""
        model = ref._open_clip_visual(weights, ARCH[member] + quick)
        size = model.visual.image_size
        mean = (0.48145466, 0.4578275, 0.40821073)
        std = (0.26862954, 0.26130258, 0.27577711)
        if name == "clip-vitl14":

            def transform(image):  # dgm-eval CLIPEncoder.transform
                image = ref.TVF.resize(image, size, interpolation=ref.TF.InterpolationMode.BICUBIC)
                image = ref.TVF.center_crop(ref.TVF.to_tensor(image.convert("RGB")), size)
                return ref.TF.Normalize(mean, std)(image)

            def forward(x):  # dgm-eval CLIPEncoder.forward, depth 0
                v = model.visual
                x = v.conv1(x).flatten(2).permute(0, 2, 1)
                cls = v.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
                x = v.ln_pre(torch.cat([cls, x], dim=1) + v.positional_embedding)
                for block in v.transformer.resblocks:
                    x = block(x, attn_mask=None)
                return v.ln_post(x[:, 0])
        else:
            from PIL import Image

            def transform(image):  # cmmd io_util + scenic normalize_image
                w, h = image.size
                side = min(w, h)
                top, left = (h - side) // 2, (w - side) // 2
                image = image.crop((left, top, left + side, top + side))
                image = image.resize((size[0], size[0]), resample=Image.BICUBIC)
                x = np.asarray(image).astype(np.float32) / 255.0
                x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
                return torch.from_numpy(x).permute(2, 0, 1)

            def forward(x):
                return model.encode_image(x, normalize=True)

    def run(chunk):  # from decoded uint8 images, as ours: PIL images, transform, forward
        with torch.no_grad():
            return forward(torch.stack([transform(image) for image in ref._pil(chunk)])).numpy()

    run(images[:batch_size])  # warm-up
    started = time.perf_counter()
    out = np.concatenate([run(images[i : i + batch_size])
                          for i in range(0, len(images), batch_size)])  # fmt: skip
    return time.perf_counter() - started, out


def _peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not inherited from
    the parent across ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind, name, weights, member, num, size, batch_size, threads, queue):
    import torch

    torch.set_num_threads(threads)
    images = _images(num, size)
    if kind == "ours":
        seconds, features = _ours(name, weights, images, batch_size)
    else:
        seconds, features = _reference(name, weights, images, batch_size, member)
    peak_mib = _peak_rss_mib()
    queue.put((seconds, peak_mib, features))


def _measure(kind, *args):
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, *args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=32)
    parser.add_argument("--size", type=int, default=64, help="side of the input images")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--member", choices=["small", "official"], default="small")
    parser.add_argument("--encoders", default=",".join(SMALL))
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    from ganmetrics.encoders import write_test_weights

    members = SMALL if args.member == "small" else OFFICIAL
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.encoders.split(","):
            suffix = {"dinov2-vitl14": ".pth", "clip-vitl14": ".safetensors"}.get(name, ".pt")
            weights = str(Path(folder) / f"{name}{suffix}")
            write_test_weights(name, weights, seed=0, member=members[name])
            common = (name, weights, members[name], args.num, args.size, args.batch_size,
                      args.threads)  # fmt: skip
            ours_s, ours_mib, ours = _measure("ours", *common)
            ref_s, ref_mib, reference = _measure("reference", *common)
            rows.append({
                "encoder": name, "member": members[name], "images": args.num,
                "ours_img_s": args.num / ours_s, "reference_img_s": args.num / ref_s,
                "speedup": ref_s / ours_s, "ours_peak_mib": ours_mib,
                "reference_peak_mib": ref_mib,
                "max_abs_diff": float(np.abs(ours - reference).max()),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    print("\n| encoder (member) | ganmetrics img/s | reference img/s | speed-up | peak MiB "
          "(ours / ref) | max abs diff |\n|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(f"| {r['encoder']} ({r['member']}) | {r['ours_img_s']:.2f} | "
              f"{r['reference_img_s']:.2f} | {r['speedup']:.2f}× | {r['ours_peak_mib']:.0f} / "
              f"{r['reference_peak_mib']:.0f} | {r['max_abs_diff']:.1e} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
