#!/usr/bin/env bash
# Download, on a connected machine, the wheels that bench/gpu_check.sh installs on a GPU machine
# that cannot reach a package index (Python 3.12, x86-64 manylinux), into .whl/ at the repo root
# (ignored by git). Versions are pinned to what the project is developed with; gpu_check.sh
# installs only those the GPU machine lacks.
#
#     bench/fetch_wheels.sh            # then carry .whl/ to the GPU machine with the checkout
#
# --no-deps: each wheel's own dependencies are listed here explicitly; the GPU image already has
# torch, torchvision, numpy, scipy, pillow, click, tensorboard, matplotlib.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(
  torch-fidelity==0.4.0     # reference implementation, and our Inception module's source
  pytorch-msssim==1.0.0     # MS-SSIM reference
  platformdirs==4.14.9       # feature-cache folder
  lmdb==3.0.0               # LSUN sources
  pytorch-fid==0.3.0        # test dependency (agreement tests)
  tqdm==4.70.1              # progress bars
  pyyaml==6.0.3             # study configs
  filelock==4.3.1          # tests/conftest.py
  pytest==9.0.3
  pluggy==1.6.0
  iniconfig==2.3.0
  packaging==26.2
  hypothesis==6.155.2
  sortedcontainers==2.4.0
  pygments==2.19.2          # pytest's output
  torchmetrics==1.9.0       # bench_stream.py: FID agreement and loop precision (gpu_check stream)
  lightning-utilities==0.15.3  # torchmetrics' dependency
)
mkdir -p .whl
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
ls -1 .whl
