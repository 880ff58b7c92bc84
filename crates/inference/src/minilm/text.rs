//! MiniLM's text pipeline before WordPiece: BERT's normaliser and pre-tokenizer, with every
//! character class from pinned tables.
//!
//! `tokenizer.json` asks for tokenizers' `BertNormalizer` (clean text, pad CJK ideographs, strip
//! accents, lower-case) and `BertPreTokenizer` (split on whitespace, isolate punctuation). Those
//! ask the standard library for White_Space and the lower-case mapping, whose Unicode version
//! moves with rustc. [`BertText`] and [`BertWords`] do the same steps in the same order with
//! [`crate::unicode`]'s pinned tables; the other classes (control, punctuation, non-spacing
//! marks) and NFD come from the locked `unicode_categories` and `unicode-normalization-alignments`,
//! as in tokenizers.

use tokenizers::{
	normalizers::NormalizerWrapper, pre_tokenizers::PreTokenizerWrapper, DecoderWrapper,
	ModelWrapper, NormalizedString, Normalizer, PostProcessorWrapper, PreTokenizedString,
	PreTokenizer, SplitDelimiterBehavior, Tokenizer, TokenizerImpl,
};
use unicode_categories::UnicodeCategories;

use crate::{unicode, Error, Result};

/// MiniLM's tokenizer: `tokenizer.json`'s WordPiece model, added tokens, post-processor and
/// decoder, with [`BertText`] and [`BertWords`] in place of tokenizers' BERT steps.
pub type MiniLmTokenizer =
	TokenizerImpl<ModelWrapper, BertText, BertWords, PostProcessorWrapper, DecoderWrapper>;

/// BERT's normaliser (`clean_text`, `handle_chinese_chars`, `strip_accents`, `lowercase`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BertText;

/// BERT's pre-tokenizer: split on whitespace (removed), then isolate each punctuation mark.
#[derive(Clone, Copy, Debug, Default)]
pub struct BertWords;

/// Tab, line feed and carriage return count as whitespace, the rest of White_Space too.
fn is_whitespace(c: char) -> bool {
	matches!(c, '\t' | '\n' | '\r') || unicode::is_whitespace(c)
}

/// Other (Cc, Cf, Cn, Co, Cs) except tab, line feed and carriage return.
fn is_control(c: char) -> bool {
	!matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// The CJK ideograph blocks BERT pads with spaces.
fn is_chinese_char(c: char) -> bool {
	matches!(
		u32::from(c),
		0x4E00..=0x9FFF
			| 0x3400..=0x4DBF
			| 0x20000..=0x2A6DF
			| 0x2A700..=0x2B73F
			| 0x2B740..=0x2B81F
			| 0x2B920..=0x2CEAF
			| 0xF900..=0xFAFF
			| 0x2F800..=0x2FA1F
	)
}

/// ASCII punctuation, or Unicode punctuation (P*).
fn is_punctuation(c: char) -> bool {
	c.is_ascii_punctuation() || c.is_punctuation()
}

impl Normalizer for BertText {
	fn normalize(&self, text: &mut NormalizedString) -> tokenizers::Result<()> {
		text.filter(|c| !(c == '\0' || c == '\u{fffd}' || is_control(c)))
			.map(|c| if is_whitespace(c) { ' ' } else { c });
		let mut padded = Vec::new();
		text.for_each(|c| {
			if is_chinese_char(c) {
				padded.extend([(' ', 0), (c, 1), (' ', 1)]);
			} else {
				padded.push((c, 0));
			}
		});
		text.transform(padded, 0);
		text.nfd().filter(|c| !c.is_mark_nonspacing());
		let mut lower = Vec::new();
		let mut buffer = String::new();
		text.for_each(|c| {
			buffer.clear();
			unicode::push_lowercase(c, &mut buffer);
			lower.extend(
				buffer
					.chars()
					.enumerate()
					.map(|(i, l)| (l, isize::from(i > 0))),
			);
		});
		text.transform(lower, 0);
		Ok(())
	}
}

impl PreTokenizer for BertWords {
	fn pre_tokenize(&self, words: &mut PreTokenizedString) -> tokenizers::Result<()> {
		words.split(|_, s| s.split(is_whitespace, SplitDelimiterBehavior::Removed))?;
		words.split(|_, s| s.split(is_punctuation, SplitDelimiterBehavior::Isolated))
	}
}

/// MiniLM's tokenizer from a loaded `tokenizer.json`, which must ask for exactly BERT's
/// normaliser (all four steps) and pre-tokenizer.
pub fn from_loaded(loaded: Tokenizer) -> Result<MiniLmTokenizer> {
	match loaded.get_normalizer() {
		Some(NormalizerWrapper::BertNormalizer(bert))
			if bert.clean_text
				&& bert.handle_chinese_chars
				&& bert.strip_accents.unwrap_or(bert.lowercase)
				&& bert.lowercase => {}
		other => {
			return Err(Error::UnsupportedModel(format!(
				"tokenizer.json's normalizer {other:?} (the engine implements BERT's, with \
				 every step)"
			)))
		}
	}
	if !matches!(
		loaded.get_pre_tokenizer(),
		Some(PreTokenizerWrapper::BertPreTokenizer(_))
	) {
		return Err(Error::UnsupportedModel(format!(
			"tokenizer.json's pre-tokenizer {:?} (the engine implements BERT's)",
			loaded.get_pre_tokenizer()
		)));
	}
	let mut tokenizer = TokenizerImpl::new(loaded.get_model().clone());
	tokenizer
		.with_normalizer(Some(BertText))
		.map_err(|error| Error::Tokenizer(error.to_string()))?;
	tokenizer.with_pre_tokenizer(Some(BertWords));
	tokenizer.with_post_processor(loaded.get_post_processor().cloned());
	tokenizer.with_decoder(loaded.get_decoder().cloned());
	let mut added: Vec<_> = loaded.get_added_tokens_decoder().into_iter().collect();
	added.sort_by_key(|(id, _)| *id);
	for (id, token) in added {
		let content = token.content.clone();
		if token.special {
			tokenizer.add_special_tokens([token])
		} else {
			tokenizer.add_tokens([token])
		}
		.map_err(|error| Error::Tokenizer(error.to_string()))?;
		if tokenizer.token_to_id(&content) != Some(id) {
			return Err(Error::UnsupportedModel(format!(
				"added token {content:?} would not keep id {id}"
			)));
		}
	}
	Ok(tokenizer)
}
