#!/usr/bin/env bash
# Create .venv and install faqsearch with its test tools, from nothing.
# torch comes first and pinned: on these machines `torch==2.13.0` is a local CPU build, while an
# unsatisfied plain `torch` requirement would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install --quiet -e ".[test]"
