//! End to end on the four-validator `local` chain, started as an operator starts it
//! (`scripts/local-testnet.sh start`: four validators and a worker node; a second start is
//! refused while it runs): Alice, Bob, Charlie and Dave all author blocks (BABE primary or
//! secondary slots) and GRANDPA finalizes them; then Eve joins as the operators' guide says: `verity validator keys` has her node generate session keys
//! (`author_rotateKeysWithOwner`) and registers them with their ownership proof (`session.setKeys`),
//! a two-thirds council motion adds her
//! (`validators.addValidator`), and her node authors blocks from the session after next, which
//! GRANDPA finalizes, and `verity validator status` shows her in the set and active. Last, the
//! script's `status` shows every node's heads, peers and session (and the worker node's
//! self-check finds its genesis worker ready), and its `stop` stops exactly what it started.

mod common;

use std::{
	collections::BTreeSet,
	time::{Duration, Instant},
};

use codec::Decode;
use common::{
	chain::Api,
	council::{close, propose_and_vote},
	testnet::Testnet,
	Logs, TestNode,
};
use sp_consensus_babe::{digests::PreDigest, AuthorityId as BabeId, BABE_ENGINE_ID};
use subxt::{
	config::substrate::DigestItem,
	dynamic::Value,
	ext::scale_decode::{self, DecodeAsType},
};
use subxt_signer::sr25519::dev;
use verity_runtime::RuntimeCall;

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ValidatorAdded {
	who: [u8; 32],
	from_session: u32,
}

/// Runs the `verity` CLI against `url` and parses its `--json` output; panics with its stderr if it
/// fails.
fn verity(url: &str, args: &[&str]) -> serde_json::Value {
	let output = std::process::Command::new(common::verity_binary())
		.args(args)
		.args(["--url", url])
		.env_remove("VERITY_SURI")
		.output()
		.expect("verity runs");
	assert!(
		output.status.success(),
		"verity {args:?} failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).expect("verity --json prints JSON")
}

/// `verity validator status --json` for the development account `suri`.
fn validator_status(url: &str, suri: &str) -> serde_json::Value {
	verity(url, &["--suri", suri, "validator", "status", "--json"])
}

fn unhex(text: &str) -> Vec<u8> {
	let text = text.trim_start_matches("0x");
	(0..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
		.collect()
}

/// Reads the raw value of a plain storage item at block `number` and decodes it as `T`.
async fn storage_value<T: Decode>(api: &Api, number: u64, pallet: &str, item: &str) -> T {
	let key = [
		sp_io::hashing::twox_128(pallet.as_bytes()),
		sp_io::hashing::twox_128(item.as_bytes()),
	]
	.concat();
	let bytes = api
		.at_block(number)
		.await
		.expect("the block")
		.storage()
		.fetch_raw(key)
		.await
		.unwrap_or_else(|e| panic!("{pallet}::{item} at #{number}: {e}"));
	T::decode(&mut &bytes[..]).unwrap_or_else(|e| panic!("{pallet}::{item} decodes: {e}"))
}

/// The BABE key that authored finalized block `number` (its pre-digest's authority index into
/// the authorities of the block's epoch).
async fn author_of(api: &Api, number: u64) -> BabeId {
	let header = api
		.at_block(number)
		.await
		.expect("the block")
		.block_header()
		.await
		.expect("its header");
	let pre_digest = header
		.digest
		.logs
		.iter()
		.find_map(|item| match item {
			DigestItem::PreRuntime(engine, data) if *engine == BABE_ENGINE_ID => {
				PreDigest::decode(&mut &data[..]).ok()
			}
			_ => None,
		})
		.unwrap_or_else(|| panic!("block #{number} has a BABE pre-digest"));
	// An epoch's first block enacts its authorities in its own initialization, so the state after
	// the block holds the authorities of the epoch it was authored in.
	let authorities: Vec<(BabeId, u64)> = storage_value(api, number, "Babe", "Authorities").await;
	let index = pre_digest.authority_index() as usize;
	authorities
		.get(index)
		.map(|(id, _)| id.clone())
		.unwrap_or_else(|| {
			panic!(
				"block #{number}: authority {index} of {}",
				authorities.len()
			)
		})
}

/// What is wrong with a row of `local-testnet.sh status` once the chain has finalized
/// `finalized` in session `session`, if anything.
fn status_problem(row: &[String], finalized: u64, session: u32) -> Option<String> {
	let [name, role, pid, best, node_finalized, peers, node_session] = row else {
		return Some(format!("not seven columns: {row:?}"));
	};
	let number = |text: &str| text.parse::<u64>().ok();
	let expected_role = if name.starts_with("worker-") {
		"worker"
	} else {
		"validator"
	};
	if role != expected_role {
		return Some(format!("{name}: role {role}"));
	}
	if pid.parse::<u32>().is_err() {
		return Some(format!("{name}: not running ({pid})"));
	}
	match (
		number(best),
		number(node_finalized),
		number(peers),
		number(node_session),
	) {
		(Some(best), Some(node_finalized), Some(peers), Some(node_session)) => {
			if node_finalized < finalized || best < node_finalized {
				Some(format!(
					"{name}: best {best}, finalized {node_finalized} (< {finalized})"
				))
			} else if peers < 3 {
				Some(format!("{name}: {peers} peers"))
			} else if node_session < u64::from(session) {
				Some(format!("{name}: session {node_session} < {session}"))
			} else {
				None
			}
		}
		_ => Some(format!(
			"{name}: unreadable heads, peers or session: {row:?}"
		)),
	}
}

/// Waits until the finalized head reaches `number`, or panics with the logs after `timeout`.
async fn finalized_at_least(api: &Api, number: u64, timeout: Duration, nodes: &[&dyn Logs]) -> u64 {
	let deadline = Instant::now() + timeout;
	loop {
		let head = api
			.at_current_block()
			.await
			.expect("the finalized head")
			.block_number();
		if head >= number {
			return head;
		}
		assert!(
			Instant::now() < deadline,
			"finality stalled at #{head} (waiting for #{number}); first node's log:\n{}",
			nodes[0].log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_four_validators_author_and_finalize_and_the_council_admits_a_fifth() {
	let started = Instant::now();
	// The operators' one command: four validators and a worker node (scripts/local-testnet.sh).
	let testnet = Testnet::start(4, 1);
	let alice = testnet.node(0);
	let api = Api::from_insecure_url(alice.ws_url())
		.await
		.expect("the script waited for every RPC server");
	let nodes = testnet.nodes();
	let all: Vec<&dyn Logs> = nodes.iter().map(|node| node as &dyn Logs).collect();
	// A second start while it runs is refused, and starts nothing.
	let again = testnet.run(&["start"]);
	assert!(!again.status.success());
	assert!(
		String::from_utf8_lossy(&again.stderr).contains("is running: alice (pid"),
		"{again:?}"
	);
	// A validator refuses to start without a stable network identity: Eve's node gets its own.
	let mut eve = TestNode::start(&[
		"--chain",
		"local",
		"--validator",
		"--node-key",
		&format!("{:064x}", 5),
		"--bootnodes",
		&testnet.bootnode(),
	]);
	eve.connect(Duration::from_secs(120)).await;

	// 1. Eve's node makes her session keys and she registers them with their ownership proof
	//    (`verity validator keys`: `author_rotateKeysWithOwner` on her node's loopback RPC, then
	//    `session.setKeys`), while the council votes on her (the motion needs her keys only when it
	//    closes).
	let eve_account = dev::eve().public_key().0;
	let before = validator_status(&alice.ws_url(), "//Eve");
	assert_eq!(before["keys"], serde_json::Value::Null, "{before}");
	assert_eq!(before["in_set"], false);
	let eve_url = eve.ws_url();
	let register = tokio::task::spawn_blocking(move || {
		verity(
			&eve_url,
			&["--suri", "//Eve", "validator", "keys", "--json"],
		)
	});
	// 2. Two thirds of the council (Alice and Bob of three) add her.
	let add = RuntimeCall::Validators(pallet_validators::Call::add_validator {
		who: eve_account.into(),
	});
	let add_value = Value::unnamed_variant(
		"Validators",
		[Value::named_variant(
			"add_validator",
			[("who", Value::from_bytes(eve_account))],
		)],
	);
	let (registered, motion) =
		tokio::join!(register, propose_and_vote(&api, &alice, add_value, &add));
	let registered = registered.expect("the CLI ran");
	let babe_key: [u8; 32] = unhex(registered["keys"]["babe"].as_str().expect("a BABE key"))
		.try_into()
		.expect("32 bytes");
	let eve_babe = BabeId::from(sp_core::sr25519::Public::from_raw(babe_key));
	let (added_in, names) = close(&api, &alice, motion, &add, &dev::alice()).await;
	assert!(
		names.contains(&("Validators".into(), "ValidatorAdded".into())),
		"{names:?}"
	);
	let added_session: u32 = storage_value(&api, added_in, "Session", "CurrentIndex").await;
	let events = api
		.at_block(added_in)
		.await
		.expect("the block")
		.events()
		.fetch()
		.await
		.expect("its events");
	let event: ValidatorAdded = events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.find(|event| event.pallet_name() == "Validators" && event.event_name() == "ValidatorAdded")
		.expect("a ValidatorAdded event")
		.decode_fields_unchecked_as()
		.expect("a ValidatorAdded");
	assert_eq!(event.who, eve_account);
	assert_eq!(event.from_session, added_session + 2);

	// 3. From session n + 2 (not before) Eve is a BABE authority and authors a finalized block.
	let mut number = added_in;
	// Two session boundaries, then a slot of hers (one in five secondary slots) whose block wins
	// its fork on a machine that runs five nodes on two cores.
	let deadline = Instant::now() + Duration::from_secs(420);
	let eve_block = loop {
		let head = finalized_at_least(&api, number + 1, Duration::from_secs(60), &all).await;
		let mut found = None;
		for n in number + 1..=head {
			let session: u32 = storage_value(&api, n, "Session", "CurrentIndex").await;
			let author = author_of(&api, n).await;
			if author == eve_babe {
				assert!(
					session >= added_session + 2,
					"Eve authored #{n} in session {session}, before session {}",
					added_session + 2
				);
				found = Some(n);
				break;
			}
		}
		if let Some(n) = found {
			break n;
		}
		number = head;
		assert!(
			Instant::now() < deadline,
			"Eve authored nothing by #{head}; her log:\n{}",
			eve.log()
		);
	};
	let validators: Vec<[u8; 32]> = storage_value(&api, eve_block, "Session", "Validators").await;
	assert!(validators.contains(&eve_account));
	assert_eq!(validators.len(), 5);
	// 4. Before her, all four genesis validators authored (BABE primary or secondary slots), and
	//    GRANDPA (three of four, then four of five) finalized every block.
	let genesis_keys: BTreeSet<BabeId> = [
		sp_keyring::Sr25519Keyring::Alice,
		sp_keyring::Sr25519Keyring::Bob,
		sp_keyring::Sr25519Keyring::Charlie,
		sp_keyring::Sr25519Keyring::Dave,
	]
	.iter()
	.map(|k| k.public().into())
	.collect();
	let mut authors = BTreeSet::new();
	for number in 1..eve_block {
		authors.insert(author_of(&api, number).await);
	}
	assert!(
		!authors.contains(&eve_babe),
		"Eve's first block is #{eve_block}"
	);
	assert_eq!(
		authors, genesis_keys,
		"blocks #1..#{eve_block} were authored by the four genesis validators, each of them"
	);
	let after = validator_status(&alice.ws_url(), "//Eve");
	assert_eq!(after["in_set"], true, "{after}");
	assert_eq!(after["active"], true);
	assert_eq!(after["disabled"], false);
	assert_eq!(after["keys"], registered["keys"]);
	// GRANDPA, now with five voters, keeps finalizing after her block.
	finalized_at_least(&api, eve_block + 3, Duration::from_secs(60), &all).await;
	println!(
		"the four genesis validators authored #1..#{}; Eve added in #{added_in} (session \
		 {added_session}), authored #{eve_block}; {:.0} s",
		eve_block - 1,
		started.elapsed().as_secs_f64()
	);
	// The script's status: every node running, on one chain, finalizing, with peers; then its
	// stop stops exactly what it started.
	let session: u32 = storage_value(&api, eve_block, "Session", "CurrentIndex").await;
	// Each node reports its own view: give the last ones a few seconds to import the
	// finalized blocks Alice's node already has.
	let deadline = Instant::now() + Duration::from_secs(60);
	let status = loop {
		let status = testnet.status();
		let problems: Vec<String> = status
			.iter()
			.filter_map(|row| status_problem(row, eve_block, session))
			.collect();
		if problems.is_empty() {
			break status;
		}
		assert!(
			Instant::now() < deadline,
			"local-testnet.sh status: {problems:?} in {status:?}"
		);
		tokio::time::sleep(Duration::from_secs(2)).await;
	};
	let names: Vec<&str> = status.iter().map(|row| row[0].as_str()).collect();
	assert_eq!(
		names,
		["alice", "bob", "charlie", "dave", "worker-1"],
		"{status:?}"
	);
	let worker_log = testnet.node(4).log();
	assert!(
		worker_log.contains("ready: bonded"),
		"the worker node's self-check finds //Alice//worker ready:\n{worker_log}"
	);
	let pids: Vec<String> = status.iter().map(|row| row[2].clone()).collect();
	let stop = testnet.run(&["stop"]);
	assert!(stop.status.success(), "{stop:?}");
	for pid in &pids {
		// Gone, or a zombie not yet reaped (no command line left).
		let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
		assert!(cmdline.is_empty(), "pid {pid} stopped");
	}
	assert!(
		testnet.status().iter().all(|row| row[2] == "stopped"),
		"every node stopped"
	);
	let eve_stopped = eve.stop(Duration::from_secs(60));
	assert!(
		eve_stopped.success(),
		"Eve's node exits cleanly: {eve_stopped}"
	);
}
