//! Integration tests on the two real models, as `scripts/fetch-models.sh` installs them.
//!
//! When the model files are absent every test here prints why and passes without checking
//! anything; CI fetches the models first, so there they run. Run with `--release`: candle in
//! debug builds is far too slow for a 135M-parameter model.

use std::{io::Write, path::PathBuf};

use verity_inference::{
	catalog::ModelId,
	default_models_dir,
	minilm::{MiniLm, MiniLmFiles},
	smollm2::{chat::SMOLLM2_CHAT_TEMPLATE, SmolLm2},
	Error, LoadedModel,
};
use verity_primitives::{
	job::{JobInput, JobOutput},
	policy::check,
};

/// The models folder when every file of `id` is there, else `None` (and a note on stderr).
fn models_dir(id: ModelId) -> Option<PathBuf> {
	let dir = default_models_dir();
	for file in id.files() {
		if !dir.join(file.relative_path).is_file() {
			assert!(
				std::env::var_os("VERITY_REQUIRE_MODELS").is_none(),
				"{} is missing and VERITY_REQUIRE_MODELS is set",
				dir.join(file.relative_path).display()
			);
			// Straight to stderr, past the test harness's capture, so the skip is visible.
			let line = format!(
				"SKIPPED: {} is missing; run scripts/fetch-models.sh to run this test\n",
				dir.join(file.relative_path).display()
			);
			let _ = std::io::stderr().write_all(line.as_bytes());
			return None;
		}
	}
	Some(dir)
}

fn smollm2() -> Option<SmolLm2> {
	let dir = models_dir(ModelId::SmolLm2)?;
	let file = ModelId::SmolLm2.files()[0];
	Some(SmolLm2::load_verified(&dir.join(file.relative_path), &file.hash()).expect("load smollm2"))
}

fn minilm() -> Option<MiniLm> {
	let dir = models_dir(ModelId::MiniLm)?;
	let [weights, tokenizer, config] = ModelId::MiniLm.files() else {
		panic!("three files")
	};
	let (w, t, c) = (
		dir.join(weights.relative_path),
		dir.join(tokenizer.relative_path),
		dir.join(config.relative_path),
	);
	Some(
		MiniLm::load_verified(MiniLmFiles {
			weights: (&w, weights.hash()),
			tokenizer: (&t, tokenizer.hash()),
			config: (&c, config.hash()),
		})
		.expect("load minilm"),
	)
}

#[derive(serde::Deserialize)]
struct Golden {
	cases: Vec<GoldenCase>,
}

#[derive(serde::Deserialize)]
struct GoldenCase {
	text: String,
	ids: Vec<u32>,
}

#[test]
fn smollm2_tokenizer_matches_llama_cpp() {
	let Some(model) = smollm2() else { return };
	let golden: Golden =
		serde_json::from_str(include_str!("data/smollm2_tokenizer_golden.json")).expect("golden");
	assert!(golden.cases.len() >= 10);
	for case in &golden.cases {
		let ids = model.tokenizer().encode(&case.text).expect("encode");
		assert_eq!(ids, case.ids, "token ids of {:?}", case.text);
		let decoded = model.tokenizer().decode(&ids).expect("decode");
		assert_eq!(decoded, case.text, "decode(encode(x)) == x");
	}
}

#[test]
fn smollm2_chat_template_is_the_gguf_one_and_matches_llama_cpp_tokens() {
	let Some(model) = smollm2() else { return };
	// The loader refuses any other template, so loading proves the GGUF carries this one.
	assert!(SMOLLM2_CHAT_TEMPLATE.contains("You are a helpful AI assistant named SmolLM"));
	let golden: Golden =
		serde_json::from_str(include_str!("data/smollm2_tokenizer_golden.json")).expect("golden");
	let templated = golden
		.cases
		.iter()
		.find(|case| case.text.contains("What is 2+2?"))
		.expect("the templated case");
	assert_eq!(
		model.prompt_token_ids("What is 2+2?").expect("ids"),
		templated.ids
	);
}

#[derive(serde::Deserialize)]
struct LlamaCppGreedy {
	prompt: String,
	prompt_ids: Vec<u32>,
	ids: Vec<u32>,
}

/// Greedy output for "What is 2+2?" (it ends with `<|im_end|>` after these 11 tokens), pinned:
/// a change in any kernel, the tokenizer, the template or the decoding loop shows up here.
const TWO_PLUS_TWO: [u32; 11] = [504, 2988, 288, 451, 8170, 4119, 1732, 314, 216, 36, 30];

/// The largest gap between our top logit and llama.cpp's token at a step where the two pick
/// different tokens: our kernels round activations differently from llama.cpp's (each logit
/// moves by up to about 1, `tests/smollm2_kernels.rs`), so llama.cpp's token may lose a near-tie
/// to another, never a clear decision. The flips measured 2026-12-02 (crate README): France's
/// loop at step 19 (0.32 apart), the haiku's step 1 (0.07), the colours' steps 8 and 9 (0.08,
/// 0.02).
const LLAMA_CPP_NEAR_TIE: f32 = 0.5;

#[test]
fn smollm2_greedy_generation_is_pinned_and_agrees_with_llama_cpp() {
	let Some(mut model) = smollm2() else { return };
	let references: Vec<LlamaCppGreedy> =
		serde_json::from_str(include_str!("data/smollm2_llamacpp_greedy.json")).expect("reference");
	assert_eq!(references.len(), 3, "France, the haiku and the colours");
	for reference in &references {
		assert_eq!(
			model.prompt_token_ids(&reference.prompt).expect("ids"),
			reference.prompt_ids
		);
		let ours = model.generate(&reference.prompt, 32).expect("generate");
		let agree = ours
			.token_ids
			.iter()
			.zip(&reference.ids)
			.take_while(|(a, b)| a == b)
			.count();
		eprintln!(
			"{:?}: {} tokens, first {} agree with llama.cpp ({} tokens): {:?}",
			reference.prompt,
			ours.token_ids.len(),
			agree,
			reference.ids.len(),
			ours.text
		);
		if reference.prompt == "What is the capital of France?" {
			// No near-tie until the answer loops ("la femme, la femme au martyre, ..."): the
			// first 19 tokens agree with llama.cpp (candle's plain path agreed on all 32; our
			// kernels round activations differently and leave the loop one step earlier).
			assert!(
				agree >= 19,
				"llama.cpp's first 19 greedy tokens, got {agree}"
			);
		}
		// Teacher-forced on llama.cpp's tokens: at every step, llama.cpp's token is our top
		// token or within a near-tie of it.
		let mut flips = Vec::new();
		for step in 0..reference.ids.len() {
			let mut prefix = reference.prompt_ids.clone();
			prefix.extend_from_slice(&reference.ids[..step]);
			let logits = model.logits(&prefix).expect("logits");
			let top = verity_inference::smollm2::greedy(&logits).expect("greedy");
			let theirs = reference.ids[step];
			if top != theirs {
				let gap = logits[top as usize] - logits[theirs as usize];
				flips.push(format!(
					"step {step}: {top} vs llama.cpp {theirs}, {gap:.3} apart"
				));
				assert!(
					gap < LLAMA_CPP_NEAR_TIE,
					"{:?} step {step}: llama.cpp's token {theirs} is {gap} below ours ({top})",
					reference.prompt
				);
			}
		}
		eprintln!(
			"  teacher-forced on llama.cpp's {} tokens: {} near-tie flips {flips:?}",
			reference.ids.len(),
			flips.len()
		);
	}
}

#[test]
fn smollm2_stops_on_end_of_turn_and_respects_max_tokens() {
	let Some(mut model) = smollm2() else { return };
	let answer = model.generate("What is 2+2?", 64).expect("generate");
	assert_eq!(
		answer.token_ids, TWO_PLUS_TWO,
		"stopped by <|im_end|> after 11 tokens"
	);
	assert_eq!(answer.text, "The answer to this classic math problem is 4.");
	let three = model.generate("What is 2+2?", 3).expect("generate");
	assert_eq!(three.token_ids, TWO_PLUS_TWO[..3]);
	assert_eq!(three.text, "The answer to");
	let again = model.generate("What is 2+2?", 64).expect("generate");
	assert_eq!(
		(again.token_ids, again.text),
		(answer.token_ids, answer.text)
	);
}

#[test]
fn a_model_file_with_another_hash_is_refused() {
	let Some(dir) = models_dir(ModelId::SmolLm2) else {
		return;
	};
	let file = ModelId::SmolLm2.files()[0];
	let other = ModelId::MiniLm.files()[0].hash();
	let Err(error) = SmolLm2::load_verified(&dir.join(file.relative_path), &other) else {
		panic!("must be refused")
	};
	assert!(matches!(error, Error::HashMismatch { .. }), "{error}");
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn minilm_ranks_paraphrases_above_unrelated_sentences() {
	let Some(model) = minilm() else { return };
	let texts = [
		"A man is playing a guitar.",
		"Someone is strumming a guitar.",
		"The stock market fell sharply today.",
		"How do I bake sourdough bread?",
		"What is the recipe for sourdough?",
	];
	let e = model.embed(&texts).expect("embed");
	for vector in &e {
		assert_eq!(vector.len(), 384);
		let norm: f32 = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
		assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
	}
	let guitar = cosine(&e[0], &e[1]);
	let bread = cosine(&e[3], &e[4]);
	eprintln!(
		"guitar {guitar:.4}, bread {bread:.4}, unrelated {:.4}",
		cosine(&e[0], &e[2])
	);
	assert!(
		guitar > 0.6 && bread > 0.6,
		"paraphrases are close: {guitar}, {bread}"
	);
	for unrelated in [
		cosine(&e[0], &e[2]),
		cosine(&e[0], &e[3]),
		cosine(&e[1], &e[4]),
	] {
		assert!(unrelated < 0.2, "unrelated sentences are far: {unrelated}");
		assert!(unrelated < guitar && unrelated < bread);
	}
}

#[test]
fn minilm_batch_composition_stays_within_the_policy() {
	let Some(dir) = models_dir(ModelId::MiniLm) else {
		return;
	};
	let mut model = LoadedModel::load(ModelId::MiniLm, &dir).expect("load");
	let alone = model
		.run(&JobInput::embed(&["The cat sat on the mat."]).expect("valid"))
		.expect("run");
	let long =
		"A much longer sentence that forces the batch to be padded well beyond the first one.";
	let batched = model
		.run(&JobInput::embed(&["The cat sat on the mat.", long]).expect("valid"))
		.expect("run");
	let JobOutput::Embedded { embeddings } = &batched else {
		panic!("embeddings")
	};
	let first = JobOutput::embedded(vec![embeddings[0].clone()]).expect("fits");
	let max_diff = alone_diff(&alone, &first);
	eprintln!("max |alone - padded batch| = {max_diff:e}");
	assert_eq!(check(ModelId::MiniLm.policy(), &alone, &first), Ok(()));
}

fn alone_diff(a: &JobOutput, b: &JobOutput) -> f32 {
	let (JobOutput::Embedded { embeddings: a }, JobOutput::Embedded { embeddings: b }) = (a, b)
	else {
		return f32::INFINITY;
	};
	a[0].values()
		.zip(b[0].values())
		.map(|(x, y)| (x - y).abs())
		.fold(0.0, f32::max)
}

#[test]
fn catalog_loads_and_runs_both_models() {
	let (Some(_), Some(dir)) = (models_dir(ModelId::SmolLm2), models_dir(ModelId::MiniLm)) else {
		return;
	};
	let mut smollm2 = LoadedModel::load(ModelId::SmolLm2, &dir).expect("load");
	let output = smollm2
		.run(&JobInput::generate("Say hi.", 4).expect("valid"))
		.expect("run");
	let JobOutput::Generated { token_ids, .. } = &output else {
		panic!("generation")
	};
	assert!(!token_ids.is_empty() && token_ids.len() <= 4);
	let again = smollm2
		.run(&JobInput::generate("Say hi.", 4).expect("valid"))
		.expect("run");
	assert_eq!(output.hash(), again.hash());
	assert_eq!(check(ModelId::SmolLm2.policy(), &output, &again), Ok(()));
}

#[derive(serde::Deserialize)]
struct MiniLmReference {
	texts: Vec<String>,
	embeddings: Vec<Vec<f64>>,
}

#[test]
fn minilm_matches_an_independent_float64_reference() {
	let Some(model) = minilm() else { return };
	let reference: MiniLmReference =
		serde_json::from_str(include_str!("data/minilm_reference.json")).expect("reference");
	let ours = model.embed(&reference.texts).expect("embed");
	let mut max_diff = 0.0f64;
	for (a, b) in ours.iter().zip(&reference.embeddings) {
		assert_eq!(a.len(), b.len());
		for (x, y) in a.iter().zip(b) {
			max_diff = max_diff.max((f64::from(*x) - y).abs());
		}
	}
	eprintln!("max |candle f32 - numpy f64| = {max_diff:e}");
	assert!(max_diff < 1e-6, "max difference {max_diff}");
}

/// `tokenizer.json` loaded as tokenizers has it (its own BERT steps, on the standard library's
/// character classes).
fn minilm_tokenizer_json() -> Option<tokenizers::Tokenizer> {
	let dir = models_dir(ModelId::MiniLm)?;
	let file = ModelId::MiniLm.files()[1];
	assert!(file.relative_path.ends_with("tokenizer.json"));
	Some(tokenizers::Tokenizer::from_file(dir.join(file.relative_path)).expect("tokenizer.json"))
}

#[test]
fn minilm_tokenizer_on_pinned_tables_gives_tokenizers_ids() {
	let Some(mut loaded) = minilm_tokenizer_json() else {
		return;
	};
	// The file pads and truncates to 128; the engine sets its own (256, longest): compare the
	// ids before either.
	loaded.with_padding(None);
	loaded.with_truncation(None).expect("no truncation");
	let ours = verity_inference::minilm::text::from_loaded(loaded.clone()).expect("ours");
	// Accents, Greek, the dotted capital I (two characters in lower case), CJK (padded), Hangul,
	// emoji, control and format characters, every kind of whitespace, the special tokens
	// written in the text, punctuation from outside ASCII, combining marks, full-width letters,
	// digits of other scripts.
	let texts = [
		"The quick brown fox jumps over the lazy dog.",
		"Crème Brûlée à la carte, naïve café",
		"ΣΑΣ Ωμέγα İstanbul ǅemal",
		"我爱北京天安门 日本語のテキスト 한국어 문장",
		"emoji 🙂🚀 and ZWJ 👩‍💻",
		"a\u{0}b\u{7}c\u{200b}d\u{feff}e\u{fffd}f\u{ad}g",
		"tab\tnew\nline\rcr\u{3000}ideographic\u{a0}nbsp\u{2028}ls\u{85}nel\u{1680}ogham",
		"[CLS] hello [SEP] [MASK] [PAD] [UNK] [cls]",
		"«quoted» — dash… ¿qué? ¡sí! 「括弧」",
		"e\u{301}le\u{300}ve \u{212b}ngstr\u{f6}m",
		"ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ",
		"٣٤٥ ١٢ ०१२ 𝟘𝟙𝟚 ①②",
	];
	for text in texts {
		let expected = loaded.encode(text, true).expect("tokenizers");
		let got = ours.encode(text, true).expect("ours");
		assert_eq!(got.get_ids(), expected.get_ids(), "{text:?}");
	}
	let long = "word ".repeat(400);
	assert_eq!(
		ours.encode(long.as_str(), true).expect("ours").get_ids(),
		loaded
			.encode(long.as_str(), true)
			.expect("tokenizers")
			.get_ids()
	);
}

#[test]
fn candles_generic_gguf_tokenizer_differs_which_is_why_ours_exists() {
	use candle_core::quantized::{gguf_file::Content, tokenizer::TokenizerFromGguf};
	let Some(model) = smollm2() else { return };
	let Some(dir) = models_dir(ModelId::SmolLm2) else {
		return;
	};
	let path = dir.join(ModelId::SmolLm2.files()[0].relative_path);
	let mut file = std::fs::File::open(path).expect("open");
	let content = Content::read(&mut file).expect("gguf");
	let generic = tokenizers::Tokenizer::from_gguf(&content).expect("candle's tokenizer");
	let text = "<|im_start|>system\nHi 2024";
	let theirs = generic
		.encode(text, false)
		.expect("encode")
		.get_ids()
		.to_vec();
	let ours = model.tokenizer().encode(text).expect("encode");
	// llama.cpp: <|im_start|> system \n Hi ␠ 2 0 2 4
	assert_eq!(ours, [1, 9690, 198, 26843, 216, 34, 32, 34, 36]);
	assert_ne!(
		theirs, ours,
		"candle's fallback pre-tokenizer would change the token ids"
	);
}

/// A model folder loads without pinned hashes (what `verity models propose` does): the hashes
/// it computes are the catalog's pins, and the model computes what the pinned one does.
#[test]
fn a_model_folder_loads_unpinned_with_the_hashes_the_catalog_pins() {
	for (id, input) in [
		(ModelId::SmolLm2, JobInput::generate("What is 2+2?", 8)),
		(
			ModelId::MiniLm,
			JobInput::embed(&["A man is playing a guitar."]),
		),
	] {
		let Some(dir) = models_dir(id) else { continue };
		let input = input.expect("valid");
		let folder = dir.join(id.name());
		let mut unpinned = LoadedModel::load_dir(&folder).expect("the folder loads");
		assert_eq!(unpinned.model.id(), id, "{}: layout", id.name());
		let computed: Vec<_> = unpinned.files.iter().map(|(_, hash)| *hash).collect();
		let pinned: Vec<_> = id.files().iter().map(|file| file.hash()).collect();
		assert_eq!(computed, pinned, "{}: file hashes, in order", id.name());
		assert_eq!(unpinned.model_hash(), id.model_hash(), "{}", id.name());
		let mut catalog = LoadedModel::load(id, &dir).expect("load");
		assert_eq!(
			unpinned.model.run(&input).expect("run").hash(),
			catalog.run(&input).expect("run").hash(),
			"{}: same output bits",
			id.name()
		);
	}
}

#[test]
fn a_folder_without_one_model_is_refused() {
	let empty = std::env::temp_dir().join(format!("verity-no-model-{}", std::process::id()));
	std::fs::create_dir_all(&empty).expect("mkdir");
	let Err(Error::UnsupportedModel(why)) = LoadedModel::load_dir(&empty) else {
		panic!("an empty folder is no model")
	};
	assert!(why.contains("no model files"), "{why}");
	for name in ["a.gguf", "b.gguf"] {
		std::fs::write(empty.join(name), b"GGUF").expect("write");
	}
	let Err(Error::UnsupportedModel(why)) = LoadedModel::load_dir(&empty) else {
		panic!("two GGUFs are two models")
	};
	assert!(why.contains("more than one model"), "{why}");
	std::fs::remove_file(empty.join("b.gguf")).expect("rm");
	assert!(
		LoadedModel::load_dir(&empty).is_err(),
		"four bytes are no GGUF"
	);
	std::fs::remove_dir_all(&empty).expect("rm");
}
