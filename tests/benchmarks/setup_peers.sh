#!/usr/bin/env bash
# Install the peers that bench_peers.py compares against, outside the project's dependencies.
#
# colpali-engine declares torchvision, which has no CPU build for the torch used here (its wheels need
# CUDA libraries and fail to import), so it goes into its own folder with --no-deps; bench_peers.py
# imports its modules directly. transformers' ColQwen2ForRetrieval ships with transformers itself.
#
# Usage: bash tests/benchmarks/setup_peers.sh   (target: $JINA_LOCAL_PEERS_DIR or tests/benchmarks/.peers)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${JINA_LOCAL_PEERS_DIR:-$here/.peers}"
python -m pip install --quiet --no-deps --upgrade --target "$target/colpali" "colpali-engine==0.3.18"
echo "colpali-engine installed in $target/colpali"
