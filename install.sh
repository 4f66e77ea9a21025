#!/usr/bin/env bash
# Make ./.venv with missionctl and its test tools, from nothing.
# CPU machines get the CPU build of torch: an unpinned torch would pull several
# GB of CUDA wheels. A machine with an NVIDIA GPU gets the regular build.
set -euo pipefail
cd "$(dirname "$0")"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
PYTHON="${PYTHON:-python3}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --upgrade pip

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    "${pip[@]}" "torch==${TORCH_VERSION}"
  # A CPU wheel on local disk (pip's find-links) first, its dependencies from the
  # index; else PyTorch's CPU index.
  elif "${pip[@]}" --no-index --no-deps "torch==${TORCH_VERSION}" 2>/dev/null; then
    "${pip[@]}" "torch==${TORCH_VERSION}"
  else
    "${pip[@]}" "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu \
      --extra-index-url https://pypi.org/simple
  fi
fi
"${pip[@]}" -e ".[test]"
echo "installed: $(.venv/bin/missionctl --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
