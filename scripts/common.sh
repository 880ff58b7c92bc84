# Shared by the scripts: repository root, target folder, timing. Source it, don't run it.

VERITY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VERITY_ROOT
# One target folder for every build and test of the workspace; CI points it outside the clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$VERITY_ROOT/target}"

# The runtime's WebAssembly build must find this workspace's Cargo.lock even when the target
# folder lies elsewhere; without the hint it would resolve its dependencies afresh.
export WASM_BUILD_WORKSPACE_HINT="$VERITY_ROOT"

# litep2p's WebRTC transport asks for a vendored OpenSSL (a long C build); link Debian's instead.
export OPENSSL_NO_VENDOR=1

# Every cargo invocation builds the same set of targets with the same profile, so the node binary
# that `dev.sh` runs and the one the tests run are the same artifact (no second compile).
VERITY_CARGO_BUILD=(cargo build --release --locked --workspace --all-targets)

stage() { printf '\n==> %s\n' "$*"; }

# Runs a command and prints how long it took, for the README's time budgets.
timed() {
	local label=$1
	shift
	local start=$SECONDS
	"$@"
	printf '==> %s: %d s\n' "$label" $((SECONDS - start))
}
