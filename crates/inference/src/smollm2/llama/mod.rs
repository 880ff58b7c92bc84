//! SmolLM2's forward pass (llama architecture) on Verity's own kernels.
//!
//! The linear layers run on the repacked GGUF blocks through [`super::kernels`]; everything else
//! (RMS norm, RoPE, attention, SiLU) is plain Rust written so that each output value comes from
//! one fixed sequence of f32 operations:
//! - element-wise loops (one value per output) are the only loops the compiler vectorizes, and
//!   vectorizing them cannot change a result (Rust never contracts `a * b + c` into an FMA);
//! - sums over many values (RMS norm, softmax) use [`super::numerics::sum16`]: 16 strided
//!   partial sums, then a fixed pairwise tree;
//! - `exp` is [`super::numerics::exp_f32`], a polynomial in basic operations, and RoPE's
//!   `sin`/`cos` come from the pinned pure-Rust `libm` in f64, rounded to f32: nothing calls the
//!   platform's libm ([`super::numerics`]);
//! - the attention's fused multiply-adds are one IEEE operation on every kernel.
//!
//! The weights are read out of the GGUF in `load`, the attention is in `attention`.
//!
//! Work is split across threads by output rows (matrices) and by (token, head) (attention);
//! which thread computes a value never changes how it is computed, so 1 and 2 threads give the
//! same bits. A token's values are also the same whether it is computed in the prefill batch or
//! alone in a decode step.

use std::sync::Mutex;

mod attention;
mod load;

use super::{
	kernels::{Kernel, QMatrix, QuantizedRows, GROUP},
	numerics::{add_in_place, rms_norm, rope_sin_cos, swiglu},
};
use crate::{Error, Result};
use attention::attention_heads;

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

impl Llama {
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
		let angles: Vec<Vec<(f32, f32)>> = (0..t_len)
			.map(|t| rope_sin_cos(start + t, &self.inv_freq))
			.collect();
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
