//! The one error type of the crate.

use std::path::PathBuf;

use verity_primitives::job::{JobDataError, JobKind};

/// Everything that can go wrong while loading or running a model, or checking a receipt.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// A model name that is not in the catalog.
	#[error("unknown model `{0}` (known models: smollm2, minilm)")]
	UnknownModel(String),
	/// A model file is not where it should be.
	#[error("model file {} is missing; run scripts/fetch-models.sh (or set VERITY_MODELS)", path.display())]
	ModelFileMissing {
		/// The file looked for.
		path: PathBuf,
	},
	/// A model file could not be read.
	#[error("cannot read {}: {source}", path.display())]
	Io {
		/// The file.
		path: PathBuf,
		/// The cause.
		source: std::io::Error,
	},
	/// A model file's BLAKE2-256 is not the one asked for: it is refused before it runs.
	#[error("model file {} has BLAKE2-256 {actual}, expected {expected}: refusing to load it", path.display())]
	HashMismatch {
		/// The file.
		path: PathBuf,
		/// The hash asked for (hex).
		expected: String,
		/// The hash of the file's bytes (hex).
		actual: String,
	},
	/// The model files do not describe the model the engine implements.
	#[error("unsupported model: {0}")]
	UnsupportedModel(String),
	/// A job for another kind of model.
	#[error("model {model} runs {serves:?} jobs, not {asked:?} jobs")]
	WrongJobKind {
		/// The model's name.
		model: &'static str,
		/// The kind the model serves.
		serves: JobKind,
		/// The kind the job asked for.
		asked: JobKind,
	},
	/// Job data that breaks the rules of `verity-primitives`.
	#[error("invalid job data: {0}")]
	JobData(JobDataError),
	/// The prompt and the tokens asked for do not fit the model's context.
	#[error("the prompt is {prompt_tokens} tokens; with max_tokens {max_tokens} that exceeds the model's context of {context} tokens")]
	ContextTooLong {
		/// Tokens of the templated prompt.
		prompt_tokens: usize,
		/// Tokens asked for.
		max_tokens: u32,
		/// The model's context length.
		context: usize,
	},
	/// The tokenizer failed.
	#[error("tokenizer: {0}")]
	Tokenizer(String),
	/// A tensor operation failed.
	#[error("tensor computation: {0}")]
	Candle(#[from] candle_core::Error),
	/// A thread that would compute has a floating-point control state other than the default
	/// (flush-to-zero, denormals-are-zero, another rounding mode): its outputs would differ.
	#[error("refusing to compute: {0}")]
	FloatingPointState(String),
	/// A receipt whose key or signature does not verify.
	#[error("receipt does not verify: {0}")]
	InvalidReceipt(&'static str),
}

impl From<JobDataError> for Error {
	fn from(error: JobDataError) -> Self {
		Self::JobData(error)
	}
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
