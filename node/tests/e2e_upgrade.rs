//! End to end, with the real node and a real client (subxt): a runtime upgrade passes through the
//! council's path to root (`runtime/src/configs/root.rs`) on a running development chain, and a
//! job submitted before it is finalized after it.
//!
//! The new runtime is `verity_runtime::upgrade_test`: the same code with `spec_version` one higher
//! (built by the runtime's `build.rs`). Two
//! thirds of the council (Alice and Bob of Alice, Bob and Charlie) whitelist the hash of
//! `system.set_code(new runtime)`, Dave notes its preimage, and a second motion dispatches it as
//! root. Sudo exists on the dev chain but is not used. After the upgrade the chain keeps producing
//! and finalizing blocks, the new runtime records its version (`System::LastRuntimeUpgrade`), and
//! the worker's answer to the older job is settled by the new code.

mod common;

use std::time::{Duration, Instant};

use codec::Encode;
use common::{
	chain::{events_of_block, find_event, input_value, submit, Api},
	council::{close, propose_and_vote, weight_value},
	TestNode,
};
use frame_support::dispatch::GetDispatchInfo;
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode::{self, DecodeAsType},
};
use subxt_signer::sr25519::dev;
use verity_inference::default_models_dir;
use verity_primitives::job::JobInput;
use verity_runtime::RuntimeCall;

/// The genesis id of MiniLM on the development chain.
const MINILM: u32 = 1;
/// The fee of the job in flight: 0.1 VRT.
const FEE: u128 = 100_000_000_000;

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobSubmitted {
	job_id: u64,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobFinalized {
	job_id: u64,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct LastRuntimeUpgrade {
	spec_version: u32,
}

/// The `spec_version` the runtime recorded at its last upgrade, at finalized block `number`.
async fn recorded_spec_version(api: &Api, number: u64) -> u32 {
	api.at_block(number)
		.await
		.expect("the block")
		.storage()
		.fetch(
			dynamic::storage::<(), LastRuntimeUpgrade>("System", "LastRuntimeUpgrade"),
			(),
		)
		.await
		.expect("the last runtime upgrade")
		.decode()
		.expect("a LastRuntimeUpgradeInfo")
		.spec_version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_runtime_upgrade_through_the_council_keeps_the_chain_and_a_job_in_flight_going() {
	let new_runtime = verity_runtime::upgrade_test::WASM_BINARY
		.expect("the runtime was built without SKIP_WASM_BUILD");
	let models_dir = default_models_dir();
	let mut node = TestNode::start(&[
		"--dev",
		"--worker",
		"--worker-models",
		"minilm",
		"--models-dir",
		models_dir.to_str().expect("a UTF-8 path"),
	]);
	let api = node.connect(Duration::from_secs(120)).await;
	let old_version = verity_runtime::VERSION.spec_version;

	// The call that needs root, its hash, and the two motions around it.
	let set_code = RuntimeCall::System(frame_system::Call::set_code {
		code: new_runtime.to_vec(),
	});
	let encoded = set_code.encode();
	let call_hash = sp_io::hashing::blake2_256(&encoded);
	let whitelist = RuntimeCall::Whitelist(pallet_whitelist::Call::whitelist_call {
		call_hash: call_hash.into(),
	});
	let dispatch = RuntimeCall::Whitelist(pallet_whitelist::Call::dispatch_whitelisted_call {
		call_hash: call_hash.into(),
		call_encoded_len: encoded.len() as u32,
		call_weight_witness: set_code.get_dispatch_info().call_weight,
	});
	let whitelist_value = Value::unnamed_variant(
		"Whitelist",
		[Value::named_variant(
			"whitelist_call",
			[("call_hash", Value::from_bytes(call_hash))],
		)],
	);
	let dispatch_value = Value::unnamed_variant(
		"Whitelist",
		[Value::named_variant(
			"dispatch_whitelisted_call",
			[
				("call_hash", Value::from_bytes(call_hash)),
				("call_encoded_len", Value::u128(encoded.len() as u128)),
				(
					"call_weight_witness",
					weight_value(set_code.get_dispatch_info().call_weight),
				),
			],
		)],
	);

	// 1. Two thirds of the council fix the exact call by its hash.
	let motion = propose_and_vote(&api, &node, whitelist_value, &whitelist).await;
	let (_, names) = close(&api, &node, motion, &whitelist, &dev::alice()).await;
	assert!(names.contains(&("Whitelist".into(), "CallWhitelisted".into())));
	// 2. Anyone notes the preimage (requested by the whitelist, so it holds no deposit).
	let note = dynamic::transaction("Preimage", "note_preimage", (Value::from_bytes(&encoded),));
	let (_, events) = submit(&api, &node, &note, &dev::dave()).await;
	assert!(events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.any(|event| event.pallet_name() == "Preimage" && event.event_name() == "Noted"));
	// 3. The dispatch motion is voted, and before it closes Alice submits a job.
	let motion = propose_and_vote(&api, &node, dispatch_value, &dispatch).await;
	let input = JobInput::embed(&["A runtime upgrade must not lose a job."]).expect("a text");
	let submit_job = dynamic::transaction(
		"Jobs",
		"submit_job",
		(
			Value::u128(u128::from(MINILM)),
			input_value(&input),
			Value::u128(FEE),
		),
	);
	let (submitted_block, events) = submit(&api, &node, &submit_job, &dev::alice()).await;
	let job_id = find_event::<JobSubmitted>(&events, "Jobs", "JobSubmitted").job_id;
	assert_eq!(
		recorded_spec_version(&api, submitted_block).await,
		old_version
	);
	// 4. The council runs it as root: the runtime is replaced.
	let (upgrade_block, names) = close(&api, &node, motion, &dispatch, &dev::bob()).await;
	assert!(
		names.contains(&("Whitelist".into(), "WhitelistedCallDispatched".into())),
		"{names:?}"
	);
	assert!(
		names.contains(&("System".into(), "CodeUpdated".into())),
		"{names:?}"
	);
	println!(
		"runtime upgrade through the council: job {job_id} submitted in block {submitted_block}, \
		 set_code dispatched as root in block {upgrade_block}"
	);

	// 5. The chain goes on under the new runtime, and the older job settles under it.
	let deadline = Instant::now() + Duration::from_secs(300);
	let mut block = upgrade_block + 1;
	let mut finalized_in = None;
	while finalized_in.is_none() || block <= upgrade_block + 5 {
		assert!(
			Instant::now() < deadline,
			"after the upgrade (block {upgrade_block}) the job {job_id} was not finalized by block \
			 {block}; log:\n{}",
			node.log()
		);
		let events = events_of_block(&api, block).await;
		for event in events.iter().map(|event| event.expect("a decodable event")) {
			if event.pallet_name() == "Jobs" && event.event_name() == "JobFinalized" {
				let finalized: JobFinalized = event.decode_fields_unchecked_as().unwrap();
				if finalized.job_id == job_id {
					finalized_in = Some(block);
				}
			}
		}
		block += 1;
	}
	let finalized_in = finalized_in.unwrap();
	assert!(finalized_in > upgrade_block);
	assert_eq!(
		recorded_spec_version(&api, upgrade_block + 1).await,
		old_version + 1,
		"the first block after the upgrade ran the new runtime"
	);
	println!(
		"after the upgrade: spec_version {} → {}; the job finalized in block {finalized_in}; \
		 blocks finalized to #{}",
		old_version,
		old_version + 1,
		block - 1
	);
	let status = node.stop(Duration::from_secs(60));
	assert!(status.success(), "verity-node exits cleanly, got {status}");
}
