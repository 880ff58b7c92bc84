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
	smollm2::{
		greedy,
		kernels::{check_coverage, Kernel},
		SmolLm2,
	},
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
	let prompts: Vec<Vec<u32>> = PROMPTS
		.iter()
		.map(|p| model.prompt_token_ids(p).expect("ids"))
		.collect();
	let dequantized = dequantized_reference(&prompts);
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

/// Where [`dequantized_reference_in_a_child_process`] writes its logits, when this test binary
/// runs as that child.
const DEQUANTIZED_OUT: &str = "VERITY_DEQUANTIZED_LOGITS_OUT";

/// candle with every weight dequantized to f32 (f32 activations), the closest thing to the exact
/// model, for each of `prompts`. candle reads `CANDLE_DEQUANTIZE_ALL` from the environment, so
/// it runs in a child process of this test binary with the variable set (setting it here would
/// race with the other tests' threads).
fn dequantized_reference(prompts: &[Vec<u32>]) -> Vec<Vec<f32>> {
	let dir = std::env::temp_dir().join(format!("verity-dequantized-{}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("temp dir");
	let (input, output) = (dir.join("prompts.json"), dir.join("logits.bin"));
	std::fs::write(&input, serde_json::to_vec(prompts).expect("json")).expect("write");
	let status = std::process::Command::new(std::env::current_exe().expect("this test binary"))
		.args([
			"--exact",
			"dequantized_reference_in_a_child_process",
			"--nocapture",
			"--test-threads",
			"1",
		])
		.env("CANDLE_DEQUANTIZE_ALL", "1")
		.env(DEQUANTIZED_OUT, &output)
		.status()
		.expect("run the child");
	assert!(
		status.success(),
		"the dequantized reference failed: {status}"
	);
	let bytes = std::fs::read(&output).expect("the child's logits");
	let _ = std::fs::remove_dir_all(&dir);
	let values: Vec<f32> = bytes
		.chunks_exact(4)
		.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
		.collect();
	assert_eq!(values.len() % prompts.len(), 0);
	values
		.chunks(values.len() / prompts.len())
		.map(<[f32]>::to_vec)
		.collect()
}

/// The child of [`dequantized_reference`]: does nothing unless run as that child.
#[test]
fn dequantized_reference_in_a_child_process() {
	let Some(output) = std::env::var_os(DEQUANTIZED_OUT) else {
		return;
	};
	assert_eq!(std::env::var("CANDLE_DEQUANTIZE_ALL").as_deref(), Ok("1"));
	let path = gguf_path().expect("the model");
	let input = Path::new(&output).with_file_name("prompts.json");
	let prompts: Vec<Vec<u32>> =
		serde_json::from_slice(&std::fs::read(input).expect("prompts")).expect("json");
	let mut exact = Plain::load(&path);
	let mut bytes = Vec::new();
	for ids in &prompts {
		for value in exact.logits(ids, 0) {
			bytes.extend_from_slice(&value.to_le_bytes());
		}
	}
	std::fs::write(output, bytes).expect("write the logits");
}

/// Sets `kernel` and `threads` and returns the kernel the model really runs (`set_kernel` falls
/// back to the best one the CPU has).
fn configure(model: &mut SmolLm2, kernel: Kernel, threads: usize) -> Kernel {
	model.set_kernel(kernel);
	model.set_max_threads(threads);
	assert_eq!(model.kernel(), kernel, "the {kernel:?} kernel runs");
	model.kernel()
}

/// Fails unless every kernel this CPU offers ran; prints which did.
fn assert_coverage(ran: &[Kernel]) {
	let mut ran = ran.to_vec();
	ran.dedup();
	match check_coverage(&ran) {
		Ok(line) => eprintln!("{line}"),
		Err(why) => panic!("{why}"),
	}
}

#[test]
fn smollm2_every_kernel_and_thread_count_gives_the_same_bits() {
	let Some(path) = gguf_path() else { return };
	let mut model = ours(&path);
	let prompt = "Write a haiku about the sea.";
	let ids = model.prompt_token_ids(prompt).expect("ids");
	let mut runs = Vec::new();
	let mut ran = Vec::new();
	for kernel in Kernel::available() {
		for threads in [1, 2] {
			ran.push(configure(&mut model, kernel, threads));
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
	assert_coverage(&ran);
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

/// The bits of the last-position logits after `ids` (one prefill pass).
fn logit_bits(model: &SmolLm2, ids: &[u32]) -> Vec<u32> {
	model
		.logits(ids)
		.expect("logits")
		.iter()
		.map(|v| v.to_bits())
		.collect()
}

/// Inputs chosen to stress the paths where bits could differ between machines give identical
/// token ids and logits on every kernel this CPU has and on 1 and 2 threads: digits and
/// whitespace of recent Unicode versions (the tokenizer's classes), a repetitive prompt whose
/// attention is sharply peaked, and the largest job the chain accepts (a 4,096-byte prompt of
/// one-token digits, `max_tokens` 512).
///
/// Each input is decoded once on the best kernel; every other setting replays the decoded job
/// as one prefill over the prompt and the tokens before the last, whose logits must be the same
/// bits and pick the last token (a prefill and decode steps give the same bits, tested above,
/// so a change in any of the job's positions would show). The scalar kernel, about 30 times
/// slower, replays the two shorter inputs at 2 threads and not the largest job (it is compared
/// with the others on random matrices of every shape in the unit tests, and runs the whole
/// engine on an emulated CPU without AVX in `tests/emulated_cpus.rs`).
#[test]
fn smollm2_adversarial_inputs_are_identical_on_every_kernel_and_thread_count() {
	use verity_primitives::job::{MAX_GENERATED_TOKENS, MAX_PROMPT_BYTES};
	let Some(path) = gguf_path() else { return };
	let mut model = ours(&path);
	let best = Kernel::best_available();
	let mut ran = Vec::new();
	// Nag Mundari and Kawi digits (Unicode 15.0), Garay digits (16.0), Arabic-Indic, N'Ko,
	// Devanagari, mathematical and circled digits; ideographic space, line separator, NEL,
	// no-break space, Ogham space, medium mathematical space, then U+180E and U+200B (not
	// White_Space).
	let unicode = "Add \u{1e4f1}\u{1e4f2} and \u{11f53} and \u{10d42}\u{10d43}: ١٢٣ ۴۵۶ ߁߂ ०१२ \
	               𝟘𝟙 ①.\u{3000}\u{2028}\u{85}\u{a0}\u{1680}\u{205f}\u{180e}\u{200b}end";
	let peaked = "zebra ".repeat(100);
	let digits: String = "0123456789"
		.chars()
		.cycle()
		.take(MAX_PROMPT_BYTES as usize)
		.collect();
	for (prompt, tokens) in [
		(unicode, 24),
		(peaked.as_str(), 24),
		(digits.as_str(), MAX_GENERATED_TOKENS),
	] {
		let largest = tokens == MAX_GENERATED_TOKENS;
		ran.push(configure(&mut model, best, 2));
		let decoded = model
			.generate_fixed_length(prompt, tokens)
			.expect("generate");
		let mut replay = model.prompt_token_ids(prompt).expect("ids");
		let (last, before) = decoded.token_ids.split_last().expect("tokens");
		replay.extend_from_slice(before);
		let reference = logit_bits(&model, &replay);
		let logits: Vec<f32> = reference.iter().map(|b| f32::from_bits(*b)).collect();
		assert_eq!(
			greedy(&logits).expect("greedy"),
			*last,
			"the prefill replays the decoder"
		);
		let mut settings = 1;
		for kernel in Kernel::available() {
			let threads: &[usize] = match kernel {
				Kernel::Scalar if largest => &[],
				Kernel::Scalar => &[2],
				k if k == best => &[1],
				// The thread count is compared on the best kernel; the largest job's ~4,600
				// positions are replayed once more, on each other kernel, at 2 threads.
				_ if largest => &[2],
				_ => &[1, 2],
			};
			for &threads in threads {
				ran.push(configure(&mut model, kernel, threads));
				assert!(
					logit_bits(&model, &replay) == reference,
					"{} prompt tokens: {kernel:?} at {threads} threads differs",
					decoded.prompt_tokens
				);
				settings += 1;
			}
		}
		if largest {
			assert!(
				decoded.prompt_tokens > MAX_PROMPT_BYTES as usize,
				"one token per digit"
			);
		}
		eprintln!(
			"{} prompt tokens and {} generated: the same bits in {settings} settings (decoded in \
			 {:?} + {:?} at 2 threads)",
			decoded.prompt_tokens,
			decoded.token_ids.len(),
			decoded.prefill_time,
			decoded.decode_time
		);
	}
	assert_coverage(&ran);
}
