//! SmolLM2 on Verity's kernels against candle's plain quantized llama (the engine before the
//! kernels), and determinism across kernels (scalar, AVX2, AVX-512 VNNI), thread counts and
//! prefill vs token-by-token decoding. Needs the real model (skipped when it is absent, like
//! `real_models.rs`). Run with `--release`.

use std::{
	io::Write,
	path::{Path, PathBuf},
};

use candle_core::{quantized::gguf_file::Content, Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use verity_inference::{
	catalog::ModelId,
	default_models_dir,
	digest::{blake2_256, to_hex},
	smollm2::{greedy, kernels::Kernel, SmolLm2},
};

/// The prompts both paths are compared on.
const PROMPTS: [&str; 5] = [
	"What is 2+2?",
	"What is the capital of France?",
	"Write a haiku about the sea.",
	"List three primary colors.",
	"Explain in one sentence why the sky is blue.",
];

/// Prompts with no near-tie in their first `TOKENS` greedy steps, where the two paths must pick
/// the same tokens free-running. On the others a near-tie splits them (the haiku's first token:
/// "In" vs "The", 0.03 apart, on which llama.cpp itself flips with its batch size), so they are
/// compared step by step on the plain path's tokens.
const FULL_AGREEMENT: [&str; 1] = ["What is 2+2?"];

/// A top-2 margin of the plain path below which the two paths may pick different tokens (each
/// logit may move by up to `MAX_LOGIT_DIFF`; the flips measured happen far below this).
const NEAR_TIE: f32 = 0.5;

/// Greedy tokens compared per prompt.
const TOKENS: usize = 24;

/// The largest |logit difference| allowed between the kernels and candle's plain path: both
/// quantize activations to 8 bits per block of 32, but round differently (candle keeps the
/// block scale and sum in f16) and sum in another order. Measured: 0.70 to 1.17 (rms 0.21 to
/// 0.46); each path is as far from candle with f32 weights (README).
const MAX_LOGIT_DIFF: f32 = 2.0;

fn gguf_path() -> Option<PathBuf> {
	let file = ModelId::SmolLm2.files()[0];
	let path = default_models_dir().join(file.relative_path);
	if path.is_file() {
		return Some(path);
	}
	assert!(
		std::env::var_os("VERITY_REQUIRE_MODELS").is_none(),
		"{} is missing and VERITY_REQUIRE_MODELS is set",
		path.display()
	);
	let _ = std::io::stderr().write_all(
		format!(
			"SKIPPED: {} is missing; run scripts/fetch-models.sh\n",
			path.display()
		)
		.as_bytes(),
	);
	None
}

fn ours(path: &Path) -> SmolLm2 {
	SmolLm2::load_verified(path, &ModelId::SmolLm2.files()[0].hash()).expect("load smollm2")
}

/// candle-transformers' quantized llama on the same file: the plain path.
struct Plain(ModelWeights);

impl Plain {
	fn load(path: &Path) -> Self {
		let mut file = std::fs::File::open(path).expect("open");
		let content = Content::read(&mut file).expect("gguf");
		Self(ModelWeights::from_gguf(content, &mut file, &Device::Cpu).expect("weights"))
	}

	fn logits(&mut self, ids: &[u32], position: usize) -> Vec<f32> {
		let input = Tensor::new(ids, &Device::Cpu)
			.and_then(|t| t.unsqueeze(0))
			.expect("input");
		let logits = self.0.forward(&input, position).expect("forward");
		logits
			.flatten_all()
			.and_then(|l| l.to_vec1())
			.expect("logits")
	}

	/// Greedy ids through `TOKENS` tokens (stop tokens included), the margin between the top
	/// two logits at each step, and the prefill logits.
	fn greedy(&mut self, prompt_ids: &[u32]) -> (Vec<u32>, Vec<f32>, Vec<f32>) {
		let first = self.logits(prompt_ids, 0);
		let mut logits = first.clone();
		let (mut ids, mut margins) = (Vec::new(), Vec::new());
		loop {
			let next = greedy(&logits).expect("greedy");
			ids.push(next);
			margins.push(top_two_margin(&logits));
			if ids.len() == TOKENS {
				break;
			}
			logits = self.logits(&[next], prompt_ids.len() + ids.len() - 1);
		}
		(ids, margins, first)
	}
}

fn top_two_margin(logits: &[f32]) -> f32 {
	let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
	for &v in logits {
		if v > first {
			second = first;
			first = v;
		} else if v > second {
			second = v;
		}
	}
	first - second
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
	assert_eq!(a.len(), b.len());
	a.iter()
		.zip(b)
		.map(|(x, y)| (x - y).abs())
		.fold(0.0, f32::max)
}

fn rms_diff(a: &[f32], b: &[f32]) -> f32 {
	(a.iter()
		.zip(b)
		.map(|(x, y)| f64::from(x - y).powi(2))
		.sum::<f64>()
		/ a.len() as f64)
		.sqrt() as f32
}

#[test]
fn smollm2_kernels_stay_within_the_bound_of_the_plain_path_and_decode_the_same_tokens() {
	let Some(path) = gguf_path() else { return };
	let mut model = ours(&path);
	let mut plain = Plain::load(&path);
	// candle with every weight dequantized to f32 (f32 activations): the closest thing to the
	// exact model. The flag is read once per thread, so it runs on a thread of its own.
	let prompts: Vec<Vec<u32>> = PROMPTS
		.iter()
		.map(|p| model.prompt_token_ids(p).expect("ids"))
		.collect();
	let dequantized = {
		let (path, prompts) = (path.clone(), prompts.clone());
		std::thread::spawn(move || {
			std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
			let mut exact = Plain::load(&path);
			prompts
				.iter()
				.map(|ids| exact.logits(ids, 0))
				.collect::<Vec<_>>()
		})
		.join()
		.expect("dequantized reference")
	};
	let mut worst = 0f32;
	for ((prompt, ids), exact) in PROMPTS.iter().zip(&prompts).zip(&dequantized) {
		let (plain_ids, plain_margins, plain_logits) = plain.greedy(ids);
		let fast_logits = model.logits(ids).expect("logits");
		let diff = max_diff(&fast_logits, &plain_logits);
		worst = worst.max(diff);
		let fast = model
			.generate_fixed_length(prompt, TOKENS as u32)
			.expect("generate");
		let agree = fast
			.token_ids
			.iter()
			.zip(&plain_ids)
			.take_while(|(a, b)| a == b)
			.count();
		eprintln!(
			"{prompt:?}: ours vs plain: max |Δ| {diff:.3}, rms {:.3}; vs f32-dequantized candle: ours max {:.3} rms {:.3}, plain max {:.3} rms {:.3}; first {agree}/{TOKENS} tokens agree",
			rms_diff(&fast_logits, &plain_logits),
			max_diff(&fast_logits, exact),
			rms_diff(&fast_logits, exact),
			max_diff(&plain_logits, exact),
			rms_diff(&plain_logits, exact),
		);
		assert!(
			diff <= MAX_LOGIT_DIFF,
			"{prompt:?}: logits differ by {diff}"
		);
		if FULL_AGREEMENT.contains(prompt) {
			assert_eq!(
				fast.token_ids, plain_ids,
				"{prompt:?}: greedy tokens of the plain path"
			);
		}
		// Teacher-forced on the plain path's tokens: at every step our top token is the plain
		// path's, unless the plain path itself had a near-tie there.
		for step in 0..TOKENS {
			let mut prefix = ids.clone();
			prefix.extend_from_slice(&plain_ids[..step]);
			let ours = greedy(&model.logits(&prefix).expect("logits")).expect("greedy");
			let margin = plain_margins[step];
			if ours != plain_ids[step] {
				eprintln!(
					"  step {step}: {ours} vs plain {} (plain's top-2 margin {margin:.3})",
					plain_ids[step]
				);
				assert!(
					margin < NEAR_TIE,
					"{prompt:?} step {step}: tokens differ with margin {margin}"
				);
			}
		}
	}
	eprintln!("worst |Δlogit| over the prompts: {worst:.4}");
}

#[test]
fn smollm2_every_kernel_and_thread_count_gives_the_same_bits() {
	let Some(path) = gguf_path() else { return };
	let mut model = ours(&path);
	let prompt = "Write a haiku about the sea.";
	let ids = model.prompt_token_ids(prompt).expect("ids");
	let mut runs = Vec::new();
	for kernel in Kernel::available() {
		for threads in [1, 2] {
			model.set_kernel(kernel);
			model.set_max_threads(threads);
			let logits: Vec<u32> = model
				.logits(&ids)
				.expect("logits")
				.iter()
				.map(|v| v.to_bits())
				.collect();
			let tokens = model
				.generate_fixed_length(prompt, 16)
				.expect("generate")
				.token_ids;
			runs.push(((kernel, threads), logits, tokens));
		}
	}
	eprintln!("kernels compared: {:?}", Kernel::available());
	let (first, logits, tokens) = &runs[0];
	for (setting, other_logits, other_tokens) in &runs[1..] {
		assert!(
			other_logits == logits,
			"{setting:?} logits differ from {first:?}"
		);
		assert_eq!(
			other_tokens, tokens,
			"{setting:?} tokens differ from {first:?}"
		);
	}
}

#[test]
fn smollm2_prefill_and_token_by_token_give_the_same_logits() {
	let Some(path) = gguf_path() else { return };
	let model = ours(&path);
	let mut one_by_one = ours(&path);
	one_by_one.set_max_threads(1);
	// Batches of 20 tokens (products split by row groups), 37 and 131 (split by tokens).
	let short = model.prompt_token_ids("What is 2+2?").expect("ids");
	let long = "Summarize: ".to_string() + &"The tide rolls in over grey stones. ".repeat(12);
	let long = model.prompt_token_ids(&long).expect("ids");
	for ids in [&short[..20], &short, &long] {
		let batch = model.logits(ids).expect("logits");
		// Token by token through the decode path: feed the prompt one id at a time.
		let stepped = one_by_one.logits_token_by_token(ids).expect("logits");
		assert!(
			batch
				.iter()
				.zip(&stepped)
				.all(|(a, b)| a.to_bits() == b.to_bits()),
			"prefill and decode steps disagree on a prompt of {} tokens",
			ids.len()
		);
	}
}

/// BLAKE2-256 of the bits of SmolLM2's last-position logits for [`numerics_prompts`], one after
/// the other, under `KERNELS_VERSION` 1.
const NUMERICS_HASH: &str = "43153551a2f61a6583d9c892af3b5e1777627734dccf5eec1c8dc609e8b37f30";

/// A 37-token and a 131-token prompt (the matrix products split by row groups, then by tokens).
fn numerics_prompts() -> [String; 2] {
	[
		"What is 2+2?".to_string(),
		"Summarize: ".to_string() + &"The tide rolls in over grey stones. ".repeat(12),
	]
}

#[test]
fn smollm2_numerics_are_those_of_the_pinned_kernels_version() {
	let Some(path) = gguf_path() else { return };
	let model = ours(&path);
	let mut bits = Vec::new();
	for prompt in numerics_prompts() {
		let ids = model.prompt_token_ids(&prompt).expect("ids");
		for value in model.logits(&ids).expect("logits") {
			bits.extend_from_slice(&value.to_le_bytes());
		}
	}
	assert_eq!(
		to_hex(&blake2_256(&bits).0),
		NUMERICS_HASH,
		"SmolLM2's logits changed on {:?}: a change to the kernels' numerics needs a new \
		 KERNELS_VERSION (the engine profile the registry records), new golden vectors in the \
		 runtime's genesis and a new hash here",
		Kernel::best_available()
	);
}
