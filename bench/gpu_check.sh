#!/usr/bin/env bash
# The GPU check of issue #6: features vs torch-fidelity (10k images, 32 and 128 px, TF32 off/on,
# errors vs float64), end-to-end `ganmetrics fid` vs `fidelity` (cold / warm cache), trainer ms per
# iteration (bench/bench_train.py), the learning stage of issue 13 (bench/learning_check.py, <= 2
# minutes: SNDCGAN NS+SN at 32 px, sample grids and judge scores), the CUDA tests and the ViT-L/14
# encoders (issue #16). At most ~10 minutes on one GPU.
#
#     bench/gpu_check.sh            # on a GPU machine: bench/results/gpu_check.{json,md}
#     bench/gpu_check.sh --cpu      # smoke run at tiny sizes on the CPU (checks the script only)
#     bench/gpu_check.sh --stages learning   # one stage alone
#
# Missing dependencies are installed from .whl/ (made by bench/fetch_wheels.sh on a connected
# machine) with `pip install --no-index --no-deps --target`, then this checkout itself without
# dependencies; nothing is fetched from the network.
set -euo pipefail
cd "$(dirname "$0")/.."
SITE=${GANMETRICS_CHECK_SITE:-/tmp/ganmetrics-check-site}
PY=${PYTHON:-python3}

if [ -d .whl ] && compgen -G ".whl/*.whl" >/dev/null; then
  names=()
  for wheel in .whl/*.whl; do
    base=$(basename "$wheel")
    names+=("${base%%-*}")
  done
  installed=$("$PY" -m pip show "${names[@]}" 2>/dev/null | sed -n 's/^Name: //p' |
    tr 'A-Z_.' 'a-z--' || true)
  missing=()
  for wheel in .whl/*.whl; do
    base=$(basename "$wheel")
    name=$(echo "${base%%-*}" | tr 'A-Z_.' 'a-z--')
    grep -qx "$name" <<<"$installed" || missing+=("$wheel")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${#missing[@]} missing wheel(s) into $SITE: ${missing[*]}" >&2
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$SITE" "${missing[@]}"
  fi
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$PY" -c "import ganmetrics" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
    --target "$SITE" . >&2 || true
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, installed or not
export PYTHONUNBUFFERED=1
LIMIT=590  # seconds: the 10-minute budget on one GPU (8 + 2 for learning), less the installs
for arg in "$@"; do [ "$arg" = "--cpu" ] && LIMIT=900; done  # a shared small CPU is slower
exec timeout "$LIMIT" "$PY" bench/gpu_check.py "$@"
