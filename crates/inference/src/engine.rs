//! Running a job: load a catalog model with its hashes checked, turn a [`JobInput`] into the
//! canonical [`JobOutput`].

use std::path::{Path, PathBuf};

use verity_primitives::{
	job::{Embedding, JobInput, JobOutput},
	Hash,
};

use crate::{
	catalog::ModelId,
	digest::read_hashed,
	minilm::{MiniLm, MiniLmFiles},
	smollm2::SmolLm2,
	Error, Result,
};

/// MiniLM's files in a model folder, in its canonical order.
const MINILM_LAYOUT: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// A model loaded from the files of a folder, none of them pinned: what a proposer has before
/// the registry (or this engine's catalog) knows the model.
pub struct FolderModel {
	/// The model, built from the bytes that were hashed.
	pub model: LoadedModel,
	/// Its files in the model's canonical order (weights first), each with its BLAKE2-256.
	pub files: Vec<(PathBuf, Hash)>,
}

impl FolderModel {
	/// The model hash a registry records for these files
	/// ([`verity_primitives::model::model_hash`] over the file hashes, in order).
	pub fn model_hash(&self) -> Hash {
		let hashes: Vec<Hash> = self.files.iter().map(|(_, hash)| *hash).collect();
		verity_primitives::model::model_hash(&hashes)
	}

	/// BLAKE2-256 of the weights file (the first).
	pub fn weights_hash(&self) -> Hash {
		self.files[0].1
	}

	/// BLAKE2-256 of the tokenizer: its own file when the layout has one, else the weights
	/// (SmolLM2's tokenizer lives in the GGUF's metadata).
	pub fn tokenizer_hash(&self) -> Hash {
		self.files.get(1).unwrap_or(&self.files[0]).1
	}
}

/// The files of the model in `dir` and the catalog model whose code runs them, told by their
/// layout: one `.gguf` file is SmolLM2's layout, `model.safetensors` with `tokenizer.json` and
/// `config.json` MiniLM's.
pub fn folder_layout(dir: &Path) -> Result<(ModelId, Vec<PathBuf>)> {
	let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
		path: dir.to_path_buf(),
		source,
	})?;
	let mut ggufs = Vec::new();
	for entry in entries {
		let path = entry
			.map_err(|source| Error::Io {
				path: dir.to_path_buf(),
				source,
			})?
			.path();
		if path.is_file() && path.extension().is_some_and(|ext| ext == "gguf") {
			ggufs.push(path);
		}
	}
	let minilm: Vec<PathBuf> = MINILM_LAYOUT.iter().map(|name| dir.join(name)).collect();
	match (ggufs.len(), minilm[0].is_file()) {
		(1, false) => Ok((ModelId::SmolLm2, ggufs)),
		(0, true) => Ok((ModelId::MiniLm, minilm)),
		(0, false) => Err(Error::UnsupportedModel(format!(
			"no model files in {}: expected one .gguf file (SmolLM2's layout) or {} (MiniLM's)",
			dir.display(),
			MINILM_LAYOUT.join(", ")
		))),
		_ => Err(Error::UnsupportedModel(format!(
			"{} holds more than one model (several .gguf files, or a .gguf beside \
			 model.safetensors): give the folder of one",
			dir.display()
		))),
	}
}

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

	/// Loads the model in `dir` (see [`folder_layout`]) with the code of the catalog model whose
	/// layout it has, hashing every file instead of checking it against a pinned hash: a new
	/// version of a catalog model (another quantization of SmolLM2, a fine-tuned MiniLM) before
	/// anyone has pinned it. SmolLM2's code still refuses a GGUF that is not a llama model with
	/// SmolLM2-Instruct's chat template.
	pub fn load_dir(dir: &Path) -> Result<FolderModel> {
		let (architecture, paths) = folder_layout(dir)?;
		let mut files = Vec::with_capacity(paths.len());
		let mut bytes = Vec::with_capacity(paths.len());
		for path in paths {
			let file = read_hashed(&path)?;
			files.push((path, file.hash));
			bytes.push(file.bytes);
		}
		let model =
			match (architecture, bytes.as_mut_slice()) {
				(ModelId::SmolLm2, [gguf]) => Self::SmolLm2(SmolLm2::from_gguf_bytes(gguf)?),
				(ModelId::MiniLm, [weights, tokenizer, config]) => Self::MiniLm(
					MiniLm::from_bytes(std::mem::take(weights), tokenizer, config)?,
				),
				_ => {
					return Err(Error::UnsupportedModel(format!(
						"{} has an unexpected file count",
						architecture.name()
					)))
				}
			};
		Ok(FolderModel { model, files })
	}

	/// Which catalog model this is (for a model from [`LoadedModel::load_dir`], the one whose
	/// code runs it).
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
