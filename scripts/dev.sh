#!/usr/bin/env bash
# Builds Verity, fetches the models, and starts a single-node development chain whose node is both
# validator (Alice authors and finalizes blocks) and worker (the development worker //Alice//worker,
# bonded and registered at genesis, answers jobs with SmolLM2 and MiniLM from its off-chain worker).
# A job Alice submits right after start is served and finalized.
# Extra arguments go to verity-node, e.g. ./scripts/dev.sh --rpc-external
# Without --base-path the chain lives in a temporary folder and is gone when the node stops.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$VERITY_ROOT"

./scripts/setup.sh
stage "build"
timed build "${VERITY_CARGO_BUILD[@]}"

stage "models"
./scripts/fetch-models.sh

stage "starting verity-node --dev --worker (RPC ws://127.0.0.1:9944, Prometheus :9615; Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/verity-node" --dev --worker "$@"
