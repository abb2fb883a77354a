#!/usr/bin/env bash
# The GPU suite: everything that needs CuPy and an NVIDIA GPU, in one run of at most 8 minutes.
#
#   bash benchmarks/gpu_suite.sh [PATH_TO_TINYSHAKESPEARE]
#
# Run from anywhere (it changes to the repository root); needs CuPy, PyTorch with CUDA, pytest and
# hypothesis, no network. The text defaults to $TINYSHAKESPEARE, else .gpu_data/tinyshakespeare.txt
# (an ignored folder that travels with the working tree); fill it with
#     mkdir -p .gpu_data && cp ../shared/data/tinyshakespeare.txt .gpu_data/
# Without it stages d and e run on seeded random tokens (the timings do not depend on the text).
#
# Stages, each under its own timeout (seconds), the next one starting whatever the last one did:
#   env     20  CuPy and PyTorch see the GPU; versions
#   a      100  the device tests: pytest --device cuda -m gpu (5 hypothesis examples), less stage c's
#   b       80  python -m tinygrad_lm.testing.report --device cuda (5 examples per check)
#   c       90  CPU/GPU parity tests: each op on both devices, training steps, the sync-free checks
#   d       60  benchmarks/device_parity.py: 20 training losses of a GPT and an LSTM, CPU vs GPU
#   e      130  benchmarks/bench_gpt.py --device cuda --preset nanogpt-gpu against PyTorch eager
# Output: as it goes, and into ${OUT:-/tmp}/gpu_suite.log; the benchmarks' JSON lines also into
# ${OUT:-/tmp}/device_parity.json and bench_gpt_cuda.json. Ends with a pass/fail table; exit status 1
# when any stage failed.

set -o pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON=${PYTHON:-python}
OUT_DIR=${OUT:-/tmp}
LOG="$OUT_DIR/gpu_suite.log"
DATA=${1:-${TINYSHAKESPEARE:-.gpu_data/tinyshakespeare.txt}}
mkdir -p "$OUT_DIR" && : >"$LOG"

PARITY_TESTS=(
  tests/test_op_registry.py::test_cpu_gpu_parity
  tests/test_device_parity.py
  tests/test_ngram.py::test_cupy_counts_match_numpy
  tests/test_sampling.py::test_cupy_draws_match_numpy
  tests/test_serialization.py::test_a_gpu_checkpoint_loads_on_the_cpu
)
DESELECT=()
for test in "${PARITY_TESTS[@]}"; do DESELECT+=(--deselect "$test"); done

if [[ -f "$DATA" ]]; then
  TEXT=(--path "$DATA")
else
  TEXT=()
  echo "no text at $DATA (mkdir -p .gpu_data && cp ../shared/data/tinyshakespeare.txt .gpu_data/):" \
    "stages d and e use random tokens" | tee -a "$LOG"
fi

NAMES=() RESULTS=() TIMES=()
stage() {  # stage NAME TIMEOUT_S COMMAND...: run it, log it, record PASS / FAIL (status) / TIMEOUT
  local name=$1 limit=$2 start status result
  shift 2
  echo "=== stage $name (timeout ${limit}s): $*" | tee -a "$LOG"
  start=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  status=${PIPESTATUS[0]}
  case $status in
    0) result=PASS ;;
    124 | 137) result="TIMEOUT after ${limit}s" ;;
    *) result="FAIL (status $status)" ;;
  esac
  NAMES+=("$name") RESULTS+=("$result") TIMES+=("$(($(date +%s) - start))")
  echo "=== stage $name: $result in ${TIMES[-1]}s" | tee -a "$LOG"
}

stage env 20 "$PYTHON" -c '
import cupy, torch, tinygrad_lm as tg
print("cupy", cupy.__version__, "torch", torch.__version__, "cuda", torch.version.cuda)
print("gpu", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
assert tg.cuda.is_available(), "tinygrad_lm sees no CUDA device"
assert torch.cuda.is_available(), "PyTorch sees no CUDA device"'

HYPOTHESIS_PROFILE=quick stage a 100 "$PYTHON" -m pytest -q --device cuda -x -m "gpu and not slow" \
  "${DESELECT[@]}" tests

stage b 80 "$PYTHON" -m tinygrad_lm.testing.report --device cuda --examples 5

HYPOTHESIS_PROFILE=quick stage c 90 "$PYTHON" -m pytest -q --device cuda -m "gpu and not slow" \
  "${PARITY_TESTS[@]}"

stage d 60 bash -c 'set -o pipefail; "$0" benchmarks/device_parity.py --device cuda --require-device "${@:2}" \
  | tee "$1"' "$PYTHON" "$OUT_DIR/device_parity.json" "${TEXT[@]}"

stage e 130 bash -c 'set -o pipefail; "$0" benchmarks/bench_gpt.py --device cuda --preset nanogpt-gpu --rounds 10 \
  --warmup 3 "${@:2}" | tee "$1"' "$PYTHON" "$OUT_DIR/bench_gpt_cuda.json" "${TEXT[@]}"

echo "=== summary" | tee -a "$LOG"
failed=0
for i in "${!NAMES[@]}"; do
  printf '%-4s %-24s %4ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}" | tee -a "$LOG"
  [[ ${RESULTS[$i]} == PASS ]] || failed=1
done
exit $failed
