#!/usr/bin/env bash
# One bounded check of a machine's GPU, everything written under one output folder:
#   bash tools/gpu-check.sh [OUTDIR]        (default: $OUT, else ./gpu-check-out)
# On a bare CUDA server, carry the folders from tools/gpu-bundle.sh (.gl .node .nm): when
# `node` is missing this script sources tools/gpu-setup.sh first. Steps (each under
# `timeout`; a failing step is logged and the script goes on; the summary names failures):
#   adapter       the WebGPU adapter, features, limits (src/cli.ts adapter) + nvidia-smi
#   kernels       bench/*.bench.ts kernel benches (matmul conv2d attention group_norm), JSON lines
#   kernels-norobust   the same with Dawn's disable_robustness toggle (ENGINE_DISABLE_ROBUSTNESS=1)
#   model         a fresh random full-size SD-Turbo (tools/make-random-sd-turbo.ts) in a temp folder
#   e2e-f16 / e2e-f16-norobust / e2e-f32   the e2e bench at SIZE^2, 2 runs (cold, warm), JSON
#                 (f16 as --f16 native: measured as asked, whatever the f16 policy would pick)
# Environment: SIZE (512), RUNS (2), QUICK (1: kernel benches --quick), KERNELS (list),
# MODEL (an existing pipeline folder: skips the model step), KEEP_MODEL=1 (keep it),
# T_SHORT / T_BENCH / T_MODEL / T_E2E (step limits in s: 60 / 240 / 300 / 300).
set -u
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-check-out}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
SIZE=${SIZE:-512} RUNS=${RUNS:-2} QUICK=${QUICK:-1}
KERNELS=${KERNELS:-matmul conv2d attention group_norm}
T_SHORT=${T_SHORT:-60} T_BENCH=${T_BENCH:-240} T_MODEL=${T_MODEL:-300} T_E2E=${T_E2E:-300}
summary="$out/summary.txt"
: > "$summary"
failed=()

say() { echo "$*" | tee -a "$summary"; }

# step NAME LIMIT CMD...: runs CMD under timeout, output to $out/NAME.log, rc + time to the summary.
step() {
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local dt=$((SECONDS - t0))
  tail -n 25 "$out/$name.log"
  if [ $rc -eq 0 ]; then say "ok     $name (${dt}s)"
  else
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="timed out after ${limit}s" || why="exit $rc"
    say "FAILED $name ($why, ${dt}s; see $name.log)"
    failed+=("$name")
  fi
  return 0
}

if ! command -v node > /dev/null && [ -f .node/node.xz ]; then
  echo "== setup: no node on PATH; sourcing tools/gpu-setup.sh"
  # shellcheck source=/dev/null
  . tools/gpu-setup.sh > "$out/setup.log" 2>&1 || true
  tail -n 5 "$out/setup.log"
fi
command -v node > /dev/null || { say "FAILED setup (no node; carry tools/gpu-bundle.sh's .gl .node .nm)"; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
say "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) size ${SIZE} runs ${RUNS}; $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version); git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

tsx=(node --import tsx)
step adapter "$T_SHORT" "${tsx[@]}" src/cli.ts adapter
command -v nvidia-smi > /dev/null && step nvidia-smi "$T_SHORT" nvidia-smi

q=(); [ "$QUICK" = 1 ] && q=(--quick)
# shellcheck disable=SC2086
step kernels "$T_BENCH" "${tsx[@]}" bench/run.ts $KERNELS "${q[@]}" --json
# shellcheck disable=SC2086
step kernels-norobust "$T_BENCH" env ENGINE_DISABLE_ROBUSTNESS=1 "${tsx[@]}" bench/run.ts $KERNELS "${q[@]}" --json

model=${MODEL:-}
if [ -z "$model" ]; then
  model=$(mktemp -d "${TMPDIR:-/tmp}/sd-turbo-random.XXXXXX")
  step model "$T_MODEL" "${tsx[@]}" tools/make-random-sd-turbo.ts "$model"
fi
e2e() { # e2e NAME DTYPE [extra args]
  local name=$1 dt=$2; shift 2
  step "$name" "$T_E2E" "${tsx[@]}" bench/e2e.bench.ts --model "$model" --size "$SIZE" --dtype "$dt" --runs "$RUNS" --json "$out/$name.json" "$@"
}
e2e e2e-f16 f16 --f16 native
e2e e2e-f16-norobust f16 --f16 native --no-robustness
e2e e2e-f32 f32
if [ -z "${MODEL:-}" ] && [ "${KEEP_MODEL:-0}" != 1 ]; then rm -rf "$model"; fi

if [ ${#failed[@]} -eq 0 ]; then say "all steps passed; results in $out"; exit 0; fi
say "failed steps: ${failed[*]}; results in $out"
exit 1
