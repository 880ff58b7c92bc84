//! Unit tests over the tiny models of [`crate::test_models`].

use verity_primitives::{
	job::{JobInput, JobKind, JobOutput},
	policy::{check, VerificationPolicy},
};

use crate::{
	digest::{blake2_256, to_hex},
	minilm::{MiniLm, MiniLmFiles},
	smollm2::{tokenizer::SmolLm2Tokenizer, SmolLm2},
	test_models::{temp_dir, tiny_vocab, write_tiny_bert, TinyLlama},
	Error, LoadedModel,
};

fn tiny_tokenizer() -> SmolLm2Tokenizer {
	let (tokens, types, merges) = tiny_vocab();
	SmolLm2Tokenizer::from_parts(&tokens, &types, &merges).expect("tokenizer")
}

fn id(tokenizer: &SmolLm2Tokenizer, token: &str) -> u32 {
	tokenizer.token_id(token).expect("in vocab")
}

#[test]
fn tokenizer_applies_merges_in_priority_order() {
	let t = tiny_tokenizer();
	assert_eq!(
		t.encode("hello").expect("encode"),
		vec![id(&t, "hell"), id(&t, "o")]
	);
	assert_eq!(t.encode("he").expect("encode"), vec![id(&t, "he")]);
}

#[test]
fn tokenizer_splits_digits_one_by_one() {
	let t = tiny_tokenizer();
	let ids = t.encode("2024").expect("encode");
	let expected: Vec<u32> = ["2", "0", "2", "4"].iter().map(|d| id(&t, d)).collect();
	assert_eq!(ids, expected);
}

#[test]
fn tokenizer_adds_no_prefix_space() {
	let t = tiny_tokenizer();
	// "hi" starts without the byte-level space character `Ġ`; " hi" starts with it.
	assert_eq!(
		t.encode("hi").expect("encode"),
		vec![id(&t, "h"), id(&t, "i")]
	);
	assert_eq!(
		t.encode(" hi").expect("encode"),
		vec![id(&t, "Ġ"), id(&t, "h"), id(&t, "i")]
	);
}

#[test]
fn tokenizer_recognises_control_tokens_and_round_trips() {
	let t = tiny_tokenizer();
	let ids = t.encode("<|im_start|>hello<|im_end|>\n").expect("encode");
	assert_eq!(ids, vec![1, id(&t, "hell"), id(&t, "o"), 2, id(&t, "Ċ")]);
	assert_eq!(
		t.decode(&ids).expect("decode"),
		"<|im_start|>hello<|im_end|>\n"
	);
	let text = "naïve 12 ✓";
	assert_eq!(
		t.decode(&t.encode(text).expect("encode")).expect("decode"),
		text
	);
}

fn tiny_llama_file(name: &str, llama: TinyLlama) -> (std::path::PathBuf, verity_primitives::Hash) {
	let path = temp_dir(name).join("tiny.gguf");
	llama.write(&path);
	let hash = blake2_256(&std::fs::read(&path).expect("read"));
	(path, hash)
}

#[test]
fn tiny_llama_generates_deterministically_within_max_tokens() {
	let (path, hash) = tiny_llama_file("tiny-llama", TinyLlama::default());
	let mut model = SmolLm2::load_verified(&path, &hash).expect("load");
	let first = model.generate("hello", 8).expect("generate");
	let second = model.generate("hello", 8).expect("generate");
	assert_eq!(
		first.token_ids, second.token_ids,
		"same process, same output"
	);
	assert!(first.token_ids.len() <= 8);
	assert!(
		!first.token_ids.contains(&2),
		"the stop token is never part of the output"
	);
	let shorter = model.generate("hello", 3).expect("generate");
	assert_eq!(
		shorter.token_ids[..],
		first.token_ids[..first.token_ids.len().min(3)]
	);
	let reloaded = SmolLm2::load_verified(&path, &hash)
		.expect("load")
		.generate("hello", 8);
	assert_eq!(
		reloaded.expect("generate").token_ids,
		first.token_ids,
		"a fresh load agrees"
	);
	assert_eq!(
		first.prompt_tokens,
		model.prompt_token_ids("hello").expect("ids").len()
	);
}

#[test]
fn tiny_llama_with_another_hash_is_refused_before_loading() {
	let (path, hash) = tiny_llama_file("tiny-llama-hash", TinyLlama::default());
	let wrong = blake2_256(b"another model");
	let Err(error) = SmolLm2::load_verified(&path, &wrong) else {
		panic!("a file with another hash must be refused");
	};
	let message = error.to_string();
	assert!(matches!(error, Error::HashMismatch { .. }));
	assert!(message.contains(&to_hex(wrong.as_bytes())), "{message}");
	assert!(message.contains(&to_hex(hash.as_bytes())), "{message}");
	assert!(message.contains("tiny.gguf"), "{message}");
}

#[test]
fn tiny_llama_with_another_pre_tokenizer_or_template_is_refused() {
	let (path, hash) = tiny_llama_file(
		"tiny-llama-pre",
		TinyLlama {
			pre: "gpt2",
			..TinyLlama::default()
		},
	);
	let Err(error) = SmolLm2::load_verified(&path, &hash) else {
		panic!("must be refused")
	};
	assert!(
		error.to_string().contains("pre-tokenizer `gpt2`"),
		"{error}"
	);
	let (path, hash) = tiny_llama_file(
		"tiny-llama-template",
		TinyLlama {
			chat_template: "{{ messages }}",
			..TinyLlama::default()
		},
	);
	let Err(error) = SmolLm2::load_verified(&path, &hash) else {
		panic!("must be refused")
	};
	assert!(error.to_string().contains("chat template"), "{error}");
}

#[test]
fn tiny_llama_refuses_a_prompt_beyond_its_context() {
	let (path, hash) = tiny_llama_file("tiny-llama-context", TinyLlama::default());
	let mut model = SmolLm2::load_verified(&path, &hash).expect("load");
	// The template alone is about 100 tokens of the tiny vocabulary; the context is 256.
	let Err(error) = model.generate(&"x".repeat(200), 8) else {
		panic!("must be refused")
	};
	assert!(
		matches!(error, Error::ContextTooLong { context: 256, .. }),
		"{error}"
	);
	assert!(
		model.generate(&"x".repeat(100), 8).is_ok(),
		"a prompt that fits runs"
	);
}

fn tiny_bert(name: &str) -> MiniLm {
	let dir = temp_dir(name);
	write_tiny_bert(&dir);
	let file = |name: &str| {
		let path = dir.join(name);
		let hash = blake2_256(&std::fs::read(&path).expect("read"));
		(path, hash)
	};
	let (weights, tokenizer, config) = (
		file("model.safetensors"),
		file("tokenizer.json"),
		file("config.json"),
	);
	MiniLm::load_verified(MiniLmFiles {
		weights: (&weights.0, weights.1),
		tokenizer: (&tokenizer.0, tokenizer.1),
		config: (&config.0, config.1),
	})
	.expect("load tiny bert")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn tiny_bert_embeddings_are_unit_length_and_in_order() {
	let model = tiny_bert("tiny-bert-norm");
	let texts = ["the cat sat on the mat", "a dog ran fast", "the cats"];
	let embeddings = model.embed(&texts).expect("embed");
	assert_eq!(embeddings.len(), 3);
	for embedding in &embeddings {
		assert_eq!(embedding.len(), 32);
		let norm: f32 = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
		assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
	}
	let reversed = model.embed(&[texts[2], texts[1], texts[0]]).expect("embed");
	for (a, b) in embeddings.iter().zip(reversed.iter().rev()) {
		assert!(
			cosine(a, b) > 0.999_999,
			"order of the batch does not change a text's vector"
		);
	}
	assert!(
		cosine(&embeddings[0], &embeddings[1]) < 0.999,
		"different texts differ"
	);
}

#[test]
fn tiny_bert_padding_does_not_change_a_text_beyond_tolerance() {
	let model = tiny_bert("tiny-bert-pad");
	let alone = model.embed(&["a dog"]).expect("embed");
	let padded = model
		.embed(&["a dog", "the cat sat on the mat fast slow ."])
		.expect("embed");
	let diff = alone[0]
		.iter()
		.zip(&padded[0])
		.map(|(a, b)| (a - b).abs())
		.fold(0.0f32, f32::max);
	assert!(diff < 1e-6, "padding changed the vector by {diff}");
}

#[test]
fn tiny_bert_is_deterministic() {
	let model = tiny_bert("tiny-bert-det");
	let texts = ["the cat sat", "a dog ran"];
	let a = model.embed(&texts).expect("embed");
	let b = model.embed(&texts).expect("embed");
	assert_eq!(a, b);
}

#[test]
fn engine_turns_jobs_into_canonical_outputs_and_checks_kinds() {
	let mut model = LoadedModel::MiniLm(tiny_bert("tiny-bert-engine"));
	let input = JobInput::embed(&["the cat", "a dog"]).expect("valid");
	let output = model.run(&input).expect("run");
	assert_eq!(output.kind(), JobKind::Embed);
	let JobOutput::Embedded { embeddings } = &output else {
		panic!("embeddings expected")
	};
	assert_eq!(embeddings.len(), 2);
	output.validate().expect("canonical");
	let again = model.run(&input).expect("run");
	assert_eq!(check(VerificationPolicy::Exact, &output, &again), Ok(()));
	assert_eq!(output.hash(), again.hash());
	let generate = JobInput::generate("hi", 4).expect("valid");
	assert!(matches!(
		model.run(&generate),
		Err(Error::WrongJobKind { .. })
	));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_engine_refuses_to_compute_on_a_thread_with_flush_to_zero() {
	let (path, hash) = tiny_llama_file("tiny-llama-ftz", TinyLlama::default());
	let mut llama = SmolLm2::load_verified(&path, &hash).expect("load");
	let bert = tiny_bert("tiny-bert-ftz");
	// Both compute pools start now, at the default state, so that no pool thread inherits the
	// flag set below (it is set on one thread of this test only).
	crate::smollm2::pool::pool();
	rayon::current_num_threads();
	let expected = llama.generate("hello", 4).expect("generate");
	let (generated, embedded, after) = std::thread::spawn(move || {
		crate::fpenv::set_flush_to_zero(true);
		let generated = llama.generate("hello", 4);
		let embedded = bert.embed(&["a dog"]);
		crate::fpenv::set_flush_to_zero(false);
		(generated, embedded, llama.generate("hello", 4))
	})
	.join()
	.expect("the thread");
	for error in [generated.map(|_| ()), embedded.map(|_| ())] {
		let error = error.expect_err("flush-to-zero is refused");
		assert!(matches!(error, Error::FloatingPointState(_)), "{error}");
		assert!(error.to_string().contains("MXCSR is 0x9f80"), "{error}");
	}
	assert_eq!(
		after.expect("the default state computes").token_ids,
		expected.token_ids
	);
}
