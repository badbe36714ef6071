#!/usr/bin/env bash
# The one command to run on a lent GPU machine, from the repository root, with .device/ (made by
# bench/gpu/pack.sh) carried along:
#
#   OUT=/path bash bench/gpu/run.sh
#
# Unpacks node, dist/ and node_modules, sets up the Vulkan loader and the NVIDIA ICD, runs the
# WebGPU benchmark of the paper rows (bench/gpu/bench.ts), then the PyTorch CUDA reference
# (bench/gpu/torch_gpu.py), and writes one table: $OUT/gpu-bench.md and $OUT/gpu-bench.json (plus
# the raw webgpu.json, torch.json and logs). Every stage is guarded: a failure is logged and the
# next stage still runs. Order: the WebGPU tests, the benchmark, the PyTorch reference, every product
# and convolution of each row timed in PyTorch beside ours (bench/gpu/torch_ops.py: $OUT/ops.md), variants (one
# measure switched off each), product throughput (bench/gpu/matmul.ts and PyTorch on the same shapes),
# the table, then bench/gpu/profile.ts with the time left (about 8 minutes). Before the variants, the data
# pipeline and end to end (4d): `mixture run` epochs on synthetic data of the paper shapes with
# engine.data_workers 0 and auto against steps × the replayed step time (bench/epoch.ts: $OUT/pipeline.md),
# then CIFAR-10-shaped rows (50,000 / 10,000 images) and the Perceiver row (STL-10-shaped, 5,000 / 8,000 at
# 96×96), 2 epochs, against the same models in PyTorch with DataLoader(num_workers=<cores>,
# pin_memory=True) and the same augmentation (bench/gpu/torch_epoch.py: $OUT/e2e.md).
#
# MODE (one mode, or several comma-separated: MODE=products,precision) runs only what it names:
# MODE=profile runs bench/gpu/profile.ts instead (host vs GPU time per step, GPU time per kernel);
# MODE=compare runs BENCH_ROWS under each of the settings in COMPARE (see below) and prints one table;
# MODE=e2e runs only the data pipeline and end to end (4d); MODE=precision the fp32 and mixed16 steps
# beside PyTorch's fp32, TF32 and AMP (2b''); MODE=products only the product throughput (2b''': both
# forms of the product kernel, tfjs's programs, PyTorch with TF32 off and on -> $OUT/products.md).
# `bash bench/gpu/run.sh --smoke` runs MODE=e2e (or the MODE given: precision, products) on a machine without a GPU, to know it works before one
# is lent: this machine's node and dist/, Mesa's software Vulkan device (bench/gpu/lavapipe.sh),
# PyTorch on the CPU, two rows at batch 2 on a few images, kernel tuning off. Its figures time nothing
# of interest.
#
# Knobs (environment): BENCH_ROWS (comma list of configs/paper rows), BENCH_REPEAT (5), BENCH_WARMUP (20),
# BUNDLE (0; 1: only tables, logs and results.tgz in $OUT), RUN_PRECISION (1; PRECISION_DEADLINE s, 420), RUN_TESTS (1), RUN_CLI (1), CLI_TRAIN, CLI_TEST (4096, 1024 synthetic images), RUN_PROFILE (1),
# BENCH_BUDGET (s, 170), TORCH_REPEAT (10), TORCH_BUDGET (s, 70), RUN_TF32 (1: the PyTorch rows again with TF32 on), PYTHON (python3),
# VK_DRIVER_FILES (an ICD json; found automatically otherwise), MIXTURE_WEBGPU_ALLOW_SOFTWARE=1
# (test runs on a software Vulkan device).
# Data pipeline and end to end (4d): RUN_PIPELINE (1), PIPELINE_ROWS (cifar10/resnet18,stl10-perceiver/perceiver;
# `all`: the 13 paper rows), PIPELINE_WORKERS (0,auto), PIPELINE_TRAIN, PIPELINE_TEST (4096, 1024), PIPELINE_BUDGET (s, 150);
# RUN_E2E (1), E2E_ROWS (cifar10/resnet18,stl10-perceiver/perceiver,cifar10/alternating-1block; `all`: the six
# CIFAR rows and the Perceiver), E2E_WORKERS (auto), E2E_TRAIN, E2E_TEST (50000, 10000), E2E_TRAIN96, E2E_TEST96
# (5000, 8000), E2E_EPOCHS (2), E2E_BUDGET (s, 240: no row starts after it), E2E_BATCH (the paper's),
# STEP_REPEAT, STEP_WARMUP (5, 20: the step time bench/epoch.ts compares with).
# Product throughput (2b''', 5b): MATMUL_DEADLINE (s, 380: 5b starts before it), MATMUL_REPEAT (20), MATMUL_SCALE (1:
# every extent but the channels divided by it).
set -uo pipefail
SMOKE=0
[[ "${1:-}" == --smoke ]] && SMOKE=1
cd "$(dirname "$0")/../.."
ROOT=$PWD
D=$ROOT/.device
OUT=${OUT:-$ROOT/.device/out}
mkdir -p "$OUT"
# BUNDLE=1: work in a scratch folder and leave in $OUT only the tables, the logs and one archive of
# everything (results.tgz) — for a lent machine that hands back a few files only. Also when the run
# is stopped (timeout's SIGTERM), so what was measured so far comes back.
if [[ "${BUNDLE:-0}" == 1 ]]; then
  FINAL=$OUT
  OUT=$(mktemp -d)
  bundle() {
    trap - EXIT TERM INT
    for f in gpu-bench.md ops.md profile.md pipeline.md e2e.md precision.md products.md adapter-features.txt run.log cli.log; do [[ -f $OUT/$f ]] && cp "$OUT/$f" "$FINAL/"; done
    tar -czf "$FINAL/results.tgz" -C "$OUT" . 2>/dev/null
    echo "[run.sh] bundled into $FINAL: $(ls "$FINAL" | tr '\n' ' ')" >&2
  }
  trap bundle EXIT
  trap 'exit 143' TERM INT
fi
PYTHON=${PYTHON:-python3}
T0=$(date +%s)
log() { echo "[run.sh +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/run.log" >&2; }

if [[ $SMOKE == 1 ]]; then
  # No GPU: this machine's build, lavapipe, PyTorch on the CPU, tiny sizes (see the top of this file).
  MODE=${MODE:-e2e} TORCH_DEVICE=cpu
  : "${PIPELINE_TRAIN:=8}" "${PIPELINE_TEST:=4}" "${E2E_TRAIN:=8}" "${E2E_TEST:=4}" "${E2E_TRAIN96:=8}" "${E2E_TEST96:=4}"
  : "${E2E_BATCH:=2}" "${STEP_REPEAT:=2}" "${STEP_WARMUP:=4}" "${E2E_ROWS:=cifar10/resnet18,stl10-perceiver/perceiver}"
  : "${MATMUL_SCALE:=8}" "${MATMUL_REPEAT:=2}"
  # The per-row benchmarks (precision, profile, bench) at batch 2 too: a paper batch takes minutes a step on lavapipe.
  : "${BENCH_ROWS:=cifar10/resnet18,stl10-perceiver/perceiver}" "${BENCH_BATCH:=2}" "${BENCH_REPEAT:=2}" "${BENCH_WARMUP:=2}"
  export MIXTURE_WEBGPU_TUNE=0
  # Debian's python3-torch is /usr/bin/python3's; another python3 first on PATH may lack it.
  if ! "$PYTHON" -c 'import torch' 2>/dev/null && [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; fi
  eval "$(bash bench/gpu/lavapipe.sh)" || { log "no software Vulkan device (bench/gpu/lavapipe.sh failed)"; exit 1; }
  [[ -f dist/bench/epoch.js ]] || { log "dist/ lacks bench/epoch.js: npm run build first"; exit 1; }
  log "smoke run: node $(node --version), lavapipe, PyTorch on the CPU"
fi

# 1. unpack ------------------------------------------------------------------------------------
if [[ $SMOKE != 1 ]]; then
[[ -f $D/node.xz && -f $D/app.tar.xz ]] || { log "missing $D/node.xz or $D/app.tar.xz: run bench/gpu/pack.sh and carry .device"; exit 1; }
mkdir -p "$D/bin"
"$PYTHON" - "$D" "$ROOT" <<'PY' || { log "unpacking failed"; exit 1; }
import lzma, os, shutil, sys, tarfile
d, root = sys.argv[1], sys.argv[2]
with lzma.open(os.path.join(d, 'node.xz')) as src, open(os.path.join(d, 'bin', 'node'), 'wb') as dst:
    shutil.copyfileobj(src, dst)
os.chmod(os.path.join(d, 'bin', 'node'), 0o755)
with tarfile.open(os.path.join(d, 'app.tar.xz'), 'r:xz') as t:
    t.extractall(root)
PY
export PATH=$D/bin:$PATH
log "unpacked: node $(node --version 2>&1)"

# 2. Vulkan loader and driver ------------------------------------------------------------------
# NVIDIA's Vulkan ICD is libGLX_nvidia.so.0, which needs the glvnd loaders; a bare machine may lack them.
if ! ldconfig -p 2>/dev/null | grep -q libGLdispatch && ls "$D"/gl/*.deb >/dev/null 2>&1; then
  for f in "$D"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  log "installed the glvnd/Vulkan loaders from $D/gl"
fi
LIBS=$D/vulkan
PATH=$PATH:/sbin:/usr/sbin
SYS_STDCXX=$(ldconfig -p 2>/dev/null | awk '$1 == "libstdc++.so.6" && /x86-64/ {print $NF}' | head -1)
if [[ -z "$SYS_STDCXX" ]] || ! grep -qa GLIBCXX_3.4.30 "$SYS_STDCXX"; then
  LIBS=$LIBS:$D/compat
  log "system libstdc++ lacks GLIBCXX_3.4.30 (dawn.node needs it): using the packed one"
fi
export LD_LIBRARY_PATH=$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [[ -z "${VK_DRIVER_FILES:-}" || ! -f "${VK_DRIVER_FILES}" ]]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
    if [[ -f $f ]]; then export VK_DRIVER_FILES=$f; break; fi
  done
fi
if [[ -z "${VK_DRIVER_FILES:-}" || ! -f "${VK_DRIVER_FILES}" ]]; then
  # No ICD manifest: the NVIDIA Vulkan driver lives in libGLX_nvidia.so.0; write a manifest for it.
  glx=$(ldconfig -p 2>/dev/null | awk '$1 == "libGLX_nvidia.so.0" {print $NF}' | head -1)
  for dir in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
    [[ -z "$glx" && -f $dir/libGLX_nvidia.so.0 ]] && glx=$dir/libGLX_nvidia.so.0
  done
  if [[ -n "$glx" ]]; then
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$glx" > "$D/nvidia_icd.json"
    export VK_DRIVER_FILES=$D/nvidia_icd.json
    log "no nvidia_icd.json found: wrote one for $glx"
  else
    log "no NVIDIA Vulkan ICD (nvidia_icd.json / libGLX_nvidia.so.0) found: WebGPU will find no adapter (the container needs NVIDIA_DRIVER_CAPABILITIES with graphics)"
  fi
fi
log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
{ nvidia-smi -L 2>&1 | head -4; } | tee -a "$OUT/run.log" >&2 || true
fi

# 4d (defined here, run after the CLI stage, or alone with MODE=e2e). The data pipeline: a CLI epoch
# of each row (synthetic data of its shape) with engine.data_workers 0 and auto against steps × its
# replayed step time. End to end: per row, the same model trained in PyTorch with a DataLoader
# (bench/gpu/torch_epoch.py), then ours; row by row, so that the budget leaves no half-measured row.
ALL_ROWS=cifar10/resnet18,cifar10/vit,cifar10/alternating-1block,cifar10/joint-1block,cifar10/alternating-2block,cifar10/joint-2block,stl10-perceiver/perceiver,stl10-perceiver/perceiver-baseline,stl10-perceiver/alternating-1block,stl10-perceiver/joint-1block,stl10-perceiver/alternating-2block,stl10-perceiver/joint-2block,stl10-perceiver/cnn
E2E_ALL=cifar10/resnet18,stl10-perceiver/perceiver,cifar10/alternating-1block,cifar10/vit,cifar10/joint-1block,cifar10/alternating-2block,cifar10/joint-2block
pipeline_and_e2e() {
  local quiet='XDG_RUNTIME_DIR|artificially reduced'
  local step=(--step-repeat "${STEP_REPEAT:-5}" --step-warmup "${STEP_WARMUP:-20}")
  local batch=()
  [[ -n "${E2E_BATCH:-}" ]] && batch=(--batch "$E2E_BATCH")
  if [[ "${RUN_PIPELINE:-1}" == 1 ]]; then
    local rows=${PIPELINE_ROWS:-cifar10/resnet18,stl10-perceiver/perceiver}
    [[ $rows == all ]] && rows=$ALL_ROWS
    local budget=${PIPELINE_BUDGET:-150}
    log "data pipeline: CLI epochs with engine.data_workers ${PIPELINE_WORKERS:-0,auto} vs steps × step time ($rows; budget ${budget}s)"
    timeout $(( budget + 400 )) node dist/bench/epoch.js --backend webgpu --rows "$rows" --workers "${PIPELINE_WORKERS:-0,auto}" \
      --train "${PIPELINE_TRAIN:-4096}" --test "${PIPELINE_TEST:-1024}" --epochs 2 --budget "$budget" "${step[@]}" ${batch[@]+"${batch[@]}"} \
      --out "$OUT/pipeline.json" --md "$OUT/pipeline.md" 2>&1 | grep --line-buffered -v -E "$quiet" | tee "$OUT/pipeline.log" >&2
    log "data pipeline exit ${PIPESTATUS[0]}"
  fi
  if [[ "${RUN_E2E:-1}" == 1 ]]; then
    local rows=${E2E_ROWS:-cifar10/resnet18,stl10-perceiver/perceiver,cifar10/alternating-1block}
    [[ $rows == all ]] && rows=$E2E_ALL
    local budget=${E2E_BUDGET:-240} started=$(date +%s) ins=() torches=() row k=0
    IFS=',' read -r -a list <<< "$rows"
    for row in "${list[@]}"; do
      if (( $(date +%s) - started > budget )); then log "end to end: skipping $row (budget ${budget}s)"; continue; fi
      k=$((k + 1))
      local torch_row
      torch_row=$(ROWS_FROM="$ROOT/dist/bench/gpu/bench.js" node -e 'import(process.env.ROWS_FROM).then((m) => process.stdout.write(new Map(m.ROWS).get(process.argv[1]) ?? ""))' "$row" 2>/dev/null)
      log "end to end: $row in PyTorch (${torch_row:-no twin})"
      [[ -n "$torch_row" ]] && timeout 900 "$PYTHON" bench/gpu/torch_epoch.py --rows "$torch_row" --train "${E2E_TRAIN:-50000}" --test "${E2E_TEST:-10000}" \
        --train96 "${E2E_TRAIN96:-5000}" --test96 "${E2E_TEST96:-8000}" --epochs "${E2E_EPOCHS:-2}" ${batch[@]+"${batch[@]}"} \
        ${TORCH_DEVICE:+--device "$TORCH_DEVICE"} --out "$OUT/torch-epoch-$k.json" 2>&1 | tee -a "$OUT/e2e.log" >&2
      torches+=(--torch "$OUT/torch-epoch-$k.json")
      log "end to end: $row, mixture run"
      timeout 1200 node dist/bench/epoch.js --backend webgpu --rows "$row" --workers "${E2E_WORKERS:-auto}" --train "${E2E_TRAIN:-50000}" \
        --test "${E2E_TEST:-10000}" --train96 "${E2E_TRAIN96:-5000}" --test96 "${E2E_TEST96:-8000}" --epochs "${E2E_EPOCHS:-2}" "${step[@]}" \
        ${batch[@]+"${batch[@]}"} --out "$OUT/e2e-$k.json" 2>&1 | grep --line-buffered -v -E "$quiet" | tee -a "$OUT/e2e.log" >&2
      ins+=(--in "$OUT/e2e-$k.json")
    done
    if (( ${#ins[@]} > 0 )); then
      node dist/bench/epoch.js report "${ins[@]}" ${torches[@]+"${torches[@]}"} --md "$OUT/e2e.md" | tee -a "$OUT/run.log" >&2
    fi
    log "end to end done"
  fi
}
# MODE: one mode or several, comma-separated (MODE=products,precision); each runs in the order below.
has_mode() { [[ ",${MODE:-bench}," == *",$1,"* ]]; }
MODES=${MODE:-bench}
for m in ${MODES//,/ }; do
  case $m in bench | e2e | products | profile | compare | precision) ;; *) log "unknown MODE $m (bench, e2e, products, profile, compare, precision)"; exit 2 ;; esac
done
if has_mode e2e; then
  pipeline_and_e2e
  [[ -f $OUT/pipeline.md ]] && cat "$OUT/pipeline.md" >&2
fi

# 2b'''. Product throughput: both forms of the project's product kernel (each also with Dawn's
# bounds clamping in shaders off: the disable_robustness toggle), tfjs's programs, and PyTorch's
# (TF32 off and on) on the same shapes, then every route kernel tuning has for each call (128×256
# tiles too) -> $OUT/products.md. Run at 5b in a full run, or alone: MODE=products.
# What the adapter offers: its features (shader-f16; subgroups; Dawn's experimental subgroup matrices,
# i.e. tensor cores) and the limits the product kernel's forms need -> $OUT/adapter-features.txt.
adapter_features() {
  [[ -s $OUT/adapter-features.txt ]] && return
  timeout 60 node --input-type=module -e '
    const {create} = await import("webgpu")
    const a = await create([]).requestAdapter({powerPreference: "high-performance"})
    console.log(`${a?.info?.description ?? "no adapter"}: ${[...(a?.features ?? [])].sort().join(" ")}`)
    const l = a?.limits ?? {}
    console.log(["maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup", "maxStorageBuffersPerShaderStage", "maxComputeWorkgroupsPerDimension"].map((k) => `${k} ${l[k]}`).join("; "))
    process.exit(0)' 2>/dev/null | tee "$OUT/adapter-features.txt" >&2
}
products() {
  adapter_features
  log "products (bench/gpu/matmul.ts: default, double-buffered, MIXTURE_WEBGPU_MATMUL=0; bench/gpu/torch_matmul.py)"
  { node dist/bench/gpu/matmul.js shapes ${MATMUL_SCALE:+--scale "$MATMUL_SCALE"} > "$OUT/matmul-shapes.json"
    local m=(node dist/bench/gpu/matmul.js run --repeat "${MATMUL_REPEAT:-20}" ${MATMUL_SCALE:+--scale "$MATMUL_SCALE"})
    # This one also times every route kernel tuning has for each call (the kernel's forms, tfjs's): products.md's second table.
    MIXTURE_WEBGPU_GEMM_PIPELINE=0 timeout 240 "${m[@]}" --routes --label 'ours, single-buffered' --out "$OUT/matmul.json"
    MIXTURE_WEBGPU_GEMM_PIPELINE=1 timeout 90 "${m[@]}" --label 'ours, double-buffered' --out "$OUT/matmul-pipelined.json"
    local unclamped=skip_validation,disable_robustness
    MIXTURE_WEBGPU_DAWN_TOGGLES=$unclamped MIXTURE_WEBGPU_GEMM_PIPELINE=0 timeout 90 "${m[@]}" --label 'ours, single, robustness off' --out "$OUT/matmul-unclamped.json"
    MIXTURE_WEBGPU_DAWN_TOGGLES=$unclamped MIXTURE_WEBGPU_GEMM_PIPELINE=1 timeout 90 "${m[@]}" --label 'ours, double, robustness off' --out "$OUT/matmul-pipelined-unclamped.json"
    MIXTURE_WEBGPU_MATMUL=0 timeout 90 "${m[@]}" --label "tfjs's programs" --out "$OUT/matmul-tfjs.json"
    timeout 90 "$PYTHON" bench/gpu/torch_matmul.py --shapes "$OUT/matmul-shapes.json" --out "$OUT/matmul-torch.json" --device "${TORCH_DEVICE:-cuda}" --repeat "${MATMUL_REPEAT:-20}"
    timeout 90 "$PYTHON" bench/gpu/torch_matmul.py --shapes "$OUT/matmul-shapes.json" --out "$OUT/matmul-torch-tf32.json" --device "${TORCH_DEVICE:-cuda}" --repeat "${MATMUL_REPEAT:-20}" --tf32
    local results=()
    for f in matmul matmul-pipelined matmul-unclamped matmul-pipelined-unclamped matmul-tfjs matmul-torch matmul-torch-tf32; do [[ -f $OUT/$f.json ]] && results+=("$OUT/$f.json"); done
    node dist/bench/gpu/matmul.js report "${results[@]}" --md "$OUT/products.md"
  } 2>&1 | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' | tee "$OUT/matmul.log" >&2
}
if has_mode products; then products; fi
# 2b. MODE=profile: only where the time goes (bench/gpu/profile.ts), then stop --------------------
if has_mode profile; then
  log "profile (budget ${PROFILE_BUDGET:-150}s)"
  timeout $(( ${PROFILE_BUDGET:-150} + 60 )) node dist/bench/gpu/profile.js ${BENCH_ROWS:+--rows "$BENCH_ROWS"} ${BENCH_BATCH:+--batch "$BENCH_BATCH"} \
    --repeat "${BENCH_REPEAT:-5}" --budget "${PROFILE_BUDGET:-150}" --out "$OUT/profile.json" --md "$OUT/profile.md" 2>&1 \
    | grep --line-buffered -v -E 'XDG_RUNTIME_DIR|artificially reduced' | tee "$OUT/profile.log" >&2
  log "profile exit ${PIPESTATUS[0]}"
  # The host side of two rows under V8's sampling profiler (open the .cpuprofile in Chrome DevTools).
  for r in ${PROFILE_CPU_ROWS:-cifar10/resnet18 stl10-perceiver/perceiver}; do
    timeout 90 node --cpu-prof --cpu-prof-dir="$OUT/cpuprofile/${r//\//_}" dist/bench/gpu/profile.js --rows "$r" --repeat "${PROFILE_CPU_REPEAT:-20}" --no-gpu \
      --out "$OUT/cpuprofile-${r//\//_}.json" 2>&1 | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' >&2
  done
  log "profile done"
fi

# 2b'. MODE=compare: the same rows under several settings, one table, then stop ---------------------
#   MODE=compare BENCH_ROWS=a,b COMPARE='default;MIXTURE_WEBGPU_SUBMIT_BATCH=256;X=1 Y=2' bash bench/gpu/run.sh
if has_mode compare; then
  IFS=';' read -r -a SETTINGS <<< "${COMPARE:-default}"
  files=()
  for k in "${!SETTINGS[@]}"; do
    setting=${SETTINGS[$k]}
    log "compare: ${setting}"
    envs=()
    [[ "$setting" != default ]] && read -r -a envs <<< "$setting"
    env ${envs[@]+"${envs[@]}"} timeout 150 node dist/bench/gpu/bench.js run ${BENCH_ROWS:+--rows "$BENCH_ROWS"} ${BENCH_BATCH:+--batch "$BENCH_BATCH"} \
      --repeat "${BENCH_REPEAT:-10}" --warmup "${BENCH_WARMUP:-40}" --budget 120 --label "$setting" --no-count --out "$OUT/compare-$k.json" 2>&1 \
      | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' > "$OUT/compare-$k.log"
    files+=("$OUT/compare-$k.json")
  done
  node -e '
    const docs = process.argv.slice(1).map((f) => { try { return JSON.parse(require("fs").readFileSync(f, "utf8")) } catch { return null } }).filter(Boolean)
    const rows = [...new Set(docs.flatMap((d) => d.rows.map((r) => r.row)))]
    console.log(["| row |", ...docs.map((d) => ` ${d.label} step ms (host) |`)].join(""))
    console.log("|---|" + docs.map(() => "---:|").join(""))
    for (const row of rows) console.log(`| ${row} |` + docs.map((d) => { const r = d.rows.find((x) => x.row === row); return r && r.step_ms != null ? ` ${r.step_ms} (${r.issue_ms}) |` : " - |" }).join(""))
  ' "${files[@]}" | tee "$OUT/compare.md"
  if [[ -n "${TORCH_ROWS:-}" ]]; then
    timeout 100 "$PYTHON" bench/gpu/torch_gpu.py --rows "$TORCH_ROWS" --repeat 20 --warmup 5 --budget 60 --out "$OUT/torch.json" > "$OUT/torch.log" 2>&1
    node -e 'const d = require(process.argv[1]); for (const r of d.rows) console.log(`torch ${r.row}: step ${r.step_ms} ms, forward ${r.forward_ms} ms`)' "$OUT/torch.json" | tee -a "$OUT/compare.md"
  fi
fi

# 2b''. precision_compare (MODE=precision alone; in a full run after 4d, while time remains): each row's
# training step in fp32 and engine.precision mixed16 (ours), beside PyTorch's fp32 (TF32 off), TF32 and AMP
# (autocast(float16) + GradScaler) on the same card: $OUT/precision.md, and the adapter's features
# ($OUT/adapter-features.txt). Rows: BENCH_ROWS (default: the ViT, a CIFAR mixture, the Perceiver,
# ResNet-18). With --smoke: PyTorch on the CPU, its AMP disabled (no float16 autocast there).
precision_compare() {
  PROWS=${BENCH_ROWS:-cifar10/vit,cifar10/alternating-1block,stl10-perceiver/perceiver,cifar10/resnet18}
  adapter_features
  for p in fp32 mixed16; do
    log "precision: ours, $p ($PROWS)"
    timeout 200 node dist/bench/gpu/bench.js run --rows "$PROWS" --precision $p ${BENCH_BATCH:+--batch "$BENCH_BATCH"} --repeat "${BENCH_REPEAT:-5}" \
      --warmup "${BENCH_WARMUP:-20}" --budget 150 --label "$p" --no-count --out "$OUT/precision-$p.json" 2>&1 \
      | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' > "$OUT/precision-$p.log"
    log "precision: ours, $p exit ${PIPESTATUS[0]}"
  done
  TROWS=$(node -e 'try { process.stdout.write(require(process.argv[1]).rows.map((r) => r.torch_row).join(",")) } catch {}' "$OUT/precision-fp32.json")
  for p in fp32 tf32 amp; do
    log "precision: PyTorch, $p"
    timeout 120 "$PYTHON" bench/gpu/torch_gpu.py ${TROWS:+--rows "$TROWS"} ${BENCH_BATCH:+--batch "$BENCH_BATCH"} --precision $p --repeat "${TORCH_REPEAT:-10}" \
      --warmup 3 --budget 90 --out "$OUT/torch-$p.json" ${TORCH_DEVICE:+--device "$TORCH_DEVICE"} > "$OUT/torch-$p.log" 2>&1
  done
  node -e '
    const read = (f) => { try { return JSON.parse(require("fs").readFileSync(f, "utf8")) } catch { return {rows: []} } }
    const [o32, o16, t32, ttf, tamp] = process.argv.slice(1).map(read)
    const ms = (d, key, row) => d.rows.find((r) => r[key] === row)?.step_ms
    const cell = (v) => (v == null ? " - |" : ` ${v} |`)
    const ratio = (a, b) => (a == null || b == null ? " - |" : ` ${(a / b).toFixed(2)}× |`)
    console.log(`PyTorch: ${t32.device ?? "-"}`)
    console.log("| row | ours fp32 ms | ours mixed16 ms | torch fp32 ms | torch TF32 ms | torch AMP ms | fp32 / torch fp32 | fp32 / torch TF32 | mixed16 / torch AMP |")
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (const r of o32.rows) {
      const [a, b] = [r.step_ms, ms(o16, "row", r.row)]
      const [c, d, e] = [t32, ttf, tamp].map((t) => ms(t, "row", r.torch_row))
      console.log(`| ${r.row} |` + [a, b, c, d, e].map(cell).join("") + ratio(a, c) + ratio(a, d) + ratio(b, e))
    }
  ' "$OUT/precision-fp32.json" "$OUT/precision-mixed16.json" "$OUT/torch-fp32.json" "$OUT/torch-tf32.json" "$OUT/torch-amp.json" | tee "$OUT/precision.md"
}
if has_mode precision; then precision_compare; fi
if [[ "${MODE:-bench}" != bench ]]; then
  log "done (MODE=$MODE); results in $OUT"
  exit 0
fi

# 2c. The WebGPU tests (kernels, one training step of every paper structure against cpu, mixed16 numerics) -
if [[ "${RUN_TESTS:-1}" == 1 && -f dist/test/backends/webgpu/kernels.test.js ]]; then
  log "WebGPU tests"
  timeout 200 node --test dist/test/backends/webgpu/kernels.test.js dist/test/backends/webgpu/models.test.js dist/test/backends/webgpu/graph.test.js dist/test/backends/webgpu/tune.test.js \
    dist/test/backends/webgpu/mixed-precision.test.js > "$OUT/webgpu-tests.log" 2>&1
  log "WebGPU tests exit $? ($(grep -E '^# (pass|fail|skipped) ' "$OUT/webgpu-tests.log" | tr '\n' ' '))"
fi

# 3. WebGPU benchmark ----------------------------------------------------------------------------
ROWS_FLAG=()
[[ -n "${BENCH_ROWS:-}" ]] && ROWS_FLAG=(--rows "$BENCH_ROWS")
BATCH_FLAG=()
[[ -n "${BENCH_BATCH:-}" ]] && BATCH_FLAG=(--batch "$BENCH_BATCH")
BUDGET=${BENCH_BUDGET:-170}
log "WebGPU benchmark (budget ${BUDGET}s for starting rows)"
timeout $(( BUDGET + 70 )) node dist/bench/gpu/bench.js run ${ROWS_FLAG[@]+"${ROWS_FLAG[@]}"} ${BATCH_FLAG[@]+"${BATCH_FLAG[@]}"} \
  --repeat "${BENCH_REPEAT:-5}" --warmup "${BENCH_WARMUP:-20}" --budget "$BUDGET" --out "$OUT/webgpu.json" 2>&1 \
  | grep --line-buffered -v -E 'XDG_RUNTIME_DIR|artificially reduced' | tee "$OUT/webgpu.log" >&2
log "WebGPU benchmark exit ${PIPESTATUS[0]}"

# 4. PyTorch CUDA reference ----------------------------------------------------------------------
TORCH_ROWS=$(node -e '
  const fs = require("fs"); try { const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  process.stdout.write(d.rows.map((r) => r.torch_row).join(",")) } catch { process.stdout.write("") }' "$OUT/webgpu.json")
TB=${TORCH_BUDGET:-70}
log "PyTorch reference (rows: ${TORCH_ROWS:-default}; budget ${TB}s)"
TROWS_FLAG=()
[[ -n "$TORCH_ROWS" ]] && TROWS_FLAG=(--rows "$TORCH_ROWS")
timeout $(( TB + 40 )) "$PYTHON" bench/gpu/torch_gpu.py ${TROWS_FLAG[@]+"${TROWS_FLAG[@]}"} ${BATCH_FLAG[@]+"${BATCH_FLAG[@]}"} --repeat "${TORCH_REPEAT:-10}" \
  --warmup 3 --budget "$TB" --out "$OUT/torch.json" ${TORCH_DEVICE:+--device "$TORCH_DEVICE"} 2>&1 | tee "$OUT/torch.log" >&2
log "PyTorch reference exit ${PIPESTATUS[0]}"
# The same rows with TF32 on (products and convolutions on tensor cores in float32's range): the
# table's second ratio. RUN_TF32=0 skips it.
TORCH_TF32=()
if [[ "${RUN_TF32:-1}" == 1 ]]; then
  log "PyTorch reference, TF32 on"
  timeout $(( TB + 40 )) "$PYTHON" bench/gpu/torch_gpu.py ${TROWS_FLAG[@]+"${TROWS_FLAG[@]}"} ${BATCH_FLAG[@]+"${BATCH_FLAG[@]}"} --repeat "${TORCH_REPEAT:-10}" \
    --warmup 3 --budget "$TB" --precision tf32 --out "$OUT/torch-tf32-rows.json" ${TORCH_DEVICE:+--device "$TORCH_DEVICE"} > "$OUT/torch-tf32-rows.log" 2>&1
  log "PyTorch reference, TF32 on, exit $?"
  TORCH_TF32=(--torch-tf32 "$OUT/torch-tf32-rows.json")
fi

# The table now (rewritten with the variants at the end), in case the run is cut short.
[[ -f $OUT/webgpu.json ]] && node dist/bench/gpu/bench.js report --webgpu "$OUT/webgpu.json" --torch "$OUT/torch.json" ${TORCH_TF32[@]+"${TORCH_TF32[@]}"} \
  --md "$OUT/gpu-bench.md" --json "$OUT/gpu-bench.json" > /dev/null 2>&1

# 4b. Every product and convolution of each row's step (as kernel tuning recorded them), timed in PyTorch too
log "per-call comparison (bench/gpu/torch_ops.py)"
timeout 100 "$PYTHON" bench/gpu/torch_ops.py --webgpu "$OUT/webgpu.json" --out "$OUT/ops.json" --md "$OUT/ops.md" --budget 60 \
  ${TORCH_DEVICE:+--device "$TORCH_DEVICE"} > "$OUT/ops.log" 2>&1
log "per-call comparison exit $?: $(grep -c '^### ' "$OUT/ops.md" 2>/dev/null || echo 0) rows"
grep '^### ' "$OUT/ops.md" 2>/dev/null | tee -a "$OUT/run.log" >&2

# 4c. The CLI on the card: `mixture run --backend auto` of two paper rows on synthetic data (no
# dataset files here): the backend it picks, kernel tuning, replayed steps, the run folder.
if [[ "${RUN_CLI:-1}" == 1 ]]; then
  for spec in cifar10/resnet18 stl10-perceiver/perceiver; do
    log "CLI: mixture run configs/paper/$spec.yaml --backend auto (synthetic data)"
    timeout 150 node bin/run.js run "configs/paper/$spec.yaml" --backend auto --set data.dataset=synthetic \
      --set data.synthetic.train="${CLI_TRAIN:-4096}" --set data.synthetic.test="${CLI_TEST:-1024}" --set train.epochs=2 --out "$OUT/cli" 2>&1 \
      | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' | tee -a "$OUT/cli.log" >&2
    log "CLI exit ${PIPESTATUS[0]}"
  done
  # The checkpoints (ResNet-18's weights and Adam moments: ~270 MB) would not fit what comes back from $OUT.
  find "$OUT/cli" -name '*.ckpt' -delete 2>/dev/null
fi

# 4d. The data pipeline and end to end (pipeline_and_e2e above) ------------------------------------
pipeline_and_e2e

# 4e. fp32 and mixed16 beside PyTorch's fp32, TF32 and AMP (precision_compare above), while time remains
if [[ "${RUN_PRECISION:-1}" == 1 ]]; then
  if (( $(date +%s) - T0 > ${PRECISION_DEADLINE:-420} )); then log "skipping the precision comparison (time; MODE=precision runs it alone)"; else precision_compare; fi
fi

# 5. Variants while time remains: each switches one of the project's WebGPU measures off ---------
VARIANTS=()
variant() {  # variant <label> <file> <rows> <env assignments...>
  local label=$1 file=$2 rows=$3; shift 3
  if (( $(date +%s) - T0 > ${VARIANT_DEADLINE:-330} )); then log "skipping variant '$label' (time)"; return; fi
  log "variant: $label ($rows)"
  env "$@" timeout 90 node dist/bench/gpu/bench.js run --rows "$rows" ${BATCH_FLAG[@]+"${BATCH_FLAG[@]}"} --repeat 3 --warmup "${BENCH_WARMUP:-20}" \
    --budget 40 --label "$label" --out "$OUT/$file" 2>&1 | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' | tee "$OUT/${file%.json}.log" >&2
  VARIANTS+=(--variant "$OUT/$file")
}
if ! node -e 'const d = require(process.argv[1]); process.exit(d.rows.some((r) => r.step_ms != null) ? 0 : 1)' "$OUT/webgpu.json" 2>/dev/null; then
  variant "no WebGPU row ran with default settings; retry without Dawn toggles" webgpu-notoggles.json cifar10/resnet18 MIXTURE_WEBGPU_DAWN_TOGGLES=none
elif [[ -z "${BENCH_ROWS:-}" ]]; then
  # Newest measures first (not yet timed on a GPU); the earlier ones (attention kernels, tiled conv
  # input gradient, submit batch) were settled by MODE=compare runs: docs/benchmarks/gpu-h200.md.
  variant "MIXTURE_WEBGPU_GRAPH_PRUNE=0 (replayed steps keep the dispatches whose results nothing reads)" webgpu-noprune.json cifar10/resnet18,stl10-perceiver/cnn MIXTURE_WEBGPU_GRAPH_PRUNE=0
  variant "MIXTURE_WEBGPU_TUNE=0 (no kernel tuning: every product and convolution on the project's route)" webgpu-notune.json stl10-perceiver/cnn,cifar10/resnet18,cifar10/vit MIXTURE_WEBGPU_TUNE=0
  variant "MIXTURE_WEBGPU_GRAPH=0 (every step recorded through tfjs, none replayed)" webgpu-nograph.json cifar10/resnet18,stl10-perceiver/perceiver,stl10-perceiver/alternating-2block,stl10-perceiver/cnn MIXTURE_WEBGPU_GRAPH=0
  variant "MIXTURE_WEBGPU_LONG_K=0 (small-output long-k products on tfjs's split-K program)" webgpu-nolongk.json stl10-perceiver/perceiver,stl10-perceiver/alternating-1block MIXTURE_WEBGPU_LONG_K=0
  variant "MIXTURE_WEBGPU_MATMUL=0 (products and convolutions on tfjs's programs)" webgpu-nomatmul.json cifar10/vit,cifar10/joint-1block,cifar10/resnet18,stl10-perceiver/cnn MIXTURE_WEBGPU_MATMUL=0
  variant "MIXTURE_WEBGPU_BN_TWO_PASS=0 (BatchNorm in 3 dispatches each way)" webgpu-bn3.json cifar10/resnet18,stl10-perceiver/cnn MIXTURE_WEBGPU_BN_TWO_PASS=0
  variant "MIXTURE_WEBGPU_CONV_INPUT_FORWARD=0 (stride-1 conv input gradient on tfjs's transposed-conv program)" webgpu-noconvforward.json cifar10/resnet18,stl10-perceiver/cnn MIXTURE_WEBGPU_CONV_INPUT_FORWARD=0
  variant "MIXTURE_WEBGPU_ADAM_INPLACE=0 (one MixtureAdam kernel call per weight, new tensors)" webgpu-noinplace.json cifar10/resnet18,stl10-perceiver/perceiver MIXTURE_WEBGPU_ADAM_INPLACE=0
  variant "MIXTURE_WEBGPU_COLUMN_SUM=0 (bias gradients through tfjs's transpose + reduce)" webgpu-nocolsum.json cifar10/vit,stl10-perceiver/cnn MIXTURE_WEBGPU_COLUMN_SUM=0
  # Not a switch of the project's: a larger V8 young generation (a host-bound step allocates ~16 MB).
  variant "NODE_OPTIONS=--max-semi-space-size=64 (fewer young-generation collections on the host)" webgpu-semispace.json stl10-perceiver/perceiver,cifar10/resnet18 NODE_OPTIONS=--max-semi-space-size=64
fi
# 5b. Product throughput (products(), defined above), while time remains
if (( $(date +%s) - T0 < ${MATMUL_DEADLINE:-380} )); then products; fi

# 6. Table -----------------------------------------------------------------------------------------
if [[ -f $OUT/webgpu.json ]]; then
  node dist/bench/gpu/bench.js report --webgpu "$OUT/webgpu.json" --torch "$OUT/torch.json" ${TORCH_TF32[@]+"${TORCH_TF32[@]}"} \
    ${VARIANTS[@]+"${VARIANTS[@]}"} --md "$OUT/gpu-bench.md" --json "$OUT/gpu-bench.json"
else
  log "no WebGPU result: see $OUT/webgpu.log"
  cat "$OUT/torch.json" 2>/dev/null
fi
# 7. Where the time goes (host vs GPU per step, GPU time per kernel) with what time is left -------
LEFT=$(( ${PROFILE_DEADLINE:-470} - ($(date +%s) - T0) ))
if (( LEFT > 30 )) && [[ "${RUN_PROFILE:-1}" == 1 ]]; then
  log "profile (${LEFT}s left)"
  timeout $(( LEFT + 20 )) node dist/bench/gpu/profile.js ${BENCH_ROWS:+--rows "$BENCH_ROWS"} ${BENCH_BATCH:+--batch "$BENCH_BATCH"} --repeat 5 \
    --budget $(( LEFT - 15 )) --out "$OUT/profile.json" --md "$OUT/profile.md" 2>&1 | grep -v -E 'XDG_RUNTIME_DIR|artificially reduced' > "$OUT/profile.log"
  log "profile exit ${PIPESTATUS[0]}"
fi
log "done; results in $OUT"
