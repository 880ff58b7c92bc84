//! Canonical job data: what a submitter asks a model to do ([`JobInput`]) and what a worker
//! answers ([`JobOutput`]).
//!
//! Both are SCALE types with bounded sizes, so they can be extrinsic arguments and storage values.
//! Their hashes ([`JobInput::hash`], [`JobOutput::hash`]) are BLAKE2-256 of the SCALE encoding:
//! the chain, the worker and every verifier hash the same bytes.
//!
//! # Canonical encoding of embeddings
//! An embedding is a vector of `f32`. Each value is stored as its IEEE-754 bit pattern in a `u32`
//! (`f32::to_bits`), which SCALE writes little-endian: the encoding of a vector is exactly its
//! little-endian IEEE-754 bytes, behind the SCALE length prefix. Two rules make the encoding
//! canonical (one value, one encoding): negative zero is stored as positive zero, and values that
//! are not finite (NaN, ±infinity) are refused ([`JobDataError::NonFiniteValue`]), so NaN payload
//! bits never reach a hash.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{ConstU32, Hash as _},
	BoundedVec,
};

use crate::{Hash, Hashing};

/// The longest prompt of a generation job, in bytes of UTF-8.
pub const MAX_PROMPT_BYTES: u32 = 4_096;
/// The most tokens a generation job may ask for (and so the most token ids in its output).
pub const MAX_GENERATED_TOKENS: u32 = 512;
/// The longest decoded text of a generation output, in bytes: room for
/// [`MAX_GENERATED_TOKENS`] tokens of up to 32 bytes each.
pub const MAX_GENERATED_TEXT_BYTES: u32 = MAX_GENERATED_TOKENS * 32;
/// The most texts one embedding job may carry.
pub const MAX_EMBED_TEXTS: u32 = 32;
/// The longest text of an embedding job, in bytes of UTF-8.
pub const MAX_EMBED_TEXT_BYTES: u32 = 1_024;
/// The most dimensions of one embedding vector.
pub const MAX_EMBEDDING_DIM: u32 = 1_024;

/// The prompt of a generation job: UTF-8 bytes.
pub type Prompt = BoundedVec<u8, ConstU32<MAX_PROMPT_BYTES>>;
/// One text of an embedding job: UTF-8 bytes.
pub type EmbedText = BoundedVec<u8, ConstU32<MAX_EMBED_TEXT_BYTES>>;
/// The texts of an embedding job, embedded in this order.
pub type EmbedTexts = BoundedVec<EmbedText, ConstU32<MAX_EMBED_TEXTS>>;
/// The token ids a generation produced, in order.
pub type TokenIds = BoundedVec<u32, ConstU32<MAX_GENERATED_TOKENS>>;
/// The decoded text of a generation: UTF-8 bytes.
pub type GeneratedText = BoundedVec<u8, ConstU32<MAX_GENERATED_TEXT_BYTES>>;

/// Why job data was refused. The same rules hold on chain (on submission) and off chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobDataError {
	/// The prompt is empty.
	EmptyPrompt,
	/// The prompt is longer than [`MAX_PROMPT_BYTES`].
	PromptTooLong,
	/// `max_tokens` is zero or above [`MAX_GENERATED_TOKENS`].
	MaxTokensOutOfRange,
	/// An embedding job without texts.
	NoTexts,
	/// More than [`MAX_EMBED_TEXTS`] texts.
	TooManyTexts,
	/// One of the texts is empty.
	EmptyText,
	/// One of the texts is longer than [`MAX_EMBED_TEXT_BYTES`].
	TextTooLong,
	/// A prompt or text is not valid UTF-8.
	InvalidUtf8,
	/// A generation produced more tokens than allowed.
	TooManyTokens,
	/// A generated text is longer than [`MAX_GENERATED_TEXT_BYTES`].
	GeneratedTextTooLong,
	/// An output has more embeddings than allowed.
	TooManyEmbeddings,
	/// An embedding has no dimensions or more than [`MAX_EMBEDDING_DIM`].
	EmbeddingDimOutOfRange,
	/// An embedding value is NaN or infinite.
	NonFiniteValue,
}

impl core::fmt::Display for JobDataError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::EmptyPrompt => write!(f, "the prompt is empty"),
			Self::PromptTooLong => write!(f, "the prompt is longer than {MAX_PROMPT_BYTES} bytes"),
			Self::MaxTokensOutOfRange => {
				write!(f, "max_tokens must be between 1 and {MAX_GENERATED_TOKENS}")
			}
			Self::NoTexts => write!(f, "an embedding job needs at least one text"),
			Self::TooManyTexts => {
				write!(f, "an embedding job takes at most {MAX_EMBED_TEXTS} texts")
			}
			Self::EmptyText => write!(f, "a text to embed is empty"),
			Self::TextTooLong => write!(
				f,
				"a text to embed is longer than {MAX_EMBED_TEXT_BYTES} bytes"
			),
			Self::InvalidUtf8 => write!(f, "a prompt or text is not valid UTF-8"),
			Self::TooManyTokens => write!(
				f,
				"the generation has more than {MAX_GENERATED_TOKENS} tokens"
			),
			Self::GeneratedTextTooLong => write!(
				f,
				"the generated text is longer than {MAX_GENERATED_TEXT_BYTES} bytes"
			),
			Self::TooManyEmbeddings => {
				write!(f, "the output has more than {MAX_EMBED_TEXTS} embeddings")
			}
			Self::EmbeddingDimOutOfRange => write!(
				f,
				"an embedding must have 1 to {MAX_EMBEDDING_DIM} dimensions"
			),
			Self::NonFiniteValue => write!(f, "an embedding value is NaN or infinite"),
		}
	}
}

/// The kind of work a job asks for; a model serves one kind.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum JobKind {
	/// Text generation by a language model.
	Generate,
	/// Sentence embeddings.
	Embed,
}

/// What a job asks the model to do.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub enum JobInput {
	/// Generate text for a chat prompt with greedy decoding.
	Generate {
		/// The user's message (UTF-8); the engine wraps it in the model's chat template.
		prompt: Prompt,
		/// Stop after this many generated tokens at the latest.
		max_tokens: u32,
	},
	/// Embed each text into one vector.
	Embed {
		/// The texts (UTF-8), embedded in order.
		texts: EmbedTexts,
	},
}

impl JobInput {
	/// A checked generation job.
	pub fn generate(prompt: &str, max_tokens: u32) -> Result<Self, JobDataError> {
		let prompt = Prompt::try_from(prompt.as_bytes().to_vec())
			.map_err(|_| JobDataError::PromptTooLong)?;
		let input = Self::Generate { prompt, max_tokens };
		input.validate()?;
		Ok(input)
	}

	/// A checked embedding job.
	pub fn embed<S: AsRef<str>>(texts: &[S]) -> Result<Self, JobDataError> {
		let mut bounded = Vec::with_capacity(texts.len());
		for text in texts {
			bounded.push(
				EmbedText::try_from(text.as_ref().as_bytes().to_vec())
					.map_err(|_| JobDataError::TextTooLong)?,
			);
		}
		let texts = EmbedTexts::try_from(bounded).map_err(|_| JobDataError::TooManyTexts)?;
		let input = Self::Embed { texts };
		input.validate()?;
		Ok(input)
	}

	/// Checks the rules the bounds alone do not: non-empty UTF-8 text, `max_tokens` in range.
	/// A decoded input (from an extrinsic) must pass this before it is accepted.
	pub fn validate(&self) -> Result<(), JobDataError> {
		match self {
			Self::Generate { prompt, max_tokens } => {
				if prompt.is_empty() {
					return Err(JobDataError::EmptyPrompt);
				}
				core::str::from_utf8(prompt).map_err(|_| JobDataError::InvalidUtf8)?;
				if *max_tokens == 0 || *max_tokens > MAX_GENERATED_TOKENS {
					return Err(JobDataError::MaxTokensOutOfRange);
				}
			}
			Self::Embed { texts } => {
				if texts.is_empty() {
					return Err(JobDataError::NoTexts);
				}
				for text in texts {
					if text.is_empty() {
						return Err(JobDataError::EmptyText);
					}
					core::str::from_utf8(text).map_err(|_| JobDataError::InvalidUtf8)?;
				}
			}
		}
		Ok(())
	}

	/// The kind of work this input asks for.
	pub fn kind(&self) -> JobKind {
		match self {
			Self::Generate { .. } => JobKind::Generate,
			Self::Embed { .. } => JobKind::Embed,
		}
	}

	/// BLAKE2-256 of the SCALE encoding: the input hash of a receipt.
	pub fn hash(&self) -> Hash {
		Hashing::hash_of(self)
	}

	/// The most bytes the SCALE encoding of an output to this input can take: a generation of
	/// `max_tokens` tokens (each an id and up to 32 bytes of text), or one embedding of the
	/// largest dimension per text. What a job's storage deposit is sized by, before any worker
	/// answers.
	pub fn max_output_len(&self) -> u32 {
		// Variant byte and compact lengths: five bytes each at most.
		const OVERHEAD: u32 = 16;
		match self {
			Self::Generate { max_tokens, .. } => {
				OVERHEAD.saturating_add(max_tokens.saturating_mul(4 + 32))
			}
			Self::Embed { texts } => OVERHEAD
				.saturating_add((texts.len() as u32).saturating_mul(5 + MAX_EMBEDDING_DIM * 4)),
		}
	}
}

/// One embedding vector in canonical form (see the module docs): IEEE-754 `f32` bit patterns,
/// finite, with negative zero stored as positive zero.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Embedding {
	bits: BoundedVec<u32, ConstU32<MAX_EMBEDDING_DIM>>,
}

impl Embedding {
	/// The canonical form of `values`; refuses NaN, infinities, an empty or too long vector.
	pub fn from_f32(values: &[f32]) -> Result<Self, JobDataError> {
		let mut bits = Vec::with_capacity(values.len());
		for value in values {
			bits.push(canonical_bits(*value)?);
		}
		Self::from_bits(bits)
	}

	/// An embedding from raw bit patterns (as decoded), checked to be canonical.
	pub fn from_bits(bits: Vec<u32>) -> Result<Self, JobDataError> {
		if bits.is_empty() {
			return Err(JobDataError::EmbeddingDimOutOfRange);
		}
		let bits = BoundedVec::try_from(bits).map_err(|_| JobDataError::EmbeddingDimOutOfRange)?;
		let embedding = Self { bits };
		embedding.validate()?;
		Ok(embedding)
	}

	/// Checks that a decoded embedding is canonical: 1..=[`MAX_EMBEDDING_DIM`] finite values and
	/// no negative zero.
	pub fn validate(&self) -> Result<(), JobDataError> {
		if self.bits.is_empty() {
			return Err(JobDataError::EmbeddingDimOutOfRange);
		}
		for bits in self.bits.iter() {
			if canonical_bits(f32::from_bits(*bits))? != *bits {
				return Err(JobDataError::NonFiniteValue);
			}
		}
		Ok(())
	}

	/// The number of dimensions.
	pub fn dim(&self) -> usize {
		self.bits.len()
	}

	/// The values as `f32`.
	pub fn values(&self) -> impl Iterator<Item = f32> + '_ {
		self.bits.iter().map(|bits| f32::from_bits(*bits))
	}

	/// The raw IEEE-754 bit patterns.
	pub fn bits(&self) -> &[u32] {
		&self.bits
	}
}

/// The canonical bit pattern of one value: refuses non-finite values, maps -0.0 to +0.0.
fn canonical_bits(value: f32) -> Result<u32, JobDataError> {
	if !value.is_finite() {
		return Err(JobDataError::NonFiniteValue);
	}
	if value == 0.0 {
		return Ok(0);
	}
	Ok(value.to_bits())
}

/// What a worker answers to a job.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum JobOutput {
	/// The answer of a generation job.
	Generated {
		/// The generated token ids, without the prompt and without the stop token.
		token_ids: TokenIds,
		/// The token ids decoded to text (UTF-8; a character cut by `max_tokens` is U+FFFD).
		text: GeneratedText,
	},
	/// The answer of an embedding job: one vector per text, in the order of the texts.
	Embedded {
		/// The embeddings.
		embeddings: BoundedVec<Embedding, ConstU32<MAX_EMBED_TEXTS>>,
	},
}

impl JobOutput {
	/// A checked generation output.
	pub fn generated(token_ids: Vec<u32>, text: &str) -> Result<Self, JobDataError> {
		let token_ids = TokenIds::try_from(token_ids).map_err(|_| JobDataError::TooManyTokens)?;
		let text = GeneratedText::try_from(text.as_bytes().to_vec())
			.map_err(|_| JobDataError::GeneratedTextTooLong)?;
		Ok(Self::Generated { token_ids, text })
	}

	/// A checked embedding output.
	pub fn embedded(embeddings: Vec<Embedding>) -> Result<Self, JobDataError> {
		let embeddings =
			BoundedVec::try_from(embeddings).map_err(|_| JobDataError::TooManyEmbeddings)?;
		Ok(Self::Embedded { embeddings })
	}

	/// Checks the rules the bounds alone do not (UTF-8 text, canonical embeddings).
	pub fn validate(&self) -> Result<(), JobDataError> {
		match self {
			Self::Generated { text, .. } => {
				core::str::from_utf8(text).map_err(|_| JobDataError::InvalidUtf8)?;
			}
			Self::Embedded { embeddings } => {
				for embedding in embeddings {
					embedding.validate()?;
				}
			}
		}
		Ok(())
	}

	/// The kind of job this output answers.
	pub fn kind(&self) -> JobKind {
		match self {
			Self::Generated { .. } => JobKind::Generate,
			Self::Embedded { .. } => JobKind::Embed,
		}
	}

	/// BLAKE2-256 of the SCALE encoding: the output hash of a receipt.
	pub fn hash(&self) -> Hash {
		Hashing::hash_of(self)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::vec;
	use codec::DecodeAll;

	#[test]
	fn errors_read_as_one_line_with_the_bound() {
		use alloc::string::ToString;
		assert_eq!(
			JobDataError::PromptTooLong.to_string(),
			"the prompt is longer than 4096 bytes"
		);
		assert_eq!(
			JobDataError::MaxTokensOutOfRange.to_string(),
			"max_tokens must be between 1 and 512"
		);
	}

	#[test]
	fn generate_input_is_checked() {
		assert!(JobInput::generate("Hello", 16).is_ok());
		assert_eq!(JobInput::generate("", 16), Err(JobDataError::EmptyPrompt));
		assert_eq!(
			JobInput::generate("Hi", 0),
			Err(JobDataError::MaxTokensOutOfRange)
		);
		assert_eq!(
			JobInput::generate("Hi", MAX_GENERATED_TOKENS + 1),
			Err(JobDataError::MaxTokensOutOfRange)
		);
		assert!(JobInput::generate("Hi", MAX_GENERATED_TOKENS).is_ok());
		let longest = "a".repeat(MAX_PROMPT_BYTES as usize);
		assert!(JobInput::generate(&longest, 1).is_ok());
		let too_long = "a".repeat(MAX_PROMPT_BYTES as usize + 1);
		assert_eq!(
			JobInput::generate(&too_long, 1),
			Err(JobDataError::PromptTooLong)
		);
	}

	#[test]
	fn embed_input_is_checked() {
		assert!(JobInput::embed(&["a", "b"]).is_ok());
		assert_eq!(JobInput::embed::<&str>(&[]), Err(JobDataError::NoTexts));
		assert_eq!(JobInput::embed(&["a", ""]), Err(JobDataError::EmptyText));
		let many = vec!["x"; MAX_EMBED_TEXTS as usize + 1];
		assert_eq!(JobInput::embed(&many), Err(JobDataError::TooManyTexts));
		let long = "a".repeat(MAX_EMBED_TEXT_BYTES as usize + 1);
		assert_eq!(JobInput::embed(&[long]), Err(JobDataError::TextTooLong));
	}

	#[test]
	fn decoded_input_with_invalid_utf8_is_refused() {
		let input = JobInput::Generate {
			prompt: Prompt::try_from(vec![0xff, 0xfe]).expect("fits"),
			max_tokens: 4,
		};
		let decoded = JobInput::decode_all(&mut &input.encode()[..]).expect("decodes");
		assert_eq!(decoded.validate(), Err(JobDataError::InvalidUtf8));
	}

	#[test]
	fn input_encoding_round_trips_and_hash_depends_on_every_field() {
		let input = JobInput::generate("What is 2+2?", 32).expect("valid");
		let decoded = JobInput::decode_all(&mut &input.encode()[..]).expect("decodes");
		assert_eq!(decoded, input);
		assert_eq!(
			input.hash(),
			JobInput::generate("What is 2+2?", 32)
				.expect("valid")
				.hash()
		);
		assert_ne!(
			input.hash(),
			JobInput::generate("What is 2+2?", 33)
				.expect("valid")
				.hash()
		);
		assert_ne!(
			input.hash(),
			JobInput::generate("What is 2+3?", 32)
				.expect("valid")
				.hash()
		);
		assert_ne!(
			JobInput::embed(&["ab"]).expect("valid").hash(),
			JobInput::embed(&["a", "b"]).expect("valid").hash()
		);
	}

	#[test]
	fn input_hash_is_blake2_256_of_scale_encoding() {
		let input = JobInput::generate("Hi", 2).expect("valid");
		// Variant 0, compact length 2 (= 0x08), "Hi", max_tokens 2 as u32 little-endian.
		assert_eq!(input.encode(), vec![0, 8, b'H', b'i', 2, 0, 0, 0]);
		assert_eq!(input.hash(), Hashing::hash(&[0, 8, b'H', b'i', 2, 0, 0, 0]));
	}

	#[test]
	fn embedding_encoding_is_little_endian_ieee754() {
		let embedding = Embedding::from_f32(&[1.0, -2.5]).expect("finite");
		let mut expected = vec![8u8]; // compact length 2
		expected.extend_from_slice(&1.0f32.to_le_bytes());
		expected.extend_from_slice(&(-2.5f32).to_le_bytes());
		assert_eq!(embedding.encode(), expected);
		assert_eq!(embedding.values().collect::<Vec<_>>(), vec![1.0, -2.5]);
	}

	#[test]
	fn embedding_is_canonical() {
		let negative_zero = Embedding::from_f32(&[-0.0]).expect("finite");
		assert_eq!(negative_zero, Embedding::from_f32(&[0.0]).expect("finite"));
		assert_eq!(negative_zero.bits(), &[0]);
		assert_eq!(
			Embedding::from_f32(&[f32::NAN]),
			Err(JobDataError::NonFiniteValue)
		);
		assert_eq!(
			Embedding::from_f32(&[f32::INFINITY]),
			Err(JobDataError::NonFiniteValue)
		);
		assert_eq!(
			Embedding::from_f32(&[]),
			Err(JobDataError::EmbeddingDimOutOfRange)
		);
		let too_long = vec![0.5; MAX_EMBEDDING_DIM as usize + 1];
		assert_eq!(
			Embedding::from_f32(&too_long),
			Err(JobDataError::EmbeddingDimOutOfRange)
		);
		assert_eq!(
			Embedding::from_bits(vec![(-0.0f32).to_bits()]),
			Err(JobDataError::NonFiniteValue)
		);
		assert_eq!(
			Embedding::from_bits(vec![f32::NAN.to_bits()]),
			Err(JobDataError::NonFiniteValue)
		);
	}

	#[test]
	fn decoded_non_canonical_embedding_fails_validation() {
		// A hand-built encoding of a vector holding a NaN decodes, but is not valid output.
		let mut bytes = vec![4u8];
		bytes.extend_from_slice(&f32::NAN.to_le_bytes());
		let embedding = Embedding::decode_all(&mut &bytes[..]).expect("decodes");
		assert_eq!(embedding.validate(), Err(JobDataError::NonFiniteValue));
		let output = JobOutput::embedded(vec![embedding]).expect("fits");
		assert_eq!(output.validate(), Err(JobDataError::NonFiniteValue));
	}

	#[test]
	fn output_hash_depends_on_tokens_text_and_values() {
		let a = JobOutput::generated(vec![1, 2, 3], "abc").expect("fits");
		assert_ne!(
			a.hash(),
			JobOutput::generated(vec![1, 2, 4], "abc")
				.expect("fits")
				.hash()
		);
		assert_ne!(
			a.hash(),
			JobOutput::generated(vec![1, 2, 3], "abd")
				.expect("fits")
				.hash()
		);
		let e = |v: f32| {
			JobOutput::embedded(vec![Embedding::from_f32(&[v]).expect("finite")]).expect("fits")
		};
		assert_eq!(e(0.25).hash(), e(0.25).hash());
		assert_ne!(
			e(0.25).hash(),
			e(f32::from_bits(0.25f32.to_bits() + 1)).hash()
		);
		assert_eq!(a.kind(), JobKind::Generate);
		assert_eq!(e(0.0).kind(), JobKind::Embed);
	}

	#[test]
	fn output_bounds_are_enforced() {
		let too_many = vec![0u32; MAX_GENERATED_TOKENS as usize + 1];
		assert_eq!(
			JobOutput::generated(too_many, ""),
			Err(JobDataError::TooManyTokens)
		);
		let long = "a".repeat(MAX_GENERATED_TEXT_BYTES as usize + 1);
		assert_eq!(
			JobOutput::generated(vec![1], &long),
			Err(JobDataError::GeneratedTextTooLong)
		);
		let one = Embedding::from_f32(&[1.0]).expect("finite");
		let many = vec![one; MAX_EMBED_TEXTS as usize + 1];
		assert_eq!(
			JobOutput::embedded(many),
			Err(JobDataError::TooManyEmbeddings)
		);
	}

	#[test]
	fn max_encoded_len_bounds_the_worst_case() {
		let prompt = "a".repeat(MAX_PROMPT_BYTES as usize);
		let input = JobInput::generate(&prompt, MAX_GENERATED_TOKENS).expect("valid");
		assert!(input.encode().len() <= JobInput::max_encoded_len());
		let embeddings =
			vec![Embedding::from_f32(&vec![0.5; MAX_EMBEDDING_DIM as usize]).expect("finite"); 32];
		let output = JobOutput::embedded(embeddings).expect("fits");
		assert!(output.encode().len() <= JobOutput::max_encoded_len());
	}

	#[test]
	fn the_largest_output_of_an_input_fits_its_max_output_len() {
		let generate = JobInput::generate("Hi", 3).expect("valid");
		let text = "\u{10FFFF}".repeat(24);
		let output = JobOutput::generated(vec![u32::MAX; 3], &text).expect("fits");
		assert!(output.encode().len() as u32 <= generate.max_output_len());
		assert_eq!(generate.max_output_len(), 16 + 3 * 36);

		let embed = JobInput::embed(&["a", "b"]).expect("valid");
		let vectors =
			vec![Embedding::from_f32(&vec![0.5; MAX_EMBEDDING_DIM as usize]).expect("finite"); 2];
		let output = JobOutput::embedded(vectors).expect("fits");
		assert!(output.encode().len() as u32 <= embed.max_output_len());
	}
}
