//! SmolLM2's forward pass (llama architecture) on Verity's own kernels.
//!
//! The linear layers run on the repacked GGUF blocks through [`super::kernels`]; everything else
//! (RMS norm, RoPE, attention, SiLU) is plain Rust written so that each output value comes from
//! one fixed sequence of f32 operations:
//! - element-wise loops (one value per output) are the only loops the compiler vectorizes, and
//!   vectorizing them cannot change a result (Rust never contracts `a * b + c` into an FMA);
//! - sums over many values (RMS norm, softmax) use [`sum16`]: 16 strided partial sums, then a
//!   fixed pairwise tree;
//! - `exp` is [`exp_f32`], a polynomial in basic operations (not the platform's libm);
//!   `sin`/`cos` for RoPE are taken in f64 and rounded to f32.
//!
//! Work is split across threads by output rows (matrices) and by (token, head) (attention);
//! which thread computes a value never changes how it is computed, so 1 and 2 threads give the
//! same bits. A token's values are also the same whether it is computed in the prefill batch or
//! alone in a decode step.

use std::sync::Mutex;

use candle_core::quantized::{gguf_file::Content, GgmlDType};

use super::kernels::{Kernel, QMatrix, QuantizedRows, WeightFormat, GROUP};
use crate::{Error, Result};

/// Rows per piece when rows are split across the pool (norms, activation quantization).
const ROWS_PER_PIECE: usize = 8;
/// Batches of at least this many tokens split a matrix product by tokens (each piece over
/// every row group, written token-major in place); smaller ones split it by row groups.
const TOKEN_SPLIT_ROWS: usize = 32;
/// Tokens per piece of a product split by tokens (one AVX-512 tile; 8, 16 and 24 measured
/// within noise of each other, smaller pieces balance the threads better).
const TOKENS_PER_PIECE: usize = 8;
/// Pieces per thread of a product split by row groups.
const PIECES_PER_THREAD: usize = 2;

/// Hyper-parameters read from the GGUF.
#[derive(Clone, Debug)]
pub struct Config {
	layers: usize,
	dim: usize,
	heads: usize,
	kv_heads: usize,
	head_dim: usize,
	ff: usize,
	vocab: usize,
	eps: f32,
	rope_base: f32,
}

struct Layer {
	attn_norm: Vec<f32>,
	/// Q, K and V rows stacked (dim + 2 · kv_dim rows).
	qkv: QMatrix,
	wo: QMatrix,
	ffn_norm: Vec<f32>,
	/// Gate and up rows stacked (2 · ff rows).
	gate_up: QMatrix,
	down: QMatrix,
}

/// The model's weights, repacked for the kernels.
pub struct Llama {
	config: Config,
	embedding: QMatrix,
	output: Option<QMatrix>,
	layers: Vec<Layer>,
	output_norm: Vec<f32>,
	inv_freq: Vec<f32>,
	kernel: Kernel,
	threads: usize,
}

/// Keys and values of the positions seen so far, for every layer.
pub struct KvCache {
	capacity: usize,
	/// Positions stored per row: `capacity` rounded up to a multiple of 64, so that blocks of
	/// 64 scores can always be read whole (the positions past the last are computed and
	/// dropped).
	stride: usize,
	len: usize,
	/// Per (layer, kv head): `head_dim × stride`, transposed so that a query's scores are
	/// element-wise over positions.
	keys: Vec<f32>,
	/// Per (layer, kv head): `stride × head_dim`.
	values: Vec<f32>,
}

impl KvCache {
	/// Positions cached.
	pub fn len(&self) -> usize {
		self.len
	}

	/// True before the first token.
	pub fn is_empty(&self) -> bool {
		self.len == 0
	}
}

fn tensor_bytes<'a>(
	content: &Content,
	bytes: &'a [u8],
	name: &str,
) -> Result<(&'a [u8], GgmlDType, Vec<usize>)> {
	let info = content
		.tensor_infos
		.get(name)
		.ok_or_else(|| Error::UnsupportedModel(format!("no tensor `{name}`")))?;
	let dims = info.shape.dims().to_vec();
	let elements: usize = dims.iter().product();
	let dtype = info.ggml_dtype;
	let size = elements / dtype.block_size() * dtype.type_size();
	let start = usize::try_from(content.tensor_data_offset + info.offset)
		.map_err(|_| Error::UnsupportedModel(format!("tensor `{name}` offset")))?;
	let data = bytes.get(start..start + size).ok_or_else(|| {
		Error::UnsupportedModel(format!("tensor `{name}` past the end of the file"))
	})?;
	Ok((data, dtype, dims))
}

fn weight_format(name: &str, dtype: GgmlDType) -> Result<WeightFormat> {
	match dtype {
		GgmlDType::Q4_1 => Ok(WeightFormat::Q4_1),
		GgmlDType::Q8_0 => Ok(WeightFormat::Q8_0),
		other => Err(Error::UnsupportedModel(format!(
			"tensor `{name}` is {other:?} (the engine runs Q4_1 and Q8_0)"
		))),
	}
}

/// Rows stacked from several tensors of one format and width.
fn stacked(content: &Content, bytes: &[u8], names: &[String], k: usize) -> Result<QMatrix> {
	let mut data = Vec::new();
	let mut rows = 0;
	let mut format = None;
	for name in names {
		let (raw, dtype, dims) = tensor_bytes(content, bytes, name)?;
		let this = weight_format(name, dtype)?;
		if format.is_some_and(|f| f != this) || dims.len() != 2 || dims[1] != k {
			return Err(Error::UnsupportedModel(format!(
				"tensor `{name}` of shape {dims:?} and type {dtype:?}"
			)));
		}
		format = Some(this);
		rows += dims[0];
		data.extend_from_slice(raw);
	}
	let format = format.ok_or_else(|| Error::UnsupportedModel("no tensors".into()))?;
	QMatrix::from_gguf_blocks(format, rows, k, &data)
}

fn f32_vector(content: &Content, bytes: &[u8], name: &str, len: usize) -> Result<Vec<f32>> {
	let (raw, dtype, dims) = tensor_bytes(content, bytes, name)?;
	if dtype != GgmlDType::F32 || dims != [len] {
		return Err(Error::UnsupportedModel(format!(
			"tensor `{name}` of shape {dims:?} and type {dtype:?}"
		)));
	}
	Ok(raw
		.chunks_exact(4)
		.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
		.collect())
}

fn metadata_usize(content: &Content, key: &str) -> Result<usize> {
	let value = content
		.metadata
		.get(key)
		.ok_or_else(|| Error::UnsupportedModel(format!("no metadata `{key}`")))?;
	Ok(value.to_u32()? as usize)
}

fn metadata_f32(content: &Content, key: &str) -> Result<f32> {
	let value = content
		.metadata
		.get(key)
		.ok_or_else(|| Error::UnsupportedModel(format!("no metadata `{key}`")))?;
	Ok(value.to_f32()?)
}

impl Llama {
	/// Builds the model from a GGUF's metadata and the file's bytes.
	pub fn from_gguf(content: &Content, bytes: &[u8]) -> Result<Self> {
		let dim = metadata_usize(content, "llama.embedding_length")?;
		let heads = metadata_usize(content, "llama.attention.head_count")?;
		let kv_heads = metadata_usize(content, "llama.attention.head_count_kv")?;
		if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
			return Err(Error::UnsupportedModel(format!(
				"{heads} heads, {kv_heads} kv heads, width {dim}"
			)));
		}
		let head_dim = dim / heads;
		let rope_dim = metadata_usize(content, "llama.rope.dimension_count").unwrap_or(head_dim);
		if rope_dim != head_dim || head_dim % 2 != 0 {
			return Err(Error::UnsupportedModel(format!(
				"rope over {rope_dim} of {head_dim} dimensions"
			)));
		}
		let (embedding_raw, embedding_type, embedding_dims) =
			tensor_bytes(content, bytes, "token_embd.weight")?;
		if embedding_dims.len() != 2 || embedding_dims[1] != dim {
			return Err(Error::UnsupportedModel(format!(
				"token embedding of shape {embedding_dims:?}"
			)));
		}
		let vocab = embedding_dims[0];
		let config = Config {
			layers: metadata_usize(content, "llama.block_count")?,
			dim,
			heads,
			kv_heads,
			head_dim,
			ff: tensor_bytes(content, bytes, "blk.0.ffn_gate.weight")?.2[0],
			vocab,
			eps: metadata_f32(content, "llama.attention.layer_norm_rms_epsilon")?,
			rope_base: metadata_f32(content, "llama.rope.freq_base").unwrap_or(10_000.0),
		};
		let embedding = QMatrix::from_gguf_blocks(
			weight_format("token_embd.weight", embedding_type)?,
			vocab,
			dim,
			embedding_raw,
		)?;
		let output = if content.tensor_infos.contains_key("output.weight") {
			Some(stacked(
				content,
				bytes,
				&["output.weight".to_string()],
				dim,
			)?)
		} else {
			None
		};
		let mut layers = Vec::with_capacity(config.layers);
		for l in 0..config.layers {
			let name = |t: &str| format!("blk.{l}.{t}.weight");
			layers.push(Layer {
				attn_norm: f32_vector(content, bytes, &name("attn_norm"), dim)?,
				qkv: stacked(
					content,
					bytes,
					&[name("attn_q"), name("attn_k"), name("attn_v")],
					dim,
				)?,
				wo: stacked(content, bytes, &[name("attn_output")], dim)?,
				ffn_norm: f32_vector(content, bytes, &name("ffn_norm"), dim)?,
				gate_up: stacked(content, bytes, &[name("ffn_gate"), name("ffn_up")], dim)?,
				down: stacked(content, bytes, &[name("ffn_down")], config.ff)?,
			});
			let layer = layers
				.last()
				.ok_or_else(|| Error::UnsupportedModel("layers".into()))?;
			if layer.qkv.n() != dim + 2 * kv_heads * head_dim
				|| layer.wo.n() != dim
				|| layer.gate_up.n() != 2 * config.ff
				|| layer.down.n() != dim
			{
				return Err(Error::UnsupportedModel(format!(
					"layer {l}'s matrix shapes"
				)));
			}
		}
		let inv_freq = (0..head_dim / 2)
			.map(|i| {
				(1.0 / f64::from(config.rope_base).powf(2.0 * i as f64 / head_dim as f64)) as f32
			})
			.collect();
		Ok(Self {
			output_norm: f32_vector(content, bytes, "output_norm.weight", dim)?,
			config,
			embedding,
			output,
			layers,
			inv_freq,
			kernel: Kernel::detect(),
			threads: usize::MAX,
		})
	}

	/// The kernel the matrices run on.
	pub fn kernel(&self) -> Kernel {
		self.kernel
	}

	/// Runs the matrices on `kernel` (every kernel gives the same bits; for tests and
	/// benchmarks). A kernel this CPU lacks falls back to the best one it has.
	pub fn set_kernel(&mut self, kernel: Kernel) {
		self.kernel = if Kernel::available().contains(&kernel) {
			kernel
		} else {
			Kernel::best_available()
		};
	}

	/// Uses at most `threads` threads of the compute pool (at least 1).
	pub fn set_max_threads(&mut self, threads: usize) {
		self.threads = threads.max(1);
	}

	/// Vocabulary size (logits per position).
	pub fn vocab(&self) -> usize {
		self.config.vocab
	}

	/// An empty cache for up to `capacity` positions.
	pub fn new_cache(&self, capacity: usize) -> KvCache {
		let c = &self.config;
		let stride = capacity.next_multiple_of(64);
		let size = c.layers * c.kv_heads * c.head_dim * stride;
		KvCache {
			capacity,
			stride,
			len: 0,
			keys: vec![0.0; size],
			values: vec![0.0; size],
		}
	}

	fn pool_threads(&self) -> usize {
		super::pool::pool().threads().min(self.threads)
	}

	/// Runs `f(index, piece)` for every piece, on the compute pool.
	fn par_pieces<P: Send, F: Fn(usize, P) + Sync>(&self, pieces: Vec<P>, f: F) {
		if self.pool_threads() <= 1 || pieces.len() <= 1 {
			for (i, piece) in pieces.into_iter().enumerate() {
				f(i, piece);
			}
			return;
		}
		let slots: Vec<Mutex<Option<P>>> =
			pieces.into_iter().map(|p| Mutex::new(Some(p))).collect();
		super::pool::pool().run(slots.len(), |i| {
			let piece = slots[i]
				.lock()
				.unwrap_or_else(|poisoned| poisoned.into_inner())
				.take();
			if let Some(piece) = piece {
				f(i, piece);
			}
		});
	}

	/// Runs `f(index, chunk)` over the `chunk`-sized pieces of `data`, on the compute pool.
	fn par_chunks<F: Fn(usize, &mut [f32]) + Sync>(&self, data: &mut [f32], chunk: usize, f: F) {
		self.par_pieces(data.chunks_mut(chunk).collect(), f);
	}

	/// `out` (token-major, rows × n) = `x` · `mᵀ`.
	fn matmul(&self, m: &QMatrix, x: &QuantizedRows, grouped: &mut Vec<f32>, out: &mut Vec<f32>) {
		let rows = x.rows();
		let kernel = self.kernel;
		if rows >= TOKEN_SPLIT_ROWS {
			// Pieces of tokens, each over every group, written token-major in place.
			let n = m.n();
			// Every value is overwritten by the kernels: resize without clearing.
			out.resize(rows * n, 0.0);
			self.par_chunks(out, TOKENS_PER_PIECE * n, |i, piece| {
				let first = i * TOKENS_PER_PIECE;
				m.matmul_tokens(kernel, x, first..first + piece.len() / n, piece);
			});
			return;
		}
		let groups = m.groups();
		// Two pieces per thread: each thread streams long runs of weights (the hardware
		// prefetchers follow them), and a thread the OS has not scheduled still leaves work
		// to take over. Measured here (decode, 2 threads): 16 pieces 208–233 tok/s, 4 pieces
		// 233–262.
		let per_piece = groups
			.div_ceil(self.pool_threads() * PIECES_PER_THREAD)
			.max(1);
		// One row of activations: the group-major layout is the output's.
		let target = if rows == 1 { &mut *out } else { &mut *grouped };
		target.resize(groups * rows * GROUP, 0.0);
		self.par_chunks(target, per_piece * rows * GROUP, |i, piece| {
			let first = i * per_piece;
			let count = piece.len() / (rows * GROUP);
			m.matmul_groups(kernel, x, first..first + count, piece);
		});
		if rows == 1 {
			out.truncate(m.n());
			return;
		}
		out.resize(rows * m.n(), 0.0);
		for g in 0..groups {
			let width = GROUP.min(m.n() - g * GROUP);
			for t in 0..rows {
				out[t * m.n() + g * GROUP..][..width]
					.copy_from_slice(&grouped[(g * rows + t) * GROUP..][..width]);
			}
		}
	}

	/// Feeds `tokens` at the cache's next positions; returns the logits of the last one.
	pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
		let c = &self.config;
		let (dim, hd) = (c.dim, c.head_dim);
		let kv_dim = c.kv_heads * hd;
		let t_len = tokens.len();
		let start = cache.len;
		if t_len == 0 || start + t_len > cache.capacity {
			return Err(Error::UnsupportedModel(format!(
				"{t_len} tokens at position {start} in a cache of {}",
				cache.capacity
			)));
		}
		let mut x = vec![0f32; t_len * dim];
		for (t, &token) in tokens.iter().enumerate() {
			let row = token as usize;
			if row >= c.vocab {
				return Err(Error::UnsupportedModel(format!(
					"token id {token} out of the vocabulary"
				)));
			}
			self.embedding.dequantize_row(row, &mut x[t * dim..][..dim]);
		}
		let mut xq = QuantizedRows::default();
		let (mut qkv, mut proj, mut gate_up) = (Vec::new(), Vec::new(), Vec::new());
		let mut grouped = Vec::new();
		let angles: Vec<Vec<(f32, f32)>> =
			(0..t_len).map(|t| self.rope_angles(start + t)).collect();
		let mut attn = vec![0f32; t_len * dim];
		let qkv_width = dim + 2 * kv_dim;
		for (l, layer) in self.layers.iter().enumerate() {
			self.norm_quantize(&x, &layer.attn_norm, &mut xq);
			self.matmul(&layer.qkv, &xq, &mut grouped, &mut qkv);
			self.par_chunks(&mut qkv, qkv_width, |t, row| {
				for head in row[..dim + kv_dim].chunks_exact_mut(hd) {
					Self::rope(head, &angles[t]);
				}
			});
			self.store_kv(l, &qkv, start, cache);
			self.attention(l, &qkv, start, cache, &mut attn);
			self.quantize(&attn, dim, &mut xq);
			self.matmul(&layer.wo, &xq, &mut grouped, &mut proj);
			add_in_place(&mut x, &proj);
			self.norm_quantize(&x, &layer.ffn_norm, &mut xq);
			self.matmul(&layer.gate_up, &xq, &mut grouped, &mut gate_up);
			self.swiglu_quantize(&gate_up, &mut xq);
			self.matmul(&layer.down, &xq, &mut grouped, &mut proj);
			add_in_place(&mut x, &proj);
		}
		cache.len = start + t_len;
		self.norm_quantize(&x[(t_len - 1) * dim..], &self.output_norm, &mut xq);
		let mut logits = Vec::new();
		self.matmul(
			self.output.as_ref().unwrap_or(&self.embedding),
			&xq,
			&mut grouped,
			&mut logits,
		);
		Ok(logits)
	}

	/// [`rms_norm`] of each row of `x`, quantized into `xq`; rows split across the pool.
	fn norm_quantize(&self, x: &[f32], weight: &[f32], xq: &mut QuantizedRows) {
		let dim = weight.len();
		let (eps, kernel) = (self.config.eps, self.kernel);
		xq.reshape(x.len() / dim, dim);
		self.par_pieces(xq.pieces_mut(ROWS_PER_PIECE), |i, mut piece| {
			let mut normed = vec![0f32; dim];
			for r in 0..piece.rows() {
				let t = i * ROWS_PER_PIECE + r;
				rms_norm(&x[t * dim..][..dim], weight, eps, &mut normed);
				piece.quantize_row(kernel, r, &normed);
			}
		});
	}

	/// Each row of `x` (rows of `k` values) quantized into `xq`; rows split across the pool.
	fn quantize(&self, x: &[f32], k: usize, xq: &mut QuantizedRows) {
		let kernel = self.kernel;
		xq.reshape(x.len() / k, k);
		self.par_pieces(xq.pieces_mut(ROWS_PER_PIECE), |i, mut piece| {
			let rows = piece.rows();
			piece.quantize(kernel, &x[i * ROWS_PER_PIECE * k..][..rows * k]);
		});
	}

	/// [`swiglu`] of each row of `gate_up` (gate and up side by side), quantized into `xq`;
	/// rows split across the pool.
	fn swiglu_quantize(&self, gate_up: &[f32], xq: &mut QuantizedRows) {
		let ff = self.config.ff;
		let kernel = self.kernel;
		xq.reshape(gate_up.len() / (2 * ff), ff);
		self.par_pieces(xq.pieces_mut(ROWS_PER_PIECE), |i, mut piece| {
			let mut act = vec![0f32; ff];
			for r in 0..piece.rows() {
				let row = &gate_up[(i * ROWS_PER_PIECE + r) * 2 * ff..][..2 * ff];
				swiglu(kernel, &row[..ff], &row[ff..], &mut act);
				piece.quantize_row(kernel, r, &act);
			}
		});
	}

	/// Writes the keys and values of the batch (rows of `qkv`, RoPE applied) into layer `l`
	/// of the cache at positions `start..`; kv heads split across the pool.
	fn store_kv(&self, l: usize, qkv: &[f32], start: usize, cache: &mut KvCache) {
		let c = &self.config;
		let (dim, hd, stride) = (c.dim, c.head_dim, cache.stride);
		let kv_dim = c.kv_heads * hd;
		let qkv_width = dim + 2 * kv_dim;
		let layer = l * c.kv_heads * hd * stride..(l + 1) * c.kv_heads * hd * stride;
		let pieces: Vec<_> = cache.keys[layer.clone()]
			.chunks_mut(hd * stride)
			.zip(cache.values[layer].chunks_mut(hd * stride))
			.collect();
		let store = |kvh: usize, (keys, values): (&mut [f32], &mut [f32])| {
			for (t, row) in qkv.chunks_exact(qkv_width).enumerate() {
				let position = start + t;
				for d in 0..hd {
					keys[d * stride + position] = row[dim + kvh * hd + d];
				}
				values[position * hd..][..hd]
					.copy_from_slice(&row[dim + kv_dim + kvh * hd..][..hd]);
			}
		};
		// A few tokens are not worth waking the pool for.
		if qkv.len() / qkv_width < ROWS_PER_PIECE {
			pieces
				.into_iter()
				.enumerate()
				.for_each(|(kvh, piece)| store(kvh, piece));
		} else {
			self.par_pieces(pieces, store);
		}
	}

	/// `(sin, cos)` of `position · inv_freq[i]` for each pair.
	fn rope_angles(&self, position: usize) -> Vec<(f32, f32)> {
		self.inv_freq
			.iter()
			.map(|&f| {
				let angle = f64::from(position as f32 * f);
				(angle.sin() as f32, angle.cos() as f32)
			})
			.collect()
	}

	/// Rotates pairs (2i, 2i+1) by the angles (GGUF llama's interleaved RoPE).
	fn rope(head: &mut [f32], sin_cos: &[(f32, f32)]) {
		for (pair, &(sin, cos)) in head.chunks_exact_mut(2).zip(sin_cos) {
			let (a, b) = (pair[0], pair[1]);
			pair[0] = a * cos - b * sin;
			pair[1] = a * sin + b * cos;
		}
	}

	/// Causal attention of every (token, head) of the batch over the cache.
	fn attention(&self, l: usize, qkv: &[f32], start: usize, cache: &KvCache, out: &mut [f32]) {
		let c = &self.config;
		let hd = c.head_dim;
		let qkv_width = c.dim + 2 * c.kv_heads * hd;
		let group = c.heads / c.kv_heads;
		let stride = cache.stride;
		let kernel = self.kernel;
		// One task per (token, kv head): its query heads share one pass over the keys and values
		// (a decode step split by query heads instead was slower: 9 passes, load-bound).
		self.par_chunks(out, group * hd, |i, out| {
			let (t, kvh) = (i / c.kv_heads, i % c.kv_heads);
			let base = (l * c.kv_heads + kvh) * hd * stride;
			let queries = &qkv[t * qkv_width + kvh * group * hd..][..group * hd];
			let positions = start + t + 1;
			let mut scores = vec![0f32; group * positions];
			attention_heads(
				kernel,
				hd,
				queries,
				&cache.keys[base..][..hd * stride],
				&cache.values[base..][..hd * stride],
				stride,
				&mut scores,
				out,
			);
		});
	}
}

/// `out = x / sqrt(mean(x²) + eps) · weight`, row by row.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
	let dim = weight.len();
	for (row, out) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
		let sum = sum16(row, |v| v * v);
		let scale = (sum / dim as f32 + eps).sqrt();
		for ((o, &v), &w) in out.iter_mut().zip(row).zip(weight) {
			*o = (v / scale) * w;
		}
	}
}

fn add_in_place(x: &mut [f32], y: &[f32]) {
	for (a, &b) in x.iter_mut().zip(y) {
		*a += b;
	}
}

/// Σ f(v) in a fixed order: 16 strided partial sums (lane i takes values i, i+16, ...), then
/// the pairwise tree 8, 4, 2, 1.
#[inline(always)]
pub fn sum16(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
	let mut lanes = [0f32; 16];
	let mut chunks = values.chunks_exact(16);
	for chunk in &mut chunks {
		for (lane, &v) in lanes.iter_mut().zip(chunk) {
			*lane += f(v);
		}
	}
	for (lane, &v) in lanes.iter_mut().zip(chunks.remainder()) {
		*lane += f(v);
	}
	for width in [8, 4, 2, 1] {
		for i in 0..width {
			lanes[i] += lanes[i + width];
		}
	}
	lanes[0]
}

/// `e^x` from basic f32 operations (Cephes' `expf` polynomial, relative error about 2e-7), the
/// same bits on every machine; inputs are clamped to [-87, 88].
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
	const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
	let x = x.clamp(-87.0, 88.0);
	let shifted = x * std::f32::consts::LOG2_E + MAGIC;
	let n = shifted - MAGIC;
	let exponent = (shifted.to_bits() as i32).wrapping_sub(0x4b40_0000);
	let r = x - n * 0.693_359_4;
	let r = r - n * -2.121_944_4e-4;
	let mut p = 1.987_569_1e-4f32;
	p = p * r + 1.398_199_9e-3;
	p = p * r + 8.333_452e-3;
	p = p * r + 4.166_579_6e-2;
	p = p * r + 1.666_666_5e-1;
	p = p * r + 0.5; // Cephes' 5.0000001e-1, which rounds to 0.5 in f32
	let e = p * (r * r) + r + 1.0;
	e * f32::from_bits(((exponent + 127) << 23) as u32)
}

multiversion! {
	/// `out = silu(gate) · up`, `silu(g) = g / (1 + e^-g)`.
	fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
		for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
			*o = (g / (1.0 + exp_f32(-g))) * u;
		}
	}
}

/// Scores of `G` query heads (`queries`, G × hd) against positions `j..j + width` (width ≤
/// 64): each a sequential sum over the head's dimensions, one lane per (head, position).
/// `keys` rows hold `capacity` positions, a multiple of 16, so the block is computed in whole
/// registers of 16 lanes (the lanes past `width` are computed and dropped).
#[inline(always)]
fn score_block<const G: usize>(
	queries: &[f32],
	keys: &[f32],
	capacity: usize,
	j: usize,
	width: usize,
	scores: &mut [f32],
	n: usize,
) {
	match width.next_multiple_of(16) {
		64 => score_lanes::<G, 64>(queries, keys, capacity, j, width, scores, n),
		48 => score_lanes::<G, 48>(queries, keys, capacity, j, width, scores, n),
		32 => score_lanes::<G, 32>(queries, keys, capacity, j, width, scores, n),
		_ => score_lanes::<G, 16>(queries, keys, capacity, j, width, scores, n),
	}
}

/// [`score_block`] over `L` lanes (`L ≥ width`; `j + L ≤ capacity`, since `j` is a multiple of
/// 64 and `capacity` one of 16): the accumulators stay in registers.
#[inline(always)]
fn score_lanes<const G: usize, const L: usize>(
	queries: &[f32],
	keys: &[f32],
	capacity: usize,
	j: usize,
	width: usize,
	scores: &mut [f32],
	n: usize,
) {
	let hd = queries.len() / G;
	let mut lanes = [[0f32; L]; G];
	for d in 0..hd {
		let keys: &[f32; L] = keys[d * capacity + j..][..L].try_into().expect("L keys");
		for (h, lanes) in lanes.iter_mut().enumerate() {
			let q = queries[h * hd + d];
			for i in 0..L {
				lanes[i] = q.mul_add(keys[i], lanes[i]);
			}
		}
	}
	for (h, lanes) in lanes.iter().enumerate() {
		scores[h * n + j..][..width].copy_from_slice(&lanes[..width]);
	}
}

/// `out_h = Σ_j p_h[j] · v_j` for `G` heads, each output a sequential sum over positions.
#[inline(always)]
fn weighted_values<const G: usize>(
	probabilities: &[f32],
	values: &[f32],
	n: usize,
	out: &mut [f32],
) {
	let mut acc = [[0f32; 64]; G];
	for j in 0..n {
		let values: &[f32; 64] = values[j * 64..][..64].try_into().expect("64 values");
		for (h, acc) in acc.iter_mut().enumerate() {
			let p = probabilities[h * n + j];
			for i in 0..64 {
				acc[i] = p.mul_add(values[i], acc[i]);
			}
		}
	}
	for (h, acc) in acc.iter().enumerate() {
		out[h * 64..][..64].copy_from_slice(acc);
	}
}

multiversion! {
	/// The query heads of one kv head, for one query position, over the cached positions
	/// `0..n` (`n = scores.len() / heads`): scores `q·k / sqrt(d)` (each a sequential sum over
	/// d), softmax, `Σ p · v` (a sequential sum over positions). Every head gets the same bits
	/// whether it is computed alone or with the others. The cache rows hold `capacity`
	/// positions, a multiple of 16 (the cache's stride is one of 64).
	fn attention_heads(hd: usize, queries: &[f32], keys: &[f32], values: &[f32], capacity: usize, scores: &mut [f32], out: &mut [f32]) {
		assert!(capacity.is_multiple_of(16), "cache rows of a multiple of 16 positions");
		if hd != 64 {
			attention_any(hd, queries, keys, values, capacity, scores, out);
			return;
		}
		let heads = queries.len() / 64;
		let n = scores.len() / heads;
		let mut j = 0;
		while j < n {
			let width = 64.min(n - j);
			match heads {
				3 => score_block::<3>(queries, keys, capacity, j, width, scores, n),
				2 => score_block::<2>(queries, keys, capacity, j, width, scores, n),
				_ => {
					for h in 0..heads {
						score_block::<1>(&queries[h * 64..][..64], keys, capacity, j, width, &mut scores[h * n..][..n], n);
					}
				}
			}
			j += width;
		}
		for h in 0..heads {
			softmax_scaled(&mut scores[h * n..][..n], 8.0);
		}
		match heads {
			3 => weighted_values::<3>(scores, values, n, out),
			2 => weighted_values::<2>(scores, values, n, out),
			_ => {
				for h in 0..heads {
					weighted_values::<1>(&scores[h * n..][..n], values, n, &mut out[h * 64..][..64]);
				}
			}
		}
	}
}

/// `a` if `a > b`, else `b`: a NaN `a` never wins, and the compiler emits one `maxps` for it
/// (`f32::max` needs extra NaN handling that keeps loops from vectorizing).
#[inline(always)]
fn larger(b: f32, a: f32) -> f32 {
	if a > b {
		a
	} else {
		b
	}
}

/// Scores divided by `scale`, then softmax (max subtracted, [`exp_f32`], [`sum16`]).
#[inline(always)]
fn softmax_scaled(scores: &mut [f32], scale: f32) {
	for s in scores.iter_mut() {
		*s /= scale;
	}
	// The maximum over 16 lanes, so the loop vectorizes. A maximum does not depend on the
	// order (each lane starts at -inf, a NaN never wins) except for the sign of a zero
	// maximum, which cannot change `s - max` beyond the sign of a zero, nor `exp` of it.
	let mut lanes = [f32::NEG_INFINITY; 16];
	let mut chunks = scores.chunks_exact(16);
	for chunk in &mut chunks {
		for (lane, &s) in lanes.iter_mut().zip(chunk) {
			*lane = larger(*lane, s);
		}
	}
	for (lane, &s) in lanes.iter_mut().zip(chunks.remainder()) {
		*lane = larger(*lane, s);
	}
	let max = lanes.iter().fold(f32::NEG_INFINITY, |m, &l| larger(m, l));
	for s in scores.iter_mut() {
		*s = exp_f32(*s - max);
	}
	let sum = sum16(scores, |v| v);
	for s in scores.iter_mut() {
		*s /= sum;
	}
}

/// Attention for any head size (the same operations, one head at a time).
#[inline(always)]
fn attention_any(
	hd: usize,
	queries: &[f32],
	keys: &[f32],
	values: &[f32],
	capacity: usize,
	scores: &mut [f32],
	out: &mut [f32],
) {
	let heads = queries.len() / hd;
	let n = scores.len() / heads;
	for h in 0..heads {
		let query = &queries[h * hd..][..hd];
		let scores = &mut scores[h * n..][..n];
		for (j, s) in scores.iter_mut().enumerate() {
			let mut acc = 0f32;
			for (d, &q) in query.iter().enumerate() {
				acc = q.mul_add(keys[d * capacity + j], acc);
			}
			*s = acc;
		}
		softmax_scaled(scores, (hd as f32).sqrt());
		let out = &mut out[h * hd..][..hd];
		out.fill(0.0);
		for (j, &p) in scores.iter().enumerate() {
			for (o, &v) in out.iter_mut().zip(&values[j * hd..][..hd]) {
				*o = p.mul_add(v, *o);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn exp_is_close_to_libm() {
		let mut worst = 0f64;
		let mut x = -87.0f32;
		while x < 88.0 {
			let ours = f64::from(exp_f32(x));
			let exact = f64::from(x).exp();
			worst = worst.max(((ours - exact) / exact).abs());
			x += 0.0137;
		}
		assert!(worst < 5e-7, "relative error {worst}");
		assert_eq!(exp_f32(0.0), 1.0);
		assert!(exp_f32(-1000.0) < 1e-37 && exp_f32(1000.0) > 1e38);
	}

	#[test]
	fn sum16_is_a_fixed_tree() {
		let values: Vec<f32> = (0..37).map(|i| 1.0 / (i as f32 + 1.0)).collect();
		let mut lanes = [0f32; 16];
		for (i, v) in values.iter().enumerate() {
			lanes[i % 16] += v;
		}
		for width in [8, 4, 2, 1] {
			for i in 0..width {
				lanes[i] += lanes[i + width];
			}
		}
		assert_eq!(sum16(&values, |v| v).to_bits(), lanes[0].to_bits());
	}

	#[test]
	fn multiversioned_element_wise_code_gives_the_same_bits() {
		let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		let gate: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.037).collect();
		let up: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.91).sin()).collect();
		let mut scalar = vec![0f32; 1000];
		swiglu(Kernel::Scalar, &gate, &up, &mut scalar);
		for kernel in Kernel::available() {
			let mut act = vec![0f32; 1000];
			swiglu(kernel, &gate, &up, &mut act);
			assert_eq!(bits(&act), bits(&scalar), "SiLU on {kernel:?}");
		}
		// (positions per cache row, positions attended): blocks of 64 then 16 lanes (with room
		// to spare, and the row's last positions), 64 then 48, 32 alone.
		for (capacity, n) in [(112, 70), (80, 70), (128, 100), (64, 30)] {
			let (hd, heads) = (64, 3);
			let keys: Vec<f32> = (0..hd * capacity)
				.map(|i| (i as f32 * 0.37).cos())
				.collect();
			let values: Vec<f32> = (0..hd * capacity)
				.map(|i| (i as f32 * 0.11).sin())
				.collect();
			let queries: Vec<f32> = (0..heads * hd)
				.map(|i| (i % 97) as f32 * 0.05 - 1.0)
				.collect();
			// The plain per-position loops: every blocked path must give these bits.
			let mut scores = vec![0f32; heads * n];
			let mut plain = vec![0f32; heads * hd];
			attention_any(
				hd,
				&queries,
				&keys,
				&values,
				capacity,
				&mut scores,
				&mut plain,
			);
			for kernel in [Kernel::Scalar].into_iter().chain(Kernel::available()) {
				let mut scores = vec![0f32; heads * n];
				let mut out = vec![0f32; heads * hd];
				attention_heads(
					kernel,
					hd,
					&queries,
					&keys,
					&values,
					capacity,
					&mut scores,
					&mut out,
				);
				assert_eq!(bits(&out), bits(&plain), "{kernel:?} {capacity}/{n}");
				for h in 0..heads {
					let mut alone = vec![0f32; hd];
					let mut scores = vec![0f32; n];
					attention_heads(
						kernel,
						hd,
						&queries[h * hd..][..hd],
						&keys,
						&values,
						capacity,
						&mut scores,
						&mut alone,
					);
					assert_eq!(
						bits(&alone),
						bits(&out[h * hd..][..hd]),
						"{kernel:?} {capacity}/{n} head {h} alone"
					);
				}
			}
		}
	}
}
