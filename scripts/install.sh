#!/usr/bin/env bash
# Install netmoe and everything it needs on a fresh Linux x86_64 machine with Python
# 3.10+, g++ and CMake: torch (CPU, pinned), ns-3 (PyPI wheel), the Python packages
# (llama-cpp-python compiles from source: ~8 min on 2 cores; the [dev] extra includes
# llama.cpp's server extras, ~8 s more), then the ns-3 scenarios.
#
#   bash scripts/install.sh            # everything
#   NETMOE_NS3_PREFIX=/opt/ns-3 bash scripts/install.sh   # build against your own ns-3
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

step() { printf '\n==> %s\n' "$*"; }

step "torch 2.13.0 (CPU build; an unpinned torch would pull a multi-GB CUDA build)"
$PY -m pip install -q torch==2.13.0

if [ -z "${NETMOE_NS3_PREFIX:-}" ]; then
  step "ns-3 3.44 libraries and headers from PyPI (no Python bindings needed)"
  $PY -m pip install -q --no-deps ns3==3.44.post0
fi

step "netmoe and its Python dependencies (portable llama.cpp build)"
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" $PY -m pip install -q -e ".[dev]"

step "ns-3 scenario programs"
if [ -n "${NETMOE_NS3_PREFIX:-}" ]; then
  $PY -m netmoe.cli build --ns3-prefix "$NETMOE_NS3_PREFIX"
else
  $PY -m netmoe.cli build
fi

step "done: try  netmoe --help"
