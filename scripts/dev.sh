#!/usr/bin/env bash
# Builds Verity and starts a single-node development chain (Alice authors and finalizes blocks).
# Extra arguments go to verity-node, e.g. ./scripts/dev.sh --rpc-external
# Without --base-path the chain lives in a temporary folder and is gone when the node stops.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$VERITY_ROOT"

./scripts/setup.sh
stage "build"
timed build "${VERITY_CARGO_BUILD[@]}"

stage "starting verity-node --dev (RPC ws://127.0.0.1:9944, Prometheus :9615; Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/verity-node" --dev "$@"
