#!/usr/bin/env bash
# Prepares what a bare CUDA server (no Node, no Vulkan loader, no registry access) needs to
# run the engine, per the shared gpu-device.md recipe: .gl/ (Debian's amd64 libvulkan1),
# .node/node.xz (this machine's Node binary), .nm/nm.tar.xz (node_modules with only the
# linux-x64 Dawn build). All three are git-ignored; pass them as the device run's `carry`.
# On the server, `bash tools/gpu-setup.sh` unpacks them. NOT yet verified on a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gl .node .nm /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1)
fi
xz -T2 -c "$(readlink -f "$(command -v node)")" > .node/node.xz
tar --exclude='node_modules/webgpu/dist/darwin*' --exclude='node_modules/webgpu/dist/win32*' \
    --exclude='node_modules/webgpu/dist/linux-arm64' \
    -cJf .nm/nm.tar.xz node_modules
du -sh .gl .node .nm
