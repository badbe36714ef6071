#!/usr/bin/env bash
# Pack what a bare GPU machine needs to run bench/gpu/run.sh into .device/ (git-ignored):
#   .device/node.xz        this machine's node binary, xz-compressed
#   .device/app.tar.xz     dist/ (built here) and the node_modules subset the benchmark loads
#                          (@tensorflow core/layers/cpu/webgpu bundles, webgpu's linux-x64 dawn.node,
#                          and the CLI's dependencies: yaml, ajv, @oclif/core, cli-progress, csv-stringify)
#   .device/vulkan/        Debian's libvulkan1 (the Vulkan loader), unpacked with dpkg -x
#   .device/compat/        this machine's libstdc++/libgcc_s, used only where the target's are older
# The tracked sources (bench/, configs/, package.json) travel with the working tree itself.
#
#   bash bench/gpu/pack.sh            # builds first (npx tsc), then packs; prints the size
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
D=$ROOT/.device
LIMIT_MIB=${PACK_LIMIT_MIB:-60}

say() { echo "[pack] $*" >&2; }

if [[ "${PACK_SKIP_BUILD:-0}" != 1 ]]; then
  say "building (npx tsc -p tsconfig.json)"
  npx tsc -p tsconfig.json >/dev/null 2>&1 || say "tsc reported type errors (dist/ is still emitted); continuing"
fi
[[ -f dist/bench/gpu/bench.js && -f dist/src/backends/webgpu/index.js ]] || { say "dist/ lacks the benchmark: build failed"; exit 1; }
[[ -f node_modules/webgpu/dist/linux-x64/dawn.node ]] || { say "node_modules/webgpu (linux-x64) is missing: npm install"; exit 1; }

rm -rf "$D"
mkdir -p "$D"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

say "node $(node --version): compressing $(command -v node)"
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$D/node.xz"

say "staging dist/ and node_modules subset"
mkdir -p "$STAGE/node_modules/@tensorflow" "$STAGE/node_modules/webgpu/dist/linux-x64"
cp -r dist "$STAGE/dist"
# rm source maps and declarations: not needed to run
find "$STAGE/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete
for p in tfjs-core tfjs-layers tfjs-backend-cpu tfjs-backend-webgpu; do
  src=node_modules/@tensorflow/$p
  main=$(node -p "require('./$src/package.json').main")
  mkdir -p "$STAGE/$src/$(dirname "$main")"
  cp "$src/package.json" "$STAGE/$src/"
  cp "$src/$main" "$STAGE/$src/$main"
done
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$STAGE/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$STAGE/node_modules/webgpu/dist/linux-x64/"
# The CLI's own dependencies too (run.sh trains two paper rows with `mixture run` on the card): every
# package reachable from these through `dependencies`.
CLI_DEPS=$(node -e '
  const fs = require("fs"), path = require("path"), seen = new Set()
  const add = (name) => {
    const p = path.join("node_modules", name, "package.json")
    if (seen.has(name) || !fs.existsSync(p)) return
    seen.add(name)
    for (const d of Object.keys(JSON.parse(fs.readFileSync(p, "utf8")).dependencies ?? {})) add(d)
  }
  for (const n of ["seedrandom", "yaml", "ajv", "@oclif/core", "@oclif/plugin-help", "cli-progress", "csv-stringify"]) add(n)
  process.stdout.write([...seen].filter((n) => !n.startsWith("@tensorflow/")).join(" "))')
for p in $CLI_DEPS; do
  mkdir -p "$STAGE/node_modules/$(dirname "$p")"
  [[ -d node_modules/$p ]] && cp -r "node_modules/$p" "$STAGE/node_modules/$p"
done
find "$STAGE/node_modules" \( -name '*.map' -o -name '*.md' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
tar -C "$STAGE" -cf - dist node_modules | xz -T0 -6 > "$D/app.tar.xz"

say "libvulkan1 from Debian (apt-get download + dpkg -x)"
(cd "$STAGE" && apt-get download libvulkan1 >/dev/null 2>&1) || say "apt-get download libvulkan1 failed: the target must have libvulkan.so.1"
deb=$(ls "$STAGE"/libvulkan1_*.deb 2>/dev/null | head -1 || true)
if [[ -n "$deb" ]]; then
  dpkg -x "$deb" "$STAGE/vk"
  mkdir -p "$D/vulkan"
  # one plain file named as the loader is opened (symlinks may not survive the trip)
  cp -L "$(ls "$STAGE"/vk/usr/lib/*/libvulkan.so.1 | head -1)" "$D/vulkan/libvulkan.so.1"
fi

say "GL/Vulkan loader packages (the NVIDIA Vulkan ICD lives in libGLX_nvidia, which needs libglvnd)"
mkdir -p "$D/gl"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64'
(cd "$D/gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1) || say "apt-get download of the GL loaders failed: the target must have libglvnd"

mkdir -p "$D/compat"
for lib in libstdc++.so.6 libgcc_s.so.1; do
  f=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF}' | head -1 || true)
  if [[ -n "$f" ]]; then cp -L "$f" "$D/compat/$lib"; fi
done

size=$(du -sm "$D" | cut -f1)
du -sh "$D"/* >&2
say "total ${size} MiB in $D"
if (( size > LIMIT_MIB )); then say "over the ${LIMIT_MIB} MiB limit"; exit 1; fi
