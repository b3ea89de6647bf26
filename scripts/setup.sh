#!/usr/bin/env bash
# Create .venv and install faqsearch with its test tools, from nothing.
# torch comes first, pinned, CPU-only: PyPI's Linux torch (or an unsatisfied plain `torch`
# requirement) pulls several GB of CUDA packages. The CPU build comes from PyTorch's CPU index
# (TORCH_INDEX_URL), or from a local wheelhouse in pip's find-links where a machine has one (this
# project's offline machines do; there PyTorch's index is unreachable and pip moves on at once).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --retries 0 --timeout 60 \
    --extra-index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install --quiet -e ".[test]"
