#!/usr/bin/env bash
# Builds Verity and runs every test: unit and pallet tests, then the end-to-end tier against the
# real node binary. Usage: ./scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$VERITY_ROOT"

stage "set-up"
./scripts/setup.sh

stage "build (node, runtime with its WebAssembly blob, all test targets)"
timed build "${VERITY_CARGO_BUILD[@]}"

stage "models (SmolLM2, MiniLM) for the engine's integration tests"
timed models ./scripts/fetch-models.sh
# The engine's real-model tests skip (visibly) without the models; here they must run.
export VERITY_REQUIRE_MODELS=1

stage "unit and integration tests (budget: 5 min)"
timed tests cargo test --release --locked --workspace -- --skip e2e_

stage "pallet benchmark tests (budget: 3 min cold, seconds warm)"
# The benchmarks of every pallet run once each in the pallet's mock runtime. Only the pallets are
# built with runtime-benchmarks here; the node and runtime keep their production features.
timed benchmarks cargo test --release --locked -p pallet-models -p pallet-workers -p pallet-jobs -p pallet-validators \
	--features runtime-benchmarks \
	-- benchmarking

stage "end-to-end tests against verity-node (budget: 16 min single-node, 12 min multi-node)"
timed e2e cargo test --release --locked --workspace -- e2e_ --test-threads 1

stage "all tests passed"
