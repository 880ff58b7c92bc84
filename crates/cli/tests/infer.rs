//! `verity infer` as a user runs it: errors as one line and a non-zero exit, JSON output, and
//! determinism across processes and thread counts (candle's thread pools read their settings
//! once per process, so each setting needs its own process).
//!
//! The tests that run a real model print why and pass without checking anything when the model
//! files are absent; CI fetches them first. Run with `--release`.

use std::{
	io::Write,
	path::PathBuf,
	process::{Command, Output},
};

fn verity() -> Command {
	Command::new(env!("CARGO_BIN_EXE_verity"))
}

fn models_dir() -> PathBuf {
	match std::env::var_os("VERITY_MODELS").filter(|dir| !dir.is_empty()) {
		Some(dir) => PathBuf::from(dir),
		None => {
			PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/verity/models")
		}
	}
}

fn have(model_file: &str) -> bool {
	let path = models_dir().join(model_file);
	if !path.is_file() {
		assert!(
			std::env::var_os("VERITY_REQUIRE_MODELS").is_none(),
			"{} is missing and VERITY_REQUIRE_MODELS is set",
			path.display()
		);
		// Straight to stderr, past the test harness's capture, so the skip is visible.
		let line = format!(
			"SKIPPED: {} is missing; run scripts/fetch-models.sh\n",
			path.display()
		);
		let _ = std::io::stderr().write_all(line.as_bytes());
	}
	path.is_file()
}

const GGUF: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const SAFETENSORS: &str = "minilm/model.safetensors";

/// Asserts a failed run with exactly one line on stderr that contains `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
	assert!(!output.status.success(), "must fail");
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
	assert!(stderr.starts_with("error: "), "{stderr:?}");
	assert!(
		stderr.contains(needle),
		"{stderr:?} should mention {needle:?}"
	);
	assert!(output.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn unknown_model_is_one_line_and_non_zero() {
	let output = verity()
		.args(["infer", "--model", "gpt-5", "--prompt", "hi"])
		.output()
		.expect("run");
	assert_one_line_error(
		&output,
		"unknown model `gpt-5` (known models: smollm2, minilm)",
	);
}

#[test]
fn empty_prompt_is_one_line_and_non_zero() {
	let output = verity()
		.args(["infer", "--model", "smollm2", "--prompt", ""])
		.output()
		.expect("run");
	assert_one_line_error(&output, "the prompt is empty");
}

#[test]
fn models_not_fetched_is_one_line_and_non_zero() {
	let empty = std::env::temp_dir().join(format!("verity-no-models-{}", std::process::id()));
	std::fs::create_dir_all(&empty).expect("dir");
	let output = verity()
		.args(["infer", "--model", "smollm2", "--prompt", "hi"])
		.env("VERITY_MODELS", &empty)
		.output()
		.expect("run");
	assert_one_line_error(&output, "fetch-models.sh");
	assert_one_line_error(&output, "is missing");
}

#[test]
fn a_corrupted_model_file_is_refused_with_its_expected_hash() {
	let dir = std::env::temp_dir().join(format!("verity-bad-models-{}", std::process::id()));
	std::fs::create_dir_all(dir.join("minilm")).expect("dir");
	for name in ["model.safetensors", "tokenizer.json", "config.json"] {
		std::fs::write(dir.join("minilm").join(name), b"not a model").expect("write");
	}
	let output = verity()
		.args(["infer", "--model", "minilm", "--text", "hi", "--models-dir"])
		.arg(&dir)
		.output()
		.expect("run");
	assert_one_line_error(
		&output,
		"expected a22e6a6ad8c13ac7e62a535a9c46fd2a8d3bba82998108f434dd260c5ab81563",
	);
	assert_one_line_error(&output, "model.safetensors");
}

#[test]
fn a_prompt_for_the_embedding_model_is_refused() {
	let output = verity()
		.args(["infer", "--model", "minilm", "--prompt", "hello"])
		.output()
		.expect("run");
	assert_one_line_error(&output, "model minilm runs Embed jobs, not Generate jobs");
}

#[test]
fn usage_errors_exit_non_zero() {
	let output = verity()
		.args(["infer", "--model", "smollm2"])
		.output()
		.expect("run");
	assert!(!output.status.success());
	let output = verity()
		.args([
			"infer", "--model", "smollm2", "--prompt", "a", "--text", "b",
		])
		.output()
		.expect("run");
	assert!(!output.status.success());
}

fn infer_json(args: &[&str], threads: usize) -> serde_json::Value {
	let output = verity()
		.arg("infer")
		.args(args)
		.arg("--json")
		.env("RAYON_NUM_THREADS", threads.to_string())
		.env("CANDLE_NUM_THREADS", threads.to_string())
		.output()
		.expect("run");
	assert!(
		output.status.success(),
		"{}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn smollm2_json_output_is_identical_across_processes_and_thread_counts() {
	if !have(GGUF) {
		return;
	}
	let args = [
		"--model",
		"smollm2",
		"--prompt",
		"Name three fruits.",
		"--max-tokens",
		"24",
	];
	let one = infer_json(&args, 1);
	let two = infer_json(&args, 2);
	let two_again = infer_json(&args, 2);
	assert_eq!(one["engine"]["threads"], 1);
	assert_eq!(two["engine"]["threads"], 2);
	let ids = one["token_ids"].as_array().expect("token ids");
	assert!(!ids.is_empty() && ids.len() <= 24);
	assert!(one["text"].as_str().is_some_and(|text| !text.is_empty()));
	assert!(one["output_hash"]
		.as_str()
		.is_some_and(|hash| hash.len() == 66));
	for key in [
		"token_ids",
		"text",
		"output_hash",
		"input_hash",
		"model_hash",
	] {
		assert_eq!(one[key], two[key], "{key}: 1 thread vs 2 threads");
		assert_eq!(two[key], two_again[key], "{key}: two runs at 2 threads");
	}
}

#[test]
fn minilm_json_output_is_identical_across_processes_and_thread_counts() {
	if !have(SAFETENSORS) {
		return;
	}
	let args = [
		"--model",
		"minilm",
		"--text",
		"The cat sat on the mat.",
		"--text",
		"A considerably longer sentence, so that the batch is padded and masked.",
	];
	let one = infer_json(&args, 1);
	let two = infer_json(&args, 2);
	let two_again = infer_json(&args, 2);
	let embeddings = one["embeddings"].as_array().expect("embeddings");
	assert_eq!(embeddings.len(), 2);
	assert_eq!(embeddings[0].as_array().map(Vec::len), Some(384));
	assert_eq!(
		one["output_hash"], two_again["output_hash"],
		"1 thread vs 2 threads, bit for bit"
	);
	assert_eq!(
		two["output_hash"], two_again["output_hash"],
		"two runs at 2 threads"
	);
}

#[test]
fn plain_output_prints_the_text_and_hash() {
	if !have(GGUF) {
		return;
	}
	let output = verity()
		.args([
			"infer",
			"--model",
			"smollm2",
			"--prompt",
			"Say hello.",
			"--max-tokens",
			"4",
		])
		.output()
		.expect("run");
	assert!(
		output.status.success(),
		"{}",
		String::from_utf8_lossy(&output.stderr)
	);
	let stdout = String::from_utf8_lossy(&output.stdout);
	let last = stdout.lines().last().expect("a last line");
	assert!(last.starts_with("output hash: 0x") && last.len() == "output hash: 0x".len() + 64);
}
