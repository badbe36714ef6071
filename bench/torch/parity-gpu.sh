#!/usr/bin/env bash
# The GPU part of docs/fidelity.md: the four CIFAR-10 paper architectures (1-block alternating and
# joint mixture models, ResNet-18, ViT) trained on Fashion-MNIST padded to 32×32 (the default for
# greyscale images at 32), ours on WebGPU and the PyTorch twin on CUDA, on the same card; each row
# through `npm run parity`, then one summary with the best test accuracies of both sides and the
# paper's ordering (mixture models ≥ ResNet-18 ≫ ViT) checked on each side.
#
#   DATA=/folder/with/fashion-mnist OUT=results/parity-gpu bash bench/torch/parity-gpu.sh
#
# Needs a built project (npm run build; on a bare lent machine see bench/gpu/pack.sh and run.sh for
# node and the Vulkan loader), a CUDA PyTorch with torchvision and Pillow ($PYTHON, default
# /usr/bin/python3), and the four Fashion-MNIST files in $DATA (or found as mixture run finds them).
# Knobs: ROWS (default all four), SEEDS (3), EPOCHS (5), BACKEND (webgpu), TWIN_DEVICE (cuda), SET
# (more space-separated key=value overrides). Runs that finished are kept and not redone, so a
# stopped run continues where it stopped.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-results/parity-gpu}
ROWS=${ROWS:-alternating-1block joint-1block resnet18 vit}
SEEDS=${SEEDS:-3}
EPOCHS=${EPOCHS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
SETS=(--set data.dataset=fashion_mnist)
for s in ${SET:-}; do SETS+=(--set "$s"); done
mkdir -p "$OUT"
for row in $ROWS; do
  echo "[parity-gpu] $row: $SEEDS seeds × $EPOCHS epochs each side" >&2
  node dist/bench/torch/parity.js "configs/paper/cifar10/$row.yaml" --seeds "$SEEDS" --epochs "$EPOCHS" "${SETS[@]}" \
    --backend "${BACKEND:-webgpu}" --twin-device "${TWIN_DEVICE:-cuda}" --python "$PYTHON" \
    --out "$OUT/$row" ${DATA:+--data-dir "$DATA"} || echo "[parity-gpu] $row failed (exit $?)" >&2
done
node - "$OUT" $ROWS <<'JS' | tee "$OUT/summary.md"
const [out, ...rows] = process.argv.slice(2)
const fs = require('node:fs')
const best = {}
for (const row of rows) {
  const file = `${out}/${row}/parity.json`
  if (fs.existsSync(file)) best[row] = JSON.parse(fs.readFileSync(file, 'utf8')).best
}
const f = (s) => `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)}`
console.log('| row | ours | PyTorch twin | difference | within max(pooled sd, 0.005) |')
console.log('| --- | ---: | ---: | ---: | --- |')
for (const [row, b] of Object.entries(best)) console.log(`| ${row} | ${f(b.ours)} | ${f(b.twin)} | ${b.diff >= 0 ? '+' : ''}${b.diff.toFixed(4)} ± ${b.se.toFixed(4)} | ${b.within ? 'yes' : 'no'} |`)
const mm = ['alternating-1block', 'joint-1block'].filter((r) => best[r])
if (mm.length && best.resnet18 && best.vit) {
  for (const side of ['ours', 'twin']) {
    const m = Math.max(...mm.map((r) => best[r][side].mean))
    const resnet = best.resnet18[side].mean
    const vit = best.vit[side].mean
    console.log(`\n${side}: best mixture model ${m.toFixed(4)} ${m >= resnet ? '≥' : '<'} ResNet-18 ${resnet.toFixed(4)}; ResNet-18 − ViT = ${(resnet - vit).toFixed(4)} (the paper: MM ≥ ResNet-18 ≫ ViT)`)
  }
}
JS
