#!/usr/bin/env bash
# A software Vulkan device that Dawn accepts, for running the WebGPU tests and benchmark on a machine
# without a GPU. Dawn needs Mesa 23 or later; Debian 12 ships 22.3, so this fetches Mesa's lavapipe
# from the distribution's own backports suite (same mirror as the system's apt sources) into a
# private folder with a private apt state: nothing on the system changes.
#
#   eval "$(bash bench/gpu/lavapipe.sh)"        # prints the exports; default folder ~/.cache/mixture-lavapipe
#   node --test dist/test/backends/webgpu/kernels.test.js
set -euo pipefail
DEST=${1:-${HOME:-/tmp}/.cache/mixture-lavapipe}
ICD=$DEST/lvp_icd.json
if [[ ! -f $ICD ]]; then
  . /etc/os-release
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -z "$uri" ]] && uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$uri" && -n "${VERSION_CODENAME:-}" ]] || { echo "lavapipe.sh: needs a Debian system with apt sources" >&2; exit 1; }
  A=$(mktemp -d)
  trap 'rm -rf "$A"' EXIT
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri ${VERSION_CODENAME}-backports main" > "$A/sources.list"
  OPTS=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$A/lists"
        -o "Dir::Cache=$A/cache" -o APT::Sandbox::User=root -qq)
  apt-get "${OPTS[@]}" update >&2
  (cd "$A" && apt-get "${OPTS[@]}" download "mesa-vulkan-drivers/${VERSION_CODENAME}-backports" >&2)
  mkdir -p "$DEST"
  dpkg -x "$A"/mesa-vulkan-drivers_*.deb "$DEST/root"
  lib=$(ls "$DEST"/root/usr/lib/*/libvulkan_lvp.so | head -1)
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$lib" > "$ICD"
  echo "lavapipe.sh: installed $(basename "$A"/mesa-vulkan-drivers_*.deb) into $DEST" >&2
fi
echo "export VK_DRIVER_FILES=$ICD MIXTURE_WEBGPU_ALLOW_SOFTWARE=1"
