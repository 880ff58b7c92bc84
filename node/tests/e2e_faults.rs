//! End to end, with real nodes, models and client: what happens when a worker misbehaves.
//!
//! * A lying worker: a second node serves `//Bob//worker` with `--test-fault-alter-outputs` (for
//!   tests only). Its job's result differs from what the user computes locally, so the user
//!   challenges it (unless a random audit got there first); the jury (the honest
//!   `//Alice//worker`, whose node re-executes the job from its off-chain worker) rejects it: the
//!   liar is slashed, the user refunded.
//! * A worker whose node is stopped: the job drawn for it is not answered; after its deadline the
//!   silent worker pays twice the fee and the job is reassigned to the other worker, whose node
//!   serves it. The user's fee is never lost: it pays the worker that did the job.
//!
//! Money is checked to the unit: the slashes, the challenger's reward, the juror's pay, the
//! treasury's share and the worker's fee, from the `Balances::Deposit` events of the block that
//! settles; and `Balances::TotalIssuance` equals the sum of all accounts before and after each
//! scenario.

mod common;

use std::time::{Duration, Instant};

use common::{
	chain::{
		balance, deposits_in_block, events_of_block, find_event, input_value,
		issuance_and_accounts, set_field, submit, variant_name, Api,
	},
	TestNode,
};
use sp_core::{crypto::Pair as _, ed25519};
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode::{self, DecodeAsType},
	utils::AccountId32,
};
use subxt_signer::{sr25519::dev, sr25519::Keypair, SecretUri};
use verity_inference::{default_models_dir, LoadedModel, ModelId};
use verity_primitives::job::{JobInput, JobOutput};

/// SmolLM2's id on the development chain.
const SMOLLM2: u32 = 0;
/// MiniLM's id on the development chain.
const MINILM: u32 = 1;
/// The fee of each job: 0.1 VRT.
const FEE: u128 = 100_000_000_000;
/// One VRT.
const UNIT: u128 = 1_000_000_000_000;
/// The node key of the first node, so the second can name it as its bootnode.
const NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
/// The second node's key (a node started as a validator needs one).
const SECOND_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000002";
/// The peer id of [`NODE_KEY`].
const PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobSubmitted {
	job_id: u64,
	deposit: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobAssigned {
	job_id: u64,
	worker: AccountId32,
	deadline: u32,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ResultSubmitted {
	job_id: u64,
	worker: AccountId32,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct WorkerSlashed {
	job_id: u64,
	who: AccountId32,
	fault: Value,
	amount: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobRefunded {
	job_id: u64,
	submitter: AccountId32,
	amount: u128,
	reason: Value,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobFinalized {
	job_id: u64,
	worker: AccountId32,
	paid: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct DisputeResolved {
	job_id: u64,
	outcome: Value,
	confirming: u32,
	rejecting: u32,
}

/// The `Jobs` events of interest, collected from blocks.
#[derive(Debug, Default)]
struct JobEvents {
	/// Every `Jobs` event seen, by block: the trace a failure prints.
	trace: Vec<(u64, String)>,
	assignments: Vec<(u64, JobAssigned)>,
	results: Vec<(u64, ResultSubmitted)>,
	finalized: Vec<JobFinalized>,
	slashes: Vec<WorkerSlashed>,
	refunds: Vec<JobRefunded>,
	disputes: Vec<DisputeResolved>,
}

impl JobEvents {
	/// Adds the `Jobs` events of finalized block `number`.
	async fn read_block(&mut self, api: &Api, number: u64) {
		for event in events_of_block(api, number).await.iter() {
			let event = event.expect("a decodable event");
			if event.pallet_name() != "Jobs" {
				continue;
			}
			self.trace.push((number, event.event_name().to_string()));
			match event.event_name() {
				"JobAssigned" => self
					.assignments
					.push((number, event.decode_fields_unchecked_as().unwrap())),
				"JobFinalized" => self
					.finalized
					.push(event.decode_fields_unchecked_as().unwrap()),
				"ResultSubmitted" => self
					.results
					.push((number, event.decode_fields_unchecked_as().unwrap())),
				"WorkerSlashed" => self
					.slashes
					.push(event.decode_fields_unchecked_as().unwrap()),
				"JobRefunded" => self
					.refunds
					.push(event.decode_fields_unchecked_as().unwrap()),
				"DisputeResolved" => self
					.disputes
					.push(event.decode_fields_unchecked_as().unwrap()),
				_ => {}
			}
		}
	}
}

/// The treasury's account (`modl` + `py/trsry`, padded with zeros).
fn treasury() -> AccountId32 {
	let mut raw = [0u8; 32];
	raw[..4].copy_from_slice(b"modl");
	raw[4..12].copy_from_slice(b"py/trsry");
	AccountId32(raw)
}

/// The amount `who` received in `deposits`, all together.
fn received(deposits: &[(AccountId32, u128)], who: &AccountId32) -> u128 {
	deposits
		.iter()
		.filter(|(to, _)| to == who)
		.map(|(_, amount)| amount)
		.sum()
}

/// Asserts that no money was minted or burned outside the books.
async fn assert_issuance_is_the_sum_of_accounts(api: &Api, when: &str) {
	let (issuance, accounts) = issuance_and_accounts(api).await;
	assert_eq!(issuance, accounts, "TotalIssuance vs all accounts, {when}");
}

/// Submits a SmolLM2 job from Alice and waits for the hook of a later block to draw its worker;
/// returns the block of the assignment, the assignment, and the deposit held.
async fn submit_job(api: &Api, node: &TestNode, input: &JobInput) -> (u64, JobAssigned, u128) {
	let model = match input {
		JobInput::Generate { .. } => SMOLLM2,
		JobInput::Embed { .. } => MINILM,
	};
	let call = dynamic::transaction(
		"Jobs",
		"submit_job",
		(
			Value::u128(model.into()),
			input_value(input),
			Value::u128(FEE),
		),
	);
	let (block, events) = submit(api, node, &call, &dev::alice()).await;
	let submitted: JobSubmitted = find_event(&events, "Jobs", "JobSubmitted");
	assert!(
		find_events_named(&events, "JobAssigned") == 0,
		"the worker is drawn in a later block, not by submit_job"
	);
	for number in block + 1..block + 10 {
		for event in events_of_block(api, number).await.iter() {
			let event = event.expect("a decodable event");
			if event.pallet_name() != "Jobs" || event.event_name() != "JobAssigned" {
				continue;
			}
			let assigned: JobAssigned = event.decode_fields_unchecked_as().unwrap();
			if assigned.job_id == submitted.job_id {
				return (number, assigned, submitted.deposit);
			}
		}
	}
	panic!(
		"job {} was not assigned; log:\n{}",
		submitted.job_id,
		node.log()
	);
}

/// How many `Jobs::name` events a transaction deposited.
fn find_events_named(
	events: &subxt::extrinsics::ExtrinsicEvents<subxt::PolkadotConfig>,
	name: &str,
) -> usize {
	events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.filter(|event| event.pallet_name() == "Jobs" && event.event_name() == name)
		.count()
}

/// The bond of `who` (bonded plus unbonding) at block `number`.
async fn stake_at(api: &Api, who: &AccountId32, number: u64) -> u128 {
	#[derive(Debug, DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Ledger {
		bonded: u128,
	}
	api.at_block(number)
		.await
		.expect("a finalized block")
		.storage()
		.fetch(
			dynamic::storage::<(AccountId32,), Ledger>("Workers", "Ledgers"),
			(who.clone(),),
		)
		.await
		.expect("the ledger")
		.decode()
		.expect("a Ledger")
		.bonded
}

/// Two worker nodes on one development chain: the first is Alice's validator serving
/// `//Alice//worker` (bonded at genesis); the second serves `//Bob//worker` (its keys come with
/// `--bob`), which joins the market with a large bond so that it is drawn for nearly every job.
struct TwoWorkers {
	first: TestNode,
	second: TestNode,
	api: Api,
	/// `//Bob//worker`'s account.
	bob_worker: AccountId32,
}

impl TwoWorkers {
	/// Starts both nodes (the second with `extra` flags) and registers `//Bob//worker`.
	async fn start(extra: &[&str]) -> Self {
		let models_dir = default_models_dir();
		let models = models_dir.to_str().expect("a UTF-8 path");
		let log = "runtime::jobs::ocw=debug,verity::inference=debug";
		let mut first = TestNode::start(&[
			"--dev",
			"--worker",
			"--models-dir",
			models,
			"--node-key",
			NODE_KEY,
			"--log",
			log,
		]);
		let api = first.connect(Duration::from_secs(120)).await;
		let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{PEER_ID}", first.p2p_port);
		let mut args = vec![
			"--chain",
			"dev",
			"--bob",
			"--worker",
			"--models-dir",
			models,
			"--bootnodes",
			&bootnode,
			"--node-key",
			SECOND_NODE_KEY,
			"--log",
			log,
		];
		args.extend_from_slice(extra);
		let mut second = TestNode::start(&args);
		second.connect(Duration::from_secs(120)).await;

		let alice = dev::alice();
		let key = Keypair::from_uri(&"//Bob//worker".parse::<SecretUri>().unwrap()).unwrap();
		let receipt_key = ed25519::Pair::from_string("//Bob//worker", None)
			.unwrap()
			.public();
		let fund = dynamic::transaction(
			"Balances",
			"transfer_keep_alive",
			(
				key.public_key().to_address::<()>(),
				Value::u128(200_000 * UNIT),
			),
		);
		submit(&api, &first, &fund, &alice).await;
		let bond = dynamic::transaction("Workers", "bond", (Value::u128(150_000 * UNIT),));
		submit(&api, &first, &bond, &key).await;
		let register = dynamic::transaction(
			"Workers",
			"register_worker",
			(
				Value::unnamed_composite([SMOLLM2, MINILM].map(|model| {
					Value::named_composite([
						("model", Value::u128(model.into())),
						("capacity", Value::u128(4)),
					])
				})),
				Value::from_bytes(receipt_key.0),
			),
		);
		submit(&api, &first, &register, &key).await;
		Self {
			first,
			second,
			api,
			bob_worker: key.public_key().to_account_id(),
		}
	}
}

/// Alice submits jobs until one is drawn for `worker` (with 98.7% of the bonds, `//Bob//worker`
/// nearly always is); returns the assignment's block, the assignment, and the deposits of all the
/// jobs submitted.
async fn submit_job_for(
	api: &Api,
	node: &TestNode,
	input: &JobInput,
	worker: &AccountId32,
) -> (u64, JobAssigned, u128) {
	let mut deposits = 0;
	for _ in 0..5 {
		let (block, assigned, deposit) = submit_job(api, node, input).await;
		deposits += deposit;
		if assigned.worker == *worker {
			return (block, assigned, deposits);
		}
	}
	panic!("no job drawn for {worker} in five tries");
}

/// Both scenarios on one network (starting one costs a minute and a half): first the second node
/// lies and is caught twice, then it is stopped and its next job goes to the other worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_misbehaving_workers_are_caught_slashed_and_replaced() {
	// The second node lies: it alters every output.
	let net = TwoWorkers::start(&["--test-fault-alter-outputs"]).await;
	lying_workers_are_caught_by_the_jury_slashed_and_the_user_refunded(&net).await;
	a_job_whose_worker_node_is_stopped_is_reassigned_and_served(net).await;
}

/// Sets the market's parameters with sudo.
async fn sudo_set_params(api: &Api, node: &TestNode, params: Value<()>) {
	let set_params = dynamic::transaction(
		"Sudo",
		"sudo",
		(Value::unnamed_variant(
			"Jobs",
			[Value::named_variant("set_params", [("params", params)])],
		),),
	);
	let (_, events) = submit(api, node, &set_params, &dev::alice()).await;
	let changed = events
		.iter()
		.map(|event| event.expect("a decodable event"))
		.any(|event| event.pallet_name() == "Jobs" && event.event_name() == "ParamsChanged");
	assert!(changed, "sudo set the parameters");
}

async fn lying_workers_are_caught_by_the_jury_slashed_and_the_user_refunded(net: &TwoWorkers) {
	let (api, honest) = (&net.api, &net.first);

	// The challenge window is widened so that the test's transactions (each waits for finality)
	// fit in it. Random audits stay on (the economic check refuses a zero audit rate): an audit
	// may catch the lie before the user's challenge does, and either way the jury decides.
	let dev_params: Value<()> = api
		.at_current_block()
		.await
		.unwrap()
		.storage()
		.fetch(dynamic::storage::<(), Value>("Jobs", "Params"), ())
		.await
		.expect("the parameters")
		.decode()
		.expect("a value");
	let mut params = dev_params.clone();
	set_field(&mut params, "challenge_window", Value::u128(30));
	sudo_set_params(api, honest, params).await;

	// A generation (exact policy), then an embedding (tolerance policy).
	// The first challenge is interrupted by a crash and resumed.
	for (input, crash) in [
		(
			JobInput::generate("Name a primary colour.", 12).expect("a valid prompt"),
			true,
		),
		(
			JobInput::embed(&["A lighthouse keeps its light on."]).expect("a valid text"),
			false,
		),
	] {
		catch_a_lie(net, &input, crash).await;
	}
	// The dev chain's windows again, for what follows.
	sudo_set_params(api, honest, dev_params).await;
}

/// Alice submits `input` until a job of it is drawn for the liar; the liar answers wrong; Alice
/// checks locally and Charlie challenges (unless an audit got there first); the honest worker's
/// node, the only juror, rejects it. Every amount is checked to the unit.
async fn catch_a_lie(net: &TwoWorkers, input: &JobInput, crash: bool) {
	let (api, honest, liar, liar_id) = (&net.api, &net.first, &net.second, &net.bob_worker);
	let alice = dev::alice();
	let models_dir = default_models_dir();
	let (model, model_id) = match input {
		JobInput::Generate { .. } => (ModelId::SmolLm2, SMOLLM2),
		JobInput::Embed { .. } => (ModelId::MiniLm, MINILM),
	};
	let input = input.clone();
	assert_issuance_is_the_sum_of_accounts(api, "before the lie").await;
	let (submitted_block, assigned, _) = submit_job_for(api, honest, &input, liar_id).await;
	let job_id = assigned.job_id;

	// The liar answers; the user computes the job locally and sees the output is wrong.
	let mut seen = JobEvents::default();
	let mut next = submitted_block;
	let deadline = Instant::now() + Duration::from_secs(240);
	let result_block = loop {
		assert!(
			Instant::now() < deadline,
			"no result; liar log:\n{}",
			liar.log()
		);
		seen.read_block(&api, next).await;
		next += 1;
		if let Some((block, result)) = seen.results.iter().find(|(_, r)| r.job_id == job_id) {
			assert_eq!(result.worker, *liar_id, "the liar's node answered");
			break *block;
		}
	};
	let claimed: JobOutput = {
		let at = api.at_block(result_block).await.unwrap();
		let raw = at
			.storage()
			.fetch(
				dynamic::storage::<(u64,), Value>("Jobs", "Results"),
				(job_id,),
			)
			.await
			.expect("the result");
		codec::Decode::decode(&mut raw.bytes()).expect("a JobOutput")
	};
	let local = LoadedModel::load(model, &models_dir)
		.expect("the models are fetched")
		.run(&input)
		.expect("local inference");
	assert!(
		verity_primitives::policy::check(model.policy(), &claimed, &local).is_err(),
		"the liar's output differs from local inference beyond model {model_id}'s policy"
	);
	// `verity job verify` sees it too: the receipt is the liar's own, valid, but the output is
	// not what the model computes.
	let verify = std::process::Command::new(common::verity_binary())
		.args([
			"job",
			"verify",
			&job_id.to_string(),
			"--json",
			"--url",
			&honest.ws_url(),
		])
		.arg("--models-dir")
		.arg(&models_dir)
		.output()
		.expect("verity runs");
	let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("a JSON verdict");
	assert_eq!(verify.status.code(), Some(1), "MISMATCH exits 1: {report}");
	assert_eq!(report["verdict"], "MISMATCH", "{report}");
	assert_eq!(
		report["receipt"],
		"valid (ed25519, the worker's registered key)"
	);
	assert_eq!(
		report["local_output"],
		format!(
			"0x{}",
			verity_inference::digest::to_hex(local.hash().as_bytes())
		)
	);

	// Charlie challenges with `verity job challenge`: it verifies first (MISMATCH), saves the
	// salt, commits, reveals in a later block and follows the dispute to its verdict. An audit
	// may have disputed the job first: then there is nothing to challenge. With `crash`, the
	// first run is killed as soon as the salt is saved (the commitment sent or not), and
	// `--resume` finishes the challenge.
	let state_dir =
		std::env::temp_dir().join(format!("verity-challenges-{}-{job_id}", std::process::id()));
	let challenge = || {
		let mut command = std::process::Command::new(common::verity_binary());
		command
			.args(["job", "challenge", &job_id.to_string(), "--json", "--yes"])
			.args(["--suri", "//Charlie", "--url", &honest.ws_url()])
			.arg("--state-dir")
			.arg(&state_dir)
			.arg("--models-dir")
			.arg(&models_dir);
		command
	};
	// Saved challenges (a salt is written to a `.partial` file, then renamed).
	let saved_files = || {
		std::fs::read_dir(&state_dir).map_or(0, |dir| {
			dir.filter_map(Result::ok)
				.filter(|entry| entry.path().extension().is_some_and(|e| e == "json"))
				.count()
		})
	};
	let challenged = if crash {
		let mut first = challenge()
			.stdout(std::process::Stdio::null())
			.stderr(std::process::Stdio::piped())
			.spawn()
			.expect("verity runs");
		let killed = loop {
			if saved_files() > 0 {
				first.kill().expect("the first run is killed");
				first.wait().expect("it exits");
				break true;
			}
			if first.try_wait().expect("the first run").is_some() {
				break false;
			}
			std::thread::sleep(Duration::from_millis(20));
		};
		if killed {
			println!("challenge of job {job_id}: killed once the salt was saved; resuming");
			challenge().arg("--resume").output().expect("verity runs")
		} else {
			first.wait_with_output().expect("verity runs")
		}
	} else {
		// Without following the dispute: `verity disputes` shows it while the jury sits.
		challenge().arg("--no-wait").output().expect("verity runs")
	};
	let stderr = String::from_utf8_lossy(&challenged.stderr);
	let report: Option<serde_json::Value> = if challenged.status.success() {
		let report: serde_json::Value =
			serde_json::from_slice(&challenged.stdout).expect("a JSON report");
		assert!(
			report["challenge"] == "Revealed" || report["challenge"] == "Withdrawn",
			"{report}"
		);
		assert_eq!(saved_files(), 0, "the saved salt is removed once revealed");
		Some(report)
	} else {
		assert!(
			stderr.contains("no result open to challenge: it is Disputed"),
			"the challenge failed: {stderr}"
		);
		None
	};
	let _ = std::fs::remove_dir_all(&state_dir);
	// Unless the challenge was followed to its verdict, the dispute is open: `verity disputes`
	// lists it, with its challenger (none for an audit).
	if !crash {
		let listed = std::process::Command::new(common::verity_binary())
			.args(["disputes", "--json", "--url", &honest.ws_url()])
			.output()
			.expect("verity runs");
		let listed: serde_json::Value =
			serde_json::from_slice(&listed.stdout).expect("a JSON list");
		let dispute = listed
			.as_array()
			.expect("a list")
			.iter()
			.find(|d| d["id"] == job_id)
			.unwrap_or_else(|| panic!("job {job_id} is listed in dispute: {listed}"));
		let challenger = match &report {
			Some(report) if report["challenge"] == "Revealed" => {
				serde_json::json!(dev::charlie().public_key().to_account_id().to_string())
			}
			_ => serde_json::Value::Null,
		};
		assert_eq!(dispute["challenger"], challenger, "{dispute}");
		assert_eq!(dispute["worker"], liar_id.to_string(), "{dispute}");
	}

	// The honest worker's node sits on the jury, re-executes and rejects the result.
	next = next.max(result_block + 1);
	while !seen.disputes.iter().any(|d| d.job_id == job_id) {
		assert!(
			Instant::now() < deadline + Duration::from_secs(120),
			"the dispute was not resolved: {seen:?}; honest log:\n{}",
			honest.log()
		);
		seen.read_block(&api, next).await;
		next += 1;
	}
	let resolved_block = next - 1;
	let revealed_block = seen
		.trace
		.iter()
		.find(|(_, name)| name == "ChallengeRevealed")
		.map(|(block, _)| *block);
	let dispute = seen.disputes.iter().find(|d| d.job_id == job_id).unwrap();
	assert_eq!(variant_name(&dispute.outcome), "ResultRejected");
	// The one eligible juror holds all three seats (seats are drawn with replacement).
	assert_eq!((dispute.confirming, dispute.rejecting), (0, 3));
	let slash = seen
		.slashes
		.iter()
		.find(|s| s.job_id == job_id && s.who == *liar_id)
		.expect("the liar is slashed");
	assert_eq!(variant_name(&slash.fault), "WrongResult");
	// The dev chain's wrong-result multiple, 20 × the fee, from the job's own collateral: not a
	// share of the liar's stake, which is larger.
	let stake = stake_at(api, liar_id, resolved_block - 1).await;
	assert_eq!(slash.amount, 20 * FEE, "20 × the fee");
	assert!(
		stake > 20 * FEE,
		"the stake ({stake}) covers more than the job's collateral"
	);
	// Where the slash went (the dev chain's shares: challenger 50%, jury 30%, treasury the rest).
	let audited = seen.trace.iter().any(|(_, name)| name == "AuditStarted");
	let deposits = deposits_in_block(api, resolved_block).await;
	let juror: AccountId32 = Keypair::from_uri(&"//Alice//worker".parse::<SecretUri>().unwrap())
		.unwrap()
		.public_key()
		.to_account_id();
	let jury_pay = slash.amount * 3 / 10;
	assert_eq!(received(&deposits, &juror), jury_pay, "the one juror's pay");
	let reward = if audited { 0 } else { slash.amount / 2 };
	assert_eq!(
		received(&deposits, &dev::charlie().public_key().to_account_id()),
		reward,
		"the challenger's reward"
	);
	// What `verity job challenge` reported when it followed the dispute to its verdict.
	if let Some(report) = report.filter(|report| report["challenge"] == "Revealed") {
		assert!(
			!audited,
			"a revealed challenge means no audit disputed the job first"
		);
		if crash {
			assert_eq!(report["outcome"], "ResultRejected", "{report}");
			assert_eq!(report["resolved_in"], resolved_block, "{report}");
			assert_eq!(report["rejecting"], 3, "{report}");
			assert_eq!(
				report["balance_change"],
				reward.to_string(),
				"the payout: {report}"
			);
		} else {
			assert!(report.get("outcome").is_none(), "--no-wait: {report}");
		}
	}
	assert_eq!(
		received(&deposits, &treasury()),
		slash.amount - reward - jury_pay,
		"the treasury's share"
	);
	let refund = seen
		.refunds
		.iter()
		.find(|r| r.job_id == job_id)
		.expect("the user is refunded");
	assert_eq!(refund.submitter, alice.public_key().to_account_id());
	assert_eq!(refund.amount, FEE);
	assert_eq!(variant_name(&refund.reason), "ResultRejected");
	assert_issuance_is_the_sum_of_accounts(api, "after the lie").await;
	println!(
		"lying worker ({}): result in block {result_block}, challenged in block {revealed_block:?}, \
		 rejected 3–0 (one juror, three seats) by the jury of {} in block {}; liar slashed {} VRT \
		 (challenger {} VRT, juror {} VRT, treasury {} VRT), user refunded {} VRT",
		model.name(),
		if audited {
			"a random audit"
		} else {
			"the challenge"
		},
		next - 1,
		slash.amount as f64 / UNIT as f64,
		reward as f64 / UNIT as f64,
		jury_pay as f64 / UNIT as f64,
		(slash.amount - reward - jury_pay) as f64 / UNIT as f64,
		refund.amount as f64 / UNIT as f64
	);
}

async fn a_job_whose_worker_node_is_stopped_is_reassigned_and_served(net: TwoWorkers) {
	let TwoWorkers {
		first,
		mut second,
		api,
		bob_worker,
	} = net;
	// //Bob//worker's node stops; the chain still draws it for jobs.
	let status = second.stop(Duration::from_secs(60));
	assert!(
		status.success(),
		"the second node exits cleanly, got {status}"
	);
	let alice_id = dev::alice().public_key().to_account_id();
	let alice_worker: AccountId32 =
		Keypair::from_uri(&"//Alice//worker".parse::<SecretUri>().unwrap())
			.unwrap()
			.public_key()
			.to_account_id();
	let (_, held_before) = balance(&api, &alice_id).await;
	assert_issuance_is_the_sum_of_accounts(&api, "before the missed deadline").await;

	let input = JobInput::generate("Who answers when the worker is gone?", 8).unwrap();
	let (submitted_block, assigned, deposits) =
		submit_job_for(&api, &first, &input, &bob_worker).await;
	let job_id = assigned.job_id;

	let mut seen = JobEvents::default();
	let mut next = submitted_block + 1;
	// Long enough for the rare audit of the reassigned job, whose only juror is the stopped
	// worker: silent, no other juror, so the council's window runs out before it is paid.
	let deadline = Instant::now() + Duration::from_secs(420);
	while !seen.finalized.iter().any(|f| f.job_id == job_id) {
		assert!(
			Instant::now() < deadline,
			"the job was not served: {seen:?}; log:\n{}",
			first.log()
		);
		assert!(
			!seen.refunds.iter().any(|r| r.job_id == job_id),
			"refunded, not reassigned: {seen:?}"
		);
		seen.read_block(&api, next).await;
		next += 1;
	}
	let slash = seen
		.slashes
		.iter()
		.find(|s| s.job_id == job_id)
		.expect("the silent worker is slashed");
	assert_eq!(slash.who, bob_worker);
	assert_eq!(variant_name(&slash.fault), "MissedDeadline");
	assert_eq!(
		slash.amount,
		2 * FEE,
		"twice the fee, not a share of the stake"
	);
	let (reassigned_block, reassigned) = seen
		.assignments
		.iter()
		.find(|(_, a)| a.job_id == job_id)
		.expect("the job is reassigned");
	assert_eq!(
		reassigned.worker, alice_worker,
		"the only other worker takes it"
	);
	assert!(*reassigned_block > u64::from(assigned.deadline));
	let (result_block, result) = seen
		.results
		.iter()
		.find(|(_, r)| r.job_id == job_id)
		.expect("the job is answered");
	assert_eq!(result.worker, alice_worker);
	let finalized = seen.finalized.iter().find(|f| f.job_id == job_id).unwrap();
	assert_eq!(
		finalized.worker, alice_worker,
		"the worker that did the job is paid"
	);
	assert_eq!(
		finalized.paid,
		FEE - FEE / 10,
		"the fee minus the 10% protocol share"
	);
	let finalized_block = next - 1;
	let deposits_then = deposits_in_block(&api, finalized_block).await;
	assert_eq!(
		received(&deposits_then, &treasury()),
		FEE / 10,
		"the treasury's share"
	);
	// Of Alice's only the jobs' storage deposits stay held: her fee paid for the job done.
	let (_, held_after) = balance(&api, &alice_id).await;
	assert_eq!(held_after, held_before + deposits);
	assert_issuance_is_the_sum_of_accounts(&api, "after the missed deadline").await;
	println!(
		"worker node stopped: job submitted in block {submitted_block}, deadline {}, reassigned in \
		 block {reassigned_block}, answered in block {result_block}, finalized in block {}; the \
		 silent worker was slashed {} VRT",
		assigned.deadline,
		next - 1,
		slash.amount as f64 / UNIT as f64,
	);
	let mut first = first;
	let status = first.stop(Duration::from_secs(60));
	assert!(status.success(), "verity-node exits cleanly, got {status}");
}
