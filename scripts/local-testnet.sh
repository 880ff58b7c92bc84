#!/usr/bin/env bash
# A Verity testnet on this machine, in one command: the four validators of the `local` preset
# (Alice, Bob, Charlie, Dave: GRANDPA finalizes with three of them) and one worker node that is
# not a validator and serves the models as the genesis worker //Alice//worker.
#
# Usage: ./scripts/local-testnet.sh start|stop|status [--validators N] [--workers M] [--base DIR]
#                                   [--port-offset K] [--dry-run]
#   --validators N   3 or 4 of the preset's authorities (default 4; fewer than 3 finalize nothing)
#   --workers M      0 to 4 worker nodes (default 1), serving as //Alice//worker … //Dave//worker
#   --base DIR       one base path, log file and pid file per node under DIR
#                    (default ${VERITY_TESTNET_BASE:-$HOME/.cache/verity/local-testnet})
#   --port-offset K  added to every port (default 0), for a second testnet beside a first one
#   --dry-run        print what `start` would run, start nothing
#
# Ports (loopback only), node i = 0 … (alice, bob, charlie, dave, then the workers at 4, 5, …):
#   p2p 30333+i, RPC 9944+i, Prometheus 9615+i (each plus K)
# Node keys are fixed (validator i: 00…0(i+1); worker j: 00…0(65+j)), so Alice's node is the
# bootnode /ip4/127.0.0.1/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp.
# `start` refuses while a node it started is still running; `stop` stops exactly the processes
# whose pid files `start` wrote (checking each is a verity-node), Ctrl-C first, SIGKILL after 30 s.
# The chains' data stay in DIR (remove it for a fresh genesis).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$VERITY_ROOT"

usage() {
	sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() {
	printf '[local-testnet] error: %s\n' "$*" >&2
	exit 1
}
log() { printf '[local-testnet] %s\n' "$*"; }

COMMAND="${1:-}"
[ -n "$COMMAND" ] || usage
shift
VALIDATORS=4
WORKERS=1
BASE="${VERITY_TESTNET_BASE:-$HOME/.cache/verity/local-testnet}"
OFFSET=0
DRY_RUN=0
while [ $# -gt 0 ]; do
	case "$1" in
	--validators) VALIDATORS="${2:?--validators takes a number}"; shift 2 ;;
	--workers) WORKERS="${2:?--workers takes a number}"; shift 2 ;;
	--base) BASE="${2:?--base takes a folder}"; shift 2 ;;
	--port-offset) OFFSET="${2:?--port-offset takes a number}"; shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
case "$VALIDATORS" in 3 | 4) ;; *) die "--validators $VALIDATORS: the local preset has four authorities and GRANDPA needs three of them; give 3 or 4" ;; esac
case "$WORKERS" in [0-4]) ;; *) die "--workers $WORKERS: the local preset registers four workers at genesis; give 0 to 4" ;; esac
case "$OFFSET" in '' | *[!0-9]*) die "--port-offset '$OFFSET' is not a number" ;; esac
mkdir -p "$BASE"
BASE="$(cd "$BASE" && pwd)"

NODE="${VERITY_NODE:-$CARGO_TARGET_DIR/release/verity-node}"
SEEDS=(Alice Bob Charlie Dave)
BOOTNODE_PEER=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp

# The nodes of this run, as name:index:role.
nodes() {
	local i
	for ((i = 0; i < VALIDATORS; i++)); do
		local seed=${SEEDS[$i]}
		printf '%s:%d:validator\n' "${seed,,}" "$i"
	done
	for ((i = 0; i < WORKERS; i++)); do
		printf 'worker-%d:%d:worker\n' "$((i + 1))" "$((4 + i))"
	done
}
p2p_port() { echo $((30333 + OFFSET + $1)); }
rpc_port() { echo $((9944 + OFFSET + $1)); }
prometheus_port() { echo $((9615 + OFFSET + $1)); }

# The pid recorded for NAME if that process is still a running verity-node, else nothing.
live_pid() {
	local file="$BASE/$1.pid" pid
	[ -f "$file" ] || return 0
	pid="$(cat "$file")"
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q verity-node; then
		echo "$pid"
	fi
}

# One JSON-RPC call to node INDEX over HTTP; prints the result as JSON, or nothing on failure.
rpc() {
	python3 - "$(rpc_port "$1")" "$2" "${3:-[]}" <<'EOF'
import json, sys, urllib.request
port, method, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.load(response)
    if "result" in answer:
        print(json.dumps(answer["result"]))
except Exception:
    pass
EOF
}

# The arguments of node NAME (index I, ROLE).
node_args() {
	local name=$1 i=$2 role=$3
	local args=(--chain local --base-path "$BASE/$name"
		--port "$(p2p_port "$i")" --rpc-port "$(rpc_port "$i")"
		--prometheus-port "$(prometheus_port "$i")" --no-mdns --no-telemetry)
	if [ "$role" = validator ]; then
		args+=("--$name" --validator --node-key "$(printf '%064x' $((i + 1)))")
	else
		args+=(--name "$name" --worker --node-key "$(printf '%064x' $((65 + i - 4)))")
		[ -z "${VERITY_MODELS:-}" ] || args+=(--models-dir "$VERITY_MODELS")
	fi
	if [ "$name" != alice ]; then
		args+=(--bootnodes "/ip4/127.0.0.1/tcp/$(p2p_port 0)/p2p/$BOOTNODE_PEER")
	fi
	printf '%s\n' "${args[@]}"
}

# Puts worker J's keys (//<Seed>//worker: vwrk sr25519, vrcp ed25519) into NAME's keystore.
insert_worker_keys() {
	local name=$1 j=$2 suri="//${SEEDS[$2]}//worker"
	local key_type scheme
	for key_type in vwrk:sr25519 vrcp:ed25519; do
		scheme=${key_type#*:}
		key_type=${key_type%:*}
		local cmd=("$NODE" key insert --chain local --base-path "$BASE/$name"
			--key-type "$key_type" --scheme "$scheme" --suri "$suri")
		if [ "$DRY_RUN" = 1 ]; then
			# The secret is a public development URI; print it as it would run.
			printf '%q ' "${cmd[@]}"
			echo
		else
			"${cmd[@]}"
		fi
	done
}

start() {
	local running=() file name i role pid
	# Every node a previous start left running, whatever options it had.
	for file in "$BASE"/*.pid; do
		[ -e "$file" ] || continue
		name="$(basename "$file" .pid)"
		pid="$(live_pid "$name")"
		[ -z "$pid" ] || running+=("$name (pid $pid)")
	done
	if [ "${#running[@]}" -gt 0 ]; then
		die "a testnet started from $BASE is running: ${running[*]}; stop it first ($0 stop --base $BASE)"
	fi
	if [ "$DRY_RUN" = 0 ]; then
		[ -x "$NODE" ] || die "$NODE is not built: run ./scripts/test.sh, or cargo build --release -p verity-node"
		if [ "$WORKERS" -gt 0 ]; then
			./scripts/fetch-models.sh --check >/dev/null ||
				die "a worker node needs the models: run ./scripts/fetch-models.sh"
		fi
	fi
	while IFS=: read -r name i role; do
		local args=()
		mapfile -t args < <(node_args "$name" "$i" "$role")
		# Idempotent: the same key files again.
		[ "$role" != worker ] || insert_worker_keys "$name" "$((i - 4))"
		if [ "$DRY_RUN" = 1 ]; then
			printf '%q ' "$NODE" "${args[@]}"
			echo
			continue
		fi
		nohup "$NODE" "${args[@]}" >>"$BASE/$name.log" 2>&1 </dev/null &
		echo $! >"$BASE/$name.pid"
		log "started $name ($role) pid $!: RPC ws://127.0.0.1:$(rpc_port "$i"), log $BASE/$name.log"
	done < <(nodes)
	[ "$DRY_RUN" = 0 ] || return 0
	# Each node answers its RPC within a minute, or the start failed.
	while IFS=: read -r name i role; do
		local waited=0
		until [ -n "$(rpc "$i" system_health)" ]; do
			[ -n "$(live_pid "$name")" ] || die "$name exited; the end of $BASE/$name.log:$(printf '\n'; tail -n 20 "$BASE/$name.log")"
			[ "$waited" -lt 60 ] || die "$name does not answer on RPC port $(rpc_port "$i") after 60 s (log $BASE/$name.log)"
			sleep 1
			waited=$((waited + 1))
		done
	done < <(nodes)
	log "all nodes answer; '$0 status --base $BASE' shows the heads"
}

# The `Session::CurrentIndex` storage key: twox128("Session") ++ twox128("CurrentIndex").
SESSION_INDEX_KEY=0xcec5070d609dd3497f72bde07fc96ba072763800a36a99fdfc7c10f6415f6ee6

status() {
	printf '%-10s %-9s %-7s %7s %9s %5s %7s\n' NODE ROLE PID BEST FINALIZED PEERS SESSION
	local name i role any=0
	for file in "$BASE"/*.pid; do
		[ -e "$file" ] && any=1
	done
	while IFS=: read -r name i role; do
		local pid best="-" finalized="-" peers="-" session="-"
		pid="$(live_pid "$name")"
		if [ -n "$pid" ]; then
			local header health hash index
			header="$(rpc "$i" chain_getHeader)"
			[ -z "$header" ] || best=$((16#$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["number"][2:])' "$header")))
			hash="$(rpc "$i" chain_getFinalizedHead)"
			if [ -n "$hash" ]; then
				header="$(rpc "$i" chain_getHeader "[$hash]")"
				[ -z "$header" ] || finalized=$((16#$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["number"][2:])' "$header")))
			fi
			health="$(rpc "$i" system_health)"
			[ -z "$health" ] || peers="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peers"])' "$health")"
			index="$(rpc "$i" state_getStorage "[\"$SESSION_INDEX_KEY\"]")"
			if [ -n "$index" ] && [ "$index" != null ]; then
				session="$(python3 -c 'import json,sys; print(int.from_bytes(bytes.fromhex(json.loads(sys.argv[1])[2:]), "little"))' "$index")"
			fi
		fi
		printf '%-10s %-9s %-7s %7s %9s %5s %7s\n' "$name" "$role" "${pid:-stopped}" "$best" "$finalized" "$peers" "$session"
	done < <(nodes)
	[ "$any" = 1 ] || log "nothing was started from $BASE" >&2
}

stop() {
	local stopped=0 file name pid
	for file in "$BASE"/*.pid; do
		[ -e "$file" ] || continue
		name="$(basename "$file" .pid)"
		pid="$(live_pid "$name")"
		if [ -n "$pid" ]; then
			kill -INT "$pid"
			local waited=0
			# live_pid, not kill -0: an exited node nobody has reaped yet (a zombie) has no
			# command line, and counts as stopped.
			while [ -n "$(live_pid "$name")" ] && [ "$waited" -lt 30 ]; do
				sleep 1
				waited=$((waited + 1))
			done
			if [ -n "$(live_pid "$name")" ]; then
				kill -KILL "$pid"
				log "$name (pid $pid) ignored Ctrl-C for 30 s: killed"
			else
				log "stopped $name (pid $pid)"
			fi
			stopped=$((stopped + 1))
		fi
		rm -f "$file"
	done
	[ "$stopped" -gt 0 ] || log "nothing started from $BASE is running"
}

case "$COMMAND" in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
