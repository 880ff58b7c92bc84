//! all-MiniLM-L6-v2: sentence embeddings with candle-transformers' BERT.
//!
//! As sentence-transformers does for this model: WordPiece tokens (lower-cased, `[CLS]` … `[SEP]`),
//! at most 256 tokens per text, a batch padded to its longest text, the last hidden states
//! averaged over the attention mask (mean pooling), then scaled to unit length (L2). The text
//! steps before WordPiece use pinned character tables ([`text`]).

pub mod text;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use self::text::MiniLmTokenizer;
use verity_primitives::Hash;

use crate::{digest::read_verified, Error, Result};

/// The most tokens of one text (sentence-transformers' `max_seq_length` for this model).
pub const MAX_SEQUENCE_TOKENS: usize = 256;

/// MiniLM loaded and ready to embed.
pub struct MiniLm {
	model: BertModel,
	tokenizer: MiniLmTokenizer,
	device: Device,
}

/// The three files of a MiniLM model, each with the BLAKE2-256 it must have.
pub struct MiniLmFiles<'a> {
	/// `model.safetensors`.
	pub weights: (&'a Path, Hash),
	/// `tokenizer.json`.
	pub tokenizer: (&'a Path, Hash),
	/// `config.json`.
	pub config: (&'a Path, Hash),
}

impl MiniLm {
	/// Loads the model after checking the hash of every file.
	pub fn load_verified(files: MiniLmFiles<'_>) -> Result<Self> {
		let weights = read_verified(files.weights.0, &files.weights.1)?;
		let tokenizer = read_verified(files.tokenizer.0, &files.tokenizer.1)?;
		let config = read_verified(files.config.0, &files.config.1)?;
		Self::from_bytes(weights.bytes, &tokenizer.bytes, &config.bytes)
	}

	/// Builds the model from the bytes of its files (already verified by the caller).
	pub fn from_bytes(weights: Vec<u8>, tokenizer_json: &[u8], config_json: &[u8]) -> Result<Self> {
		let config: Config = serde_json::from_slice(config_json)
			.map_err(|error| Error::UnsupportedModel(format!("config.json: {error}")))?;
		let device = Device::Cpu;
		let vars = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
		let model = BertModel::load(vars, &config)?;
		let loaded = Tokenizer::from_bytes(tokenizer_json)
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		let mut tokenizer = text::from_loaded(loaded)?;
		tokenizer.with_padding(Some(PaddingParams {
			strategy: PaddingStrategy::BatchLongest,
			..PaddingParams::default()
		}));
		tokenizer
			.with_truncation(Some(TruncationParams {
				max_length: MAX_SEQUENCE_TOKENS,
				..TruncationParams::default()
			}))
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		Ok(Self {
			model,
			tokenizer,
			device,
		})
	}

	/// One unit-length embedding per text, in order, computed as one batch. Refuses with
	/// [`Error::FloatingPointState`] if this thread or one of candle's compute threads has a
	/// floating-point control state other than the default ([`crate::fpenv`]).
	pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
		crate::fpenv::check_candle_threads()?;
		if texts.is_empty() {
			return Ok(Vec::new());
		}
		let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
		let encodings = self
			.tokenizer
			.encode_batch(inputs, true)
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		let batch = encodings.len();
		let width = encodings
			.first()
			.map_or(0, |encoding| encoding.get_ids().len());
		let mut ids = Vec::with_capacity(batch * width);
		let mut type_ids = Vec::with_capacity(batch * width);
		let mut mask = Vec::with_capacity(batch * width);
		for encoding in &encodings {
			if encoding.get_ids().len() != width {
				return Err(Error::Tokenizer("padded encodings differ in length".into()));
			}
			ids.extend_from_slice(encoding.get_ids());
			type_ids.extend_from_slice(encoding.get_type_ids());
			mask.extend_from_slice(encoding.get_attention_mask());
		}
		let ids = Tensor::from_vec(ids, (batch, width), &self.device)?;
		let type_ids = Tensor::from_vec(type_ids, (batch, width), &self.device)?;
		let mask = Tensor::from_vec(mask, (batch, width), &self.device)?;
		let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
		let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
		let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
		let mean = summed.broadcast_div(&mask.sum(1)?)?;
		let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(1e-12)?;
		Ok(mean.broadcast_div(&norm)?.to_vec2()?)
	}
}
