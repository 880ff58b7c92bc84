//! End to end, with the real node, the real models and a real client (subxt): a development chain
//! whose single node is validator and worker (`--dev --worker`) serves a generation job (SmolLM2)
//! and an embedding job (MiniLM) that Alice submits. The node's off-chain worker runs each model,
//! answers with a signed receipt, and the job is finalized after the challenge window. The output
//! on chain is what the engine computes locally for the same input, and the test prints how long
//! each job took from submission to its result on chain, in blocks and seconds.

mod common;

use std::time::{Duration, Instant};

use codec::Decode;
use common::{
	chain::{find_event, input_value, submit},
	TestNode,
};
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode::{self, DecodeAsType},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::dev;
use verity_inference::{default_models_dir, LoadedModel, ModelId};
use verity_primitives::{
	job::{JobInput, JobOutput},
	policy::{self, VerificationPolicy},
};

/// The genesis model ids of the development chain.
const SMOLLM2: u32 = 0;
const MINILM: u32 = 1;

/// Generation jobs sent beside the checked ones, to load the worker while block times are
/// measured, and the tokens each asks for.
const LOAD_JOBS: usize = 5;
const LOAD_TOKENS: u32 = 128;

/// The fee Alice offers: within both models' minimum and the market's maximum.
const FEE: u128 = 100_000_000_000; // 0.1 VRT

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobSubmitted {
	job_id: u64,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ResultSubmitted {
	job_id: u64,
	output_hash: [u8; 32],
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct JobFinalized {
	job_id: u64,
	output_hash: [u8; 32],
	paid: u128,
}

/// What one job went through, as seen in finalized blocks.
#[derive(Debug, Default)]
struct Seen {
	submitted_block: u64,
	result_block: Option<u64>,
	result_hash: Option<[u8; 32]>,
	finalized_block: Option<u64>,
	finalized_hash: Option<[u8; 32]>,
	output: Option<JobOutput>,
}

/// The on-chain time of a block, in milliseconds.
async fn timestamp(api: &OnlineClient<PolkadotConfig>, block: u64) -> u64 {
	api.at_block(block)
		.await
		.expect("the block")
		.storage()
		.fetch(dynamic::storage::<(), u64>("Timestamp", "Now"), ())
		.await
		.expect("the timestamp")
		.decode()
		.expect("a u64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_worker_node_serves_generation_and_embedding_jobs_that_match_local_inference() {
	let models_dir = default_models_dir();
	let mut node = TestNode::start(&[
		"--dev",
		"--worker",
		"--models-dir",
		models_dir.to_str().expect("a UTF-8 path"),
	]);
	let api = node.connect(Duration::from_secs(120)).await;

	let jobs = [
		(
			SMOLLM2,
			ModelId::SmolLm2,
			JobInput::generate("What is the capital of France?", 24).expect("a valid prompt"),
		),
		(
			MINILM,
			ModelId::MiniLm,
			JobInput::embed(&["Verity makes inference something you verify."])
				.expect("a valid text"),
		),
	];

	// Alice submits both jobs; each is finalized with its JobSubmitted event.
	let alice = dev::alice();
	let started = Instant::now();
	let mut seen = Vec::new();
	for (model, _, input) in &jobs {
		let call = dynamic::transaction(
			"Jobs",
			"submit_job",
			(
				Value::u128(u128::from(*model)),
				input_value(input),
				Value::u128(FEE),
			),
		);
		let (block, events) = submit(&api, &node, &call, &alice).await;
		let submitted: JobSubmitted = find_event(&events, "Jobs", "JobSubmitted");
		seen.push((
			submitted.job_id,
			Seen {
				submitted_block: block,
				..Default::default()
			},
		));
	}

	// Load beside them: five more generation jobs of 128 tokens, from five other accounts and
	// without waiting, so that the node's inference queue is busy while block times are measured.
	let load_started = seen.len();
	for (i, signer) in [
		dev::bob(),
		dev::charlie(),
		dev::dave(),
		dev::eve(),
		dev::ferdie(),
	]
	.iter()
	.enumerate()
	{
		let input = JobInput::generate(
			&format!("Tell a long story about lighthouse number {i}."),
			LOAD_TOKENS,
		)
		.expect("a valid prompt");
		let call = dynamic::transaction(
			"Jobs",
			"submit_job",
			(
				Value::u128(u128::from(SMOLLM2)),
				input_value(&input),
				Value::u128(FEE),
			),
		);
		api.at_current_block()
			.await
			.expect("the current block")
			.transactions()
			.sign_and_submit_default(&call, signer)
			.await
			.expect("the pool accepts a load job");
	}

	// Read every finalized block from the first submission on, until every job (checked and
	// load) is finalized, noting each block's time.
	let mut block_times = Vec::new();
	let mut next = seen
		.iter()
		.map(|(_, s)| s.submitted_block)
		.min()
		.expect("two jobs");
	let deadline = started + Duration::from_secs(300);
	while seen.len() < load_started + LOAD_JOBS
		|| seen.iter().any(|(_, s)| s.finalized_block.is_none())
	{
		assert!(
			Instant::now() < deadline,
			"jobs not finalized in time: {seen:?}; log:\n{}",
			node.log()
		);
		let head = api
			.at_current_block()
			.await
			.expect("the finalized head")
			.block_number();
		if next > head {
			tokio::time::sleep(Duration::from_millis(500)).await;
			continue;
		}
		let number = next;
		next += 1;
		let at = api.at_block(number).await.expect("a finalized block");
		block_times.push((number, timestamp(&api, number).await));
		let events = at.events().fetch().await.expect("the block's events");
		for event in events.iter() {
			let event = event.expect("a decodable event");
			if event.pallet_name() != "Jobs" {
				continue;
			}
			match event.event_name() {
				"JobSubmitted" => {
					let e = event.decode_fields_unchecked_as::<JobSubmitted>().unwrap();
					if !seen.iter().any(|(id, _)| *id == e.job_id) {
						seen.push((
							e.job_id,
							Seen {
								submitted_block: number,
								..Default::default()
							},
						));
					}
				}
				"ResultSubmitted" => {
					let e = event
						.decode_fields_unchecked_as::<ResultSubmitted>()
						.unwrap();
					if let Some((_, s)) = seen.iter_mut().find(|(id, _)| *id == e.job_id) {
						s.result_block = Some(number);
						s.result_hash = Some(e.output_hash);
					}
				}
				"JobFinalized" => {
					let e = event.decode_fields_unchecked_as::<JobFinalized>().unwrap();
					if let Some((_, s)) = seen.iter_mut().find(|(id, _)| *id == e.job_id) {
						assert!(e.paid > 0, "the worker is paid");
						s.finalized_block = Some(number);
						s.finalized_hash = Some(e.output_hash);
						// The result stays on chain (until pruned) next to the job.
						let raw = at
							.storage()
							.fetch(
								dynamic::storage::<(u64,), Value>("Jobs", "Results"),
								(e.job_id,),
							)
							.await
							.expect("the job's result");
						s.output = Some(
							JobOutput::decode(&mut raw.bytes())
								.expect("a result starts with its JobOutput"),
						);
					}
				}
				"JobRefunded" => panic!("a job was refunded: {seen:?}; log:\n{}", node.log()),
				_ => {}
			}
		}
	}

	// Inference runs beside block production without stalling it: consecutive blocks while the
	// jobs ran are one 6 s slot apart, a busy machine allowing a missed slot at most.
	let intervals: Vec<u64> = block_times
		.windows(2)
		.filter(|pair| pair[1].0 == pair[0].0 + 1)
		.map(|pair| pair[1].1 - pair[0].1)
		.collect();
	let longest = intervals
		.iter()
		.copied()
		.max()
		.expect("several blocks were seen");
	let mean = intervals.iter().sum::<u64>() as f64 / intervals.len() as f64 / 1000.0;
	println!(
		"block time while {} jobs ran ({LOAD_JOBS} of them {LOAD_TOKENS}-token generations): mean \
		 {mean:.2} s, longest {:.1} s over {} blocks",
		seen.len(),
		longest as f64 / 1000.0,
		intervals.len()
	);
	assert!(
		longest <= 12_000,
		"a block came {longest} ms after its parent"
	);

	// The outputs on chain are what the engine computes here for the same inputs.
	for ((job_id, s), (_, model, input)) in seen[..load_started].iter().zip(&jobs) {
		let on_chain = s.output.clone().expect("the output was read");
		assert_eq!(Some(on_chain.hash().0), s.finalized_hash, "job {job_id}");
		assert_eq!(s.result_hash, s.finalized_hash, "job {job_id}");
		let local = LoadedModel::load(*model, &models_dir)
			.expect("the models are fetched")
			.run(input)
			.expect("local inference");
		match model.policy() {
			VerificationPolicy::Exact => assert_eq!(on_chain, local, "job {job_id}"),
			tolerance => {
				policy::check(tolerance, &local, &on_chain).unwrap_or_else(|mismatch| {
					panic!("job {job_id}: on-chain embedding differs: {mismatch:?}")
				});
			}
		}
		let result_block = s.result_block.expect("a result was seen");
		let seconds = (timestamp(&api, result_block).await
			- timestamp(&api, s.submitted_block).await) as f64
			/ 1000.0;
		println!(
			"job {job_id} ({}): submitted in block {}, result in block {} (+{} blocks, {seconds:.1} s \
			 of chain time), finalized in block {}; on-chain output equals local inference{}",
			model.name(),
			s.submitted_block,
			result_block,
			result_block - s.submitted_block,
			s.finalized_block.unwrap_or_default(),
			if on_chain == local { " bit for bit" } else { " within the model's tolerance" },
		);
	}

	// The node's Prometheus endpoint counted both runs.
	let metrics = node.metrics();
	for model in ["smollm2", "minilm"] {
		let runs = metrics
			.lines()
			.find(|line| {
				line.starts_with("verity_inference_jobs_total{")
					&& line.contains(&format!("model=\"{model}\""))
			})
			.and_then(|line| line.rsplit(' ').next())
			.and_then(|count| count.parse::<u64>().ok())
			.unwrap_or_else(|| panic!("no run count for {model} in the metrics:\n{metrics}"));
		assert!(runs >= 1, "{model} ran {runs} times");
		assert!(
			metrics
				.lines()
				.any(|line| line.starts_with("verity_inference_seconds_count{")
					&& line.contains(&format!("model=\"{model}\""))),
			"an inference time histogram for {model}:\n{metrics}"
		);
	}
	// Every metric docker/'s Grafana dashboard plots is one this worker node exports.
	let dashboard: serde_json::Value =
		serde_json::from_str(include_str!("../../docker/grafana/dashboards/verity.json"))
			.expect("the dashboard is JSON");
	let mut plotted = std::collections::BTreeSet::new();
	for panel in dashboard["panels"].as_array().expect("panels") {
		for target in panel["targets"].as_array().expect("targets") {
			let expr = target["expr"].as_str().expect("an expression");
			plotted.extend(
				expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
					.filter(|word| word.starts_with("substrate_") || word.starts_with("verity_"))
					.map(str::to_string),
			);
		}
	}
	assert!(plotted.len() >= 6, "{plotted:?}");
	for metric in &plotted {
		assert!(
			metrics
				.lines()
				.any(|line| line.starts_with(&format!("{metric}{{"))
					|| line.starts_with(&format!("{metric} "))),
			"the dashboard plots {metric}, which the node does not export:\n{metrics}"
		);
	}

	let status = node.stop(Duration::from_secs(60));
	assert!(status.success(), "verity-node exits cleanly, got {status}");
}
