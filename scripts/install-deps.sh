#!/usr/bin/env bash
# Installs what `make` needs and is missing on a Debian machine: a C++ toolchain,
# Node.js >= 20.12 with its headers, and libtorch (Debian's libtorch-dev unless LIBTORCH=/path).
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

have g++ || need_apt+=(g++)
have make || need_apt+=(make)
have python3 || need_apt+=(python3)   # node-gyp runs gyp with python3

if ! node scripts/check-node.mjs 2>/dev/null; then
  echo "tsyolo needs Node.js >= 20.12 (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from your distribution or nodesource, then run make again." >&2
  exit 1
fi

if [ -z "${LIBTORCH:-}" ] && ! node packages/torch/scripts/libtorch.mjs check >/dev/null 2>&1; then
  need_apt+=(libtorch-dev libgloo-dev)
fi

# Debian's libtorch links libblas.so.3, which defaults to the reference (netlib) BLAS (installed with
# libtorch-dev itself): 1x1 convolutions and matmuls then run ~10x slower. OpenBLAS's OpenMP build
# (sharing libtorch's libgomp) takes over through Debian's alternatives once installed, so it is
# installed in the same step as libtorch-dev, not only when a reference BLAS is already there.
if [ -z "${LIBTORCH:-}" ] && ! dpkg-query -W -f='${Status}' libopenblas0-openmp 2>/dev/null | grep -q 'ok installed'; then
  need_apt+=(libopenblas0-openmp)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if have apt-get && [ "$(id -u)" = 0 ]; then
    echo "Installing: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1 || {
      apt-get update >/dev/null
      apt-get install -y --no-install-recommends "${need_apt[@]}"
    }
  else
    echo "Missing: ${need_apt[*]}. Install them (e.g. 'sudo apt-get install ${need_apt[*]}')," >&2
    echo "or point LIBTORCH=/path at a libtorch (a CUDA build, or a Python torch install's torch/ folder)." >&2
    exit 1
  fi
fi
node packages/torch/scripts/libtorch.mjs check
