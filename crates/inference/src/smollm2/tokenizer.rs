//! SmolLM2's tokenizer, built from the GGUF metadata alone.
//!
//! candle's generic GGUF tokenizer does not know `tokenizer.ggml.pre = smollm` and falls back to
//! GPT-2's pre-tokenizer with a prefix space, which yields other token ids. This module builds the
//! tokenizer llama.cpp uses for this pre-tokenizer type:
//! 1. control tokens (`<|im_start|>`, `<|im_end|>`, …: GGUF token type 3) are matched in the text
//!    first and map to their ids;
//! 2. every digit (`\p{N}`) is split off on its own;
//! 3. the GPT-2 regex splits words, without a prefix space;
//! 4. byte-level BPE over the GGUF vocabulary and merges.

use candle_core::quantized::gguf_file::Content;
use tokenizers::{
	decoders::byte_level::ByteLevel as ByteLevelDecoder,
	models::bpe::{Vocab, BPE},
	pre_tokenizers::{
		byte_level::ByteLevel,
		sequence::Sequence,
		split::{Split, SplitPattern},
	},
	AddedToken, SplitDelimiterBehavior, Tokenizer,
};

use super::metadata::{string_array, string_value, u32_array};
use crate::{Error, Result};

/// GGUF token type of control tokens (llama.cpp's `LLAMA_TOKEN_TYPE_CONTROL`).
const TOKEN_TYPE_CONTROL: u32 = 3;
/// GGUF token type of user-defined tokens, also matched as a whole.
const TOKEN_TYPE_USER_DEFINED: u32 = 4;

/// A byte-level BPE tokenizer with SmolLM2's pre-tokenizer.
pub struct SmolLm2Tokenizer {
	inner: Tokenizer,
}

impl SmolLm2Tokenizer {
	/// Builds the tokenizer from `tokenizer.ggml.*` metadata; refuses any other tokenizer model
	/// than `gpt2` with pre-tokenizer `smollm`.
	pub fn from_gguf(content: &Content) -> Result<Self> {
		let model = string_value(content, "tokenizer.ggml.model")?;
		let pre = string_value(content, "tokenizer.ggml.pre")?;
		if model != "gpt2" || pre != "smollm" {
			return Err(Error::UnsupportedModel(format!(
				"tokenizer `{model}` with pre-tokenizer `{pre}` (only gpt2/smollm is implemented)"
			)));
		}
		let tokens = string_array(content, "tokenizer.ggml.tokens")?;
		let token_types = u32_array(content, "tokenizer.ggml.token_type")?;
		let merges = string_array(content, "tokenizer.ggml.merges")?;
		if token_types.len() != tokens.len() {
			return Err(Error::UnsupportedModel(
				"tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length".into(),
			));
		}
		Self::from_parts(&tokens, &token_types, &merges)
	}

	/// Builds the tokenizer from a vocabulary (index = id), the GGUF token types and the merges
	/// (`"left right"`, in priority order).
	pub fn from_parts(tokens: &[String], token_types: &[u32], merges: &[String]) -> Result<Self> {
		let vocab: Vocab = tokens
			.iter()
			.enumerate()
			.map(|(id, token)| (token.clone(), id_u32(id)))
			.collect();
		let merges = merges
			.iter()
			.map(|merge| {
				merge
					.split_once(' ')
					.map(|(left, right)| (left.to_string(), right.to_string()))
					.ok_or_else(|| Error::Tokenizer(format!("invalid merge `{merge}`")))
			})
			.collect::<Result<Vec<_>>>()?;
		let bpe = BPE::builder()
			.vocab_and_merges(vocab, merges)
			.build()
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		let mut inner = Tokenizer::new(bpe);
		// Digits through the regex `\p{N}`, not tokenizers' `Digits` (which asks the standard
		// library's `char::is_numeric`, whose Unicode version moves with rustc): the regex's
		// classes, like the GPT-2 regex's `\p{L}`, `\p{N}` and `\s`, come from the locked
		// regex-syntax ([`crate::unicode`]). Isolated, as `Digits::new(true)`: one piece each.
		let digits = Split::new(
			SplitPattern::Regex(r"\p{N}".into()),
			SplitDelimiterBehavior::Isolated,
			false,
		)
		.map_err(|error| Error::Tokenizer(error.to_string()))?;
		inner.with_pre_tokenizer(Some(Sequence::new(vec![
			digits.into(),
			ByteLevel::new(false, true, true).into(),
		])));
		inner.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
		let specials: Vec<AddedToken> = tokens
			.iter()
			.zip(token_types)
			.filter(|(_, kind)| matches!(**kind, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
			.map(|(token, _)| AddedToken::from(token.clone(), true))
			.collect();
		inner
			.add_special_tokens(specials)
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		Ok(Self { inner })
	}

	/// The token ids of `text`; control tokens written in the text are recognised.
	pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
		let encoding = self
			.inner
			.encode(text, false)
			.map_err(|error| Error::Tokenizer(error.to_string()))?;
		Ok(encoding.get_ids().to_vec())
	}

	/// The text of `ids`, control tokens included as their text.
	pub fn decode(&self, ids: &[u32]) -> Result<String> {
		self.inner
			.decode(ids, false)
			.map_err(|error| Error::Tokenizer(error.to_string()))
	}

	/// The id of a token, if it is in the vocabulary.
	pub fn token_id(&self, token: &str) -> Option<u32> {
		self.inner.token_to_id(token)
	}
}

fn id_u32(id: usize) -> u32 {
	u32::try_from(id).unwrap_or(u32::MAX)
}
