#!/usr/bin/env bash
# Install PyTorch into the venv: the CPU build where no NVIDIA GPU is visible, else the default CUDA build.
set -euo pipefail
py="$1"
if "$py" -c "import torch" 2>/dev/null; then exit 0; fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  "$py" -m pip install -q torch
else
  # 2.13.0+cpu lies on this kind of machine's disk (pip's find-links); elsewhere the CPU index serves it.
  "$py" -m pip install -q torch==2.13.0 || "$py" -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
fi
