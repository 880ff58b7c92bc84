#!/usr/bin/env bash
# Regenerates the runtime's weights of Verity's pallets (runtime/src/weights/<pallet>.rs) from
# their benchmarks (frame-benchmarking v2).
#
# Not part of CI: it builds verity-node with `runtime-benchmarks`, a second long build, in its own
# target folder, so that the production node and its WebAssembly runtime are never compiled with
# benchmarking code (the runtime's WebAssembly build folder is per target folder).
#
# Usage: ./scripts/bench-weights.sh [PALLET ...]      default: every Verity pallet
#   VERITY_BENCH_TARGET_DIR   target folder (default: "$CARGO_TARGET_DIR-bench")
#   STEPS, REPEAT             benchmark sampling (default 50 steps, 20 repeats)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$VERITY_ROOT"

export CARGO_TARGET_DIR="${VERITY_BENCH_TARGET_DIR:-${CARGO_TARGET_DIR%/}-bench}"
STEPS="${STEPS:-50}"
REPEAT="${REPEAT:-20}"
PALLETS=("$@")
[ ${#PALLETS[@]} -gt 0 ] || PALLETS=(pallet_models pallet_workers pallet_jobs pallet_validators)

# frame-benchmarking-cli depends on a test runtime for storage benchmarks, whose WebAssembly build
# fails under WASM_BUILD_WORKSPACE_HINT (it is not in this workspace); `benchmark pallet` never
# uses it.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1

./scripts/setup.sh
stage "build verity-node with runtime-benchmarks into $CARGO_TARGET_DIR"
timed build cargo build --release --locked -p verity-node --features runtime-benchmarks

# The runtime built with the benchmarks, and its `development` genesis preset.
runtime_wasm="$CARGO_TARGET_DIR/release/wbuild/verity-runtime/verity_runtime.compact.compressed.wasm"
for pallet in "${PALLETS[@]}"; do
	output="runtime/src/weights/$pallet.rs"
	stage "benchmark $pallet -> $output"
	timed "$pallet" "$CARGO_TARGET_DIR/release/verity-node" benchmark pallet \
		--runtime "$runtime_wasm" --genesis-builder runtime --genesis-builder-preset development \
		--pallet "$pallet" --extrinsic '*' \
		--steps "$STEPS" --repeat "$REPEAT" \
		--header scripts/weights-header.txt \
		--output "$output"
done
cargo fmt --all
