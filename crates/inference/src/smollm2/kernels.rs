//! Quantized matrix kernels for SmolLM2's linear layers, with one fixed summation order.
//!
//! Weights stay in the GGUF's 4-bit (Q4_1) and 8-bit (Q8_0) blocks of 32 values; activations are
//! quantized to 8 bits per block of 32 ([`QuantizedRows`]). Every output value is
//!
//! ```text
//! acc = 0
//! for each block b, in order:
//!     sumi = Σ w_q[j] · x_q[j]                 (exact, in i32)
//!     Q4_1: acc = acc + ((sumi · d_w) · d_x + m_w · s_x)
//!     Q8_0: acc = acc + (sumi · d_w) · d_x
//! ```
//!
//! with each `·` and `+` one IEEE f32 operation (no FMA). The integer part is exact whatever the
//! instruction set, and the SIMD paths run the f32 part with one output row per vector lane, so
//! the scalar, AVX2 and AVX-512 VNNI paths give the same bits (tests below check it on random
//! data). The kernel that runs therefore does not change a result: a worker with AVX2 only
//! reproduces a worker with AVX-512.
//!
//! Weights are repacked at load time into groups of [`GROUP`] rows, so that one SIMD lane holds
//! one row: for each block, 4-byte runs of every row sit side by side, and one broadcast of 4
//! activation bytes multiplies all 16 rows at once (`vpdpbusd` / `vpmaddubsw`).

use crate::{Error, Result};

/// Values per quantization block (Q4_1, Q8_0 and the activations).
pub const BLOCK: usize = 32;
/// Rows per repacked group: one AVX-512 register of f32, two AVX2 registers.
pub const GROUP: usize = 16;

/// The instruction set the matrix kernels use. Every kernel gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
	/// Portable Rust.
	Scalar,
	/// x86-64 AVX2 with F16C and FMA (`vpmaddubsw`).
	Avx2,
	/// x86-64 AVX-512 F/BW with VNNI (`vpdpbusd`).
	Avx512Vnni,
}

impl Kernel {
	/// The fastest kernel this CPU runs; `VERITY_KERNEL=scalar|avx2|avx512vnni` picks one (a
	/// kernel the CPU lacks falls back to the best it has).
	pub fn detect() -> Self {
		let best = Self::best_available();
		match std::env::var("VERITY_KERNEL").ok().as_deref() {
			Some("scalar") => Self::Scalar,
			Some("avx2") if best != Self::Scalar => Self::Avx2,
			_ => best,
		}
	}

	/// The fastest kernel this CPU runs.
	pub fn best_available() -> Self {
		#[cfg(target_arch = "x86_64")]
		{
			if std::arch::is_x86_feature_detected!("avx512f")
				&& std::arch::is_x86_feature_detected!("avx512bw")
				&& std::arch::is_x86_feature_detected!("avx512vnni")
				&& std::arch::is_x86_feature_detected!("fma")
			{
				return Self::Avx512Vnni;
			}
			if std::arch::is_x86_feature_detected!("avx2")
				&& std::arch::is_x86_feature_detected!("f16c")
				&& std::arch::is_x86_feature_detected!("fma")
			{
				return Self::Avx2;
			}
		}
		Self::Scalar
	}

	/// Every kernel this CPU can run (for tests).
	pub fn available() -> Vec<Self> {
		let mut kernels = vec![Self::Scalar];
		let best = Self::best_available();
		if best != Self::Scalar {
			kernels.push(Self::Avx2);
		}
		if best == Self::Avx512Vnni {
			kernels.push(Self::Avx512Vnni);
		}
		kernels
	}

	/// The kernel's name.
	pub fn name(self) -> &'static str {
		match self {
			Self::Scalar => "scalar",
			Self::Avx2 => "avx2",
			Self::Avx512Vnni => "avx512vnni",
		}
	}
}

/// IEEE half to f32 (exact).
pub fn f16_to_f32(bits: u16) -> f32 {
	let sign = u32::from(bits >> 15) << 31;
	let exponent = u32::from((bits >> 10) & 0x1f);
	let mantissa = u32::from(bits & 0x3ff);
	let magnitude = match (exponent, mantissa) {
		(0, 0) => 0,
		(0, m) => {
			// Subnormal: m · 2^-24, exact in f32.
			let value = m as f32 * f32::from_bits(0x3380_0000);
			return if sign == 0 { value } else { -value };
		}
		(0x1f, m) => 0x7f80_0000 | (m << 13),
		(e, m) => ((e + 112) << 23) | (m << 13),
	};
	f32::from_bits(sign | magnitude)
}

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
	q: Vec<i8>,
	d: Vec<f32>,
	/// `d · Σq` per block (the Q4_1 min term).
	s: Vec<f32>,
	/// `Σq` per block (the Q8_0 offset correction of the VNNI path).
	sum: Vec<i32>,
}

impl QuantizedRows {
	/// Quantizes `x` (`rows` rows of `k` values, `k` a multiple of 32): per block
	/// `d = max|x| / 127`, `q = round(x / d)` (ties to even).
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

	fn blocks_per_row(&self) -> usize {
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
	/// Per block of 32 values of `x`: `d = max|x| / 127` (NaN skipped), `q = round(x / d)`
	/// (ties to even), `Σq`, `s = d · Σq`. The maximum is an integer maximum over the bits of
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

/// The two weight formats of SmolLM2's GGUF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
	/// 4-bit with a scale and a minimum per block (20 bytes a block in GGUF).
	Q4_1,
	/// 8-bit with a scale per block (34 bytes a block in GGUF).
	Q8_0,
}

/// A weight matrix of `n` rows × `k` columns, repacked in groups of [`GROUP`] rows.
#[derive(Clone, Debug)]
pub struct QMatrix {
	format: WeightFormat,
	n: usize,
	k: usize,
	/// Q4_1: per (group, block) 256 bytes; chunk c (0..4) holds for each row r the 4 bytes
	/// `qs[4c..4c+4]` (low nibbles: values 4c.., high nibbles: values 16+4c..).
	/// Q8_0: per (group, block) 512 bytes; chunk c (0..8) holds for each row the 4 values 4c...
	quants: Vec<u8>,
	/// Per (group, block): Q4_1 `d[16], m[16]`; Q8_0 `d[16]`, as f16 bits (converted exactly).
	scales: Vec<u16>,
}

impl QMatrix {
	/// Repacks GGUF blocks (`n` rows of `k` values, row-major, `k % 32 == 0`); the last group is
	/// padded with zero rows.
	pub fn from_gguf_blocks(
		format: WeightFormat,
		n: usize,
		k: usize,
		bytes: &[u8],
	) -> Result<Self> {
		if !k.is_multiple_of(BLOCK) || n == 0 {
			return Err(Error::UnsupportedModel(format!(
				"a {n}×{k} matrix (columns must be a multiple of {BLOCK})"
			)));
		}
		let blocks = k / BLOCK;
		let block_bytes = match format {
			WeightFormat::Q4_1 => 20,
			WeightFormat::Q8_0 => 34,
		};
		if bytes.len() != n * blocks * block_bytes {
			return Err(Error::UnsupportedModel(format!(
				"a {n}×{k} {format:?} matrix of {} bytes",
				bytes.len()
			)));
		}
		let groups = n.div_ceil(GROUP);
		let (quant_stride, scale_stride) = Self::strides(format);
		let mut quants = vec![0u8; groups * blocks * quant_stride];
		let mut scales = vec![0u16; groups * blocks * scale_stride];
		let half = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
		for row in 0..n {
			let (g, r) = (row / GROUP, row % GROUP);
			for b in 0..blocks {
				let src = &bytes[(row * blocks + b) * block_bytes..][..block_bytes];
				let gb = g * blocks + b;
				let quant = &mut quants[gb * quant_stride..][..quant_stride];
				let scale = &mut scales[gb * scale_stride..][..scale_stride];
				match format {
					WeightFormat::Q4_1 => {
						scale[r] = half(src, 0);
						scale[GROUP + r] = half(src, 2);
						for c in 0..4 {
							quant[c * 64 + r * 4..][..4].copy_from_slice(&src[4 + c * 4..][..4]);
						}
					}
					WeightFormat::Q8_0 => {
						scale[r] = half(src, 0);
						if src[2..].contains(&0x80) {
							// -128 would overflow the AVX2 sign trick; GGUF quantizers never write it.
							return Err(Error::UnsupportedModel(
								"a Q8_0 block with the value -128".into(),
							));
						}
						for c in 0..8 {
							quant[c * 64 + r * 4..][..4].copy_from_slice(&src[2 + c * 4..][..4]);
						}
					}
				}
			}
		}
		Ok(Self {
			format,
			n,
			k,
			quants,
			scales,
		})
	}

	fn strides(format: WeightFormat) -> (usize, usize) {
		match format {
			WeightFormat::Q4_1 => (256, 2 * GROUP),
			WeightFormat::Q8_0 => (512, GROUP),
		}
	}

	/// Rows (outputs).
	pub fn n(&self) -> usize {
		self.n
	}

	/// Columns (inputs).
	pub fn k(&self) -> usize {
		self.k
	}

	/// Groups of [`GROUP`] rows (the last one padded with zero rows).
	pub fn groups(&self) -> usize {
		self.n.div_ceil(GROUP)
	}

	/// The weight format.
	pub fn format(&self) -> WeightFormat {
		self.format
	}

	/// Row `row` as f32 values (`d · q`, plus `m` for Q4_1): the embedding lookup.
	pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
		let blocks = self.k / BLOCK;
		let (g, r) = (row / GROUP, row % GROUP);
		let (quant_stride, scale_stride) = Self::strides(self.format);
		for b in 0..blocks {
			let gb = g * blocks + b;
			let quant = &self.quants[gb * quant_stride..][..quant_stride];
			let scale = &self.scales[gb * scale_stride..][..scale_stride];
			let out = &mut out[b * BLOCK..][..BLOCK];
			for j in 0..BLOCK {
				out[j] = match self.format {
					WeightFormat::Q4_1 => {
						let byte = quant[(j % 16) / 4 * 64 + r * 4 + j % 4];
						let q = if j < 16 { byte & 0x0f } else { byte >> 4 };
						f32::from(q) * f16_to_f32(scale[r]) + f16_to_f32(scale[GROUP + r])
					}
					WeightFormat::Q8_0 => {
						f32::from(quant[j / 4 * 64 + r * 4 + j % 4] as i8) * f16_to_f32(scale[r])
					}
				};
			}
		}
	}

	/// Computes groups `groups` for every row of `x`: `out[(g - groups.start) · rows · 16 +
	/// t · 16 + r] = row (16g + r) · x_t` (0 for padding rows).
	pub fn matmul_groups(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		groups: std::ops::Range<usize>,
		out: &mut [f32],
	) {
		assert_eq!(x.k(), self.k, "activations of the matrix's width");
		assert!(groups.end <= self.groups());
		assert_eq!(out.len(), groups.len() * x.rows() * GROUP);
		for (g, out) in groups.zip(out.chunks_exact_mut(x.rows() * GROUP)) {
			self.group(kernel, x, 0..x.rows(), g, out, GROUP);
		}
	}

	/// Computes every row for the activation rows `tokens`, token-major:
	/// `out[(t - tokens.start) · n + j] = row j · x_t`. The values are those of
	/// [`Self::matmul_groups`], bit for bit.
	pub fn matmul_tokens(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		tokens: std::ops::Range<usize>,
		out: &mut [f32],
	) {
		assert_eq!(x.k(), self.k, "activations of the matrix's width");
		assert!(tokens.end <= x.rows());
		assert_eq!(out.len(), tokens.len() * self.n);
		if tokens.is_empty() {
			return;
		}
		let full = self.n / GROUP;
		for g in 0..full {
			self.group(kernel, x, tokens.clone(), g, &mut out[g * GROUP..], self.n);
		}
		if full < self.groups() {
			// The padded last group: through a buffer, then its real rows only.
			let width = self.n - full * GROUP;
			let mut last = vec![0f32; tokens.len() * GROUP];
			self.group(kernel, x, tokens.clone(), full, &mut last, GROUP);
			for (t, values) in last.chunks_exact(GROUP).enumerate() {
				out[t * self.n + full * GROUP..][..width].copy_from_slice(&values[..width]);
			}
		}
	}

	/// Group `g` for the activation rows `tokens`: row `r` of the group for token `t` goes
	/// to `out[(t - tokens.start) · stride + r]`.
	fn group(
		&self,
		kernel: Kernel,
		x: &QuantizedRows,
		tokens: std::ops::Range<usize>,
		g: usize,
		out: &mut [f32],
		stride: usize,
	) {
		let blocks = self.k / BLOCK;
		let (quant_stride, scale_stride) = Self::strides(self.format);
		let quants = &self.quants[g * blocks * quant_stride..][..blocks * quant_stride];
		let scales = &self.scales[g * blocks * scale_stride..][..blocks * scale_stride];
		let args = (quants, scales, x, tokens, out, stride);
		match kernel {
			Kernel::Scalar => scalar::group(self.format, args),
			#[cfg(target_arch = "x86_64")]
			Kernel::Avx2 => x86::group_avx2(self.format, args),
			#[cfg(target_arch = "x86_64")]
			Kernel::Avx512Vnni => x86::group_avx512(self.format, args),
			#[cfg(not(target_arch = "x86_64"))]
			_ => scalar::group(self.format, args),
		}
	}
}

/// What a group kernel works on: the group's weights and scales, the activations, the tokens
/// (activation rows), the output and its stride between tokens.
type GroupArgs<'a> = (
	&'a [u8],
	&'a [u16],
	&'a QuantizedRows,
	std::ops::Range<usize>,
	&'a mut [f32],
	usize,
);

/// Checks every length a group kernel relies on.
fn check_lengths(format: WeightFormat, args: &GroupArgs<'_>) {
	let (quants, scales, x, tokens, out, stride) = args;
	let blocks = x.blocks_per_row();
	let (quant_stride, scale_stride) = QMatrix::strides(format);
	assert_eq!(quants.len(), blocks * quant_stride);
	assert_eq!(scales.len(), blocks * scale_stride);
	assert_eq!(x.q.len(), x.rows() * x.k());
	assert!(
		x.d.len() >= x.rows() * blocks
			&& x.s.len() >= x.rows() * blocks
			&& x.sum.len() >= x.rows() * blocks
	);
	assert!(tokens.end <= x.rows() && *stride >= GROUP);
	if !tokens.is_empty() {
		assert!(out.len() >= (tokens.len() - 1) * stride + GROUP);
	}
}

mod scalar {
	use super::*;

	/// The reference: one row and one activation row at a time, in the documented order.
	pub(super) fn group(format: WeightFormat, args: GroupArgs<'_>) {
		check_lengths(format, &args);
		let (quants, scales, x, tokens, out, stride) = args;
		let blocks = x.blocks_per_row();
		let (quant_stride, scale_stride) = QMatrix::strides(format);
		for (o, t) in tokens.enumerate() {
			for r in 0..GROUP {
				let mut acc = 0f32;
				for b in 0..blocks {
					let xb = t * blocks + b;
					let xq = &x.q[xb * BLOCK..][..BLOCK];
					let quant = &quants[b * quant_stride..][..quant_stride];
					let scale = &scales[b * scale_stride..][..scale_stride];
					match format {
						WeightFormat::Q4_1 => {
							let mut sumi = 0i32;
							for c in 0..4 {
								for i in 0..4 {
									let byte = quant[c * 64 + r * 4 + i];
									sumi += i32::from(byte & 0x0f) * i32::from(xq[4 * c + i]);
									sumi += i32::from(byte >> 4) * i32::from(xq[16 + 4 * c + i]);
								}
							}
							let t1 = (sumi as f32 * f16_to_f32(scale[r])) * x.d[xb];
							let t2 = f16_to_f32(scale[GROUP + r]) * x.s[xb];
							acc += t1 + t2;
						}
						WeightFormat::Q8_0 => {
							let mut sumi = 0i32;
							for j in 0..BLOCK {
								sumi += i32::from(quant[j / 4 * 64 + r * 4 + j % 4] as i8)
									* i32::from(xq[j]);
							}
							acc += (sumi as f32 * f16_to_f32(scale[r])) * x.d[xb];
						}
					}
				}
				out[o * stride + r] = acc;
			}
		}
	}
}

#[cfg(target_arch = "x86_64")]
// The kernels index several register arrays (weights, accumulators) by the same chunk or token
// number; iterators over one of them would hide the others.
#[allow(clippy::needless_range_loop)]
mod x86 {
	use std::arch::x86_64::*;

	use super::*;

	/// Runs `body` with `t` bound to each of 0, 1, …, 7 below `T`, written out: the
	/// accumulator arrays indexed by `t` then live in registers (a loop over `t` was not
	/// unrolled by the compiler for T = 4 and 8, which left the accumulators on the stack).
	macro_rules! unrolled {
		($t:ident < $n:ident, $body:block) => {
			unrolled!(@each $t < $n, $body, 0 1 2 3 4 5 6 7)
		};
		(@each $t:ident < $n:ident, $body:block, $($i:literal)*) => {
			$(
				if $i < $n {
					let $t: usize = $i;
					$body
				}
			)*
		};
	}

	/// Software prefetch distance in bytes (4 blocks ahead).
	const PREFETCH_Q4: usize = 4 * 256;
	const PREFETCH_Q8: usize = 4 * 512;

	/// Tokens computed together against one group's unpacked weights.
	const TILE: usize = 4;

	pub(super) fn group_avx2(format: WeightFormat, args: GroupArgs<'_>) {
		assert!(
			std::arch::is_x86_feature_detected!("avx2")
				&& std::arch::is_x86_feature_detected!("f16c")
		);
		check_lengths(format, &args);
		let (quants, scales, x, tokens, out, stride) = args;
		let mut t = tokens.start;
		while t < tokens.end {
			let tile = TILE.min(tokens.end - t);
			let o = (t - tokens.start) * stride;
			// SAFETY: AVX2 is present (asserted above); `check_lengths` bounds every read and
			// write the kernel makes for tokens t..t+tile from output offset `o`.
			unsafe {
				match (format, tile) {
					(WeightFormat::Q4_1, 4) => q4_1_avx2::<4>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q4_1, 3) => q4_1_avx2::<3>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q4_1, 2) => q4_1_avx2::<2>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q4_1, _) => q4_1_avx2::<1>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q8_0, 4) => q8_0_avx2::<4>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q8_0, 3) => q8_0_avx2::<3>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q8_0, 2) => q8_0_avx2::<2>(quants, scales, x, t, out, o, stride),
					(WeightFormat::Q8_0, _) => q8_0_avx2::<1>(quants, scales, x, t, out, o, stride),
				}
			}
			t += tile;
		}
	}

	pub(super) fn group_avx512(format: WeightFormat, args: GroupArgs<'_>) {
		assert!(
			std::arch::is_x86_feature_detected!("avx512f")
				&& std::arch::is_x86_feature_detected!("avx512bw")
				&& std::arch::is_x86_feature_detected!("avx512vnni")
		);
		check_lengths(format, &args);
		let (quants, scales, x, tokens, out, stride) = args;
		let mut t = tokens.start;
		while t < tokens.end {
			let left = tokens.end - t;
			let tile = if left >= 8 {
				8
			} else if left >= 4 {
				4
			} else if left >= 2 {
				2
			} else {
				1
			};
			let o = (t - tokens.start) * stride;
			// SAFETY: AVX-512 F/BW/VNNI are present (asserted above); `check_lengths` bounds
			// every read and write the kernel makes for tokens t..t+tile from output offset `o`.
			unsafe {
				match (format, tile) {
					(WeightFormat::Q4_1, 8) => {
						q4_1_avx512::<8>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q4_1, 4) => {
						q4_1_avx512::<4>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q4_1, 2) => {
						q4_1_avx512::<2>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q4_1, _) => {
						q4_1_avx512::<1>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q8_0, 8) => {
						q8_0_avx512::<8>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q8_0, 4) => {
						q8_0_avx512::<4>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q8_0, 2) => {
						q8_0_avx512::<2>(quants, scales, x, t, out, o, stride)
					}
					(WeightFormat::Q8_0, _) => {
						q8_0_avx512::<1>(quants, scales, x, t, out, o, stride)
					}
				}
			}
			t += tile;
		}
	}

	/// 4 activation bytes (values j..j+4 of the row) broadcast to every 32-bit lane.
	#[inline(always)]
	unsafe fn broadcast4(q: *const i8, j: usize) -> i32 {
		std::ptr::read_unaligned(q.add(j) as *const i32)
	}

	/// Q4_1 × Q8 for 16 rows and T tokens from `t0`, AVX2: rows 0..8 and 8..16 as two halves.
	///
	/// # Safety
	/// AVX2 must be present; lengths as checked by `check_lengths`, `t0 + T <= x.rows()`, and
	/// `out` holds `o0 + (T - 1) · stride + 16` values.
	#[target_feature(enable = "avx2,f16c")]
	unsafe fn q4_1_avx2<const T: usize>(
		quants: &[u8],
		scales: &[u16],
		x: &QuantizedRows,
		t0: usize,
		out: &mut [f32],
		o0: usize,
		stride: usize,
	) {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let low = _mm256_set1_epi8(0x0f);
		let ones = _mm256_set1_epi16(1);
		for half in 0..2 {
			let mut acc = [_mm256_setzero_ps(); T];
			for b in 0..blocks {
				let qp = quants.as_ptr().add(b * 256 + half * 32);
				let mut lo = [_mm256_setzero_si256(); 4];
				let mut hi = [_mm256_setzero_si256(); 4];
				for c in 0..4 {
					let v = _mm256_loadu_si256(qp.add(c * 64) as *const __m256i);
					lo[c] = _mm256_and_si256(v, low);
					hi[c] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
				}
				let sp = scales.as_ptr().add(b * 32 + half * 8);
				let dw = _mm256_cvtph_ps(_mm_loadu_si128(sp as *const __m128i));
				let mw = _mm256_cvtph_ps(_mm_loadu_si128(sp.add(GROUP) as *const __m128i));
				unrolled!(t < T, {
					let xb = (t0 + t) * blocks + b;
					let xq = x.q.as_ptr().add(xb * BLOCK);
					// |15 · 127 · 2| · 8 < 2^15: the 16-bit sums cannot overflow.
					let mut p16 = _mm256_setzero_si256();
					for c in 0..4 {
						let xl = _mm256_set1_epi32(broadcast4(xq, 4 * c));
						let xh = _mm256_set1_epi32(broadcast4(xq, 16 + 4 * c));
						p16 = _mm256_add_epi16(p16, _mm256_maddubs_epi16(lo[c], xl));
						p16 = _mm256_add_epi16(p16, _mm256_maddubs_epi16(hi[c], xh));
					}
					let sumi = _mm256_madd_epi16(p16, ones);
					let t1 = _mm256_mul_ps(
						_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), dw),
						_mm256_set1_ps(*x.d.get_unchecked(xb)),
					);
					let t2 = _mm256_mul_ps(mw, _mm256_set1_ps(*x.s.get_unchecked(xb)));
					acc[t] = _mm256_add_ps(acc[t], _mm256_add_ps(t1, t2));
				});
			}
			for (t, acc) in acc.iter().enumerate() {
				_mm256_storeu_ps(out.as_mut_ptr().add(o0 + t * stride + half * 8), *acc);
			}
		}
	}

	/// Q8_0 × Q8 for 16 rows and T tokens from `t0`, AVX2 (sign trick: |w| · sign(x, w)).
	///
	/// # Safety
	/// As [`q4_1_avx2`]; the weights hold no -128 (checked when repacking).
	#[target_feature(enable = "avx2,f16c")]
	unsafe fn q8_0_avx2<const T: usize>(
		quants: &[u8],
		scales: &[u16],
		x: &QuantizedRows,
		t0: usize,
		out: &mut [f32],
		o0: usize,
		stride: usize,
	) {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let ones = _mm256_set1_epi16(1);
		for half in 0..2 {
			let mut acc = [_mm256_setzero_ps(); T];
			for b in 0..blocks {
				let qp = quants.as_ptr().add(b * 512 + half * 32);
				let mut w = [_mm256_setzero_si256(); 8];
				let mut wabs = [_mm256_setzero_si256(); 8];
				for c in 0..8 {
					w[c] = _mm256_loadu_si256(qp.add(c * 64) as *const __m256i);
					wabs[c] = _mm256_abs_epi8(w[c]);
				}
				let dw = _mm256_cvtph_ps(_mm_loadu_si128(
					scales.as_ptr().add(b * GROUP + half * 8) as *const __m128i,
				));
				unrolled!(t < T, {
					let xb = (t0 + t) * blocks + b;
					let xq = x.q.as_ptr().add(xb * BLOCK);
					let mut sumi = _mm256_setzero_si256();
					for c in 0..8 {
						let xv = _mm256_sign_epi8(_mm256_set1_epi32(broadcast4(xq, 4 * c)), w[c]);
						// |127 · 127 · 2| < 2^15.
						sumi = _mm256_add_epi32(
							sumi,
							_mm256_madd_epi16(_mm256_maddubs_epi16(wabs[c], xv), ones),
						);
					}
					let t1 = _mm256_mul_ps(
						_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), dw),
						_mm256_set1_ps(*x.d.get_unchecked(xb)),
					);
					acc[t] = _mm256_add_ps(acc[t], t1);
				});
			}
			for (t, acc) in acc.iter().enumerate() {
				_mm256_storeu_ps(out.as_mut_ptr().add(o0 + t * stride + half * 8), *acc);
			}
		}
	}

	/// Q4_1 × Q8 for 16 rows and T tokens from `t0`, AVX-512 VNNI.
	///
	/// # Safety
	/// AVX-512 F/BW/VNNI must be present; lengths as checked by `check_lengths`,
	/// `t0 + T <= x.rows()`, and `out` holds `o0 + (T - 1) · stride + 16` values.
	#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
	unsafe fn q4_1_avx512<const T: usize>(
		quants: &[u8],
		scales: &[u16],
		x: &QuantizedRows,
		t0: usize,
		out: &mut [f32],
		o0: usize,
		stride: usize,
	) {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let low = _mm512_set1_epi8(0x0f);
		let mut acc = [_mm512_setzero_ps(); T];
		for b in 0..blocks {
			let qp = quants.as_ptr().add(b * 256);
			// Prefetch hint 4 blocks ahead (addresses past the slice are never dereferenced).
			for line in 0..4 {
				_mm_prefetch::<_MM_HINT_T0>(qp.wrapping_add(PREFETCH_Q4 + line * 64) as *const i8);
			}
			let mut lo = [_mm512_setzero_si512(); 4];
			let mut hi = [_mm512_setzero_si512(); 4];
			for c in 0..4 {
				let v = _mm512_loadu_si512(qp.add(c * 64) as *const _);
				lo[c] = _mm512_and_si512(v, low);
				hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
			}
			let sp = scales.as_ptr().add(b * 32);
			let dw = _mm512_cvtph_ps(_mm256_loadu_si256(sp as *const __m256i));
			let mw = _mm512_cvtph_ps(_mm256_loadu_si256(sp.add(GROUP) as *const __m256i));
			unrolled!(t < T, {
				let xb = (t0 + t) * blocks + b;
				let xq = x.q.as_ptr().add(xb * BLOCK);
				let mut s0 = _mm512_setzero_si512();
				let mut s1 = _mm512_setzero_si512();
				for c in 0..4 {
					s0 = _mm512_dpbusd_epi32(s0, lo[c], _mm512_set1_epi32(broadcast4(xq, 4 * c)));
					s1 = _mm512_dpbusd_epi32(
						s1,
						hi[c],
						_mm512_set1_epi32(broadcast4(xq, 16 + 4 * c)),
					);
				}
				let sumi = _mm512_add_epi32(s0, s1);
				let t1 = _mm512_mul_ps(
					_mm512_mul_ps(_mm512_cvtepi32_ps(sumi), dw),
					_mm512_set1_ps(*x.d.get_unchecked(xb)),
				);
				let t2 = _mm512_mul_ps(mw, _mm512_set1_ps(*x.s.get_unchecked(xb)));
				acc[t] = _mm512_add_ps(acc[t], _mm512_add_ps(t1, t2));
			});
		}
		for (t, acc) in acc.iter().enumerate() {
			_mm512_storeu_ps(out.as_mut_ptr().add(o0 + t * stride), *acc);
		}
	}

	/// Q8_0 × Q8 for 16 rows and T tokens from `t0`, AVX-512 VNNI: `vpdpbusd` takes unsigned
	/// weights, so it runs on `w + 128` and subtracts `128 · Σx` (exact in i32).
	///
	/// # Safety
	/// As [`q4_1_avx512`].
	#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
	unsafe fn q8_0_avx512<const T: usize>(
		quants: &[u8],
		scales: &[u16],
		x: &QuantizedRows,
		t0: usize,
		out: &mut [f32],
		o0: usize,
		stride: usize,
	) {
		const { assert!(T >= 1 && T <= 8, "tiles of 1 to 8 tokens (`unrolled!`)") };
		let blocks = x.blocks_per_row();
		let flip = _mm512_set1_epi8(-128);
		let mut acc = [_mm512_setzero_ps(); T];
		for b in 0..blocks {
			let qp = quants.as_ptr().add(b * 512);
			for line in 0..8 {
				_mm_prefetch::<_MM_HINT_T0>(qp.wrapping_add(PREFETCH_Q8 + line * 64) as *const i8);
			}
			let mut w = [_mm512_setzero_si512(); 8];
			for c in 0..8 {
				w[c] = _mm512_xor_si512(_mm512_loadu_si512(qp.add(c * 64) as *const _), flip);
			}
			let dw = _mm512_cvtph_ps(_mm256_loadu_si256(
				scales.as_ptr().add(b * GROUP) as *const __m256i
			));
			unrolled!(t < T, {
				let xb = (t0 + t) * blocks + b;
				let xq = x.q.as_ptr().add(xb * BLOCK);
				let mut s0 = _mm512_set1_epi32(-128 * *x.sum.get_unchecked(xb));
				let mut s1 = _mm512_setzero_si512();
				for c in 0..4 {
					s0 = _mm512_dpbusd_epi32(s0, w[c], _mm512_set1_epi32(broadcast4(xq, 4 * c)));
					s1 = _mm512_dpbusd_epi32(
						s1,
						w[4 + c],
						_mm512_set1_epi32(broadcast4(xq, 16 + 4 * c)),
					);
				}
				let sumi = _mm512_add_epi32(s0, s1);
				let t1 = _mm512_mul_ps(
					_mm512_mul_ps(_mm512_cvtepi32_ps(sumi), dw),
					_mm512_set1_ps(*x.d.get_unchecked(xb)),
				);
				acc[t] = _mm512_add_ps(acc[t], t1);
			});
		}
		for (t, acc) in acc.iter().enumerate() {
			_mm512_storeu_ps(out.as_mut_ptr().add(o0 + t * stride), *acc);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A small deterministic generator (xorshift64*).
	struct Rng(u64);
	impl Rng {
		fn next(&mut self) -> u64 {
			self.0 ^= self.0 >> 12;
			self.0 ^= self.0 << 25;
			self.0 ^= self.0 >> 27;
			self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
		}
		fn f32(&mut self) -> f32 {
			(self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
		}
	}

	fn f32_to_f16(v: f32) -> u16 {
		// Enough for test scales: normal range, truncating the mantissa.
		let bits = v.to_bits();
		let sign = ((bits >> 16) & 0x8000) as u16;
		let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
		let mant = ((bits >> 13) & 0x3ff) as u16;
		if exp <= 0 {
			sign
		} else {
			sign | ((exp as u16) << 10) | mant
		}
	}

	/// Random GGUF blocks of `format` for an n×k matrix.
	fn random_gguf(format: WeightFormat, n: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
		let mut bytes = Vec::new();
		for _ in 0..n * k / BLOCK {
			let d = f32_to_f16(0.001 + rng.f32().abs() * 0.05).to_le_bytes();
			bytes.extend_from_slice(&d);
			match format {
				WeightFormat::Q4_1 => {
					bytes.extend_from_slice(&f32_to_f16(rng.f32() * 0.3).to_le_bytes());
					bytes.extend((0..16).map(|_| rng.next() as u8));
				}
				WeightFormat::Q8_0 => {
					bytes.extend((0..32).map(|_| ((rng.next() % 255) as i16 - 127) as i8 as u8));
				}
			}
		}
		bytes
	}

	fn random_activations(rows: usize, k: usize, rng: &mut Rng) -> Vec<f32> {
		(0..rows * k)
			.map(|i| rng.f32() * if i % 7 == 0 { 20.0 } else { 1.0 })
			.collect()
	}

	#[test]
	fn f16_conversion_is_exact() {
		assert_eq!(f16_to_f32(0x3c00), 1.0);
		assert_eq!(f16_to_f32(0xc000), -2.0);
		assert_eq!(f16_to_f32(0x7bff), 65504.0);
		assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
		assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
		assert_eq!(f16_to_f32(0x0000), 0.0);
		assert!(f16_to_f32(0x7e00).is_nan());
		assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
	}

	#[test]
	fn activation_quantization_round_trips_within_half_a_step() {
		let mut rng = Rng(7);
		let x = random_activations(3, 64, &mut rng);
		let q = QuantizedRows::quantize(&x, 64);
		for (b, xs) in x.chunks_exact(BLOCK).enumerate() {
			let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
			assert_eq!(q.d[b], amax / 127.0);
			let sum: i32 = q.q[b * BLOCK..][..BLOCK]
				.iter()
				.map(|&v| i32::from(v))
				.sum();
			assert_eq!(q.sum[b], sum);
			for (j, &v) in xs.iter().enumerate() {
				let back = f32::from(q.q[b * BLOCK + j]) * q.d[b];
				assert!((back - v).abs() <= q.d[b] * 0.5001, "{v} vs {back}");
			}
		}
		let zeros = QuantizedRows::quantize(&[0.0; 32], 32);
		assert!(zeros.q.iter().all(|&v| v == 0) && zeros.d[0] == 0.0);
	}

	#[test]
	fn every_kernel_quantizes_activations_to_the_same_bits() {
		let mut rng = Rng(11);
		let mut x = random_activations(5, 96, &mut rng);
		// Edge cases: a block of zeros, negative zeros, a NaN, ties, the largest magnitude.
		x[..32].fill(0.0);
		x[32..64].fill(-0.0);
		x[70] = f32::NAN;
		x[96..100].copy_from_slice(&[127.0, 0.5, -0.5, 1.5]);
		x[200] = -3.0e38;
		let scalar = QuantizedRows::quantize(&x, 96);
		let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		for kernel in Kernel::available() {
			let fast = QuantizedRows::quantize_with(kernel, &x, 96);
			assert_eq!(fast.q, scalar.q, "{kernel:?}");
			assert_eq!(fast.sum, scalar.sum, "{kernel:?}");
			assert_eq!(bits(&fast.d), bits(&scalar.d), "{kernel:?}");
			assert_eq!(bits(&fast.s), bits(&scalar.s), "{kernel:?}");
		}
		assert_eq!(&scalar.q[96..100], &[127, 0, 0, 2], "ties to even");
	}

	/// f64 product of the dequantized weights and dequantized activations.
	fn reference(m: &QMatrix, x: &QuantizedRows) -> Vec<f64> {
		let mut out = Vec::new();
		let mut row = vec![0f32; m.k()];
		for t in 0..x.rows() {
			for n in 0..m.n() {
				m.dequantize_row(n, &mut row);
				let dot: f64 = (0..m.k())
					.map(|j| {
						f64::from(row[j])
							* f64::from(x.q[t * m.k() + j])
							* f64::from(x.d[(t * m.k() + j) / BLOCK])
					})
					.sum();
				out.push(dot);
			}
		}
		out
	}

	/// `matmul_groups` output (group-major) back to token-major; checked against
	/// `matmul_tokens` over every split of the tokens in two.
	fn run(m: &QMatrix, kernel: Kernel, x: &QuantizedRows) -> Vec<f32> {
		let mut grouped = vec![0f32; m.groups() * GROUP * x.rows()];
		m.matmul_groups(kernel, x, 0..m.groups(), &mut grouped);
		let mut out = vec![0f32; m.n() * x.rows()];
		for g in 0..m.groups() {
			for t in 0..x.rows() {
				for r in 0..GROUP.min(m.n() - g * GROUP) {
					out[t * m.n() + g * GROUP + r] = grouped[(g * x.rows() + t) * GROUP + r];
				}
			}
		}
		let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		for split in 0..=x.rows() {
			let mut direct = vec![f32::NAN; m.n() * x.rows()];
			let (head, tail) = direct.split_at_mut(split * m.n());
			m.matmul_tokens(kernel, x, 0..split, head);
			m.matmul_tokens(kernel, x, split..x.rows(), tail);
			assert_eq!(
				bits(&direct),
				bits(&out),
				"{kernel:?}: tokens split at {split}"
			);
		}
		out
	}

	#[test]
	fn every_kernel_gives_the_scalar_bits_and_the_right_product() {
		let mut rng = Rng(0x5eed);
		println!("kernels here: {:?}", Kernel::available());
		for format in [WeightFormat::Q4_1, WeightFormat::Q8_0] {
			for (n, k, rows) in [
				(16, 32, 1),
				(19, 64, 3),
				(262, 64, 2),
				(32, 576, 1),
				(48, 576, 7),
				(16, 1536, 5),
				(64, 192, 4),
				(32, 64, 9),
				(40, 96, 23),
			] {
				let m =
					QMatrix::from_gguf_blocks(format, n, k, &random_gguf(format, n, k, &mut rng))
						.expect("matrix");
				let x = QuantizedRows::quantize(&random_activations(rows, k, &mut rng), k);
				let scalar = run(&m, Kernel::Scalar, &x);
				for (value, exact) in scalar.iter().zip(reference(&m, &x)) {
					let tolerance = 1e-5 * (1.0 + exact.abs()) * (k as f64).sqrt();
					assert!(
						(f64::from(*value) - exact).abs() < tolerance,
						"{format:?} {value} vs {exact}"
					);
				}
				for kernel in Kernel::available() {
					let fast = run(&m, kernel, &x);
					let same = scalar
						.iter()
						.zip(&fast)
						.all(|(a, b)| a.to_bits() == b.to_bits());
					assert!(
						same,
						"{kernel:?} differs from scalar on {format:?} {n}×{k}, {rows} rows"
					);
				}
			}
		}
	}

	#[test]
	fn a_row_gives_the_same_bits_alone_or_in_a_batch() {
		let mut rng = Rng(99);
		let (n, k) = (32, 576);
		let m = QMatrix::from_gguf_blocks(
			WeightFormat::Q4_1,
			n,
			k,
			&random_gguf(WeightFormat::Q4_1, n, k, &mut rng),
		)
		.expect("matrix");
		let x = random_activations(6, k, &mut rng);
		for kernel in Kernel::available() {
			let batch = run(&m, kernel, &QuantizedRows::quantize(&x, k));
			for t in 0..6 {
				let alone = run(&m, kernel, &QuantizedRows::quantize(&x[t * k..][..k], k));
				assert_eq!(alone, batch[t * n..][..n], "{kernel:?} token {t}");
			}
		}
	}

	#[test]
	fn q8_0_refuses_minus_128() {
		let mut bytes = vec![0u8; 16 * 34];
		bytes[2] = 0x80;
		assert!(QMatrix::from_gguf_blocks(WeightFormat::Q8_0, 16, 32, &bytes).is_err());
	}
}
