//! Throughput of the engine on the real models, for `scripts/bench-inference.sh`.
//!
//! Prints one JSON object: SmolLM2 prefill and decode tokens/s (median over the repetitions) and
//! MiniLM sentences/s at batch 1 and batch 32. Thread count: `RAYON_NUM_THREADS` /
//! `CANDLE_NUM_THREADS`, set by the caller before the process starts.
//!
//! Usage: bench <prompt-file> [repetitions] [decode-tokens]

use std::time::Instant;

use verity_inference::{
	catalog::ModelId,
	default_models_dir,
	minilm::{MiniLm, MiniLmFiles},
	profile::engine_profile,
	smollm2::SmolLm2,
	Result,
};

fn median(mut values: Vec<f64>) -> f64 {
	values.sort_by(f64::total_cmp);
	values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<()> {
	let args: Vec<String> = std::env::args().collect();
	let prompt_file = args
		.get(1)
		.map(String::as_str)
		.unwrap_or("scripts/bench-prompt.txt");
	let repetitions: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5);
	let decode_tokens: u32 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(64);
	let prompt =
		std::fs::read_to_string(prompt_file).map_err(|source| verity_inference::Error::Io {
			path: prompt_file.into(),
			source,
		})?;
	let prompt = prompt.trim_end();
	let dir = default_models_dir();

	let file = |id: ModelId, index: usize| {
		let pinned = id.files()[index];
		(dir.join(pinned.relative_path), pinned.hash())
	};
	let (gguf, gguf_hash) = file(ModelId::SmolLm2, 0);
	let mut smollm2 = SmolLm2::load_verified(&gguf, &gguf_hash)?;
	let (mut prefill, mut decode, mut prompt_tokens) = (Vec::new(), Vec::new(), 0);
	for _ in 0..repetitions {
		let run = smollm2.generate_fixed_length(prompt, decode_tokens)?;
		prompt_tokens = run.prompt_tokens;
		prefill.push(run.prompt_tokens as f64 / run.prefill_time.as_secs_f64());
		// The first token comes out of the prefill pass; the decode phase produced the rest.
		decode.push((run.token_ids.len() - 1) as f64 / run.decode_time.as_secs_f64());
	}

	let (weights, tokenizer, config) = (
		file(ModelId::MiniLm, 0),
		file(ModelId::MiniLm, 1),
		file(ModelId::MiniLm, 2),
	);
	let minilm = MiniLm::load_verified(MiniLmFiles {
		weights: (&weights.0, weights.1),
		tokenizer: (&tokenizer.0, tokenizer.1),
		config: (&config.0, config.1),
	})?;
	let sentences: Vec<String> = (0..32)
		.map(|i| format!("Sentence number {i} describes a cat that sat on a mat near the door."))
		.collect();
	let mut batch1 = Vec::new();
	let mut batch32 = Vec::new();
	for _ in 0..repetitions {
		let start = Instant::now();
		for sentence in &sentences {
			minilm.embed(&[sentence])?;
		}
		batch1.push(sentences.len() as f64 / start.elapsed().as_secs_f64());
		let start = Instant::now();
		minilm.embed(&sentences)?;
		batch32.push(sentences.len() as f64 / start.elapsed().as_secs_f64());
	}

	let profile = engine_profile();
	println!(
		"{{\"threads\": {}, \"cpu_features\": \"{}\", \"prompt_tokens\": {prompt_tokens}, \
		 \"decode_tokens\": {decode_tokens}, \"repetitions\": {repetitions}, \
		 \"smollm2_prefill_tok_s\": {:.1}, \"smollm2_decode_tok_s\": {:.1}, \
		 \"minilm_batch1_sentences_s\": {:.1}, \"minilm_batch32_sentences_s\": {:.1}}}",
		profile.threads,
		String::from_utf8_lossy(&profile.cpu_features),
		median(prefill),
		median(decode),
		median(batch1),
		median(batch32),
	);
	Ok(())
}
