//! Causal attention of one query position over the cached keys and values, with one fixed
//! order of operations per output (so every head gets the same bits alone or with the others,
//! on every kernel).

use super::super::numerics::{exp_f32, sum16, Fma};

/// Scores of `G` query heads (`queries`, G × hd) against positions `j..j + width` (width ≤
/// 64): each a sequential sum over the head's dimensions, one lane per (head, position).
/// `keys` rows hold `capacity` positions, a multiple of 16, so the block is computed in whole
/// registers of 16 lanes (the lanes past `width` are computed and dropped).
#[inline(always)]
fn score_block<F: Fma, const G: usize>(
	queries: &[f32],
	keys: &[f32],
	capacity: usize,
	j: usize,
	width: usize,
	scores: &mut [f32],
	n: usize,
) {
	match width.next_multiple_of(16) {
		64 => score_lanes::<F, G, 64>(queries, keys, capacity, j, width, scores, n),
		48 => score_lanes::<F, G, 48>(queries, keys, capacity, j, width, scores, n),
		32 => score_lanes::<F, G, 32>(queries, keys, capacity, j, width, scores, n),
		_ => score_lanes::<F, G, 16>(queries, keys, capacity, j, width, scores, n),
	}
}

/// [`score_block`] over `L` lanes (`L ≥ width`; `j + L ≤ capacity`, since `j` is a multiple of
/// 64 and `capacity` one of 16): the accumulators stay in registers.
#[inline(always)]
fn score_lanes<F: Fma, const G: usize, const L: usize>(
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
				lanes[i] = F::fma(q, keys[i], lanes[i]);
			}
		}
	}
	for (h, lanes) in lanes.iter().enumerate() {
		scores[h * n + j..][..width].copy_from_slice(&lanes[..width]);
	}
}

/// `out_h = Σ_j p_h[j] · v_j` for `G` heads, each output a sequential sum over positions.
#[inline(always)]
fn weighted_values<F: Fma, const G: usize>(
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
				acc[i] = F::fma(p, values[i], acc[i]);
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
	pub(super) fn attention_heads(hd: usize, queries: &[f32], keys: &[f32], values: &[f32], capacity: usize, scores: &mut [f32], out: &mut [f32]) {
		assert!(capacity.is_multiple_of(16), "cache rows of a multiple of 16 positions");
		if hd != 64 {
			attention_any::<F>(hd, queries, keys, values, capacity, scores, out);
			return;
		}
		let heads = queries.len() / 64;
		let n = scores.len() / heads;
		let mut j = 0;
		while j < n {
			let width = 64.min(n - j);
			match heads {
				3 => score_block::<F, 3>(queries, keys, capacity, j, width, scores, n),
				2 => score_block::<F, 2>(queries, keys, capacity, j, width, scores, n),
				_ => {
					for h in 0..heads {
						score_block::<F, 1>(&queries[h * 64..][..64], keys, capacity, j, width, &mut scores[h * n..][..n], n);
					}
				}
			}
			j += width;
		}
		for h in 0..heads {
			softmax_scaled(&mut scores[h * n..][..n], 8.0);
		}
		match heads {
			3 => weighted_values::<F, 3>(scores, values, n, out),
			2 => weighted_values::<F, 2>(scores, values, n, out),
			_ => {
				for h in 0..heads {
					weighted_values::<F, 1>(&scores[h * n..][..n], values, n, &mut out[h * 64..][..64]);
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
fn attention_any<F: Fma>(
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
				acc = F::fma(q, keys[d * capacity + j], acc);
			}
			*s = acc;
		}
		softmax_scaled(scores, (hd as f32).sqrt());
		let out = &mut out[h * hd..][..hd];
		out.fill(0.0);
		for (j, &p) in scores.iter().enumerate() {
			for (o, &v) in out.iter_mut().zip(&values[j * hd..][..hd]) {
				*o = F::fma(p, v, *o);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::{
		super::super::{kernels::Kernel, numerics::FmaBaseline},
		*,
	};

	#[test]
	fn attention_gives_the_same_bits_blocked_or_plain_alone_or_together_on_every_kernel() {
		let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		// (positions per cache row, positions attended, query scale): blocks of 64 then 16 lanes
		// (with room to spare, and the row's last positions), 64 then 48, 32 alone; then
		// queries 400 times larger, whose softmax reaches e^-87 and whose `p · v` products are
		// subnormal (what flush-to-zero would change).
		for (capacity, n, scale) in [
			(112, 70, 1.0),
			(80, 70, 1.0),
			(128, 100, 1.0),
			(64, 30, 1.0),
			(128, 100, 400.0),
		] {
			let (hd, heads) = (64, 3);
			let keys: Vec<f32> = (0..hd * capacity)
				.map(|i| (i as f32 * 0.37).cos())
				.collect();
			let values: Vec<f32> = (0..hd * capacity)
				.map(|i| (i as f32 * 0.11).sin())
				.collect();
			let queries: Vec<f32> = (0..heads * hd)
				.map(|i| ((i % 97) as f32 * 0.05 - 1.0) * scale)
				.collect();
			// The plain per-position loops: every blocked path must give these bits.
			let mut scores = vec![0f32; heads * n];
			let mut plain = vec![0f32; heads * hd];
			attention_any::<FmaBaseline>(
				hd,
				&queries,
				&keys,
				&values,
				capacity,
				&mut scores,
				&mut plain,
			);
			let subnormal_products = scores
				.iter()
				.filter(|&&p| p > 0.0 && (p * 0.5).is_subnormal())
				.count();
			assert_eq!(
				subnormal_products > 0,
				scale > 1.0,
				"{capacity}/{n}: probabilities whose products with values are subnormal"
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
