//! Running a job: load a catalog model with its hashes checked, turn a [`JobInput`] into the
//! canonical [`JobOutput`].

use std::path::Path;

use verity_primitives::job::{Embedding, JobInput, JobOutput};

use crate::{
	catalog::ModelId,
	minilm::{MiniLm, MiniLmFiles},
	smollm2::SmolLm2,
	Error, Result,
};

/// A catalog model, loaded.
pub enum LoadedModel {
	/// SmolLM2 (generation).
	SmolLm2(SmolLm2),
	/// MiniLM (embeddings).
	MiniLm(MiniLm),
}

impl LoadedModel {
	/// Loads `id` from `models_dir`; every file must have its pinned hash, or nothing is loaded.
	pub fn load(id: ModelId, models_dir: &Path) -> Result<Self> {
		let files = id.files();
		let path = |index: usize| -> Result<(std::path::PathBuf, verity_primitives::Hash)> {
			let file = files.get(index).ok_or_else(|| {
				Error::UnsupportedModel(format!("{} has no file {index}", id.name()))
			})?;
			Ok((models_dir.join(file.relative_path), file.hash()))
		};
		match id {
			ModelId::SmolLm2 => {
				let (gguf, hash) = path(0)?;
				Ok(Self::SmolLm2(SmolLm2::load_verified(&gguf, &hash)?))
			}
			ModelId::MiniLm => {
				let (weights, weights_hash) = path(0)?;
				let (tokenizer, tokenizer_hash) = path(1)?;
				let (config, config_hash) = path(2)?;
				Ok(Self::MiniLm(MiniLm::load_verified(MiniLmFiles {
					weights: (&weights, weights_hash),
					tokenizer: (&tokenizer, tokenizer_hash),
					config: (&config, config_hash),
				})?))
			}
		}
	}

	/// Which catalog model this is.
	pub fn id(&self) -> ModelId {
		match self {
			Self::SmolLm2(_) => ModelId::SmolLm2,
			Self::MiniLm(_) => ModelId::MiniLm,
		}
	}

	/// Runs a job: checks the input, runs the model, returns the canonical output.
	pub fn run(&mut self, input: &JobInput) -> Result<JobOutput> {
		input.validate()?;
		let id = self.id();
		match (self, input) {
			(Self::SmolLm2(model), JobInput::Generate { prompt, max_tokens }) => {
				let generation = model.generate(utf8(prompt)?, *max_tokens)?;
				Ok(JobOutput::generated(
					generation.token_ids,
					&generation.text,
				)?)
			}
			(Self::MiniLm(model), JobInput::Embed { texts }) => {
				let texts = texts
					.iter()
					.map(|text| utf8(text))
					.collect::<Result<Vec<_>>>()?;
				let embeddings = model
					.embed(&texts)?
					.iter()
					.map(|vector| Embedding::from_f32(vector))
					.collect::<std::result::Result<Vec<_>, _>>()?;
				Ok(JobOutput::embedded(embeddings)?)
			}
			(_, input) => Err(Error::WrongJobKind {
				model: id.name(),
				serves: id.kind(),
				asked: input.kind(),
			}),
		}
	}
}

fn utf8(bytes: &[u8]) -> Result<&str> {
	std::str::from_utf8(bytes)
		.map_err(|_| Error::JobData(verity_primitives::job::JobDataError::InvalidUtf8))
}
