//! Activations quantized to 8 bits per block of 32 values, as the kernels read them.

use super::{Kernel, BLOCK};

/// 1.5 · 2^23: adding it to an f32 of magnitude below 2^22 rounds it to an integer (ties to
/// even), which the sum's low mantissa bits then hold.
const ROUNDING_MAGIC: f32 = 12_582_912.0;
/// The bits of [`ROUNDING_MAGIC`].
const ROUNDING_MAGIC_BITS: i32 = 0x4b40_0000;

/// Rows of activations quantized to 8 bits per block of 32: `x ≈ d · q`.
#[derive(Clone, Debug, Default)]
pub struct QuantizedRows {
	k: usize,
	rows: usize,
	pub(super) q: Vec<i8>,
	pub(super) d: Vec<f32>,
	/// `d · Σq` per block (the Q4_1 min term).
	pub(super) s: Vec<f32>,
	/// `Σq` per block (the Q8_0 offset correction of the VNNI path).
	pub(super) sum: Vec<i32>,
}

impl QuantizedRows {
	/// Quantizes `x` (`rows` rows of `k` values, `k` a multiple of 32): per block
	/// `d = max|x| / 127`, `q = round(x · (1/d))` (the reciprocal rounded once, clamped to ±127, ties to even).
	pub fn quantize(x: &[f32], k: usize) -> Self {
		Self::quantize_with(Kernel::Scalar, x, k)
	}

	/// [`Self::quantize`] with the element-wise code compiled for `kernel` (the same bits).
	pub fn quantize_with(kernel: Kernel, x: &[f32], k: usize) -> Self {
		assert!(
			k > 0 && x.len().is_multiple_of(k),
			"activations of {} values in rows of {k}",
			x.len()
		);
		let mut rows = Self::default();
		rows.reshape(x.len() / k, k);
		if let Some(mut piece) = rows.pieces_mut(x.len() / k).pop() {
			piece.quantize(kernel, x);
		}
		rows
	}

	/// Sets the shape to `rows` rows of `k` values (`k` a multiple of 32) without quantizing
	/// anything: the caller fills every row through [`Self::pieces_mut`].
	pub fn reshape(&mut self, rows: usize, k: usize) {
		assert!(
			k.is_multiple_of(BLOCK) && k > 0,
			"rows of {k} values (a multiple of {BLOCK})"
		);
		let blocks = rows * k / BLOCK;
		self.k = k;
		self.rows = rows;
		self.q.resize(rows * k, 0);
		self.d.resize(blocks, 0.0);
		self.s.resize(blocks, 0.0);
		self.sum.resize(blocks, 0);
	}

	/// The rows in pieces of `rows_per_piece` rows (the last one may be shorter), each of
	/// which can be quantized on its own thread.
	pub fn pieces_mut(&mut self, rows_per_piece: usize) -> Vec<QuantizedPiece<'_>> {
		let k = self.k;
		let rows_per_piece = rows_per_piece.max(1);
		let blocks = rows_per_piece * self.blocks_per_row();
		self.q
			.chunks_mut(rows_per_piece * k)
			.zip(self.d.chunks_mut(blocks))
			.zip(self.s.chunks_mut(blocks))
			.zip(self.sum.chunks_mut(blocks))
			.map(|(((q, d), s), sum)| QuantizedPiece { k, q, d, s, sum })
			.collect()
	}

	/// Values per row.
	pub fn k(&self) -> usize {
		self.k
	}

	/// Number of rows.
	pub fn rows(&self) -> usize {
		self.rows
	}

	/// Blocks of 32 values per row.
	pub(super) fn blocks_per_row(&self) -> usize {
		self.k / BLOCK
	}
}

/// Some consecutive rows of a [`QuantizedRows`], quantized apart from the others.
pub struct QuantizedPiece<'a> {
	k: usize,
	q: &'a mut [i8],
	d: &'a mut [f32],
	s: &'a mut [f32],
	sum: &'a mut [i32],
}

impl QuantizedPiece<'_> {
	/// Rows in this piece.
	pub fn rows(&self) -> usize {
		self.q.len() / self.k
	}

	/// Quantizes every row of the piece from `x` (`rows() × k` values).
	pub fn quantize(&mut self, kernel: Kernel, x: &[f32]) {
		assert_eq!(x.len(), self.q.len(), "activations for the piece's rows");
		for r in 0..self.rows() {
			self.quantize_row(kernel, r, &x[r * self.k..][..self.k]);
		}
	}

	/// Quantizes row `r` of the piece from `x` (`k` values) with the element-wise code compiled
	/// for `kernel` (every kernel gives the same bits).
	pub fn quantize_row(&mut self, kernel: Kernel, r: usize, x: &[f32]) {
		assert_eq!(x.len(), self.k, "a row of activations");
		let blocks = self.k / BLOCK;
		quantize_blocks(
			kernel,
			x,
			&mut self.q[r * self.k..][..self.k],
			&mut self.d[r * blocks..][..blocks],
			&mut self.s[r * blocks..][..blocks],
			&mut self.sum[r * blocks..][..blocks],
		);
	}
}

multiversion! {
	/// Per block of 32 values of `x`: `d = max|x| / 127` (NaN skipped), `q = round(x · (1/d))`
	/// (the reciprocal rounded once, clamped to ±127, ties to even), `Σq`, `s = d · Σq`. The maximum is an integer maximum over the bits of
	/// `|x|` (any order gives the same), so the loops vectorize.
	fn quantize_blocks(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [f32], sum: &mut [i32]) {
		for (b, (xs, qs)) in x.chunks_exact(BLOCK).zip(q.chunks_exact_mut(BLOCK)).enumerate() {
			// |x| as bits (NaN as 0): for values ≥ +0 the integer order is the float order.
			let mut lanes = [0u32; BLOCK];
			for (lane, v) in lanes.iter_mut().zip(xs) {
				let bits = v.to_bits() & 0x7fff_ffff;
				*lane = if bits > 0x7f80_0000 { 0 } else { bits };
			}
			for width in [16, 8, 4, 2, 1] {
				for i in 0..width {
					lanes[i] = lanes[i].max(lanes[i + width]);
				}
			}
			let scale = f32::from_bits(lanes[0]) / 127.0;
			let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
			let mut ints = [0i32; BLOCK];
			for (int, &v) in ints.iter_mut().zip(xs) {
				// NaN quantizes to 0; the rest is clamped to ±127, then rounded to the nearest
				// integer (ties to even) by adding 1.5 · 2^23, whose low mantissa bits are then
				// that integer (no float-to-int conversion, so the loop vectorizes).
				let r = v * inverse;
				let r = if r.is_nan() { 0.0 } else { r.clamp(-127.0, 127.0) };
				*int = ((r + ROUNDING_MAGIC).to_bits() as i32).wrapping_sub(ROUNDING_MAGIC_BITS);
			}
			let mut total = 0i32;
			for (q, &int) in qs.iter_mut().zip(&ints) {
				*q = int as i8;
				total += int;
			}
			d[b] = scale;
			sum[b] = total;
			s[b] = scale * total as f32;
		}
	}
}
