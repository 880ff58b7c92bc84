//! `verity infer`: one job, run locally.

use std::{io::Write, path::PathBuf};

use clap::Args;
use serde_json::json;
use verity_inference::{default_models_dir, profile::engine_profile, Error, LoadedModel, ModelId};
use verity_primitives::job::{JobInput, JobOutput};

use crate::{error::CliError, hex::hash as hex_hash};

/// Arguments of `verity infer`.
#[derive(Args)]
pub struct InferArgs {
	/// The model: smollm2 (generation) or minilm (embeddings).
	#[arg(long)]
	model: String,
	/// The prompt of a generation job (smollm2).
	#[arg(long, conflicts_with = "text", required_unless_present = "text")]
	prompt: Option<String>,
	/// A text to embed (minilm); repeat for a batch.
	#[arg(long)]
	text: Vec<String>,
	/// The most tokens to generate.
	#[arg(long, default_value_t = 64)]
	max_tokens: u32,
	/// The models folder (default: $VERITY_MODELS, else ~/.cache/verity/models).
	#[arg(long)]
	models_dir: Option<PathBuf>,
	/// Threads of the compute pools (sets RAYON_NUM_THREADS and CANDLE_NUM_THREADS).
	#[arg(long)]
	threads: Option<usize>,
}

/// Runs the command; an error is printed by `main` as one line.
pub fn run(args: InferArgs, json: bool) -> Result<(), CliError> {
	if let Some(threads) = args.threads {
		// Before any tensor operation: candle's pools read these once per process.
		std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
		std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
	}
	let id = ModelId::from_name(&args.model)?;
	let input = match &args.prompt {
		Some(prompt) => JobInput::generate(prompt, args.max_tokens),
		None => JobInput::embed(&args.text),
	}
	.map_err(Error::from)?;
	if input.kind() != id.kind() {
		let (serves, asked) = (id.kind(), input.kind());
		return Err(Error::WrongJobKind {
			model: id.name(),
			serves,
			asked,
		}
		.into());
	}
	let models_dir = args.models_dir.unwrap_or_else(default_models_dir);
	let mut model = LoadedModel::load(id, &models_dir)?;
	let output = model.run(&input)?;
	let mut stdout = std::io::stdout().lock();
	if json {
		writeln!(stdout, "{}", json_report(id, &input, &output))?;
	} else {
		write_plain(&mut stdout, &output)?;
	}
	Ok(stdout.flush()?)
}

fn json_report(id: ModelId, input: &JobInput, output: &JobOutput) -> serde_json::Value {
	let profile = engine_profile();
	let mut report = json!({
		"model": id.name(),
		"model_hash": hex_hash(&id.model_hash()),
		"input_hash": hex_hash(&input.hash()),
		"output_hash": hex_hash(&output.hash()),
		"engine": {
			"engine": String::from_utf8_lossy(&profile.engine),
			"target": String::from_utf8_lossy(&profile.target),
			"cpu_features": String::from_utf8_lossy(&profile.cpu_features),
			"threads": profile.threads,
		},
	});
	match output {
		JobOutput::Generated { token_ids, text } => {
			report["token_ids"] = json!(token_ids.to_vec());
			report["text"] = json!(String::from_utf8_lossy(text));
		}
		JobOutput::Embedded { embeddings } => {
			let vectors: Vec<Vec<f32>> = embeddings
				.iter()
				.map(|embedding| embedding.values().collect())
				.collect();
			report["embeddings"] = json!(vectors);
		}
	}
	report
}

/// Writes `output` as text: the generated text and its token count, or the first values of each
/// embedding; then its output hash.
pub(crate) fn write_plain(out: &mut impl Write, output: &JobOutput) -> std::io::Result<()> {
	match output {
		JobOutput::Generated { token_ids, text } => {
			writeln!(out, "{}", String::from_utf8_lossy(text))?;
			writeln!(out, "tokens: {}", token_ids.len())?;
		}
		JobOutput::Embedded { embeddings } => {
			for (index, embedding) in embeddings.iter().enumerate() {
				let head: Vec<String> = embedding
					.values()
					.take(4)
					.map(|value| format!("{value:.6}"))
					.collect();
				writeln!(
					out,
					"embedding {index}: dim {} [{}, …]",
					embedding.dim(),
					head.join(", ")
				)?;
			}
		}
	}
	writeln!(out, "output hash: {}", hex_hash(&output.hash()))
}
