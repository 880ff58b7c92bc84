//! Tiny models written by the tests themselves: a two-layer llama GGUF with a byte-level BPE
//! tokenizer in its metadata, and a one-layer BERT with a WordPiece tokenizer. They exercise the
//! same loading, tokenizing and running code as the real models, in milliseconds.

use std::path::{Path, PathBuf};

use candle_core::{
	quantized::{gguf_file, GgmlDType, QTensor},
	DType, Device, Tensor,
};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};

use crate::smollm2::chat::SMOLLM2_CHAT_TEMPLATE;

/// A fresh folder under the system temp folder, unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
	let dir = std::env::temp_dir().join(format!("verity-{name}-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).expect("create temp dir");
	dir
}

/// GPT-2's byte-to-character table of byte-level BPE.
pub fn byte_chars() -> Vec<char> {
	let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~')).collect();
	printable.extend(u32::from('¡')..=u32::from('¬'));
	printable.extend(u32::from('®')..=u32::from('ÿ'));
	let mut table = vec!['\0'; 256];
	let mut extra = 0;
	for byte in 0..256u32 {
		let code = if printable.contains(&byte) {
			byte
		} else {
			extra += 1;
			255 + extra
		};
		table[byte as usize] = char::from_u32(code).expect("valid char");
	}
	table
}

/// The tiny llama's vocabulary: 3 control tokens, the 256 byte characters, 3 merged tokens.
pub fn tiny_vocab() -> (Vec<String>, Vec<u32>, Vec<String>) {
	let mut tokens: Vec<String> = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
		.iter()
		.map(|t| t.to_string())
		.collect();
	let mut types = vec![3u32; 3];
	for c in byte_chars() {
		tokens.push(c.to_string());
		types.push(1);
	}
	for merged in ["he", "ll", "hell"] {
		tokens.push(merged.to_string());
		types.push(1);
	}
	let merges = ["h e", "l l", "he ll"]
		.iter()
		.map(|m| m.to_string())
		.collect();
	(tokens, types, merges)
}

/// Deterministic pseudo-random values in [-scale, scale).
fn values(count: usize, seed: u64, scale: f32) -> Vec<f32> {
	let mut state = seed
		.wrapping_mul(6364136223846793005)
		.wrapping_add(1442695040888963407);
	(0..count)
		.map(|_| {
			state = state
				.wrapping_mul(6364136223846793005)
				.wrapping_add(1442695040888963407);
			let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
			(unit * 2.0 - 1.0) * scale
		})
		.collect()
}

fn qtensor(shape: &[usize], seed: u64, dtype: GgmlDType) -> QTensor {
	let count = shape.iter().product();
	let tensor = Tensor::from_vec(values(count, seed, 0.5), shape, &Device::Cpu).expect("tensor");
	QTensor::quantize(&tensor, dtype).expect("quantize")
}

/// Options of the tiny llama, to write broken variants.
pub struct TinyLlama {
	/// `tokenizer.ggml.pre`.
	pub pre: &'static str,
	/// `tokenizer.chat_template`.
	pub chat_template: &'static str,
}

impl Default for TinyLlama {
	fn default() -> Self {
		Self {
			pre: "smollm",
			chat_template: SMOLLM2_CHAT_TEMPLATE,
		}
	}
}

impl TinyLlama {
	/// Writes the GGUF to `path`: 2 layers, width 64, 2 query heads, 1 KV head, Q4_1 matrices
	/// and a Q8_0 tied embedding, as in the real file.
	pub fn write(&self, path: &Path) {
		let (tokens, types, merges) = tiny_vocab();
		let (dim, ffn, kv, vocab) = (64usize, 128usize, 32usize, tokens.len());
		let string = |s: &str| gguf_file::Value::String(s.to_string());
		let u32v = gguf_file::Value::U32;
		let metadata: Vec<(&str, gguf_file::Value)> = vec![
			("general.architecture", string("llama")),
			("llama.attention.head_count", u32v(2)),
			("llama.attention.head_count_kv", u32v(1)),
			("llama.block_count", u32v(2)),
			("llama.embedding_length", u32v(dim as u32)),
			("llama.rope.dimension_count", u32v(32)),
			(
				"llama.attention.layer_norm_rms_epsilon",
				gguf_file::Value::F32(1e-5),
			),
			("llama.rope.freq_base", gguf_file::Value::F32(10_000.0)),
			("llama.context_length", u32v(256)),
			("tokenizer.ggml.model", string("gpt2")),
			("tokenizer.ggml.pre", string(self.pre)),
			(
				"tokenizer.ggml.tokens",
				gguf_file::Value::Array(tokens.iter().map(|t| string(t)).collect()),
			),
			(
				"tokenizer.ggml.token_type",
				gguf_file::Value::Array(
					types
						.iter()
						.map(|t| gguf_file::Value::I32(*t as i32))
						.collect(),
				),
			),
			(
				"tokenizer.ggml.merges",
				gguf_file::Value::Array(merges.iter().map(|m| string(m)).collect()),
			),
			("tokenizer.ggml.eos_token_id", u32v(2)),
			("tokenizer.chat_template", string(self.chat_template)),
		];
		let mut tensors: Vec<(String, QTensor)> = vec![
			(
				"token_embd.weight".into(),
				qtensor(&[vocab, dim], 1, GgmlDType::Q8_0),
			),
			(
				"output_norm.weight".into(),
				qtensor(&[dim], 2, GgmlDType::F32),
			),
		];
		for layer in 0..2u64 {
			let seed = 100 * (layer + 1);
			let q4 = GgmlDType::Q4_1;
			for (name, shape, dtype) in [
				("attn_norm", vec![dim], GgmlDType::F32),
				("ffn_norm", vec![dim], GgmlDType::F32),
				("attn_q", vec![dim, dim], q4),
				("attn_k", vec![kv, dim], q4),
				("attn_v", vec![kv, dim], q4),
				("attn_output", vec![dim, dim], q4),
				("ffn_gate", vec![ffn, dim], q4),
				("ffn_up", vec![ffn, dim], q4),
				("ffn_down", vec![dim, ffn], q4),
			] {
				let seed = seed + name.len() as u64;
				tensors.push((
					format!("blk.{layer}.{name}.weight"),
					qtensor(&shape, seed, dtype),
				));
			}
		}
		let metadata_refs: Vec<(&str, &gguf_file::Value)> =
			metadata.iter().map(|(k, v)| (*k, v)).collect();
		let tensor_refs: Vec<(&str, &QTensor)> =
			tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
		let mut file = std::fs::File::create(path).expect("create gguf");
		gguf_file::write(&mut file, &metadata_refs, &tensor_refs).expect("write gguf");
	}
}

/// The tiny BERT's WordPiece vocabulary.
pub const TINY_BERT_VOCAB: [&str; 16] = [
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "dog", "sat", "on", "mat", "a", "ran", "##s",
	"fast", "slow", ".",
];

/// Writes a one-layer BERT (width 32) with random weights and its tokenizer and config into
/// `dir` as `model.safetensors`, `tokenizer.json` and `config.json`.
pub fn write_tiny_bert(dir: &Path) {
	let config_json = format!(
		r#"{{"vocab_size": {}, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
		"intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
		"max_position_embeddings": 64, "type_vocab_size": 2, "initializer_range": 0.02,
		"layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"}}"#,
		TINY_BERT_VOCAB.len()
	);
	let config: Config = serde_json::from_str(&config_json).expect("config");
	let varmap = VarMap::new();
	let vars = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
	BertModel::load(vars, &config).expect("initialise tiny bert");
	varmap
		.save(dir.join("model.safetensors"))
		.expect("save weights");
	std::fs::write(dir.join("config.json"), config_json).expect("write config");
	let vocab: Vec<String> = TINY_BERT_VOCAB
		.iter()
		.enumerate()
		.map(|(id, token)| format!("\"{token}\": {id}"))
		.collect();
	let special = |id: usize, token: &str| {
		format!(
			r#"{{"id": {id}, "content": "{token}", "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true}}"#
		)
	};
	let tokenizer_json = format!(
		r###"{{"version": "1.0", "truncation": null, "padding": null,
		"added_tokens": [{}, {}, {}, {}],
		"normalizer": {{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": null, "lowercase": true}},
		"pre_tokenizer": {{"type": "BertPreTokenizer"}},
		"post_processor": {{"type": "TemplateProcessing",
			"single": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}},
				{{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}],
			"pair": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}},
				{{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}, {{"Sequence": {{"id": "B", "type_id": 1}}}},
				{{"SpecialToken": {{"id": "[SEP]", "type_id": 1}}}}],
			"special_tokens": {{"[CLS]": {{"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}},
				"[SEP]": {{"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}}}},
		"decoder": {{"type": "WordPiece", "prefix": "##", "cleanup": true}},
		"model": {{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": {{{}}}}}}}"###,
		special(0, "[PAD]"),
		special(1, "[UNK]"),
		special(2, "[CLS]"),
		special(3, "[SEP]"),
		vocab.join(", ")
	);
	std::fs::write(dir.join("tokenizer.json"), tokenizer_json).expect("write tokenizer");
}
