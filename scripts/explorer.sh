#!/usr/bin/env bash
# Builds the explorer (explorer/, @polkadot/api bundled by esbuild, versions pinned in
# explorer/package-lock.json) if needed, and serves it on localhost.
#   scripts/explorer.sh [--url ws://127.0.0.1:9944] [--port 8080]
set -euo pipefail
cd "$(dirname "$0")/../explorer"

url="ws://127.0.0.1:9944"
port=8080
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    -h|--help)
      sed -n 2,4p "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "explorer.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$url" in
  ws://*|wss://*) ;;
  *) echo "explorer.sh: --url must be a ws:// or wss:// endpoint, not '$url'" >&2; exit 2 ;;
esac
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "explorer.sh: --port must be a port number, not '$port'" >&2
  exit 2
fi

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "explorer.sh: $tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
# Dependencies: again whenever the lockfile is newer than what npm installed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The bundle: again whenever a source is newer than it.
if [ ! -f dist/explorer.js ] || [ ! -f dist/index.html ] || [ ! -f dist/style.css ] \
  || [ -n "$(find src index.html style.css build.mjs package-lock.json -newer dist/explorer.js -print -quit)" ]; then
  node build.mjs
fi
exec node serve.mjs --url "$url" --port "$port"
