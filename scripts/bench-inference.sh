#!/usr/bin/env bash
# Throughput of Verity's inference engine next to llama.cpp, on the same GGUF and prompt, with the
# same number of threads (default 2), in one run. Figures, not a timed test.
#
# Usage: ./scripts/bench-inference.sh [REPETITIONS] [DECODE_TOKENS]
# Environment:
#   BENCH_THREADS       threads for both engines (default 2)
#   VERITY_MODELS       models folder (default ~/.cache/verity/models; fetched if missing)
#   LLAMA_CPP_VENV      virtualenv with llama-cpp-python (default ~/.cache/verity/llamacpp-venv);
#                       created and built from source with pip when missing (about 10 minutes)
#   SKIP_LLAMA_CPP=1    measure only our engine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPETITIONS=${1:-5}
DECODE_TOKENS=${2:-128}
THREADS=${BENCH_THREADS:-2}
MODELS=${VERITY_MODELS:-$HOME/.cache/verity/models}
LLAMA_CPP_VENV=${LLAMA_CPP_VENV:-$HOME/.cache/verity/llamacpp-venv}
LLAMA_CPP_PYTHON_VERSION=0.3.16
PROMPT_FILE=scripts/bench-prompt.txt
GGUF="$MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

log() { printf '[bench] %s\n' "$*" >&2; }

export VERITY_MODELS="$MODELS"
./scripts/fetch-models.sh "$MODELS" >&2

# Pin both engines to the same cores when taskset exists (CPUs 0..THREADS-1).
PIN=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge "$THREADS" ]; then
	PIN=(taskset -c "0-$((THREADS - 1))")
fi

log "building the benchmark (release)"
cargo build --release --quiet -p verity-inference --example bench
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

log "verity-inference: $REPETITIONS repetitions, $DECODE_TOKENS decode tokens, $THREADS threads"
OURS=$(RAYON_NUM_THREADS=$THREADS CANDLE_NUM_THREADS=$THREADS "${PIN[@]}" \
	"$TARGET_DIR/release/examples/bench" "$PROMPT_FILE" "$REPETITIONS" "$DECODE_TOKENS")

THEIRS='{}'
if [ "${SKIP_LLAMA_CPP:-0}" != 1 ]; then
	if ! "$LLAMA_CPP_VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
		log "installing llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source into $LLAMA_CPP_VENV"
		python3 -m venv "$LLAMA_CPP_VENV"
		CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF" \
			CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
			"$LLAMA_CPP_VENV/bin/pip" install --quiet "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
	fi
	log "llama.cpp (llama-cpp-python $LLAMA_CPP_PYTHON_VERSION): same GGUF, prompt and threads"
	THEIRS=$("${PIN[@]}" "$LLAMA_CPP_VENV/bin/python" scripts/bench_llama_cpp.py \
		"$GGUF" "$PROMPT_FILE" "$THREADS" "$REPETITIONS" "$DECODE_TOKENS")
fi

python3 - "$OURS" "$THEIRS" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"threads {ours['threads']}, CPU features {ours['cpu_features']}, "
      f"prompt {ours['prompt_tokens']} tokens, decode {ours['decode_tokens']} tokens, "
      f"median of {ours['repetitions']}")
if theirs and theirs["prompt_tokens"] != ours["prompt_tokens"]:
    print(f"WARNING: prompt tokens differ (llama.cpp {theirs['prompt_tokens']})")
print(f"{'metric':<28}{'verity':>10}{'llama.cpp':>12}{'ratio':>8}")
for name, key in [("SmolLM2 prefill tok/s", "prefill_tok_s"), ("SmolLM2 decode tok/s", "decode_tok_s")]:
    a = ours[f"smollm2_{key}"]
    b = theirs.get(f"llama_cpp_{key}")
    ratio = f"{a / b:.2f}" if b else "-"
    print(f"{name:<28}{a:>10.1f}{(b if b else float('nan')):>12.1f}{ratio:>8}")
print(f"{'MiniLM sentences/s, batch 1':<28}{ours['minilm_batch1_sentences_s']:>10.1f}")
print(f"{'MiniLM sentences/s, batch 32':<28}{ours['minilm_batch32_sentences_s']:>10.1f}")
PY
