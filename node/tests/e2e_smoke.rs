//! End-to-end smoke test of the real `verity-node` binary with a real client (subxt):
//! the dev chain finalizes blocks, a balance transfer signed by Alice lands with its event,
//! and the node stops cleanly on Ctrl-C.

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
async fn e2e_dev_chain_finalizes_and_executes_a_transfer() {
	let mut node = TestNode::start(&["--dev"]);
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

	let status = node.stop(Duration::from_secs(60));
	assert!(
		status.success(),
		"verity-node exits cleanly on SIGINT, got {status}"
	);
}
