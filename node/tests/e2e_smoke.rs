//! End-to-end smoke test of the real `verity-node` binary with real clients: the dev chain
//! finalizes blocks, a balance transfer signed by Alice (subxt) lands with its event; then a
//! wallet's client, @polkadot/api from npm (pinned in `tests/wallet/package-lock.json`, installed
//! here with `npm ci`), decodes the metadata, reads the chain's properties and submits a job as
//! Alice, and sees its `JobFinalized`, which subxt reads back the same; and the node stops cleanly
//! on Ctrl-C. This is what Polkadot-JS Apps and browser-extension wallets rely on: a metadata
//! change that breaks them fails here.

mod common;

use std::time::{Duration, Instant};

use common::{chain, TestNode};
use subxt::{
	dynamic,
	ext::scale_decode::{self, DecodeAsType},
	utils::AccountId32,
};
use subxt_signer::sr25519::dev;

/// The fields of `Balances::Transfer`.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Transfer {
	from: AccountId32,
	to: AccountId32,
	amount: u128,
}

/// 1.5 VRT, in the smallest unit.
const AMOUNT: u128 = 1_500_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_dev_chain_finalizes_executes_a_transfer_and_serves_a_polkadot_js_wallet() {
	let models_dir = verity_inference::default_models_dir();
	let models = models_dir.to_str().expect("a UTF-8 path");
	let mut node = TestNode::start(&["--dev", "--worker", "--models-dir", models]);
	let api = node.connect(Duration::from_secs(120)).await;

	// The finalized head reaches block 3.
	let deadline = Instant::now() + Duration::from_secs(120);
	let mut finalized = api
		.stream_blocks()
		.await
		.expect("a finalized-block subscription");
	let mut head = 0;
	while head < 3 {
		let remaining = deadline.saturating_duration_since(Instant::now());
		let block = tokio::time::timeout(remaining, finalized.next())
			.await
			.unwrap_or_else(|_| panic!("finalized head stuck at #{head}; log:\n{}", node.log()))
			.expect("the subscription stays open")
			.expect("a finalized block");
		head = block.number();
	}
	drop(finalized);

	let alice = dev::alice();
	let bob = dev::bob();
	let bob_id: AccountId32 = bob.public_key().to_account_id();
	let (bob_before, _) = chain::balance(&api, &bob_id).await;

	// Alice sends Bob 1.5 VRT and waits until the transfer is finalized.
	let transfer = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(bob.public_key().to_address::<()>(), AMOUNT),
	);
	let events = tokio::time::timeout(Duration::from_secs(120), async {
		api.at_current_block()
			.await
			.expect("the current block")
			.transactions()
			.sign_and_submit_then_watch_default(&transfer, &alice)
			.await
			.expect("the transfer is accepted by the pool")
			.wait_for_finalized_success()
			.await
			.expect("the transfer is finalized and succeeds")
	})
	.await
	.unwrap_or_else(|_| {
		panic!(
			"the transfer was not finalized in time; log:\n{}",
			node.log()
		)
	});

	let transfer_event = events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.find(|event| event.pallet_name() == "Balances" && event.event_name() == "Transfer")
		.expect("a Balances::Transfer event")
		.decode_fields_unchecked_as::<Transfer>()
		.expect("Transfer fields");
	assert_eq!(transfer_event.from, alice.public_key().to_account_id());
	assert_eq!(transfer_event.to, bob_id);
	assert_eq!(transfer_event.amount, AMOUNT);

	let (bob_after, _) = chain::balance(&api, &bob_id).await;
	assert_eq!(
		bob_after,
		bob_before + AMOUNT,
		"Bob receives exactly the amount sent"
	);

	a_polkadot_js_wallet_submits_a_job(&node, &api).await;

	let status = node.stop(Duration::from_secs(60));
	assert!(
		status.success(),
		"verity-node exits cleanly on SIGINT, got {status}"
	);
}

/// The fields of `Jobs::JobFinalized`.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobFinalized {
	job_id: u64,
	worker: AccountId32,
	output_hash: [u8; 32],
	paid: u128,
}

/// Runs `tests/wallet/wallet.mjs` (after `npm ci`) against `node` and checks what it saw against
/// the chain as subxt reads it.
async fn a_polkadot_js_wallet_submits_a_job(node: &TestNode, api: &chain::Api) {
	let wallet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wallet");
	let npm = std::process::Command::new("npm")
		.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
		.current_dir(&wallet)
		.output()
		.expect("npm runs (scripts/setup.sh installs Node.js and npm)");
	assert!(
		npm.status.success(),
		"npm ci failed: {}",
		String::from_utf8_lossy(&npm.stderr)
	);
	let run = std::process::Command::new("node")
		.arg("wallet.mjs")
		.arg(node.ws_url())
		.current_dir(&wallet)
		.output()
		.expect("node runs");
	let stdout = String::from_utf8_lossy(&run.stdout);
	assert!(
		run.status.success(),
		"the wallet script failed: {stdout}{}\nnode log:\n{}",
		String::from_utf8_lossy(&run.stderr),
		node.log()
	);
	let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
	// The chain's properties and metadata, as a wallet decodes them.
	assert_eq!(report["tokenSymbol"], "VRT", "{report}");
	assert_eq!(report["tokenDecimals"], 12, "{report}");
	assert_eq!(
		report["specVersion"],
		verity_runtime::VERSION.spec_version,
		"{report}"
	);
	for pallet in [
		"Jobs",
		"Models",
		"Workers",
		"Council",
		"Validators",
		"Babe",
		"Grandpa",
	] {
		assert!(
			report["pallets"]
				.as_array()
				.unwrap()
				.iter()
				.any(|p| p == pallet),
			"the metadata lists {pallet}: {report}"
		);
	}
	for call in [
		"submitJob",
		"cancelJob",
		"commitChallenge",
		"revealChallenge",
		"commitVote",
		"revealVote",
	] {
		assert!(
			report["jobsCalls"]
				.as_array()
				.unwrap()
				.iter()
				.any(|c| c == call),
			"the wallet names jobs.{call}: {report}"
		);
	}
	// What the wallet saw is what the chain holds.
	let block = report["finalizedIn"]
		.as_u64()
		.expect("the block of JobFinalized");
	let events = chain::events_of_block(api, block).await;
	let finalized = events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.filter(|event| event.pallet_name() == "Jobs" && event.event_name() == "JobFinalized")
		.map(|event| {
			event
				.decode_fields_unchecked_as::<JobFinalized>()
				.expect("JobFinalized fields")
		})
		.find(|event| Some(event.job_id) == report["jobId"].as_u64())
		.unwrap_or_else(|| panic!("subxt sees the JobFinalized the wallet saw: {report}"));
	assert_eq!(report["worker"], finalized.worker.to_string(), "{report}");
	assert_eq!(
		report["outputHash"],
		format!(
			"0x{}",
			verity_inference::digest::to_hex(&finalized.output_hash)
		),
		"{report}"
	);
	assert_eq!(report["paid"], finalized.paid.to_string(), "{report}");
	println!(
		"wallet: @polkadot/api submitted job {} (fee {} planck), finalized in block {block}, worker paid {} planck",
		report["jobId"], report["fee"], finalized.paid
	);
}
