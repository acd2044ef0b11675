#!/usr/bin/env bash
# Installs Mesa's lavapipe (software Vulkan) where no GPU adapter exists, so
# Dawn can run the engine on a CPU. Measured recipe: shared docs software-gpu.md.
# Debian 12's own Mesa (22.3) is too old for Dawn; bookworm-backports' 25.x works.
# Idempotent; skipped when an adapter already exists; never runs apt unless root.
set -euo pipefail
cd "$(dirname "$0")/.."

probe() { node --input-type=module -e "
  import { create, globals } from 'webgpu';
  Object.assign(globalThis, globals);
  const a = await create([]).requestAdapter();
  process.exit(a ? 0 : 1);" >/dev/null 2>&1; }

if [ -d node_modules/webgpu ] && probe; then
  echo "software-gpu: a WebGPU adapter already exists; nothing to install"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "software-gpu: no WebGPU adapter and not root. Install Mesa >= 24's Vulkan" >&2
  echo "  driver (lavapipe) yourself, e.g. on Debian 12 as root:" >&2
  echo "  apt-get install -t bookworm-backports mesa-vulkan-drivers" >&2
  exit 1
fi

. /etc/os-release
suite="${VERSION_CODENAME:-bookworm}-backports"
src=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$src" ]; then
  # Derive from the machine's own first Debian source stanza, so no mirror is hard-coded.
  base=/etc/apt/sources.list.d/debian.sources
  if [ -f "$base" ]; then
    awk 'BEGIN{p=1} /^$/{p=0} p' "$base" | sed "s/^Suites:.*/Suites: $suite/" > "$src"
  else
    line=$(grep -m1 -E '^deb ' /etc/apt/sources.list | awk '{print $2}')
    echo "deb $line $suite main" > /etc/apt/sources.list.d/backports.list
  fi
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t "$suite" mesa-vulkan-drivers >/dev/null
if [ -d node_modules/webgpu ] && ! probe; then
  echo "software-gpu: lavapipe installed but Dawn still finds no adapter" >&2
  exit 1
fi
echo "software-gpu: lavapipe installed"
