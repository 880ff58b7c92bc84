//! The node's command line: chain selection, chain specs, errors.

mod common;

use std::process::Command;

use common::node_binary;

#[test]
fn unknown_chain_is_a_clear_error_with_nonzero_exit() {
	let output = Command::new(node_binary())
		.args(["build-spec", "--chain", "no-such-chain"])
		.output()
		.expect("verity-node runs");
	assert!(!output.status.success(), "an unknown chain must fail");
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		stderr.contains("unknown chain 'no-such-chain'"),
		"the error names the chain; stderr:\n{stderr}"
	);
}

/// The chain spec `verity-node build-spec --chain CHAIN` prints, parsed.
fn chain_spec(chain: &str) -> serde_json::Value {
	let output = Command::new(node_binary())
		.args(["build-spec", "--chain", chain])
		.output()
		.expect("verity-node runs");
	assert!(
		output.status.success(),
		"build-spec --chain {chain} fails: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).expect("a JSON chain spec")
}

#[test]
fn local_chain_spec_has_four_authorities_and_token_properties() {
	let spec = chain_spec("local");
	assert_eq!(spec["id"], "verity_local");
	assert_eq!(spec["properties"]["tokenSymbol"], "VRT");
	assert_eq!(spec["properties"]["tokenDecimals"], 12);
	let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
	// BABE's and GRANDPA's authorities come from the session keys, not their own lists.
	assert_eq!(patch["session"]["keys"].as_array().map(Vec::len), Some(4));
	assert_eq!(
		patch["validators"]["validators"].as_array().map(Vec::len),
		Some(4)
	);
	assert_eq!(patch["validators"]["sessionLength"], 6);
	assert_eq!(
		patch["babe"]["epochConfig"]["allowed_slots"],
		"PrimaryAndSecondaryVRFSlots"
	);
	assert!(patch.get("aura").is_none());
}

#[test]
fn dev_chain_spec_builds_raw() {
	let output = Command::new(node_binary())
		.args(["build-spec", "--dev", "--raw"])
		.output()
		.expect("verity-node runs");
	assert!(
		output.status.success(),
		"build-spec --raw fails: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	let spec: serde_json::Value =
		serde_json::from_slice(&output.stdout).expect("a JSON chain spec");
	let top = spec["genesis"]["raw"]["top"]
		.as_object()
		.expect("raw genesis storage");
	// `:code` (the runtime blob) is in genesis storage.
	assert!(
		top.contains_key("0x3a636f6465"),
		"the raw spec carries the runtime code"
	);
}

#[test]
fn a_worker_without_its_model_files_refuses_to_start_and_says_why() {
	let empty = tempfile::tempdir().expect("a temporary directory");
	let base = tempfile::tempdir().expect("a temporary directory");
	let output = Command::new(node_binary())
		.args(["--dev", "--worker", "--models-dir"])
		.arg(empty.path())
		.arg("--base-path")
		.arg(base.path())
		.args([
			"--rpc-port",
			"0",
			"--port",
			"0",
			"--no-prometheus",
			"--no-telemetry",
		])
		.output()
		.expect("verity-node runs");
	assert!(
		!output.status.success(),
		"a worker without models must not start"
	);
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		stderr.contains("cannot serve model smollm2")
			&& stderr.contains("is missing")
			&& stderr.contains("fetch-models.sh"),
		"the error names the model, the missing file and the fix; stderr:\n{stderr}"
	);
}

#[test]
fn an_unknown_worker_model_is_refused() {
	let output = Command::new(node_binary())
		.args(["--dev", "--worker", "--worker-models", "smollm2,gpt-5"])
		.output()
		.expect("verity-node runs");
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		stderr.contains("unknown model `gpt-5`"),
		"stderr:\n{stderr}"
	);
}

#[test]
fn the_fault_injection_flag_needs_worker() {
	let output = Command::new(node_binary())
		.args(["--dev", "--test-fault-alter-outputs"])
		.output()
		.expect("verity-node runs");
	assert!(
		!output.status.success(),
		"the test-only flag alone is an error"
	);
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("--worker"), "stderr:\n{stderr}");
}

/// The live template names nobody: no sudo key, no authorities, no council, no balances (the
/// operators write those into the chain-spec file), and it is a `Live` chain.
#[test]
fn live_template_has_no_sudo_and_names_nobody() {
	let spec = chain_spec("live-template");
	assert_eq!(spec["chainType"], "Live");
	let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
	assert_eq!(patch["sudo"]["key"], serde_json::Value::Null, "no sudo key");
	for absent in [
		"session",
		"grandpa",
		"councilMembership",
		"balances",
		"workers",
	] {
		assert!(patch.get(absent).is_none(), "the template sets no {absent}");
	}
	assert_eq!(patch["models"]["models"].as_array().map(Vec::len), Some(2));
	assert!(
		patch["validators"].get("validators").is_none(),
		"the template names no validator"
	);
	assert_eq!(
		patch["validators"]["sessionLength"], 600,
		"one-hour sessions"
	);
	assert_eq!(
		patch["babe"]["epochConfig"]["allowed_slots"],
		"PrimaryAndSecondaryVRFSlots"
	);
}
