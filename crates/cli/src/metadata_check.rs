//! The CLI against the runtime's metadata: every call, storage entry, event, constant and
//! runtime API the chain commands name, checked against the metadata of the runtime this CLI is
//! built with (the workspace's own `verity-runtime`, built natively for the test).
//!
//! How the CLI meets the metadata: it reads it from the node at run time (subxt's dynamic API)
//! and decodes storage into the pallets' own types, which it links; so a node whose layout
//! differs is an error, never a wrong reading. What could still drift silently is a name the
//! CLI writes as a string: this test fails when the runtime renames or drops one, or changes the
//! fields of a call the CLI builds. A new use in the CLI goes into [`USES`] in the same change.

use subxt::metadata::Metadata;

/// What the CLI names, by kind.
enum Use {
	/// A call and its fields, in the order the CLI passes them.
	Call(&'static str, &'static str, &'static [&'static str]),
	/// A storage entry.
	Storage(&'static str, &'static str),
	/// An event and the fields the CLI decodes.
	Event(&'static str, &'static str, &'static [&'static str]),
	/// A constant.
	Constant(&'static str, &'static str),
	/// A runtime API method.
	Api(&'static str, &'static str),
}

use Use::*;

/// Every name the chain commands use.
const USES: &[Use] = &[
	// job
	Call("Jobs", "submit_job", &["model", "input", "max_fee"]),
	Call("Jobs", "commit_challenge", &["commitment"]),
	Call("Jobs", "reveal_challenge", &["job_id", "salt"]),
	Storage("Jobs", "Jobs"),
	Storage("Jobs", "Results"),
	Storage("Jobs", "Params"),
	Storage("Jobs", "Commitments"),
	Storage("Jobs", "Juries"),
	Storage("Jobs", "NextJobId"),
	Event("Jobs", "JobSubmitted", &["job_id"]),
	Event("Jobs", "ChallengeWithdrawn", &[]),
	Event(
		"Jobs",
		"DisputeResolved",
		&["job_id", "outcome", "confirming", "rejecting"],
	),
	// models
	Storage("Models", "Models"),
	Storage("Models", "NextModelId"),
	Call("Models", "approve_model", &["id"]),
	Call("Models", "reject_model", &["id"]),
	Call("Models", "retire_model", &["id"]),
	Call("Models", "propose_model", &["info", "golden_vectors"]),
	Storage("Models", "ActiveFingerprints"),
	Event("Models", "ModelProposed", &["id"]),
	Constant("Models", "ProposalDeposit"),
	Constant("Models", "RejectionSlash"),
	Constant("Balances", "ExistentialDeposit"),
	// worker, workers
	Call("Workers", "bond", &["amount"]),
	Call("Workers", "unbond", &["amount"]),
	Call("Workers", "withdraw_unbonded", &[]),
	Call("Workers", "register_worker", &["models", "receipt_key"]),
	Call("Workers", "set_models", &["models"]),
	Call("Workers", "pause", &[]),
	Call("Workers", "resume", &[]),
	Call("Workers", "deregister", &[]),
	Storage("Workers", "Workers"),
	Storage("Workers", "Ledgers"),
	Storage("Workers", "Stats"),
	Constant("Workers", "MinWorkerBond"),
	// council
	Call(
		"Council",
		"propose",
		&["threshold", "proposal", "length_bound"],
	),
	Call("Council", "vote", &["proposal", "index", "approve"]),
	Call(
		"Council",
		"close",
		&[
			"proposal_hash",
			"index",
			"proposal_weight_bound",
			"length_bound",
		],
	),
	Storage("Council", "Members"),
	Storage("Council", "Proposals"),
	Storage("Council", "ProposalOf"),
	Storage("Council", "Voting"),
	Event("Council", "Proposed", &["proposal_index", "proposal_hash"]),
	Event("Council", "Executed", &["result"]),
	Event("Council", "Approved", &[]),
	Api("TransactionPaymentCallApi", "query_call_info"),
	// validator
	Call("Session", "set_keys", &["keys", "proof"]),
	Storage("Session", "NextKeys"),
	Storage("Session", "QueuedKeys"),
	Storage("Session", "Validators"),
	Storage("Session", "CurrentIndex"),
	Storage("Session", "DisabledValidators"),
	Storage("Validators", "Validators"),
	// challenge payouts
	Storage("System", "Account"),
	// gateway
	Constant("Jobs", "JobDepositBase"),
	Constant("Jobs", "JobDepositPerByte"),
	Event(
		"TransactionPayment",
		"TransactionFeePaid",
		&["who", "actual_fee", "tip"],
	),
];

fn runtime_metadata() -> Metadata {
	// Building the metadata reads runtime state (storage versions): an empty one will do.
	let bytes = sp_io::TestExternalities::default()
		.execute_with(|| verity_runtime::Runtime::metadata_at_version(15))
		.expect("metadata V15");
	Metadata::decode_from(&bytes[..]).expect("the runtime's metadata decodes")
}

#[test]
fn every_name_the_cli_uses_is_in_the_runtimes_metadata() {
	let metadata = runtime_metadata();
	let mut missing = Vec::new();
	for used in USES {
		let found = match used {
			Call(pallet, name, fields) | Event(pallet, name, fields) => {
				let variant = metadata.pallet_by_name(pallet).and_then(|p| match used {
					Call(..) => p.call_variant_by_name(name),
					_ => p
						.event_variants()
						.and_then(|all| all.iter().find(|v| v.name == *name)),
				});
				match variant {
					None => false,
					Some(variant) => {
						let names: Vec<&str> = variant
							.fields
							.iter()
							.filter_map(|f| f.name.as_deref())
							.collect();
						match used {
							// A call's fields exactly, in order: the CLI passes them by position.
							Call(..) => names == *fields,
							// An event's: the ones decoded are there.
							_ => fields.iter().all(|f| names.contains(f)),
						}
					}
				}
			}
			Storage(pallet, name) => metadata
				.pallet_by_name(pallet)
				.and_then(|p| p.storage())
				.and_then(|s| s.entry_by_name(name))
				.is_some(),
			Constant(pallet, name) => metadata
				.pallet_by_name(pallet)
				.and_then(|p| p.constant_by_name(name))
				.is_some(),
			Api(api, method) => metadata
				.runtime_api_trait_by_name(api)
				.and_then(|t| t.method_by_name(method))
				.is_some(),
		};
		if !found {
			missing.push(describe(used));
		}
	}
	assert!(
		missing.is_empty(),
		"the runtime no longer has what the CLI names: {missing:?}"
	);
}

fn describe(used: &Use) -> String {
	match used {
		Call(p, n, f) => format!("call {p}.{n}({})", f.join(", ")),
		Event(p, n, f) => format!("event {p}.{n} {{{}}}", f.join(", ")),
		Storage(p, n) => format!("storage {p}.{n}"),
		Constant(p, n) => format!("constant {p}.{n}"),
		Api(a, m) => format!("runtime API {a}_{m}"),
	}
}

/// The calls the CLI encodes with the pallets' own types (not field by field from metadata)
/// are the runtime's own calls: the bytes after the pallet and call indices are the CLI's, both
/// ways.
#[test]
fn calls_encoded_with_the_pallets_types_are_the_runtimes_calls() {
	use codec::Encode;
	use verity_primitives::job::JobInput;
	use verity_runtime::{genesis_config_presets::reference_models, Runtime, RuntimeCall};

	let (info, golden) = reference_models().remove(0);
	let call = RuntimeCall::Models(pallet_models::Call::<Runtime>::propose_model {
		info: Box::new(info.clone()),
		golden_vectors: golden.clone(),
	})
	.encode();
	assert_eq!(call[2..], crate::propose::encoded_fields(info, golden)[..]);

	let input = JobInput::generate("What is 2+2?", 16).expect("valid");
	let call = RuntimeCall::Jobs(pallet_jobs::Call::<Runtime>::submit_job {
		model: 7,
		input: input.clone(),
		max_fee: 10_000_000_000,
	})
	.encode();
	assert_eq!(
		crate::archive::decode_submit_job(&call[2..]).ok(),
		Some((7, input.clone()))
	);
	assert!(
		crate::archive::decode_submit_job(&call[2..call.len() - 1]).is_err(),
		"a truncated call is refused"
	);
	// The gateway encodes submit_job's fields itself (for its fee quote and its transaction).
	assert_eq!(
		call[2..],
		crate::gateway::submit_job_fields(7, &input, 10_000_000_000)[..]
	);
}

/// The check itself can fail: a name that is not there is reported.
#[test]
fn a_name_the_runtime_lacks_is_reported() {
	let metadata = runtime_metadata();
	let jobs = metadata.pallet_by_name("Jobs").expect("Jobs");
	assert!(jobs.call_variant_by_name("submit_job").is_some());
	assert!(jobs.call_variant_by_name("submit_jobs").is_none());
	assert!(jobs
		.storage()
		.and_then(|s| s.entry_by_name("NoSuchEntry"))
		.is_none());
}
