#!/usr/bin/env bash
# On the GPU server, in the repo root, after tools/gpu-bundle.sh's folders were carried
# over: installs the Vulkan loader, Node and node_modules, points Vulkan at NVIDIA's ICD,
# and prints the adapter. Source it (`. tools/gpu-setup.sh`) so PATH and the env stick.
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
[ -d node_modules ] || tar -xJf .nm/nm.tar.xz
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
done
export XDG_RUNTIME_DIR=/tmp
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<none found: ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d>}"
node --import tsx src/cli.ts adapter || true
