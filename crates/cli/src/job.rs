//! `verity job submit|show|list|challenge|verify`: a job from the terminal, and the project's promise made
//! concrete: re-run any job with a result and check it, rather than trust it.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Subcommand};
use serde_json::json;
use subxt::{dynamic::Value, ext::scale_decode::DecodeAsType};
use verity_inference::{default_models_dir, receipt::verify_receipt_from, LoadedModel};
use verity_primitives::{
	job::{JobInput, JobOutput},
	policy::{self, VerificationPolicy},
	receipt::{JobId, Receipt, ReceiptPayload},
	AccountId, Balance, BlockNumber, Hash,
};

use crate::{amount, chain, error::CliError, hex::hash as hex, infer, models};

/// A job of the Verity runtime.
pub type Job = pallet_jobs::Job<AccountId, Balance, BlockNumber>;
/// A result of the Verity runtime.
pub type JobResult = pallet_jobs::JobResult<BlockNumber>;
/// A worker record of the Verity runtime (its models as a plain list).
pub(crate) type WorkerInfo =
	pallet_workers::WorkerInfo<BlockNumber, Vec<pallet_workers::ServedModel>>;

/// The part of `Jobs::JobSubmitted` the CLI reads.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
pub(crate) struct JobSubmitted {
	pub(crate) job_id: JobId,
}

/// `verity job …`.
#[derive(Subcommand)]
pub enum JobCommand {
	/// Pay for a job: a generation (--prompt) or an embedding (--text, repeatable).
	Submit(SubmitArgs),
	/// A job, its status and its result.
	Show {
		/// The job's id.
		id: JobId,
	},
	/// The jobs on chain (settled ones until they are pruned), oldest first.
	List(ListArgs),
	/// Dispute a result: commit (the bond is held), then reveal in a later block; the jury is
	/// drawn a few blocks after. The salt is saved first, so `--resume` finishes a challenge a
	/// crash interrupted.
	Challenge(crate::challenge::ChallengeArgs),
	/// Re-run a job locally and check its result: VERIFIED (exit 0), MISMATCH (exit 1) or
	/// UNVERIFIABLE (exit 2).
	Verify(VerifyArgs),
}

/// Arguments of `verity job submit`.
#[derive(Args)]
pub struct SubmitArgs {
	/// The model's registry id or name (`smollm2`, `minilm`, or the registry's name).
	#[arg(long)]
	model: String,
	/// The prompt of a generation job.
	#[arg(long, conflicts_with = "text", required_unless_present = "text")]
	prompt: Option<String>,
	/// The most tokens to generate.
	#[arg(long, default_value_t = 64)]
	max_tokens: u32,
	/// A text to embed; repeat for a batch.
	#[arg(long)]
	text: Vec<String>,
	/// The fee to offer, with its unit (e.g. 0.05VRT); default: the model's floor or the
	/// market's, whichever is higher.
	#[arg(long)]
	max_fee: Option<String>,
	/// Follow the job until it settles, printing each step, then print the output. Exit 0 when
	/// finalized, 1 when refunded.
	#[arg(long)]
	wait: bool,
}

/// Arguments of `verity job list`.
#[derive(Args)]
pub struct ListArgs {
	/// Only the jobs the signer submitted (the account of --suri, --suri-file or $VERITY_SURI;
	/// nothing is signed).
	#[arg(long)]
	mine: bool,
	/// Only the jobs at this stage.
	#[arg(long, value_enum)]
	status: Option<Stage>,
}

/// Where a job stands, in one word.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
	/// Paid for; no worker drawn yet.
	Submitted,
	/// A worker must answer.
	Assigned,
	/// Answered; inside its challenge window.
	Result,
	/// Audited or challenged; a jury or the council decides.
	Disputed,
	/// Settled; the worker was paid.
	Finalized,
	/// Settled; the fee went back.
	Refunded,
}

impl Stage {
	/// The word `verity` prints for it.
	pub fn name(self) -> &'static str {
		match self {
			Stage::Submitted => "Submitted",
			Stage::Assigned => "Assigned",
			Stage::Result => "Result",
			Stage::Disputed => "Disputed",
			Stage::Finalized => "Finalized",
			Stage::Refunded => "Refunded",
		}
	}
}

/// Arguments of `verity job verify`.
#[derive(Args)]
pub struct VerifyArgs {
	/// The job's id.
	pub(crate) id: JobId,
	/// The models folder (default: $VERITY_MODELS, else ~/.cache/verity/models).
	#[arg(long)]
	pub(crate) models_dir: Option<PathBuf>,
	/// Read the job from history even while it is in state: its input from its `submit_job`
	/// extrinsic, its records at the last block that held it. A pruned job is always read so;
	/// the node must be an archive node (`--state-pruning archive`) once the job is older than
	/// the state it keeps.
	#[arg(long)]
	pub(crate) archive: bool,
}

/// The job `id` at the finalized head, or a readable error.
pub(crate) async fn job(api: &chain::Api, id: JobId) -> Result<Job, CliError> {
	chain::read(api, "Jobs", "Jobs", (id,))
		.await?
		.ok_or_else(|| {
			CliError::Usage(format!(
				"no job {id} on chain (never submitted, or pruned after its retention period)"
			))
		})
}

/// Where a job stands.
fn stage_of(status: &pallet_jobs::JobStatus<AccountId, BlockNumber>) -> Stage {
	use pallet_jobs::JobStatus::*;
	match status {
		Pending { .. } => Stage::Submitted,
		Assigned { .. } => Stage::Assigned,
		Committed { .. } => Stage::Result,
		Disputed { .. } => Stage::Disputed,
		Finalized { .. } => Stage::Finalized,
		Refunded { .. } => Stage::Refunded,
	}
}

/// One word for where a job stands.
pub(crate) fn stage(status: &pallet_jobs::JobStatus<AccountId, BlockNumber>) -> &'static str {
	stage_of(status).name()
}

/// The worker that answered, for a job with a result.
pub(crate) fn answering_worker(
	status: &pallet_jobs::JobStatus<AccountId, BlockNumber>,
) -> Option<&AccountId> {
	use pallet_jobs::JobStatus::*;
	match status {
		Committed { worker, .. } | Disputed { worker, .. } | Finalized { worker, .. } => {
			Some(worker)
		}
		_ => None,
	}
}

/// A job's input as JSON: the prompt and its token budget, or the texts.
pub(crate) fn input_json(input: &JobInput) -> serde_json::Value {
	match input {
		JobInput::Generate { prompt, max_tokens } => json!({
			"prompt": String::from_utf8_lossy(prompt),
			"max_tokens": max_tokens,
		}),
		JobInput::Embed { texts } => json!({
			"texts": texts.iter().map(|t| String::from_utf8_lossy(t)).collect::<Vec<_>>(),
		}),
	}
}

fn output_json(output: &JobOutput) -> serde_json::Value {
	match output {
		JobOutput::Generated { token_ids, text } => json!({
			"text": String::from_utf8_lossy(text),
			"tokens": token_ids.len(),
		}),
		JobOutput::Embedded { embeddings } => json!({
			"embeddings": embeddings
				.iter()
				.map(|e| e.values().collect::<Vec<f32>>())
				.collect::<Vec<_>>(),
		}),
	}
}

/// Runs `verity job …`; returns the exit code.
pub async fn run(
	command: JobCommand,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<ExitCode, CliError> {
	match command {
		JobCommand::Submit(args) => submit(args, chain, json_output).await,
		JobCommand::Show { id } => {
			let api = chain.connect().await?;
			let job = job(&api, id).await?;
			let result: Option<JobResult> = chain::read(&api, "Jobs", "Results", (id,)).await?;
			let value = json!({
				"id": id,
				"status": stage(&job.status),
				"detail": format!("{:?}", job.status),
				"model": job.model,
				"submitter": job.submitter.to_string(),
				"fee": amount::format(job.fee),
				"deposit": amount::format(job.deposit),
				"submitted_at": job.submitted_at,
				"input": input_json(&job.input),
				"input_hash": hex(&job.input_hash),
				"output_hash": result.as_ref().map(|r| hex(&r.output_hash)),
				"output": result.as_ref().map(|r| output_json(&r.output)),
			});
			if json_output {
				println!("{value}");
			} else {
				println!("job {id}: {} ({:?})", stage(&job.status), job.status);
				println!(
					"model {}, fee {}, submitted in block {}",
					job.model,
					amount::format(job.fee),
					job.submitted_at
				);
				println!("input hash  {}", hex(&job.input_hash));
				if let Some(result) = &result {
					infer::write_plain(&mut std::io::stdout().lock(), &result.output)?;
				}
			}
			Ok(ExitCode::SUCCESS)
		}
		JobCommand::List(args) => list(args, chain, json_output).await,
		JobCommand::Challenge(args) => crate::challenge::run(args, chain, json_output).await,
		JobCommand::Verify(args) => Ok(verify(args, chain, json_output).await),
	}
}

/// `verity job list`: every job on chain that passes the filters, oldest first.
async fn list(
	args: ListArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<ExitCode, CliError> {
	let mine = if args.mine {
		if !chain.has_signer() {
			return Err(CliError::Usage(
				"--mine lists the jobs of your account: name it with --suri //Alice \
				 (development), --suri-file PATH or $VERITY_SURI (nothing is signed)"
					.into(),
			));
		}
		Some(AccountId::new(chain.signer()?.public_key().0))
	} else {
		None
	};
	let api = chain.connect().await?;
	let mut jobs: Vec<(JobId, Job)> = chain::read_map(&api, "Jobs", "Jobs").await?;
	jobs.retain(|(_, job)| {
		mine.as_ref().is_none_or(|me| job.submitter == *me)
			&& args
				.status
				.is_none_or(|wanted| stage_of(&job.status) == wanted)
	});
	jobs.sort_by_key(|(id, _)| *id);
	if json_output {
		let all: Vec<_> = jobs
			.iter()
			.map(|(id, job)| {
				json!({
					"id": id,
					"status": stage(&job.status),
					"model": job.model,
					"submitter": job.submitter.to_string(),
					"worker": answering_worker(&job.status).map(|w| w.to_string()),
					"fee": amount::format(job.fee),
					"submitted_at": job.submitted_at,
				})
			})
			.collect();
		println!("{}", serde_json::Value::Array(all));
	} else if jobs.is_empty() {
		println!("no jobs match");
	} else {
		println!(
			"{:>6}  {:<10} {:>5}  {:>22}  {:>9}  submitter",
			"id", "status", "model", "fee", "submitted"
		);
		for (id, job) in &jobs {
			println!(
				"{id:>6}  {:<10} {:>5}  {:>22}  {:>9}  {}",
				stage(&job.status),
				job.model,
				amount::format(job.fee),
				job.submitted_at,
				job.submitter
			);
		}
	}
	Ok(ExitCode::SUCCESS)
}

async fn submit(
	args: SubmitArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<ExitCode, CliError> {
	let input = match &args.prompt {
		Some(prompt) => JobInput::generate(prompt, args.max_tokens),
		None => JobInput::embed(&args.text),
	}
	.map_err(|e| CliError::Usage(format!("invalid input: {e:?}")))?;
	let max_fee = args.max_fee.as_deref().map(amount::parse).transpose()?;
	let signer = chain.signer()?;
	let api = chain.connect().await?;
	let (model_id, entry) = models::resolve(&api, &args.model).await?;
	if entry.info.kind != input.kind() {
		return Err(CliError::Usage(format!(
			"model {model_id} ({}) serves {:?} jobs, the input is a {:?} job",
			String::from_utf8_lossy(&entry.info.name),
			entry.info.kind,
			input.kind()
		)));
	}
	let params: pallet_jobs::JobParams<Balance, BlockNumber> =
		chain::read(&api, "Jobs", "Params", ())
			.await?
			.ok_or_else(|| CliError::Chain("the chain has no job parameters".into()))?;
	let fee = max_fee.unwrap_or(entry.info.min_fee.max(params.min_job_fee));
	let call = chain::call(
		"Jobs",
		"submit_job",
		vec![
			Value::u128(u128::from(model_id)),
			input_value(&input),
			Value::u128(fee),
		],
	);
	let events = chain::submit(&api, &call, &signer).await?;
	let job_id = chain::event::<JobSubmitted>(&events, "Jobs", "JobSubmitted")
		.map(|submitted| submitted.job_id)
		.ok_or_else(|| {
			CliError::Chain("the job was included but no JobSubmitted event was found".into())
		})?;
	if !args.wait {
		if json_output {
			println!("{}", json!({ "id": job_id, "fee": amount::format(fee) }));
		} else {
			println!("job {job_id} submitted, fee {}", amount::format(fee));
		}
		return Ok(ExitCode::SUCCESS);
	}
	let mut last = "";
	loop {
		let job = job(&api, job_id).await?;
		let now = stage(&job.status);
		if now != last {
			if !json_output {
				eprintln!("job {job_id}: {now}");
			}
			last = now;
		}
		match job.status {
			pallet_jobs::JobStatus::Finalized { .. } => {
				let result: Option<JobResult> =
					chain::read(&api, "Jobs", "Results", (job_id,)).await?;
				let result = result.ok_or_else(|| {
					CliError::Chain(format!("job {job_id} is finalized but has no result"))
				})?;
				if json_output {
					println!(
						"{}",
						json!({
							"id": job_id,
							"status": "Finalized",
							"fee": amount::format(fee),
							"output_hash": hex(&result.output_hash),
							"output": output_json(&result.output),
						})
					);
				} else {
					infer::write_plain(&mut std::io::stdout().lock(), &result.output)?;
				}
				return Ok(ExitCode::SUCCESS);
			}
			pallet_jobs::JobStatus::Refunded { reason, .. } => {
				if json_output {
					println!(
						"{}",
						json!({ "id": job_id, "status": "Refunded", "reason": format!("{reason:?}") })
					);
				} else {
					println!("job {job_id} was refunded: {reason:?}");
				}
				return Ok(ExitCode::FAILURE);
			}
			_ => tokio::time::sleep(Duration::from_secs(2)).await,
		}
	}
}

/// A job input as the dynamic value `Jobs::submit_job` takes.
fn input_value(input: &JobInput) -> Value {
	match input {
		JobInput::Generate { prompt, max_tokens } => Value::named_variant(
			"Generate",
			[
				("prompt", Value::from_bytes(prompt)),
				("max_tokens", Value::u128(u128::from(*max_tokens))),
			],
		),
		JobInput::Embed { texts } => Value::named_variant(
			"Embed",
			[(
				"texts",
				Value::unnamed_composite(texts.iter().map(Value::from_bytes)),
			)],
		),
	}
}

/// What `verify` found.
pub(crate) enum Verdict {
	/// The local run agrees with the result under the model's policy, and the receipt is valid.
	Verified,
	/// The output is not what the model computes (under its policy): why.
	Mismatch(String),
	/// The receipt does not verify with the worker's registered key: why. `verify` reports it
	/// as MISMATCH; a challenge needs `--force`, since a jury judges only the output.
	BadReceipt(String),
	/// The job cannot be checked here: why.
	Unverifiable(String),
}

async fn verify(args: VerifyArgs, chain: &chain::ChainArgs, json_output: bool) -> ExitCode {
	let mut facts = serde_json::Map::new();
	let verdict = match check(&args, chain, &mut facts).await {
		Ok(verdict) => verdict,
		Err(error) => Verdict::Unverifiable(error.to_string()),
	};
	let (word, reason, code) = match &verdict {
		Verdict::Verified => ("VERIFIED", String::new(), 0),
		Verdict::Mismatch(why) | Verdict::BadReceipt(why) => ("MISMATCH", why.clone(), 1),
		Verdict::Unverifiable(why) => ("UNVERIFIABLE", why.clone(), 2),
	};
	facts.insert("id".into(), json!(args.id));
	facts.insert("verdict".into(), json!(word));
	if !reason.is_empty() {
		facts.insert("reason".into(), json!(reason));
	}
	if json_output {
		println!("{}", serde_json::Value::Object(facts));
	} else {
		println!(
			"{word}: job {}{}",
			args.id,
			if reason.is_empty() {
				String::new()
			} else {
				format!(": {reason}")
			}
		);
		for (key, value) in &facts {
			if !["id", "verdict", "reason"].contains(&key.as_str()) {
				println!(
					"  {key:<16} {}",
					value
						.as_str()
						.map(str::to_string)
						.unwrap_or(value.to_string())
				);
			}
		}
	}
	ExitCode::from(code)
}

/// The checks of `verify`, each adding what it found to `facts`.
pub(crate) async fn check(
	args: &VerifyArgs,
	chain: &chain::ChainArgs,
	facts: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Verdict, CliError> {
	let api = chain.connect().await?;
	let records = crate::archive::records(&api, args.id, args.archive).await?;
	let job = records.job;
	facts.insert("status".into(), json!(stage(&job.status)));
	if let (Some(submitted_in), Some(at)) = (records.submitted_in, records.at) {
		facts.insert(
			"history".into(),
			json!(format!(
				"input from the submit_job extrinsic of block {submitted_in}; records as of \
				 block {at}"
			)),
		);
		facts.insert("submitted_in".into(), json!(submitted_in));
		facts.insert("records_at".into(), json!(at));
	}
	let Some(result) = records.result else {
		return Ok(Verdict::Unverifiable(format!(
			"the job has no result yet ({})",
			stage(&job.status)
		)));
	};
	let worker = answering_worker(&job.status)
		.ok_or_else(|| CliError::Chain("a job with a result names no worker".into()))?
		.clone();
	let entry: models::Entry = chain::read_at(&api, records.at, "Models", "Models", (job.model,))
		.await?
		.ok_or_else(|| CliError::Chain(format!("job {} names no model", args.id)))?;
	let info = &entry.info;
	facts.insert("model".into(), json!(String::from_utf8_lossy(&info.name)));
	facts.insert("model_hash".into(), json!(hex(&info.model_hash)));
	facts.insert("input_hash".into(), json!(hex(&job.input_hash)));
	facts.insert("claimed_output".into(), json!(hex(&result.output_hash)));
	facts.insert("worker".into(), json!(worker.to_string()));

	// The receipt: the worker's registered key signed this output for this chain and job.
	let Some(record) = chain::read_at::<_, WorkerInfo>(
		&api,
		records.at,
		"Workers",
		"Workers",
		(subxt::utils::AccountId32(worker.clone().into()),),
	)
	.await?
	else {
		return Ok(Verdict::Unverifiable(
			"the worker is no longer registered: its receipt key is unknown".into(),
		));
	};
	let receipt = Receipt {
		payload: ReceiptPayload {
			genesis_hash: Hash::from(api.genesis_hash().0),
			job_id: args.id,
			model_hash: info.model_hash,
			input_hash: job.input_hash,
			output_hash: result.output_hash,
		},
		signer: record.receipt_key,
		signature: result.receipt_signature,
	};
	if verify_receipt_from(&receipt, &record.receipt_key).is_err() {
		return Ok(Verdict::BadReceipt(
			"the receipt signature does not verify with the worker's registered key".into(),
		));
	}
	facts.insert(
		"receipt".into(),
		json!("valid (ed25519, the worker's registered key)"),
	);

	// The model files, checked against the registry's hash, then the engine.
	let Some(catalog) = verity_inference::ModelId::ALL
		.into_iter()
		.find(|catalog| catalog.model_hash() == info.model_hash)
	else {
		return Ok(Verdict::Unverifiable(format!(
			"this verity has no engine for model hash {}",
			hex(&info.model_hash)
		)));
	};
	let models_dir = args.models_dir.clone().unwrap_or_else(default_models_dir);
	let mut model = match LoadedModel::load(catalog, &models_dir) {
		Ok(model) => model,
		Err(error) => {
			return Ok(Verdict::Unverifiable(format!(
				"cannot load the model files: {error}"
			)))
		}
	};
	let local = model.run(&job.input)?;
	facts.insert("local_output".into(), json!(hex(&local.hash())));
	match info.policy {
		VerificationPolicy::Exact if local.hash() == result.output_hash => Ok(Verdict::Verified),
		VerificationPolicy::Exact => Ok(Verdict::Mismatch(
			"the output differs from the local run (exact policy)".into(),
		)),
		tolerance => match policy::check(tolerance, &result.output, &local) {
			Ok(()) => Ok(Verdict::Verified),
			Err(mismatch) => Ok(Verdict::Mismatch(format!(
				"the output is outside the model's tolerance: {mismatch:?}"
			))),
		},
	}
}
