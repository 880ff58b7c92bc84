//! SmolLM2-135M-Instruct: chat generation with greedy decoding, on Verity's own quantized
//! kernels ([`kernels`], [`llama`]); candle reads the GGUF.
//!
//! A job's prompt is wrapped in the model's own chat template ([`chat`]), tokenized with the
//! model's own tokenizer ([`tokenizer`]), run in one prefill pass, then decoded one token at a
//! time, always taking the highest logit (lowest id on a tie), until a stop token
//! (`<|im_end|>`, `<|endoftext|>` or the GGUF's eos id) or `max_tokens`.

/// Defines `fn name(kernel: Kernel, args...)` that runs the element-wise body compiled for the
/// kernel's instruction set (baseline, AVX2 + FMA, AVX-512 F + FMA): the compiler vectorizes
/// it wider, and since the body has no reordered reductions and forms no FMA on its own, every
/// version gives the same bits. The body's fused multiply-adds are `F::fma` (a
/// [`numerics::Fma`]): the instruction in the FMA versions, the pinned `libm::fmaf` in a
/// baseline x86-64 build (one exactly specified IEEE operation either way).
macro_rules! multiversion {
	($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
		$(#[$doc])*
		// Attention takes a kernel, a head size, three tensors, a capacity and two outputs:
		// what one head needs; a struct would only rename them.
		#[allow(clippy::too_many_arguments)]
		$vis fn $name(kernel: $crate::smollm2::kernels::Kernel, $($arg: $ty),*) {
			#[inline(always)]
			// Not every body multiplies and adds.
			#[allow(unused)]
			fn generic<F: $crate::smollm2::numerics::Fma>($($arg: $ty),*) $body
			/// The body compiled for AVX2 + FMA.
			#[cfg(target_arch = "x86_64")]
			#[target_feature(enable = "avx2,fma")]
			fn avx2($($arg: $ty),*) {
				generic::<$crate::smollm2::numerics::FmaInstruction>($($arg),*)
			}
			/// The body compiled for AVX-512 F + FMA.
			#[cfg(target_arch = "x86_64")]
			#[target_feature(enable = "avx512f,fma")]
			fn avx512($($arg: $ty),*) {
				generic::<$crate::smollm2::numerics::FmaInstruction>($($arg),*)
			}
			match kernel {
				// SAFETY: AVX2 and FMA are present (checked at run time; the check is a
				// cached load).
				#[cfg(target_arch = "x86_64")]
				$crate::smollm2::kernels::Kernel::Avx2
					if std::arch::is_x86_feature_detected!("avx2")
						&& std::arch::is_x86_feature_detected!("fma") =>
				unsafe { avx2($($arg),*) },
				// SAFETY: AVX-512 F and FMA are present (as above).
				#[cfg(target_arch = "x86_64")]
				$crate::smollm2::kernels::Kernel::Avx512Vnni
					if std::arch::is_x86_feature_detected!("avx512f")
						&& std::arch::is_x86_feature_detected!("fma") =>
				unsafe { avx512($($arg),*) },
				_ => generic::<$crate::smollm2::numerics::FmaBaseline>($($arg),*),
			}
		}
	};
}

pub mod chat;
pub mod kernels;
pub mod llama;
mod metadata;
pub mod numerics;
pub mod pool;
pub mod tokenizer;

use std::{
	io::Cursor,
	path::Path,
	time::{Duration, Instant},
};

use candle_core::quantized::gguf_file::Content;
use verity_primitives::Hash;

use self::{
	chat::{render_user_prompt, SMOLLM2_CHAT_TEMPLATE},
	kernels::Kernel,
	llama::Llama,
	metadata::{string_value, u32_value},
	tokenizer::SmolLm2Tokenizer,
};
use crate::{digest::read_verified, Error, Result};

/// A greedy generation and how long its two phases took.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
	/// The generated token ids, without the prompt and without the stop token.
	pub token_ids: Vec<u32>,
	/// The generated ids decoded to text.
	pub text: String,
	/// Tokens of the templated prompt.
	pub prompt_tokens: usize,
	/// Time of the prefill pass (prompt in, first token out).
	pub prefill_time: Duration,
	/// Time of the decode steps after the first token.
	pub decode_time: Duration,
}

/// SmolLM2 loaded and ready to generate.
pub struct SmolLm2 {
	model: Llama,
	tokenizer: SmolLm2Tokenizer,
	stop_ids: Vec<u32>,
	context_len: usize,
}

impl SmolLm2 {
	/// Loads the GGUF at `path` after checking that its BLAKE2-256 is `expected`.
	pub fn load_verified(path: &Path, expected: &Hash) -> Result<Self> {
		let file = read_verified(path, expected)?;
		Self::from_gguf_bytes(&file.bytes)
	}

	/// Builds the model from GGUF bytes (already verified by the caller).
	pub fn from_gguf_bytes(bytes: &[u8]) -> Result<Self> {
		let mut reader = Cursor::new(bytes);
		let content = Content::read(&mut reader)?;
		let architecture = string_value(&content, "general.architecture")?;
		if architecture != "llama" {
			return Err(Error::UnsupportedModel(format!(
				"architecture `{architecture}` (expected llama)"
			)));
		}
		let template = string_value(&content, "tokenizer.chat_template")?;
		if template != SMOLLM2_CHAT_TEMPLATE {
			return Err(Error::UnsupportedModel(
				"the GGUF's chat template is not SmolLM2-Instruct's".into(),
			));
		}
		let tokenizer = SmolLm2Tokenizer::from_gguf(&content)?;
		let mut stop_ids = vec![u32_value(&content, "tokenizer.ggml.eos_token_id")?];
		stop_ids.extend(
			["<|im_end|>", "<|endoftext|>"]
				.iter()
				.filter_map(|t| tokenizer.token_id(t)),
		);
		let context_len = usize::try_from(u32_value(&content, "llama.context_length")?)
			.map_err(|_| Error::UnsupportedModel("context length".into()))?;
		let model = Llama::from_gguf(&content, bytes)?;
		Ok(Self {
			model,
			tokenizer,
			stop_ids,
			context_len,
		})
	}

	/// The matrix kernel in use (every kernel gives the same bits).
	pub fn kernel(&self) -> Kernel {
		self.model.kernel()
	}

	/// Runs the matrices on `kernel` (for tests and benchmarks: results do not change).
	pub fn set_kernel(&mut self, kernel: Kernel) {
		self.model.set_kernel(kernel);
	}

	/// Uses at most `threads` threads of the compute pool (for tests: results do not change).
	pub fn set_max_threads(&mut self, threads: usize) {
		self.model.set_max_threads(threads);
	}

	/// The logits after `token_ids` (one prefill pass over all of them).
	pub fn logits(&self, token_ids: &[u32]) -> Result<Vec<f32>> {
		check_compute_threads()?;
		let mut cache = self.model.new_cache(token_ids.len());
		self.model.forward(token_ids, &mut cache)
	}

	/// The logits after `token_ids`, fed one at a time as decode steps (equal to [`Self::logits`]
	/// bit for bit: a verifier may replay either way).
	pub fn logits_token_by_token(&self, token_ids: &[u32]) -> Result<Vec<f32>> {
		check_compute_threads()?;
		let mut cache = self.model.new_cache(token_ids.len());
		let mut logits = Vec::new();
		for id in token_ids {
			logits = self.model.forward(&[*id], &mut cache)?;
		}
		Ok(logits)
	}

	/// The model's tokenizer.
	pub fn tokenizer(&self) -> &SmolLm2Tokenizer {
		&self.tokenizer
	}

	/// The token ids of a job's prompt after the chat template.
	pub fn prompt_token_ids(&self, prompt: &str) -> Result<Vec<u32>> {
		self.tokenizer.encode(&render_user_prompt(prompt))
	}

	/// Answers `prompt` with greedy decoding, at most `max_tokens` tokens.
	pub fn generate(&mut self, prompt: &str, max_tokens: u32) -> Result<Generation> {
		self.decode_greedy(prompt, max_tokens, true)
	}

	/// Decodes exactly `tokens` tokens, through stop tokens: for benchmarks, which need a fixed
	/// amount of work. Not a job's semantics (a job stops at the end of the assistant's turn).
	pub fn generate_fixed_length(&mut self, prompt: &str, tokens: u32) -> Result<Generation> {
		self.decode_greedy(prompt, tokens, false)
	}

	/// Refuses with [`Error::FloatingPointState`] before computing anything on a thread whose
	/// floating-point control state is not the default ([`crate::fpenv`]).
	fn decode_greedy(&mut self, prompt: &str, max_tokens: u32, stop: bool) -> Result<Generation> {
		check_compute_threads()?;
		let prompt_ids = self.prompt_token_ids(prompt)?;
		let max_new = usize::try_from(max_tokens).unwrap_or(usize::MAX);
		if prompt_ids.len().saturating_add(max_new) > self.context_len {
			return Err(Error::ContextTooLong {
				prompt_tokens: prompt_ids.len(),
				max_tokens,
				context: self.context_len,
			});
		}
		let mut cache = self.model.new_cache(prompt_ids.len() + max_new);
		let start = Instant::now();
		let mut next = greedy(&self.model.forward(&prompt_ids, &mut cache)?)?;
		let prefill_time = start.elapsed();
		let start = Instant::now();
		let mut token_ids = Vec::new();
		while token_ids.len() < max_new && !(stop && self.stop_ids.contains(&next)) {
			token_ids.push(next);
			if token_ids.len() == max_new {
				break;
			}
			next = greedy(&self.model.forward(&[next], &mut cache)?)?;
		}
		let decode_time = start.elapsed();
		let text = self.tokenizer.decode(&token_ids)?;
		Ok(Generation {
			token_ids,
			text,
			prompt_tokens: prompt_ids.len(),
			prefill_time,
			decode_time,
		})
	}
}

/// Checks the floating-point control state of this thread, then of the compute pool's threads
/// ([`crate::fpenv`]). This thread first: the pool's threads, started on first use, inherit the
/// state of the thread that starts them, and a refusal they record lasts as long as the process.
fn check_compute_threads() -> Result<()> {
	crate::fpenv::check_this_thread()?;
	pool::pool().check_threads()
}

/// The id of the highest logit; the lowest id wins a tie, NaN never wins.
pub fn greedy(logits: &[f32]) -> Result<u32> {
	let mut best: Option<(usize, f32)> = None;
	for (id, &logit) in logits.iter().enumerate() {
		if best.is_none_or(|(_, top)| logit > top) && !logit.is_nan() {
			best = Some((id, logit));
		}
	}
	let (id, _) =
		best.ok_or_else(|| Error::UnsupportedModel("the model produced no logits".into()))?;
	u32::try_from(id).map_err(|_| Error::UnsupportedModel("vocabulary too large".into()))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn greedy_takes_the_highest_logit_and_the_lowest_id_on_ties() -> Result<()> {
		assert_eq!(greedy(&[0.1f32, 0.7, 0.2])?, 1);
		assert_eq!(greedy(&[0.5f32, 0.9, 0.9])?, 1);
		assert_eq!(greedy(&[f32::NAN, -1.0, -2.0])?, 1);
		Ok(())
	}
}
